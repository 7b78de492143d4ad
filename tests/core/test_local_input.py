"""Nonsense typed at the prompt: a clear parse or command error, nothing sent, the session intact."""

from __future__ import annotations

import pytest

from smtpdbg.core.parser import ParseError, parse


@pytest.mark.parametrize("line", [
    "timeout nan", "timeout inf", "timeout -inf", "timeout 1e400",
    "noop --timeout nan", "noop --timeout inf", "noop --timeout=1e999",
    "drain nan", "drain inf",
    "set_debuglevel nan", "set_debuglevel inf",
])
def test_numbers_that_are_not_numbers_are_parse_errors(line):
    with pytest.raises(ParseError) as error:
        parse(line)
    assert "number" in str(error.value)


def test_nonsense_numbers_reach_no_server_and_leave_the_session_usable(session):
    for line in ("timeout nan", "noop --timeout inf", "set_debuglevel inf", "drain -1"):
        outcome = session.execute(line)
        assert not outcome.ok and outcome.category in ("parse", "command"), outcome
        assert outcome.connected
    assert session.state.timeout == 10.0
    assert session.execute("noop").code == 250


def test_a_missing_unix_socket_is_named(make_session, tmp_path):
    session = make_session()
    path = tmp_path / "no-such.sock"
    outcome = session.execute(f"connect lmtp://{path}")
    assert not outcome.ok
    assert str(path) in outcome.message and "None" not in outcome.message


def test_a_missing_client_certificate_is_named_and_nothing_is_sent(session, tmp_path):
    session.execute("ehlo")
    mark = len(session.transcript)
    outcome = session.execute(f"starttls --cert {tmp_path}/no-such.pem")
    assert not outcome.ok and outcome.connected
    assert "no-such.pem" in outcome.message and "None" not in outcome.message
    from smtpdbg.core import Wire

    assert not [e for e in session.transcript.snapshot()[mark:] if isinstance(e, Wire) and e.is_send]
    assert session.execute("noop").code == 250


def test_an_unreadable_client_certificate_is_named(session, tmp_path):
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    session.execute("ehlo")
    outcome = session.execute(f"starttls --cert {bogus}")
    assert not outcome.ok and outcome.connected
    assert "bogus.pem" in outcome.message
    assert session.execute("noop").code == 250


@pytest.mark.parametrize("line, words", [
    ("pipeline ;;", "pipeline needs"),
    ("pipeline  ; ", "pipeline needs"),
    ("sendmail alice@sandbox.smtpdbg.test , @{message}", "recipient"),
    ("send_message @{no_recipients}", "recipient"),
])
def test_commands_with_nothing_to_send_say_so_and_send_nothing(session, tmp_path, line, words):
    from smtpdbg.core import Wire

    message = tmp_path / "m.eml"
    message.write_text("Subject: x\n\nbody\n")
    no_recipients = tmp_path / "n.eml"
    no_recipients.write_text("From: alice@sandbox.smtpdbg.test\nSubject: x\n\nbody\n")
    session.execute("ehlo")
    mark = len(session.transcript)
    outcome = session.execute(line.format(message=message, no_recipients=no_recipients))
    assert not outcome.ok and outcome.category == "command", outcome
    assert words in outcome.message
    assert not [e for e in session.transcript.snapshot()[mark:] if isinstance(e, Wire) and e.is_send]
    assert session.execute("noop").code == 250


@pytest.fixture
def encrypted_client_cert(tmp_path):
    """A client certificate whose key is protected by a pass phrase."""
    import trustme
    from cryptography.hazmat.primitives import serialization

    leaf = trustme.CA().issue_cert("client.test")
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"secret phrase"))
    cert_path, key_path = tmp_path / "client.pem", tmp_path / "client.key"
    cert_path.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key_path.write_bytes(encrypted)
    return str(cert_path), str(key_path)


def test_an_encrypted_client_key_is_refused_without_asking_for_a_pass_phrase(encrypted_client_cert):
    """OpenSSL would prompt on the terminal (outside any timeout, under the TUI): refuse clearly instead."""
    from smtpdbg.core.tls import build_context

    cert, key = encrypted_client_cert
    with pytest.raises(ValueError) as error:
        build_context(cert=cert, key=key)
    assert "encrypted" in str(error.value) and key in str(error.value)


def test_starttls_with_an_encrypted_client_key_is_a_clear_local_error(session, encrypted_client_cert):
    cert, key = encrypted_client_cert
    session.execute("ehlo")
    outcome = session.execute(f"starttls --cert {cert} --key {key}")
    assert not outcome.ok and outcome.connected
    assert "encrypted" in outcome.message
    assert session.execute("noop").code == 250
