"""Tests for AUTH masking (smtpdbg.core.secrets): secrets never reach a recorded line or note."""

from __future__ import annotations

import base64
import hmac

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from smtpdbg.core.secrets import MASK, AuthMasker, b64decode, describe_challenge, printable
from tests.fuzz import fuzz


def b64(data: bytes | str) -> bytes:
    return base64.b64encode(data.encode() if isinstance(data, str) else data)


def secret_forms(secret: str) -> list[bytes]:
    """Ways a secret could leak: itself, and base64 of it."""
    raw = secret.encode()
    return [raw, b64(raw)]


def assert_hidden(secret: str, *, recorded: list[bytes], notes: list[str]) -> None:
    for form in secret_forms(secret):
        for line in recorded:
            assert form not in line
    for note in notes:
        assert secret not in note
        assert b64(secret).decode() not in note


# -- PLAIN -----------------------------------------------------------------------------------
def test_plain_initial_response_masked() -> None:
    masker = AuthMasker()
    payload = b64("\0alice\0s3cr3t-pass")
    recorded, redacted, note = masker.on_send(b"AUTH PLAIN " + payload + b"\r\n")
    assert recorded == b"AUTH PLAIN " + MASK + b"\r\n"
    assert redacted
    assert note == "PLAIN authzid='' user='alice' password=<hidden>"
    assert masker.user == "alice"
    assert_hidden("s3cr3t-pass", recorded=[recorded], notes=[note])
    assert payload not in recorded


def test_plain_after_empty_challenge() -> None:
    masker = AuthMasker()
    assert masker.on_send(b"AUTH PLAIN\r\n") == (b"AUTH PLAIN\r\n", False, "start PLAIN authentication")
    assert masker.on_reply(334, b"") == "empty challenge: send the initial response"
    recorded, redacted, note = masker.on_send(b64("admin\0bob\0hunter2!") + b"\r\n")
    assert (recorded, redacted) == (MASK + b"\r\n", True)
    assert note == "PLAIN authzid='admin' user='bob' password=<hidden>"
    assert_hidden("hunter2!", recorded=[recorded], notes=[note])


def test_lowercase_auth_verb_is_masked() -> None:
    recorded, redacted, _ = AuthMasker().on_send(b"auth plain " + b64("\0a\0pw-secret") + b"\r\n")
    assert recorded == b"auth plain " + MASK + b"\r\n" and redacted


@pytest.mark.parametrize(("payload", "note"), [
    (b"=", "empty initial response"),
    (b"not*base64", "response (not valid base64)"),
    (b64("only-one-part"), "PLAIN response (malformed: expected authzid\\0user\\0password)"),
])
def test_plain_odd_payloads_still_masked(payload: bytes, note: str) -> None:
    recorded, redacted, got = AuthMasker().on_send(b"AUTH PLAIN " + payload + b"\r\n")
    assert recorded == b"AUTH PLAIN " + MASK + b"\r\n" and redacted
    assert got == note
    assert b"only-one-part" not in recorded and b"not*base64" not in recorded


def test_line_ending_preserved() -> None:
    recorded, _, _ = AuthMasker().on_send(b"AUTH PLAIN " + b64("\0a\0b") + b"\n")
    assert recorded == b"AUTH PLAIN " + MASK + b"\n"
    recorded, _, _ = AuthMasker().on_send(b"AUTH PLAIN " + b64("\0a\0b"))
    assert recorded == b"AUTH PLAIN " + MASK


# -- LOGIN -----------------------------------------------------------------------------------
def test_login_user_shown_password_masked() -> None:
    masker = AuthMasker()
    assert masker.on_send(b"AUTH LOGIN\r\n") == (b"AUTH LOGIN\r\n", False, "start LOGIN authentication")
    assert masker.on_reply(334, b64("Username:")) == "server asks 'Username:'"
    recorded_user, redacted, user_note = masker.on_send(b64("alice") + b"\r\n")
    assert (recorded_user, redacted) == (MASK + b"\r\n", True)
    assert user_note == "LOGIN user name 'alice'"
    assert masker.on_reply(334, b64("Password:")) == "server asks 'Password:'"
    recorded_pw, redacted, pw_note = masker.on_send(b64("correct horse") + b"\r\n")
    assert (recorded_pw, redacted) == (MASK + b"\r\n", True)
    assert pw_note == "LOGIN password <hidden>"
    assert masker.on_reply(235, b"2.7.0 ok") == ""
    assert not masker.active
    assert_hidden("correct horse", recorded=[recorded_user, recorded_pw], notes=[user_note, pw_note])


def test_login_with_initial_response() -> None:
    masker = AuthMasker()
    recorded, _, note = masker.on_send(b"AUTH LOGIN " + b64("alice") + b"\r\n")
    assert recorded == b"AUTH LOGIN " + MASK + b"\r\n"
    assert note == "LOGIN user name 'alice'"
    masker.on_reply(334, b64("Password:"))
    recorded, _, note = masker.on_send(b64("pa55word") + b"\r\n")
    assert note == "LOGIN password <hidden>"
    assert_hidden("pa55word", recorded=[recorded], notes=[note])


