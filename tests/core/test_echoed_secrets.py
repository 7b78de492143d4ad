"""Secrets the server says back, hand-typed payloads in the history, exports after a failed AUTH.

A server that quotes the AUTH line it got (``535 you sent AUTH PLAIN AGFs…``)
must not get the credential printed, logged or exported: the connection's
secrets and their encodings are scrubbed from every reply before it is
recorded, and from the reply texts outcomes and errors carry.
"""

from __future__ import annotations

import base64
import json

import pytest

from smtpdbg.core import Info, InfoKind, Session, SessionOptions, parse_target
from smtpdbg.core.export import Recording, render
from smtpdbg.core.history import History

from tests.servers import FakeServer, esmtp

PASSWORD = "s3cret-Passw0rd"
TOKEN = "ya29.token-0123456789"


def b64(data: bytes | str) -> bytes:
    return base64.b64encode(data.encode() if isinstance(data, str) else data)


PLAIN = b64(f"\0alice\0{PASSWORD}")
FORMS = [PASSWORD.encode(), PLAIN, b64(PASSWORD), TOKEN.encode(), b64(f"user=alice\x01auth=Bearer {TOKEN}\x01\x01")]
EHLO = b"250-echo.test\r\n250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2\r\n"


def echo_auth(conn, line: bytes) -> None:
    """Quote what the client sent, as sent and decoded; then refuse. NOOP quotes it again later."""
    words = line.split()
    if len(words) == 2:  # no initial response: ask for it
        conn.send(b"334 \r\n")
        words.append(conn.readline().strip())
    if words[1].upper() == b"LOGIN":  # that was the user name; now the password
        conn.send(b"334 " + b64("Password:") + b"\r\n")
        words[2] = conn.readline().strip()
    payload = words[2]
    decoded = base64.b64decode(payload).replace(b"\0", b" ").replace(b"\x01", b" ")
    conn.echo = payload + b" " + decoded
    conn.send(b"535-5.7.8 you sent " + line.strip() + b" " + payload + b"\r\n"
              b"535-5.7.8 which says " + decoded + b"\r\n"
              b"535 5.7.8 nope\r\n")


def echo_noop(conn, line: bytes) -> None:
    conn.send(b"250 last time you sent " + getattr(conn, "echo", b"nothing") + b"\r\n")


def haystack(session: Session, *outcomes) -> bytes:
    text = repr(session.transcript.snapshot()) + repr(outcomes)
    recording = Recording.from_session(session)
    for fmt in ("text", "jsonl", "html", "python", "swaks", "script"):
        text += render(fmt, recording)
    return text.encode("utf-8", "backslashreplace")


@pytest.mark.parametrize("command", ["auth PLAIN alice", "auth LOGIN alice", "auth PLAIN alice --no-initial-response",
                                     "login alice", "auth XOAUTH2 alice", f"raw AUTH PLAIN {PLAIN.decode()}"])
def test_a_server_quoting_the_credential_gets_it_masked_everywhere(command, tmp_path):
    log = tmp_path / "session.log"
    with FakeServer(esmtp(EHLO=EHLO, AUTH=echo_auth, NOOP=echo_noop)) as server:
        options = SessionOptions(timeout=3, allow_plaintext_auth=True, log=str(log))
        with Session(parse_target(server.target), options) as session:
            session.execute("connect")
            session.execute("ehlo")
            secret = TOKEN if "XOAUTH2" in command else PASSWORD
            failed = session.execute(command, secret=secret)
            noop = session.execute("noop")
            assert failed.code == 535 and "nope" in failed.message
            assert noop.code == 250 and "last time you sent" in noop.text
            found = haystack(session, failed, noop)
    found += log.read_bytes()
    for form in FORMS:
        assert form not in found, form
    assert b"you sent" in found and b"********" in found


def test_a_challenge_that_quotes_the_password_in_base64_is_scrubbed():
    def challenge_echo(conn, line: bytes) -> None:
        conn.send(b"334 \r\n")
        conn.readline()
        conn.send(b"334 " + b64("Password:") + b"\r\n")
        answer = conn.readline().strip()
        conn.send(b"334 " + b64(b"you typed " + base64.b64decode(answer)) + b"\r\n")
        conn.readline()
        conn.send(b"535 5.7.8 no\r\n")

    with FakeServer(esmtp(EHLO=EHLO, AUTH=challenge_echo)) as server:
        with Session(parse_target(server.target), SessionOptions(timeout=3, allow_plaintext_auth=True)) as session:
            session.execute("connect")
            session.execute("ehlo")
            outcome = session.execute("auth LOGIN alice", secret=PASSWORD)
            assert outcome.code is not None
            found = haystack(session, outcome)
    assert b64(b"you typed " + PASSWORD.encode()) not in found
    assert PASSWORD.encode() not in found
    assert b64(b"you typed ********") in found  # what is left of the challenge, re-encoded


