"""Secrets along the less travelled paths: odd AUTH dialogues, hand-typed payloads, error messages.

Each test runs a real session against the sandbox and then searches every
recorded event, the outcome and (where one is written) the session log for
the password and the base64 forms AUTH would carry it in.
"""

from __future__ import annotations

import base64

import pytest

from smtpdbg.core import Wire
from smtpdbg.core.history import scrub

PASSWORD = "wonderland"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret_forms(password: str = PASSWORD, user: str = "alice") -> list[str]:
    return [password, b64(password), b64(f"\0{user}\0{password}")]


def assert_nowhere(session, *extra, forms=None) -> None:
    haystack = repr(session.transcript.snapshot()) + "".join(repr(e) for e in extra)
    for form in forms or secret_forms():
        assert form not in haystack


@pytest.mark.parametrize("command", [
    "auth PLAIN alice --password-env PW",
    "auth LOGIN alice --password-env PW",
    "auth CRAM-MD5 alice --password-env PW",
    "login alice --password-env PW",
    "auth XOAUTH2 alice --token-env PW",
])
def test_a_non_ascii_password_is_not_quoted_in_the_error(make_session, command):
    """smtplib encodes AUTH responses as ASCII; its UnicodeEncodeError names the character and its position."""
    session = make_session()
    session.environ = {"PW": "wöndérland"}
    session.execute("connect")
    session.execute("ehlo")
    outcome = session.execute(command)
    assert not outcome.ok and outcome.connected
    assert "ASCII" in outcome.message
    for leak in ("\\xf6", "ö", "position", "wöndérland"):
        assert leak not in outcome.message
    assert_nowhere(session, outcome, forms=["wöndérland", "\\xf6", "\\xe9"])


def test_auth_with_leading_whitespace_is_still_masked(session, tmp_path):
    payload = b64("\0alice\0" + PASSWORD)
    session.execute("ehlo")
    for line in (f"raw \\tAUTH PLAIN {payload}", f"raw \\x20AUTH PLAIN {payload}"):
        outcome = session.execute(line)
        assert_nowhere(session, outcome)
    lines = [e for e in session.transcript.snapshot() if isinstance(e, Wire) and e.is_send and b"AUTH" in e.data]
    assert len(lines) == 2
    assert lines and all(e.redacted for e in lines)


@pytest.mark.parametrize("command", [
    "raw --replies 2 AUTH PLAIN\\r\\n{plain}",
    "raw --replies 2 auth PLAIN\\r\\n{plain}",
    "pipeline AUTH PLAIN {plain}; NOOP",
    "pipeline NOOP; auth PLAIN {plain}",
])
def test_hand_typed_payloads_are_masked_in_the_command_text(session, command):
    text = command.format(plain=b64("\0alice\0" + PASSWORD))
    session.execute("ehlo")
    outcome = session.execute(text)
    assert outcome.ok, outcome
    assert_nowhere(session, outcome)
    assert b64("\0alice\0" + PASSWORD) not in scrub(text)


@pytest.mark.parametrize("verb", ["raw", "docmd"])
def test_an_auth_continuation_is_masked_in_the_command_text(session, verb):
    """After a 334 the next line is an AUTH response whatever it looks like (here a short password)."""
    session.execute("ehlo")
    assert session.execute(f"{verb} AUTH LOGIN").code == 334
    assert session.execute(f"{verb} {b64('alice')}").code == 334
    outcome = session.execute(f"{verb} {b64(PASSWORD)}")
    assert outcome.code == 235
    assert_nowhere(session, outcome)
    assert session.state.authenticated


def test_docmd_continuation_is_scrubbed_from_history_text():
    assert scrub(f"docmd {b64('a-long-password')}") == "docmd ********"
    assert scrub("docmd NOOP") == "docmd NOOP"


def test_a_parse_error_does_not_echo_the_payload(session):
    payload = b64("\0alice\0" + PASSWORD)
    outcome = session.execute(f"raw --replies x AUTH PLAIN {payload}")
    assert outcome.category == "parse"
    assert_nowhere(session, outcome)


def test_a_password_typed_on_the_auth_line_is_not_echoed(session):
    """A password typed where none belongs: the parse error says so without repeating it."""
    outcome = session.execute(f"auth PLAIN alice {PASSWORD}")
    assert outcome.category == "parse"
    assert "unexpected" in outcome.message
    assert_nowhere(session, outcome)
    assert PASSWORD not in scrub(f"auth PLAIN alice {PASSWORD}")
    assert PASSWORD not in scrub(f"login alice {PASSWORD} --timeout 5")


