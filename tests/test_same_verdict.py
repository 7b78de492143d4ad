"""The same verdict everywhere: one recorded session, every place that reports it.

Each scenario is a script run against a real server (the sandbox, or a fake
server for faults the sandbox does not have). The per-recipient verdict (the
ledger's fate words) must be the same in ``smtpdbg run``'s summary, piped
``smtpdbg repl``'s output, the JSONL, text and HTML exports, ``smtpdbg diff``
(against itself: nothing; against a run where the server accepted everything:
exactly the recipients that fared otherwise, with both fates), and the app's
inspector (its transaction panel); ``run`` and the piped REPL exit with the
same status. The fates are also checked against what really happened.
"""

from __future__ import annotations

import html
import io
import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from rich.console import Console

from smtpdbg.core import Session, SessionOptions, Target
from smtpdbg.core.export.jsonl import read_jsonl
from tests.schema import schema_errors
from smtpdbg.tui.widgets.inspector import transaction_panel
from tests.conftest import repo_env
from tests.servers import EHLO, Conn, FakeServer, esmtp

MESSAGE = "Subject: verdict\r\n\r\nhello\r\n.leading dot\r\n"
FATES = ("accepted", "temporary failure", "permanent failure", "unknown", "not sent")
_FATE = re.compile(r"<(?P<address>[^<>\s]+)>:? \(?(?P<fate>" + "|".join(FATES) + r")\b")
CHUNKING_EHLO = EHLO[:-len(b"250 8BITMIME\r\n")] + b"250-8BITMIME\r\n250 CHUNKING\r\n"


@dataclass
class Scenario:
    commands: list[tuple[str, str | None]]
    """Command lines, each with the message it sends (or None)."""
    fates: dict[str, str]
    """What really happened to each recipient."""
    status: int = 0
    """The exit status of ``run`` and the piped REPL (the stage that failed: 9 RCPT, 10 DATA)."""
    server: str = "sandbox"
    """``sandbox``, ``lmtp`` (the sandbox's LMTP socket) or the name of a fake in :data:`FAKES`."""
    lmtp: bool = False
    extra: dict = field(default_factory=dict)

    def script(self) -> str:
        lines = []
        for command, message in self.commands:
            lines.append(command)
            if message is not None:
                lines += message.split("\r\n")[:-1] + ["."]
        return "\n".join(lines) + "\n"


def _read_exact(conn: Conn, size: int) -> bytes:
    while len(conn.buffer) < size:
        chunk = conn.sock.recv(65536)
        if not chunk:
            break
        conn.received += chunk
        conn.buffer += chunk
    data, conn.buffer = conn.buffer[:size], conn.buffer[size:]
    return data


def _refuse_first_chunk(conn: Conn, line: bytes) -> None:
    _read_exact(conn, int(line.split()[1]))
    conn.send(b"552 5.3.4 chunk refused\r\n")


def _accept_all(lmtp: bool):
    """A server that accepts every recipient and every message (DATA or BDAT; LMTP: one reply each)."""

    def behaviour(conn: Conn) -> None:
        conn.send(b"220 accept.test ESMTP\r\n")
        recipients = 0
        while True:
            line = conn.readline()
            if not line:
                return
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"LHLO"):
                conn.send(CHUNKING_EHLO)
            elif verb == b"RCPT":
                recipients += 1
                conn.send(b"250 2.1.5 OK\r\n")
            elif verb in (b"DATA", b"BDAT"):
                last = True
                if verb == b"DATA":
                    conn.send(b"354 go ahead\r\n")
                    conn.read_data()
                else:
                    _read_exact(conn, int(line.split()[1]))
                    last = line.rstrip().upper().endswith(b"LAST")
                if not last:
                    conn.send(b"250 2.0.0 chunk received\r\n")
                    continue
                conn.send(b"250 2.0.0 delivered\r\n" * (recipients if lmtp else 1))
                recipients = 0
            elif verb == b"QUIT":
                conn.send(b"221 bye\r\n")
                conn.close()
                return
            else:
                conn.send(b"250 OK\r\n")

    return behaviour


