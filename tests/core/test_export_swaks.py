"""The swaks export run by the real swaks against the sandbox: the sandbox receives the message
byte for byte as the recorded session sent it (DATA bodies as they went on the wire, BDAT chunks
joined), whatever swaks would otherwise rewrite (tokens, From_ lines, a trailing blank line)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from smtpdbg.core.events import Body
from smtpdbg.core.export import Recording, render

SWAKS = shutil.which("swaks")
pytestmark = pytest.mark.skipif(
    SWAKS is None, reason="swaks is not installed and could not be (Debian package swaks; .ci/run installs it "
                          "when apt-get works)")

MESSAGES = {
    "leading-dot": b"Subject: export test\r\nFrom: alice@example.org\r\n\r\nHello Bob.\r\n.leading dot\r\n..two\r\n",
    "swaks-tokens": b"Subject: %DATE% %FROM_ADDRESS%\r\n\r\na literal \\n, %NEWLINE% and %TO_ADDRESS%\r\n",
    "mbox-from-line": b"From alice@example.org Mon Jan  1 00:00:00 2024\r\nSubject: mbox\r\n\r\nbody\r\n",
    "no-header-block": b"just one line, no header block\r\n",
    "folded-and-blank-lines": b"Subject: folded\r\n\tcontinued\r\n\r\n\ttabbed  trailing \r\n\r\n\r\n",
    "heredoc-delimiter": b"Subject: x\r\n\r\nSMTPDBG_MESSAGE\r\n",
    "utf-8": "Subject: café\r\n\r\nümläut ☃\r\n".encode(),
    "not-utf-8": b"Subject: x\r\n\r\ncaf\xe9 \x1b[31m red\r\n-dash, 'quote', 100% and \\ backslash\r\n",
}


def _recorded_message(recording: Recording, method: str) -> bytes:
    """The message as the recorded session sent it (un-dot-stuffed, without the final dot)."""
    parts = [e for e in recording.events if isinstance(e, Body)]
    wire = b"".join(line for part in parts for line in part.head + part.tail)
    if method == "bdat":
        return wire
    assert wire.endswith(b"\r\n.\r\n")
    lines = wire[:-3].splitlines(keepends=True)
    return b"".join(line[1:] if line.startswith(b".") else line for line in lines)


@pytest.mark.parametrize("method", ["data", "bdat --chunk 7"], ids=["data", "bdat"])
@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_swaks_delivers_the_recorded_message_byte_for_byte(make_session, sandbox, tmp_path, name, method):
    session = make_session()
    for line in ("connect", "ehlo", "mail alice@example.org", "rcpt bob@example.org", "rcpt carol@example.org"):
        assert session.execute(line).ok
    assert session.execute(method, body=MESSAGES[name]).code == 250
    session.execute("quit")
    recording = Recording.from_session(session)
    recorded = _recorded_message(recording, method.split()[0])
    first = sandbox.wait_for_messages(1)
    assert first[0].content == recorded
    script = tmp_path / "swaks.sh"
    script.write_text(render("swaks", recording))
    sandbox.clear_messages()
    done = subprocess.run(["sh", str(script)], capture_output=True, timeout=60)
    assert done.returncode == 0, (done.stdout + done.stderr).decode("utf-8", "replace")
    again = sandbox.wait_for_messages(1)
    assert again[0].content == recorded
    assert (again[0].mail_from, again[0].rcpt_tos) == ("alice@example.org", ("bob@example.org", "carol@example.org"))


def test_swaks_over_lmtp_delivers_the_recorded_message(make_session, sandbox, tmp_path):
    session = make_session("lmtp")
    for line in ("connect", "ehlo", "mail alice@example.org", "rcpt bob@example.org"):
        assert session.execute(line).ok
    assert session.execute("data", body=MESSAGES["leading-dot"]).code == 250
    session.execute("quit")
    recording = Recording.from_session(session)
    text = render("swaks", recording)
    assert "--protocol LMTP" in text and "--socket" in text
    script = tmp_path / "swaks.sh"
    script.write_text(text)
    sandbox.clear_messages()
    done = subprocess.run(["sh", str(script)], capture_output=True, timeout=60)
    assert done.returncode == 0, (done.stdout + done.stderr).decode("utf-8", "replace")
    assert [m.content for m in sandbox.wait_for_messages(1)] == [_recorded_message(recording, "data")]