def test_the_export_masks_the_plain_form_after_a_failed_auth(make_session):
    """The redactor knows the PLAIN base64 for every user an AUTH named, not only an authenticated one."""
    session = make_session(password_env="WRONG")
    session.environ = {"WRONG": PASSWORD}
    session.execute("connect")
    session.execute("ehlo")
    outcome = session.execute("auth PLAIN alice")
    assert outcome.code == 535 and not session.state.authenticated
    # A string the core could not know was a secret (a hand-written note, another tool's line): the export still masks it.
    session.transcript.add(Info, kind=InfoKind.INFO, text=f"pasted: {PLAIN.decode()} / {b64(PASSWORD).decode()}")
    recording = Recording.from_session(session)
    for fmt in ("text", "jsonl", "html"):
        text = render(fmt, recording)
        assert PLAIN.decode() not in text and b64(PASSWORD).decode() not in text and PASSWORD not in text
        assert "pasted: ********" in text


def test_a_per_command_password_variable_is_known_to_the_export(make_session):
    session = make_session()
    session.environ = {"MYPW": PASSWORD}
    session.execute("connect")
    session.execute("ehlo")
    assert session.execute("auth PLAIN bob --password-env MYPW").code == 535
    session.transcript.add(Info, kind=InfoKind.INFO, text=f"pasted: {b64(f'bob{chr(0)}bob{chr(0)}{PASSWORD}').decode()}")
    assert "pasted: ********" in render("text", Recording.from_session(session))


# -- history -----------------------------------------------------------------------------------------------
USER = b64("alice").decode()
PW = b64("pw1").decode()  # short: no length rule can catch it, only the exchange


@pytest.mark.parametrize("lines, masked", [
    ([f"raw \\x41UTH PLAIN {PLAIN.decode()}"], [0]),
    ([f"raw \\x41\\x55\\x54\\x48\\x20PLAIN {PLAIN.decode()}"], [0]),
    ([f"raw NOOP\\r\\n\\x41UTH PLAIN {PLAIN.decode()}"], [0]),
    (["raw AUTH LOGIN", f"raw {USER}", f"docmd {PW}"], [1, 2]),
    (["docmd AUTH LOGIN", f"docmd {USER}", f"raw {PW}", "noop", "docmd ETRN example.org"], [1, 2]),
    (["raw --no-crlf --replies 0 AUTH PL", f"raw AIN {PLAIN.decode()}"], [1]),
    (["raw --no-crlf --replies 0 AU", f"raw TH PLAIN {PLAIN.decode()}"], [1]),
    (["raw AUTH LOGIN", "raw *", f"docmd {PW}"], []),
])
def test_hand_typed_auth_payloads_never_reach_the_history_file(tmp_path, lines, masked):
    path = tmp_path / "history"
    history = History(path)
    stored = [history.append(line) for line in lines]
    text = path.read_text()
    for index, line in enumerate(lines):
        if index in masked:
            assert "********" in stored[index], stored
            assert line.split()[-1] not in text
        else:
            assert stored[index] == line
    assert PLAIN.decode() not in text


# -- JSONL read by \n only -----------------------------------------------------------------------------------
def test_a_reply_holding_line_separators_round_trips_through_diff(tmp_path):
    from smtpdbg.core.diff import diff_files
    from smtpdbg.core.export.jsonl import read_jsonl

    odd = "250 ok\x85next\u2028line\u2029para".encode()
    with FakeServer(esmtp(NOOP=odd + b"\r\n")) as server:
        with Session(parse_target(server.target), SessionOptions(timeout=3)) as session:
            session.execute("connect")
            session.execute("noop")
            text = render("jsonl", Recording.from_session(session))
    assert "\x85" not in text and "\u2028" not in text  # written escaped: the file is terminal-safe...
    path = tmp_path / "a.jsonl"
    path.write_text(text, encoding="utf-8")
    records = read_jsonl(text)
    assert any(r.get("text") == odd.decode() + "\r\n" for r in records if r["type"] == "wire")  # ...and reads back
    raw = json.dumps({"type": "info", "text": "a\x85b"}, ensure_ascii=False)  # another writer: raw U+0085 in a string
    lines = text.split("\n")
    path.write_text("\n".join(lines[:1] + [raw] + lines[1:]), encoding="utf-8")
    assert diff_files(str(path), str(path)).same


def test_a_payload_typed_again_outside_auth_is_masked_on_the_wire_and_in_its_exchange():
    """``raw AUTH PLAIN <payload>``, then the same payload (and the password in it) typed on later lines."""
    with FakeServer(esmtp(EHLO=EHLO, AUTH=b"535 5.7.8 no\r\n")) as server:
        with Session(parse_target(server.target), SessionOptions(timeout=3, allow_plaintext_auth=True)) as session:
            session.execute("connect")
            session.execute("ehlo")
            assert session.execute(f"raw AUTH PLAIN {PLAIN.decode()}").code == 535
            for command in (f"docmd {PLAIN.decode()}", f"docmd NOOP {PASSWORD}"):
                assert session.execute(command).code == 250
            found = haystack(session)
            sent = [e for e in session.transcript.snapshot() if getattr(e, "direction", None) is not None
                    and e.is_send and e.data.startswith((b"********", b"NOOP"))]
    assert [e.data for e in sent] == [b"********\r\n", b"NOOP ********\r\n"] and all(e.redacted for e in sent)
    for form in FORMS[:3]:
        assert form not in found and form.upper() not in found.upper(), form