def test_commands_pipelined_after_an_auth_initial_response_are_not_taken_for_auth_responses(session, sandbox):
    """RFC 4954 §4: AUTH with an initial response may be followed by more commands in one pipelined group."""
    from smtpdbg.core.protocol import Stage

    session.execute("ehlo")
    plain = b64("\0alice\0" + PASSWORD)
    outcome = session.execute(f"pipeline AUTH PLAIN {plain}; MAIL FROM:<alice@sandbox.smtpdbg.test>; "
                              "RCPT TO:<bob@sandbox.smtpdbg.test>; DATA")
    assert [c for c, _ in outcome.replies] == [235, 250, 250, 354], outcome
    sent = [e for e in session.transcript.snapshot() if isinstance(e, Wire) and e.is_send and e.pipelined]
    assert [e.redacted for e in sent] == [True, False, False, False]
    assert sent[1].data == b"MAIL FROM:<alice@sandbox.smtpdbg.test>\r\n"
    assert session.state.authenticated and session.state.stage is Stage.DATA
    assert session.execute("data", body=b"Subject: pipelined\r\n\r\nhello\r\n").code == 250
    assert sandbox.wait_for_messages(1)[0].rcpt_tos == ("bob@sandbox.smtpdbg.test",)
    assert_nowhere(session, outcome)
    from smtpdbg.core.export import Recording

    [transaction] = Recording.from_session(session).dialogue.transactions  # exports pair replies the same way
    assert transaction.mail_from == "alice@sandbox.smtpdbg.test" and transaction.final[-1][0] == 250


def test_a_blind_auth_response_after_an_initial_response_is_still_masked(session):
    """``AUTH LOGIN <user>`` then the password without waiting for the 334: still a secret."""
    session.execute("ehlo")
    outcome = session.execute(f"raw --replies 2 AUTH LOGIN {b64('alice')}\\r\\n{b64(PASSWORD)}")
    assert [c for c, _ in outcome.replies] == [334, 235], outcome
    assert_nowhere(session, outcome)


def test_the_tls_key_log_is_owner_only(make_session, tmp_path):
    """The key log decrypts a capture of the session, AUTH included: as private as the password."""
    import os
    import stat

    keylog = tmp_path / "keys.log"
    old = os.umask(0o022)
    try:
        session = make_session("smtps", tls_keylog=str(keylog))
        assert session.execute("connect").ok
    finally:
        os.umask(old)
    assert keylog.read_text()
    assert stat.S_IMODE(keylog.stat().st_mode) == 0o600


def test_an_unencodable_auth_response_typed_by_hand_is_not_quoted(session):
    session.execute("ehlo")
    assert session.execute("docmd AUTH LOGIN").code == 334
    assert session.execute(f"docmd {b64('alice')}").code == 334
    outcome = session.execute("docmd wönderländ")
    assert not outcome.ok and outcome.category == "encoding"
    assert_nowhere(session, outcome, forms=["wönderländ", "\\xf6", "ö", "position"])


def test_a_command_sent_in_pieces_is_tracked_as_one_line(session):
    """``raw --no-crlf`` pieces: the server sees one line, so the tracker must pair one reply with it."""
    from smtpdbg.core.protocol import Stage

    session.execute("ehlo")
    assert session.execute("raw --no-crlf --replies 0 NO").ok
    assert session.execute("raw OP").code == 250
    assert session.execute("mail alice@sandbox.smtpdbg.test").code == 250
    assert session.state.stage is Stage.MAIL and session.state.mail_from == "alice@sandbox.smtpdbg.test"
    from smtpdbg.core.export import Recording

    dialogue = Recording.from_session(session).dialogue  # exports pair replies the same way
    assert [t.mail_from for t in dialogue.transactions] == ["alice@sandbox.smtpdbg.test"]
    assert not [r for r in dialogue.replies if r.unsolicited]


def test_an_auth_line_sent_in_pieces_is_still_masked(session):
    session.execute("ehlo")
    assert session.execute("raw --no-crlf --replies 0 AU").ok
    outcome = session.execute(f"raw TH PLAIN {b64(chr(0) + 'alice' + chr(0) + PASSWORD)}")
    assert outcome.code == 235, outcome
    assert session.state.authenticated
    assert_nowhere(session, outcome)
    # only the payload of that piece is masked: a hand-over file can send the rest of the line as it was
    sent = [e.data for e in session.transcript.snapshot() if isinstance(e, Wire) and e.direction.value == "send"]
    assert sent[-1] == b"TH PLAIN ********\r\n", sent


def test_a_session_log_that_already_exists_is_made_owner_only(make_session, tmp_path):
    import os
    import stat

    path = tmp_path / "session.log"
    path.write_text("earlier\n")
    os.chmod(path, 0o644)
    session = make_session(log=str(path))
    session.execute("connect")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("earlier\n")
