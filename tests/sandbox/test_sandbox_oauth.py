"""AUTH XOAUTH2 and OAUTHBEARER (RFC 7628): success, the JSON error dance, edge cases.

Raw sockets where the exact challenge matters, smtplib where a client library
would be used, and table tests for the message parsers.
"""

from __future__ import annotations

import base64
import json
import smtplib
from collections.abc import Iterator

import pytest

from smtpdbg.sandbox import Endpoints, Sandbox, SandboxConfig
from smtpdbg.sandbox.oauth import BearerCredentials, error_challenge, parse_oauthbearer, parse_xoauth2

TOKEN = "sandbox-token"
XOAUTH2_ERROR = {"status": "401", "schemes": "Bearer", "scope": "https://mail.sandbox.smtpdbg.test/"}
OAUTHBEARER_ERROR = {"status": "invalid_token", "schemes": "bearer",
                     "scope": "https://mail.sandbox.smtpdbg.test/"}
INVALID = "535 5.7.8 Authentication credentials invalid"
SUCCESS = "235 2.7.0 Authentication successful"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def xoauth2(user: str = "alice", token: str = TOKEN) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer(user: str | None = "alice", token: str = TOKEN, where: str = "") -> str:
    authzid = f"a={user}" if user is not None else ""
    return f"n,{authzid},\x01{where}auth=Bearer {token}\x01\x01"


MESSAGES = {"XOAUTH2": xoauth2, "OAUTHBEARER": oauthbearer}
ERRORS = {"XOAUTH2": XOAUTH2_ERROR, "OAUTHBEARER": OAUTHBEARER_ERROR}
DUMMY = {"XOAUTH2": "", "OAUTHBEARER": "AQ=="}  # what the client answers the error with


@pytest.fixture
def w(ep: Endpoints, wire):
    client = wire(ep.smtp)
    client.ehlo()
    return client


def authobject(message: str, dummy: str):
    """An smtplib authobject: the message first, then the dummy answer to the error."""
    answers = iter([message, base64.b64decode(dummy).decode()])
    return lambda challenge=None: next(answers)


# -- success ------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_initial_response_succeeds_and_the_message_records_the_mechanism(
    w, sandbox: Sandbox, mechanism: str
) -> None:
    assert w.command(f"AUTH {mechanism} {b64(MESSAGES[mechanism]())}") == SUCCESS
    w.send(b"MAIL FROM:<alice@example.com>\r\nRCPT TO:<r@example.com>\r\nBDAT 1 LAST\r\nx")
    assert [w.reply() for _ in range(3)][-1] == "250 2.0.0 OK: message accepted"
    (message,) = sandbox.wait_for_messages(1)
    assert (message.auth_user, message.auth_mechanism) == ("alice", mechanism)


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_empty_challenge_then_response(w, mechanism: str) -> None:
    w.send(f"AUTH {mechanism}\r\n".encode())
    assert w.file.readline() == b"334 \r\n"  # an empty challenge, trailing space included
    assert w.command(b64(MESSAGES[mechanism]())) == SUCCESS


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_smtplib_auth_succeeds(client: smtplib.SMTP, mechanism: str) -> None:
    code, text = client.auth(mechanism, authobject(MESSAGES[mechanism](), DUMMY[mechanism]))
    assert (code, text) == (235, b"2.7.0 Authentication successful")


@pytest.mark.parametrize("message", [
    oauthbearer(where="host=127.0.0.1\x01port=2525\x01"),
    oauthbearer(user=None),  # no authzid: the token alone says who
    oauthbearer(user="alice@sandbox.smtpdbg.test"),
    "y,a=alice,\x01auth=bearer sandbox-token\x01\x01",  # y flag, lower-case scheme
])
def test_oauthbearer_variants_succeed(w, message: str) -> None:
    assert w.command(f"AUTH OAUTHBEARER {b64(message)}") == SUCCESS