@pytest.mark.parametrize("prompt", ["Password for user:", "user", "UGFzc3dvcmQ6", "", "Username:"])
def test_login_password_hidden_whatever_the_prompt(prompt: str) -> None:
    """smtplib sends the password as the second LOGIN datum without reading the prompt.

    A server whose second prompt mentions "user" must not make the masker show
    the password as a user name.
    """
    masker = AuthMasker()
    masker.on_send(b"AUTH LOGIN\r\n")
    masker.on_reply(334, b64("Username:"))
    masker.on_send(b64("alice") + b"\r\n")
    masker.on_reply(334, b64(prompt))
    recorded, redacted, note = masker.on_send(b64("t0p-secret") + b"\r\n")
    assert redacted
    assert note == "LOGIN password <hidden>"
    assert_hidden("t0p-secret", recorded=[recorded], notes=[note])


@pytest.mark.parametrize("prompt", [b"", b"Go ahead"])
def test_login_datum_after_a_prompt_that_names_nothing_is_not_shown(prompt: bytes) -> None:
    """After an empty (or unknown) 334 a hand-typed datum may be the password: its note does not decode it."""
    masker = AuthMasker()
    masker.on_send(b"AUTH LOGIN\r\n")
    masker.on_reply(334, base64.b64encode(prompt))
    recorded, redacted, note = masker.on_send(b64("wonderland") + b"\r\n")
    assert redacted and "wonderland" not in note and "hidden" in note
    assert_hidden("wonderland", recorded=[recorded], notes=[note])
    assert b"wonderland" in masker.known  # scrubbed if the server echoes it
    masker.on_reply(334, b"")
    _, _, second = masker.on_send(b64("other") + b"\r\n")
    assert second == "LOGIN password <hidden>"


def test_login_stale_challenge_from_earlier_exchange_not_used() -> None:
    masker = AuthMasker()
    masker.on_send(b"AUTH LOGIN\r\n")
    masker.on_reply(334, b64("Username:"))
    masker.on_send(b64("alice") + b"\r\n")
    masker.on_reply(334, b64("Password:"))
    masker.on_send(b64("wrong") + b"\r\n")
    masker.on_reply(535, b"bad")
    # a new exchange: its initial response is the user name again
    _, _, note = masker.on_send(b"AUTH LOGIN " + b64("bob") + b"\r\n")
    assert note == "LOGIN user name 'bob'"


# -- CRAM-MD5 and others -----------------------------------------------------------------------
def test_cram_md5_digest_hidden() -> None:
    challenge = b"<1896.697170952@postoffice.example.net>"  # RFC 2195 §2
    digest = hmac.new(b"tanstaaftanstaaf", challenge, "md5").hexdigest()
    masker = AuthMasker()
    masker.on_send(b"AUTH CRAM-MD5\r\n")
    assert masker.on_reply(334, b64(challenge)) == f"CRAM-MD5 challenge {challenge.decode()}"
    recorded, redacted, note = masker.on_send(b64(f"tim {digest}") + b"\r\n")
    assert (recorded, redacted) == (MASK + b"\r\n", True)
    assert note == "CRAM-MD5 user='tim' digest=<hidden, 32 hex digits>"
    assert digest not in note
    assert_hidden(digest, recorded=[recorded], notes=[note])


def test_xoauth2_token_hidden() -> None:
    token = "ya29.a0AfH6SMBsecrettoken"
    payload = b64(f"user=alice@example.org\x01auth=Bearer {token}\x01\x01")
    recorded, redacted, note = AuthMasker().on_send(b"AUTH XOAUTH2 " + payload + b"\r\n")
    assert redacted
    assert note == "XOAUTH2 user='alice@example.org' token=<hidden>"
    assert_hidden(token, recorded=[recorded], notes=[note])


def test_unknown_mechanism_payload_hidden() -> None:
    recorded, redacted, note = AuthMasker().on_send(b"AUTH SCRAM-SHA-1 " + b64("n,,n=user,r=nonce") + b"\r\n")
    assert redacted and recorded == b"AUTH SCRAM-SHA-1 " + MASK + b"\r\n"
    assert note == "SCRAM-SHA-1 response <hidden, 17 bytes>"


def test_cancel_is_shown() -> None:
    masker = AuthMasker()
    masker.on_send(b"AUTH LOGIN\r\n")
    masker.on_reply(334, b64("Username:"))
    assert masker.on_send(b"*\r\n") == (b"*\r\n", False, "cancel authentication")


def test_lines_outside_auth_untouched() -> None:
    masker = AuthMasker()
    for line in (b"EHLO x\r\n", b"MAIL FROM:<a@b>\r\n", b"AUTH\r\n", b"YWxpY2U=\r\n"):
        assert masker.on_send(line) == (line, False, "")
    assert masker.on_reply(334, b"VXNlcm5hbWU6") == ""


