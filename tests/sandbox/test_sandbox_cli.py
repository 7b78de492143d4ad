"""``smtpdbg sandbox`` / ``python -m smtpdbg.sandbox``: the standalone server.

The subprocess tests run the real module, talk to it over the network and stop
it with a signal, as a parent process (the TUI, a CI job) would.
"""

from __future__ import annotations

import json
import select
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpdbg.sandbox import SandboxConfig
from smtpdbg.sandbox.cli import build_parser, config_from_args, describe_endpoints, main

TIMEOUT = 10.0


class Child:
    """A sandbox subprocess with line reads that cannot hang the test run."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smtpdbg.sandbox", *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            bufsize=0,  # unbuffered: select() must see every line still unread
        )

    def readline(self, stream) -> str:
        ready, _, _ = select.select([stream], [], [], TIMEOUT)
        assert ready, "no output from the sandbox process"
        return stream.readline().decode()

    def stop(self, signum: int) -> tuple[int, str, str]:
        self.proc.send_signal(signum)
        out, err = self.proc.communicate(timeout=TIMEOUT)
        return self.proc.returncode, out.decode(), err.decode()


@pytest.fixture
def spawn(child_env: dict[str, str]) -> Iterator:
    children: list[Child] = []

    def start(*args: str) -> Child:
        children.append(Child(list(args), child_env))
        return children[-1]

    yield start
    for child in children:  # after a failed assertion: still let it clean up
        if child.proc.poll() is None:
            child.proc.terminate()
            try:
                child.proc.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.communicate()


def address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def test_json_mode_prints_one_line_serves_and_cleans_up_on_sigterm(spawn) -> None:
    child = spawn("--json")
    info = json.loads(child.readline(child.proc.stdout))
    assert set(info) == {"smtp", "smtps", "lmtp", "user", "password", "ca", "oauth_token"}
    assert (info["user"], info["password"]) == ("alice", "wonderland")
    assert info["oauth_token"] == "sandbox-token"
    ca, lmtp = Path(info["ca"]), Path(info["lmtp"])
    assert ca.is_file() and lmtp.is_socket()

    context = ssl.create_default_context(cafile=str(ca))
    with smtplib.SMTP(*address(info["smtp"]), local_hostname="c", timeout=TIMEOUT) as smtp:
        smtp.starttls(context=context)
        smtp.login(info["user"], info["password"])
        body = b"Subject: j\r\n\r\nhi\r\n"  # 18 bytes
        smtp.sendmail("a@example.com", ["b@example.com", "c@example.com"], body)
    with smtplib.SMTP_SSL(*address(info["smtps"]), context=context, timeout=TIMEOUT) as smtp:
        assert smtp.noop()[0] == 250
    with smtplib.LMTP(str(lmtp), timeout=TIMEOUT) as client:
        assert client.ehlo()[0] == 250

    # Message lines go to stderr in --json mode.
    assert child.readline(child.proc.stderr) == (
        "[smtp] from a@example.com to b@example.com, c@example.com (18 bytes)\n"
    )
    code, out, err = child.stop(signal.SIGTERM)
    assert (code, out) == (0, "")
    assert err == ""
    assert not ca.exists() and not lmtp.exists() and not ca.parent.exists()


def test_json_mode_options(spawn) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = spawn("--json", "--no-lmtp", "--port-smtp", str(port), "--advertise", "DSN",
                  "--reject", "Nobody@Example.com", "--greylist", "later@example.com",
                  "--require-tls-auth")
    info = json.loads(child.readline(child.proc.stdout))
    assert info["lmtp"] is None
    assert info["smtp"] == f"127.0.0.1:{port}"
    with smtplib.SMTP(*address(info["smtp"]), local_hostname="c", timeout=TIMEOUT) as smtp:
        smtp.ehlo()
        assert "dsn" in smtp.esmtp_features
        assert "auth" not in smtp.esmtp_features
        smtp.mail("a@example.com")
        assert smtp.rcpt("nobody@example.com")[0] == 550
        assert smtp.rcpt("later@example.com")[0] == 451
    assert child.stop(signal.SIGTERM)[0] == 0


SIGTERM_ON_THE_JSON_LINE = """
import signal, sys
from smtpdbg.sandbox import cli

def printing(*args, **kwargs):
    print(*args, **kwargs)
    if args and str(args[0]).startswith("{"):
        signal.raise_signal(signal.SIGTERM)  # a parent's SIGTERM, the moment the line is out