def test_xoauth2_accepts_user_at_hostname(w) -> None:
    assert w.command(f"AUTH XOAUTH2 {b64(xoauth2('ALICE@sandbox.smtpdbg.test'))}") == SUCCESS


# -- failure ------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
@pytest.mark.parametrize("user, token", [("alice", "wrong-token"), ("mallory", TOKEN)])
def test_failure_is_a_json_challenge_then_535(w, mechanism: str, user: str, token: str) -> None:
    reply = w.command(f"AUTH {mechanism} {b64(MESSAGES[mechanism](user, token))}")
    code, _, challenge = reply.partition(" ")
    assert code == "334"
    decoded = base64.b64decode(challenge, validate=True)
    assert json.loads(decoded) == ERRORS[mechanism]
    assert decoded == json.dumps(ERRORS[mechanism], separators=(",", ":")).encode()
    assert w.command(DUMMY[mechanism]) == INVALID
    assert w.command("NOOP") == "250 2.0.0 OK"
    assert w.command(f"AUTH {mechanism} {b64(MESSAGES[mechanism]())}") == SUCCESS  # may retry


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_smtplib_sees_535_after_the_dummy_response(client: smtplib.SMTP, mechanism: str) -> None:
    with pytest.raises(smtplib.SMTPAuthenticationError) as failure:
        client.auth(mechanism, authobject(MESSAGES[mechanism](token="nope"), DUMMY[mechanism]))
    assert (failure.value.smtp_code, failure.value.smtp_error) == (
        535, b"5.7.8 Authentication credentials invalid")
    assert client.noop()[0] == 250


def test_star_after_the_error_challenge_aborts(w) -> None:
    assert w.command(f"AUTH XOAUTH2 {b64(xoauth2(token='x'))}").startswith("334 ")
    assert w.command("*") == "501 5.7.0 Auth aborted"
    assert w.command("NOOP") == "250 2.0.0 OK"


@pytest.mark.parametrize("mechanism, message", [
    ("XOAUTH2", "user=alice\x01auth=Bearer sandbox-token"),  # no ^A^A
    ("XOAUTH2", "auth=Bearer sandbox-token\x01\x01"),  # no user
    ("XOAUTH2", "user=alice\x01auth=Basic abc\x01\x01"),
    ("OAUTHBEARER", "p=tls-unique,a=alice,\x01auth=Bearer sandbox-token\x01\x01"),  # channel binding
    ("OAUTHBEARER", "n,a=alice\x01auth=Bearer sandbox-token\x01\x01"),  # GS2 header not closed
    ("OAUTHBEARER", "n,,\x01host=x\x01\x01"),  # no auth
    ("OAUTHBEARER", "garbage"),
])
def test_malformed_messages_are_501(w, mechanism: str, message: str) -> None:
    assert w.command(f"AUTH {mechanism} {b64(message)}") == f"501 5.5.2 Malformed {mechanism} response"
    assert w.command("NOOP") == "250 2.0.0 OK"


def test_bad_base64_is_aiosmtpds_501(w) -> None:
    assert w.command("AUTH OAUTHBEARER !!!") == "501 5.5.2 Can't decode base64"


# -- configuration ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_token() -> Iterator[Sandbox]:
    """A sandbox whose token is as long as real-world JWT access tokens get."""
    with Sandbox(SandboxConfig(oauth_token="eyJ" + "x" * 2500, lmtp=False)) as sb:
        yield sb


def test_a_long_token_fits_on_the_auth_line(long_token: Sandbox, wire) -> None:
    # The line is ~3.4 KB: aiosmtpd alone would answer 500 Command line too long.
    w = wire(long_token.endpoints.smtp)
    w.ehlo()
    token = long_token.endpoints.oauth_token
    assert w.command(f"AUTH XOAUTH2 {b64(xoauth2(token=token))}") == SUCCESS


