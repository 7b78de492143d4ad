"""Issue-8 extensions end to end against the real sandbox: what the server received, byte for byte."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trustme

from smtpdbg.core import Session, SessionOptions, Target, Wire
from smtpdbg.sandbox import Sandbox, SandboxConfig


@pytest.fixture(scope="module")
def client_pki(tmp_path_factory):
    ca = trustme.CA()
    directory = tmp_path_factory.mktemp("client-pki")
    ca_path = directory / "client-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    leaf = ca.issue_cert("robot@example.org")
    cert_path = directory / "client.pem"
    leaf.private_key_and_cert_chain_pem.write_to_path(str(cert_path))
    return ca_path, cert_path


@pytest.fixture(scope="module")
def rich_sandbox(client_pki):
    config = SandboxConfig(xclient=True, proxy_protocol=False, client_ca=str(client_pki[0]))
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def proxied_sandbox():
    with Sandbox(SandboxConfig(proxy_protocol=True, lmtp=False)) as sandbox:
        yield sandbox


def open_session(sandbox: Sandbox, transport: str = "smtp", **options) -> Session:
    ep = sandbox.endpoints
    sandbox.clear_messages()
    sandbox.clear_connections()
    if transport == "lmtp":
        target = Target("lmtp", ep.lmtp, None, sandbox=True)
    else:
        host, port = ep.smtps if transport == "smtps" else ep.smtp
        target = Target(transport, host, port, sandbox=True)
    settings = {"timeout": 10, "local_hostname": "client.example", "ca": ep.ca_path}
    settings.update(options)
    session = Session(target, SessionOptions(**settings), environ={"TOKEN": ep.oauth_token})
    assert session.execute("connect").ok
    return session


BINARY = bytes(range(256)) * 64 + b"\r\n.\r\n..\r.\n\x00end"


@pytest.mark.parametrize("chunk", [1000, 65536])
def test_bdat_binary_message_arrives_byte_exact(rich_sandbox, tmp_path, chunk):
    path = tmp_path / "binary.bin"
    path.write_bytes(BINARY)
    with open_session(rich_sandbox) as session:
        session.execute("ehlo")
        assert session.state.features.has("chunking") and session.state.features.has("binarymime")
        assert session.execute("mail a@sandbox.smtpdbg.test BODY=BINARYMIME").ok
        assert session.execute("rcpt b@sandbox.smtpdbg.test").ok
        outcome = session.execute(f"bdat @{path} --chunk {chunk}")
        assert outcome.ok, outcome
        message = rich_sandbox.wait_for_messages(1)[0]
        assert message.content == BINARY
        assert message.chunks == tuple(len(BINARY[i:i + chunk]) for i in range(0, len(BINARY), chunk))
        assert session.state.stage.value == "identified" and session.state.last_transaction.status == "delivered"


def test_bdat_over_lmtp_reads_one_reply_per_recipient(rich_sandbox):
    with open_session(rich_sandbox, "lmtp") as session:
        session.execute("ehlo")
        session.execute("mail a@sandbox.smtpdbg.test")
        for name in ("bob", "full", "carol"):
            session.execute(f"rcpt {name}@sandbox.smtpdbg.test")
        outcome = session.execute("bdat --chunk 8", body=b"Subject: lmtp bdat\r\n\r\nhello\r\n")
        assert [c for c, _ in outcome.replies][-3:] == [250, 452, 250]
        assert session.execute("noop").code == 250  # still in step


def test_bdat_wrong_count_is_noticed_by_the_server(rich_sandbox):
    with open_session(rich_sandbox, timeout=2) as session:
        session.execute("ehlo")
        session.execute("mail a@sandbox.smtpdbg.test")
        session.execute("rcpt b@sandbox.smtpdbg.test")
        outcome = session.execute("bdat --declare 4", body=b"Subject: x\r\n\r\nbody\r\n")
        assert outcome.code == 250
        # the server took only 4 bytes as the message; the rest arrives as junk commands
        assert rich_sandbox.wait_for_messages(1)[0].content == b"Subj"
        time.sleep(0.2)
        follow = session.execute("noop")
        texts = " ".join(getattr(e, "text", "") for e in session.transcript.snapshot())
        assert follow.code != 250 or "unsolicited reply 500" in texts


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_oauth_against_the_sandbox(rich_sandbox, mechanism):
    with open_session(rich_sandbox) as session:
        session.execute("ehlo")
        ok = session.execute(f"auth {mechanism} alice --token-env TOKEN")
        assert ok.code == 235 and session.state.auth_mechanism == mechanism
        assert rich_sandbox.endpoints.oauth_token not in repr(session.transcript.snapshot())
    with open_session(rich_sandbox) as session:
        session.execute("ehlo")
        bad = session.execute(f"auth {mechanism} alice", secret="not-the-token")
        assert bad.code == 535 and '"scope":"https://mail.sandbox.smtpdbg.test/"' in bad.message.replace(" ", "")
        notes = " ".join(e.note for e in session.transcript.snapshot() if isinstance(e, Wire))
        assert "error details" in notes and "not-the-token" not in notes


def test_xclient_then_mail_is_attributed(rich_sandbox):
    with open_session(rich_sandbox) as session:
        session.execute("ehlo")
        assert session.state.features.has("xclient")
        outcome = session.execute("xclient ADDR=192.0.2.7 NAME=client+1.example HELO=relay.example")
        assert outcome.code == 220
        session.execute("ehlo")
        session.execute("xforward ADDR=198.51.100.9 PROTO=ESMTP")
        session.execute("mail a@sandbox.smtpdbg.test")
        session.execute("rcpt b@sandbox.smtpdbg.test")
        assert session.execute("data", body=b"Subject: x\r\n\r\nx\r\n").ok
        message = rich_sandbox.wait_for_messages(1)[0]
        assert dict(message.xclient)["NAME"] == "client+1.example" and dict(message.xclient)["ADDR"] == "192.0.2.7"
        assert dict(message.xforward)["ADDR"] == "198.51.100.9"


def test_long_xclient_values_are_split_and_accepted(rich_sandbox):
    with open_session(rich_sandbox) as session:
        session.execute("ehlo")
        long_name = "h" * 240 + ".example"
        outcome = session.execute(f"xclient NAME={long_name} HELO={long_name} ADDR=192.0.2.7")
        assert outcome.code == 220
        assert len(outcome.replies) == 2


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_proxy_header_is_received(proxied_sandbox, version):
    with open_session(proxied_sandbox, proxy_header=version, proxy_source=("203.0.113.5", 4711)) as session:
        assert session.execute("ehlo").ok
    connections = proxied_sandbox.wait_for_connections(1)
    assert connections[0].proxy.startswith(f"{version} TCP4 203.0.113.5:4711 -> 127.0.0.1:")


def test_proxy_header_before_implicit_tls(proxied_sandbox):
    with open_session(proxied_sandbox, "smtps", proxy_header="v1", proxy_source=("203.0.113.5", 4711)) as session:
        assert session.state.tls is not None and session.state.tls.verified
    assert proxied_sandbox.wait_for_connections(1)[0].proxy.startswith("v1 TCP4 203.0.113.5:4711")


def test_sni_override_is_seen_by_the_server(rich_sandbox):
    with open_session(rich_sandbox, "smtps", tls_name="sandbox.smtpdbg.test", tls_verify_name="127.0.0.1") as session:
        assert session.state.tls.sni == "sandbox.smtpdbg.test"
        session.execute("ehlo")
    assert rich_sandbox.wait_for_connections(1)[0].sni == "sandbox.smtpdbg.test"


def test_client_certificate_is_seen_by_the_server(rich_sandbox, client_pki):
    with open_session(rich_sandbox, "smtps", tls_cert=str(client_pki[1])) as session:
        session.execute("ehlo")
    assert "robot@example.org" in (rich_sandbox.wait_for_connections(1)[0].client_cert or "")
