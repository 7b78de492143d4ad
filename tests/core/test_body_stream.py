"""Message files streamed from disk (smtpdbg.core.body): exact bytes, bounded memory, limits, SIZE."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import pytest

from smtpdbg.core.body import BodyEncoder, BodySummary
from smtpdbg.core.events import Body
from smtpdbg.core.wire import Limits, prepare_body, split_head_tail
from tests.conftest import repo_env
from tests.servers import Conn, FakeServer, esmtp


@pytest.mark.parametrize("seed", range(5))
def test_the_encoder_matches_the_whole_message_encoder_at_any_chunking(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(400):
        message = b"".join(rng.choice([b"a", b".", b"\r", b"\n", b"\r\n", b"x"]) for _ in range(rng.randint(0, 50)))
        expected = prepare_body(message)
        encoder = BodyEncoder()
        out, i = b"", 0
        while i < len(message):
            step = rng.randint(1, 7)
            out += encoder.feed(message[i:i + step])
            i += step
        out += encoder.finish()
        assert (out, encoder.stuffed) == (expected.payload, expected.stuffed), message
        limits = Limits(body_head_lines=3, body_tail_lines=2, body_keep_bytes=1000)
        summary = BodySummary(limits)
        for j in range(0, len(out), 3):
            summary.feed(out[j:j + 3])
        head, tail, omitted, count = summary.result()
        whole = split_head_tail(out, limits)
        assert count == whole[3]
        assert head + tail == whole[0] + whole[1] and omitted == whole[2]


def test_a_file_is_received_exactly_as_typed_lines_would_be(session, sandbox, tmp_path):
    path = tmp_path / "m.eml"
    body = b"Subject: file\n\n.leading dot\r\nbare CR\rend without newline"
    path.write_bytes(body)
    session.execute("ehlo")
    session.execute("mail alice@sandbox.smtpdbg.test")
    session.execute("rcpt bob@sandbox.smtpdbg.test")
    outcome = session.execute(f"data @{path}")
    assert outcome.ok and outcome.code == 250, outcome
    got = sandbox.wait_for_messages(1)[0].content
    # the server un-stuffs: it receives the message with CRLF line endings, as typed lines would give it
    assert got == b"Subject: file\r\n\r\n.leading dot\r\nbare CR\r\nend without newline\r\n"
    recorded = [e for e in session.transcript.snapshot() if isinstance(e, Body)][-1]
    assert recorded.stuffed == 1 and recorded.head[-1] == b".\r\n"
    assert session.state.last_transaction.status == "delivered"


def test_a_file_over_the_announced_size_is_not_sent(session, sandbox, tmp_path):
    session.execute("ehlo")
    limit = session.state.features.size
    assert limit, "the sandbox announces SIZE"
    path = tmp_path / "big.eml"
    path.write_bytes((b"x" * 70 + b"\r\n") * ((limit // 72) + 10))
    session.execute("mail alice@sandbox.smtpdbg.test")
    session.execute("rcpt bob@sandbox.smtpdbg.test")
    mark = len(session.transcript)
    outcome = session.execute(f"data @{path}")
    assert not outcome.ok and "SIZE" in outcome.message and "--over-size" in outcome.message
    assert not outcome.sent
    assert not [e for e in session.transcript.since(mark) if getattr(e, "direction", None) is not None]
    assert session.state.connected


def test_a_device_is_cut_off_at_max_body_and_the_connection_closed(session, sandbox):
    session.execute("ehlo")
    session.execute("mail alice@sandbox.smtpdbg.test")
    session.execute("rcpt bob@sandbox.smtpdbg.test")
    outcome = session.execute("data @/dev/zero --max-body 3000000")
    assert not outcome.ok and "3,000,000" in outcome.message, outcome
    assert not session.state.connected  # the server discards the partial message
    assert [r.fate.value for r in session.state.last_transaction.recipients] == ["not sent"]
    assert sandbox.messages == [] or all(b"\0" not in m.content for m in sandbox.messages)


def test_a_device_honours_the_command_timeout(session, sandbox):
    session.execute("ehlo")
    session.execute("mail alice@sandbox.smtpdbg.test")
    session.execute("rcpt bob@sandbox.smtpdbg.test")
    outcome = session.execute("data @/dev/zero --max-body 100000000000 --timeout 0.5")
    assert not outcome.ok and outcome.category in ("timeout", "disconnected"), outcome
    assert outcome.elapsed < 5


def _sink_data(conn: Conn, line: bytes) -> None:
    """354, then read and discard everything up to the final dot; 250."""
    conn.send(b"354 go ahead\r\n")
    conn.sock.settimeout(60)
    last = conn.buffer
    conn.buffer = b""
    while not last.endswith(b"\r\n.\r\n"):
        chunk = conn.sock.recv(1 << 20)
        if not chunk:
            return
        last = (last + chunk)[-8:]
    conn.send(b"250 2.0.0 swallowed\r\n")


@pytest.mark.parametrize("one_line", [False, True])
def test_a_large_file_streams_with_bounded_memory(tmp_path, one_line):
    """A 400 MB file (lines, or one long line) grows the sending process by far less than the file."""
    path = tmp_path / "big.bin"
    size = 400 << 20
    with open(path, "wb") as handle:
        if one_line:
            handle.truncate(size)  # sparse zeros: a single "line"
        else:
            line = b"x" * 78 + b"\n"
            block = line * ((1 << 20) // len(line))
            for _ in range(size // len(block)):
                handle.write(block)
    with FakeServer(esmtp(DATA=_sink_data)) as server:
        _assert_sent_with_bounded_growth(server, f"data @{path} --over-size")


def _assert_sent_with_bounded_growth(server: FakeServer, command: str) -> None:
    """``command`` after MAIL and RCPT, in a process of its own: it gets 250 and grows RSS by under 64 MB."""
    script = textwrap.dedent(f"""
        import resource
        from smtpdbg.core import Session, SessionOptions, parse_target
        with Session(parse_target({server.target!r}), SessionOptions(timeout=120)) as s:
            s.execute("connect"); s.execute("ehlo")
            s.execute("mail a@example.org"); s.execute("rcpt b@example.org")
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            out = s.execute({command!r})
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(out.ok, out.code, (after - before) // 1024)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env=repo_env())
    assert result.returncode == 0, result.stderr
    ok, code, growth_mb = result.stdout.split()
    assert (ok, code) == ("True", "250"), result.stdout
    assert int(growth_mb) < 64, result.stdout


def _sink_bdat(conn: Conn, line: bytes) -> None:
    """Read and discard each BDAT chunk (without keeping it); 250 for each, until BDAT LAST."""
    conn.sock.settimeout(60)
    while True:
        words = line.split()
        left = int(words[1])
        take = min(left, len(conn.buffer))
        conn.buffer, left = conn.buffer[take:], left - take
        while left:
            chunk = conn.sock.recv(min(left, 1 << 20))
            if not chunk:
                return
            left -= len(chunk)
        conn.send(b"250 2.0.0 chunk swallowed\r\n")
        if len(words) > 2:
            return
        line = conn.readline(60)
        if not line.upper().startswith(b"BDAT"):
            return


def test_bdat_of_a_large_file_reads_it_a_chunk_at_a_time(tmp_path):
    """``bdat @FILE`` held the whole file (and a copy cut in chunks): 150 MB peaked at 320 MB."""
    path = tmp_path / "big.bin"
    with open(path, "wb") as handle:
        handle.truncate(160 << 20)
    chunking = b"250-fake.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n"
    with FakeServer(esmtp(EHLO=chunking, BDAT=_sink_bdat)) as server:
        _assert_sent_with_bounded_growth(server, f"bdat @{path} --chunk 3000000")


def test_send_message_of_a_file_too_large_to_parse_is_refused_before_anything_is_sent(session, sandbox, tmp_path):
    """``send_message`` parses the file whole (about ten times its size): over 32 MB it says what streams instead."""
    path = tmp_path / "big.eml"
    with open(path, "wb") as handle:
        handle.write(b"Subject: big\r\n\r\n")
        handle.truncate(40 << 20)
    session.execute("ehlo")
    outcome = session.execute(f"send_message @{path} --from a@example.org --to b@example.org")
    assert not outcome.ok and not outcome.sent, outcome
    assert "parses the whole message in memory" in outcome.message and "`sendmail FROM TO @FILE`" in outcome.message