FAKES = {
    "refused-chunk": lambda: esmtp(EHLO=CHUNKING_EHLO, BDAT=_refuse_first_chunk),
    "drop-after-dot": lambda: esmtp(END=lambda conn, line: conn.close()),
    "data-250": lambda: esmtp(DATA=lambda conn, line: conn.send(b"250 2.0.0 what message?\r\n")),
}

SCENARIOS = {
    "all-accepted": Scenario(
        [("ehlo", None), ("mail alice@example.org", None), ("rcpt bob@example.org", None),
         ("rcpt carol@example.org", None), ("data", MESSAGE), ("quit", None)],
        {"bob@example.org": "accepted", "carol@example.org": "accepted"}),
    "sendmail-one-refused": Scenario(
        [("ehlo", None), ("sendmail alice@example.org bob@example.org,reject@example.org", MESSAGE), ("quit", None)],
        {"bob@example.org": "accepted", "reject@example.org": "permanent failure"}, 9),
    "refused-bdat-chunk": Scenario(
        [("ehlo", None), ("mail alice@example.org", None), ("rcpt bob@example.org", None),
         ("rcpt carol@example.org", None), ("bdat --chunk 8", MESSAGE), ("quit", None)],
        {"bob@example.org": "permanent failure", "carol@example.org": "permanent failure"}, 10, "refused-chunk"),
    "lmtp-one-deferred": Scenario(
        [("ehlo", None), ("mail alice@example.org", None), ("rcpt bob@example.org", None),
         ("rcpt full@example.org", None), ("data", MESSAGE), ("quit", None)],
        {"bob@example.org": "accepted", "full@example.org": "temporary failure"}, 10, "lmtp", lmtp=True),
    "unknown-after-dot": Scenario(
        [("ehlo", None), ("mail alice@example.org", None), ("rcpt bob@example.org", None), ("data", MESSAGE),
         ("quit", None)],
        {"bob@example.org": "unknown"}, 10, "drop-after-dot"),
    "data-answered-250": Scenario(
        [("ehlo", None), ("mail alice@example.org", None), ("rcpt bob@example.org", None), ("data", MESSAGE),
         ("quit", None)],
        {"bob@example.org": "not sent"}, 10, "data-250"),
}


def _fates(lines) -> dict[str, str]:
    """Recipient -> fate word, from lines that name recipients (the last word about each wins)."""
    found = {}
    for line in lines:
        for match in _FATE.finditer(line):
            found[match.group("address")] = match.group("fate")
    return found


def _summary(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"=== transaction \d+ ", line)), len(lines))
    return lines[start:]


class _Servers:
    def __init__(self, endpoints) -> None:
        self.endpoints = endpoints
        self.fakes: list[FakeServer] = []

    def target(self, scenario: Scenario, *, variant: bool = False) -> tuple[Target, str]:
        if variant or scenario.server in FAKES:
            behaviour = _accept_all(scenario.lmtp) if variant else FAKES[scenario.server]()
            fake = FakeServer(behaviour).__enter__()
            self.fakes.append(fake)
            transport = "lmtp" if scenario.lmtp else "smtp"
            return Target(transport, fake.host, fake.port), f"{transport}://{fake.host}:{fake.port}"
        if scenario.server == "lmtp":
            return Target("lmtp", self.endpoints.lmtp, None, sandbox=True), self.endpoints.lmtp
        host, port = self.endpoints.smtp
        return Target("smtp", host, port, sandbox=True), f"smtp://{host}:{port}"

    def close(self) -> None:
        for fake in self.fakes:
            fake.__exit__(None, None, None)


@pytest.fixture
def servers(endpoints):
    made = _Servers(endpoints)
    yield made
    made.close()


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smtpdbg", *args], input=stdin, env=repo_env(), capture_output=True,
                          text=True, timeout=120)


def _connection_options(endpoints) -> list[str]:
    return ["--ca", endpoints.ca_path, "--timeout", "5", "--local-hostname", "client.test", "--color", "never"]