def test_exchange_ends_on_final_reply() -> None:
    masker = AuthMasker()
    masker.on_send(b"AUTH PLAIN " + b64("\0a\0b") + b"\r\n")
    assert masker.on_reply(235, b"ok") == ""
    assert masker.on_send(b"MAIL FROM:<a@b>\r\n") == (b"MAIL FROM:<a@b>\r\n", False, "")


# -- helpers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "decoded"), [(b"YWJj", b"abc"), (b" YWJj\r\n", b"abc"), (b"", b""),
                                                (b"YWJ", None), (b"a*bc", None)])
def test_b64decode(value: bytes, decoded) -> None:
    assert b64decode(value) == decoded


@pytest.mark.parametrize(("mechanism", "payload", "note"), [
    ("LOGIN", b"", "empty challenge: send the initial response"),
    ("LOGIN", b"!!", "challenge is not valid base64"),
    ("LOGIN", b"VXNlcm5hbWU6", "server asks 'Username:'"),
    ("XOAUTH2", b64('{"status":"401"}'), 'error details: {"status":"401"}'),
])
def test_describe_challenge(mechanism: str, payload: bytes, note: str) -> None:
    assert describe_challenge(mechanism, payload) == note


def test_printable_escapes_and_truncates() -> None:
    assert printable(b"a\x1bb\x00") == "a\\x1bb\\x00"
    assert printable(b"x" * 100, limit=10) == "x" * 9 + "…"


# -- property -------------------------------------------------------------------------------
PASSWORDS = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=4, max_size=30) | st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs")), min_size=4, max_size=20)


@settings(max_examples=fuzz(200), deadline=None)
@given(PASSWORDS)
def test_plain_never_leaks_password(password: str) -> None:
    reference = AuthMasker().on_send(b"AUTH PLAIN " + b64("\0alice\0reference") + b"\r\n")
    # "alic" or "AUTH" are part of the fixed text, not a leak
    assume(password.encode() not in reference[0] and password not in reference[2])
    payload = b64(f"\0alice\0{password}")
    recorded, redacted, note = AuthMasker().on_send(b"AUTH PLAIN " + payload + b"\r\n")
    assert (recorded, redacted, note) == reference  # nothing about the password shows at all
    assert payload not in recorded
    assert_hidden(password, recorded=[recorded], notes=[note])


@settings(max_examples=fuzz(200), deadline=None)
@given(PASSWORDS, st.sampled_from(["Password:", "Password for user:", "user", "", "!!not-base64"]))
def test_login_never_leaks_password(password: str, prompt: str) -> None:
    masker = AuthMasker()
    masker.on_send(b"AUTH LOGIN\r\n")
    masker.on_reply(334, b64("Username:"))
    masker.on_send(b64("alice") + b"\r\n")
    masker.on_reply(334, b64(prompt) if prompt != "!!not-base64" else prompt.encode())
    recorded, redacted, note = masker.on_send(b64(password) + b"\r\n")
    assert redacted
    assert note == "LOGIN password <hidden>"
    assert recorded == MASK + b"\r\n"


def test_an_auth_line_hidden_behind_a_bare_cr_is_masked() -> None:
    payload = base64.b64encode(b"\0alice\0cr-secret")
    masker = AuthMasker()
    shown, redacted, note = masker.on_send(b"NOOP\rAUTH PLAIN " + payload + b"\r\n")
    assert redacted and payload not in shown and b"cr-secret" not in shown
    assert shown.startswith(b"NOOP\rAUTH PLAIN ") and shown.endswith(b"\r\n")
    assert "alice" in note and "cr-secret" not in note


def test_the_secret_book_masks_a_secret_and_its_encodings_anywhere():
    from smtpdbg.core.events import Direction
    from smtpdbg.core.known_secrets import SecretBook

    book = SecretBook()
    assert not book and book.mask(b"anything") == b"anything"
    book.learn("hunter2-pw")
    plain = base64.b64encode(b"\0bob\0hunter2-pw")  # a user the book never heard of: found by decoding the word
    for line in (b"hunter2-pw\r\n", base64.b64encode(b"hunter2-pw") + b"\r\n", b"NOOP " + plain + b"\r\n",
                 b"535 you sent HUNTER2-PW", b"535 hex " + b"hunter2-pw".hex().encode(),
                 b"535 " + base64.b64encode(b"hunter2-pw").rstrip(b"=")):  # echoed upper-case, as hex, unpadded
        assert b"********" in book.mask(line) and b"hunter2" not in book.mask(line).lower(), line
    untouched = b"EHLO client.test PIPELINING " + base64.b64encode(b"nothing secret here") + b"\r\n"
    assert book.mask(untouched) == untouched
    fields = book.mask_fields({"direction": Direction.SEND, "data": b"x hunter2-pw", "head": (b"hunter2-pw",), "n": 3})
    assert fields == {"direction": Direction.SEND, "data": b"x ********", "head": (b"********",), "n": 3}
    short = SecretBook()
    short.learn("abc")  # too short to mask as itself (it would hit ordinary words); its base64 is masked
    assert short.mask_text("abc " + base64.b64encode(b"abc").decode()) == "abc ********"