cli.print = printing
sys.exit(cli.main(["--json", "--no-lmtp"]))
"""


def test_sigterm_as_soon_as_the_json_line_is_out_is_a_clean_stop(child_env) -> None:
    # A parent may stop the sandbox the moment it has the endpoints: the handler must already be there.
    result = subprocess.run([sys.executable, "-c", SIGTERM_ON_THE_JSON_LINE], env=child_env, capture_output=True,
                            text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert json.loads(result.stdout)["lmtp"] is None


def test_human_mode_prints_endpoints_and_messages_and_exits_on_ctrl_c(spawn) -> None:
    child = spawn()
    lines = [child.readline(child.proc.stdout) for _ in range(7)]
    text = "".join(lines)
    assert "alice / wonderland" in text
    assert "sandbox-token  (AUTH XOAUTH2, OAUTHBEARER)" in text
    smtp_line = next(line for line in lines if "SMTP + STARTTLS" in line)
    ca_line = next(line for line in lines if "CA certificate" in line)
    ca = Path(ca_line.split()[-1])
    assert ca.is_file()
    with smtplib.SMTP(*address(smtp_line.split()[-1]), local_hostname="c", timeout=TIMEOUT) as smtp:
        smtp.sendmail("x@example.com", ["y@example.com"], b"Subject: h\r\n\r\n")  # 14 bytes
    line = child.readline(child.proc.stdout)
    assert line == "[smtp] from x@example.com to y@example.com (14 bytes)\n"
    code, _, err = child.stop(signal.SIGINT)
    assert (code, err) == (0, "")
    assert not ca.exists()


def test_busy_port_exits_1_with_a_message(spawn) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        child = spawn("--json", "--port-smtps", str(taken.getsockname()[1]))
        code = child.proc.wait(timeout=TIMEOUT)
        out, err = child.proc.communicate()
    assert (code, out) == (1, b"")
    assert b"cannot start" in err


def test_options_become_a_config() -> None:
    args = build_parser().parse_args([
        "--port-smtp", "2525", "--port-smtps", "4465", "--no-lmtp", "--require-tls-auth",
        "--reject", "A@Example.com", "--reject", "b@example.com", "--greylist", "G@example.com",
        "--banner-delay", "1.5", "--advertise", "DSN", "--advertise", "ENHANCEDSTATUSCODES",
    ])
    cfg = config_from_args(args)
    assert (cfg.smtp_port, cfg.smtps_port) == (2525, 4465)
    assert (cfg.lmtp, cfg.auth_require_tls) == (False, True)
    assert cfg.reject == {"a@example.com", "b@example.com"}
    assert cfg.greylist == {"g@example.com"}
    assert cfg.banner_delay == 1.5
    assert cfg.extra_extensions == ("DSN", "ENHANCEDSTATUSCODES")


def test_defaults_become_the_default_config() -> None:
    cfg = config_from_args(build_parser().parse_args([]))
    assert (cfg.smtp_port, cfg.smtps_port, cfg.lmtp, cfg.auth_require_tls) == (0, 0, True, False)
    assert (cfg.reject, cfg.greylist, cfg.extra_extensions, cfg.banner_delay) == (
        frozenset(), frozenset(), (), 0.0
    )
    assert cfg == SandboxConfig()


def test_protocol_feature_options_become_a_config(tmp_path: Path) -> None:
    ca = tmp_path / "clients.pem"
    ca.write_text("not checked until start")
    args = build_parser().parse_args(["--no-chunking", "--xclient", "--proxy-protocol",
                                      "--oauth-token", "t0k.en", "--client-ca", str(ca)])
    cfg = config_from_args(args)
    assert (cfg.chunking, cfg.xclient, cfg.proxy_protocol) == (False, True, True)
    assert (cfg.oauth_token, cfg.client_ca) == ("t0k.en", str(ca))
    assert config_from_args(build_parser().parse_args(["--oauth-token", ""])).oauth_token == ""


def test_json_mode_with_protocol_features(spawn, tmp_path: Path) -> None:
    import trustme

    client_ca = tmp_path / "clients.pem"
    trustme.CA().cert_pem.write_to_path(str(client_ca))
    child = spawn("--json", "--no-lmtp", "--xclient", "--no-chunking", "--proxy-protocol",
                  "--oauth-token", "tok-123", "--client-ca", str(client_ca))
    info = json.loads(child.readline(child.proc.stdout))
    assert info["oauth_token"] == "tok-123"
    with socket.create_connection(address(info["smtp"]), timeout=TIMEOUT) as sock:
        sock.sendall(b"PROXY TCP4 192.0.2.1 127.0.0.1 1234 25\r\nEHLO c\r\n")
        replies = sock.makefile("rb")
        assert replies.readline().startswith(b"220 ")
        ehlo = [replies.readline()]
        while ehlo[-1][3:4] == b"-":
            ehlo.append(replies.readline())
        keywords = {line[4:].split()[0] for line in ehlo[1:]}
        assert {b"XCLIENT", b"XFORWARD", b"AUTH"} <= keywords
        assert b"CHUNKING" not in keywords
    assert child.stop(signal.SIGTERM)[0] == 0


def test_human_mode_says_when_oauth_is_off() -> None:
    from smtpdbg.sandbox import Endpoints

    ep = Endpoints(smtp=("127.0.0.1", 1), smtps=("127.0.0.1", 2), lmtp=None, user="u",
                   password="p", ca_path="/ca.pem", hostname="h")
    assert "  OAuth token      (off)" in describe_endpoints(ep).splitlines()


@pytest.mark.parametrize("argv", [["--port-smtp", "70000"], ["--banner-delay", "soon"],
                                  ["--banner-delay", "-1"], ["--bogus"],
                                  ["--oauth-token", "has space"], ["--client-ca", "/no/such.pem"]])
def test_bad_options_return_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "smtpdbg sandbox: error:" in capsys.readouterr().err


def test_help_returns_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--json" in capsys.readouterr().out