def _run(scenario: Scenario, target: str, endpoints, tmp_path, name: str) -> tuple[subprocess.CompletedProcess, dict]:
    script = tmp_path / f"{name}.smtp"
    script.write_text(scenario.script())
    outputs = {fmt: tmp_path / f"{name}.{fmt}" for fmt in ("jsonl", "text", "html")}
    exports = [arg for fmt, path in outputs.items() for arg in ("--export", fmt, "--output", str(path))]
    done = _cli("run", str(script), "--target", target, "--keep-going", *_connection_options(endpoints), *exports)
    return done, {fmt: path.read_text() for fmt, path in outputs.items()}


def _app_panel(scenario: Scenario, target: Target, endpoints) -> str:
    """The inspector's transaction panel after the session ran in-process, as plain text."""
    session = Session(target, SessionOptions(timeout=5, local_hostname="client.test", ca=endpoints.ca_path))
    try:
        session.execute("connect")
        for command, message in scenario.commands:
            session.execute(command, body=message)
        console = Console(file=io.StringIO(), width=200, color_system=None)
        console.print(transaction_panel(session.state))
        return console.file.getvalue()
    finally:
        session.shutdown()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_frontend_export_and_diff_gives_the_same_verdict(name, servers, endpoints, tmp_path):
    scenario = SCENARIOS[name]
    truth = scenario.fates

    # smtpdbg run: the summary and the exit status
    _, address = servers.target(scenario)
    run, files = _run(scenario, address, endpoints, tmp_path, name)
    assert _fates(_summary(run.stdout)) == truth, run.stdout + run.stderr
    assert run.returncode == scenario.status, run.stdout

    # piped smtpdbg repl: its output and the same exit status
    _, address = servers.target(scenario)
    repl = _cli("repl", address, *_connection_options(endpoints), stdin=scenario.script())
    assert _fates(_summary(repl.stdout)) == truth, repl.stdout + repl.stderr
    assert repl.returncode == run.returncode, repl.stdout

    # the exports written by that run
    records = read_jsonl(files["jsonl"])
    assert schema_errors(records) == []
    assert {r["address"]: r["outcome"] for r in records[-1]["recipients"]} == truth
    text_summary = files["text"].split("=== summary\n", 1)[1].splitlines()
    assert _fates(text_summary) == truth
    page = files["html"]
    summary_rows = [html.unescape(row) for row in re.findall(r'<span class="summary">(.*?)</span>', page)]
    assert _fates(summary_rows) == truth
    assert [line[4:] for line in _summary(run.stdout)[:len(text_summary)]] == [line[4:] for line in text_summary]

    # smtpdbg diff: against itself, nothing; against a run where everything was accepted, exactly the others
    same = _cli("diff", str(tmp_path / f"{name}.jsonl"), str(tmp_path / f"{name}.jsonl"))
    assert same.returncode == 0 and not _fates(same.stdout.splitlines()), same.stdout
    _, accepting = servers.target(scenario, variant=True)
    variant, variant_files = _run(scenario, accepting, endpoints, tmp_path, f"{name}-variant")
    variant_fates = {r["address"]: r["outcome"] for r in read_jsonl(variant_files["jsonl"])[-1]["recipients"]}
    assert variant_fates == dict.fromkeys(truth, "accepted"), variant.stdout
    compared = _cli("diff", str(tmp_path / f"{name}.jsonl"), str(tmp_path / f"{name}-variant.jsonl"))
    recipient_lines = [line for line in compared.stdout.splitlines() if line.startswith("recipient <")]
    either = {}
    for line in recipient_lines:
        match = re.match(r"recipient <([^>]+)> \(transaction \d+\): A (.+?)(?: \(-?\d+\))? \| B (.+?)(?: \(-?\d+\))?$",
                         line)
        assert match, line
        either[match.group(1)] = (match.group(2), match.group(3))
    assert either == {a: (fate, "accepted") for a, fate in truth.items() if fate != "accepted"}, compared.stdout

    # the app: the inspector's transaction panel (the same session, run in-process)
    target, _ = servers.target(scenario)
    panel = _app_panel(scenario, target, endpoints)
    assert _fates(panel.splitlines()) == truth, panel