def test_an_empty_token_turns_oauth_off(wire) -> None:
    with Sandbox(SandboxConfig(oauth_token="", lmtp=False)) as sb:
        assert sb.endpoints.oauth_token == ""
        w = wire(sb.endpoints.smtp)
        auth = next(k for k in w.ehlo() if k.startswith("AUTH "))
        assert auth.split() == ["AUTH", "CRAM-MD5", "LOGIN", "PLAIN"]
        assert w.command(f"AUTH XOAUTH2 {b64(xoauth2(token=''))}") == (
            "504 5.5.4 Unrecognized authentication type")


@pytest.mark.parametrize("token", ["with space", "tab\there", "new\nline", "\x01"])
def test_tokens_must_be_printable_without_spaces(token: str) -> None:
    with pytest.raises(ValueError):
        SandboxConfig(oauth_token=token)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_password_mechanisms_are_recorded_too(client: smtplib.SMTP, sandbox: Sandbox, ep: Endpoints,
                                              mechanism: str) -> None:
    client.user, client.password = ep.user, ep.password
    method = {"PLAIN": client.auth_plain, "LOGIN": client.auth_login, "CRAM-MD5": client.auth_cram_md5}
    client.auth(mechanism, method[mechanism])
    client.sendmail("a@example.com", ["b@example.com"], b"Subject: m\r\n\r\nx\r\n")
    assert sandbox.wait_for_messages(1)[0].auth_mechanism == mechanism


def test_unauthenticated_messages_have_no_mechanism(client: smtplib.SMTP, sandbox: Sandbox) -> None:
    client.sendmail("a@example.com", ["b@example.com"], b"Subject: m\r\n\r\nx\r\n")
    assert sandbox.wait_for_messages(1)[0].auth_mechanism is None


# -- parsers --------------------------------------------------------------------------


@pytest.mark.parametrize("data, expected", [
    (xoauth2(), BearerCredentials("XOAUTH2", "alice", TOKEN)),
    ("user=a@b.example\x01AUTH=BEARER t.o-k_e~n+/=\x01\x01",
     BearerCredentials("XOAUTH2", "a@b.example", "t.o-k_e~n+/=")),
    ("user=alice\x01auth=Bearer  two-spaces\x01\x01", None),
    ("user=alice\x01auth=Bearer \x01\x01", None),
    ("user=\x01auth=Bearer t\x01\x01", None),
    ("user=alice\x01auth=Bearer t\x01", None),
    ("", None),
])
def test_parse_xoauth2(data: str, expected) -> None:
    assert parse_xoauth2(data.encode()) == expected


@pytest.mark.parametrize("data, expected", [
    (oauthbearer(), BearerCredentials("OAUTHBEARER", "alice", TOKEN)),
    (oauthbearer(user=None), BearerCredentials("OAUTHBEARER", None, TOKEN)),
    ("n,a=we=2Cird=3Dname,\x01auth=Bearer t\x01\x01", BearerCredentials("OAUTHBEARER", "we,ird=name", "t")),
    ("n,a=alice,\x01host=h\x01port=25\x01auth=Bearer t\x01\x01", BearerCredentials("OAUTHBEARER", "alice", "t")),
    ("n,b=alice,\x01auth=Bearer t\x01\x01", None),
    ("n,a=alice,\x01auth=Bearer t\x01", None),
    ("n,a=alice,\x01bad pair\x01auth=Bearer t\x01\x01", None),
])
def test_parse_oauthbearer(data: str, expected) -> None:
    assert parse_oauthbearer(data.encode()) == expected


def test_error_challenges_follow_the_hostname() -> None:
    assert error_challenge("XOAUTH2", "mx.example.test") == (
        b'{"status":"401","schemes":"Bearer","scope":"https://mail.mx.example.test/"}')
    assert error_challenge("OAUTHBEARER", "sandbox.smtpdbg.test") == (
        b'{"status":"invalid_token","schemes":"bearer","scope":"https://mail.sandbox.smtpdbg.test/"}')
