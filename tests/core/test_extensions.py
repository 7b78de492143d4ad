"""Extensions smtplib lacks or hides: BDAT, PIPELINING, DSN, SMTPUTF8, OAuth, XCLIENT/XFORWARD, PROXY, TLS options."""

from __future__ import annotations

import base64
import json
import socket
import struct

import pytest

from smtpdbg.core import Body, Info, InfoKind, Session, SessionOptions, Wire, parse_target
from smtpdbg.core.extensions import split_attributes, xtext
from smtpdbg.core.proxy import V2_SIGNATURE, proxy_header

from tests.servers import Conn, FakeServer, esmtp


def warnings_of(session) -> list[str]:
    return [e.text for e in session.transcript.snapshot() if isinstance(e, Info) and e.kind is InfoKind.WARNING]


def sent_lines(session) -> list[bytes]:
    return [e.data for e in session.transcript.snapshot() if isinstance(e, Wire) and e.is_send]


# -- BDAT ------------------------------------------------------------------------------------------------
def bdat_server(received: list):
    def bdat(conn: Conn, line: bytes) -> None:
        words = line.split()
        size = int(words[1])
        data = conn.buffer[:size]
        conn.buffer = conn.buffer[size:]
        while len(data) < size:
            chunk = conn.sock.recv(size - len(data))
            if not chunk:
                return
            data += chunk
        received.append((size, b"LAST" in line, data))
        conn.send(b"250 2.0.0 %d octets received\r\n" % size)

    return esmtp(EHLO=b"250-fake\r\n250-CHUNKING\r\n250 BINARYMIME\r\n", BDAT=bdat)


def test_bdat_sends_binary_chunks_exactly_and_reads_each_reply(tmp_path):
    payload = bytes(range(256)) * 40 + b"\r\n.\r\n.lead\rbare\n"
    message = tmp_path / "binary.eml"
    message.write_bytes(payload)
    received: list = []
    with FakeServer(bdat_server(received)) as server, Session(parse_target(server.target), SessionOptions(timeout=5)) as session:
        session.execute("connect")
        session.execute("ehlo")
        session.execute("mail a@b.test BODY=BINARYMIME")
        session.execute("rcpt c@d.test")
        outcome = session.execute(f"bdat @{message} --chunk 4096")
        assert outcome.ok and [c for c, _ in outcome.replies] == [250, 250, 250]
        assert b"".join(d for _, _, d in received) == payload
        assert [last for _, last, _ in received] == [False, False, True]
        assert [s for s, _, _ in received] == [4096, 4096, len(payload) - 8192]
        assert session.state.last_transaction is not None and session.state.last_transaction.status == "delivered"
        lines = [l for l in sent_lines(session) if l.startswith(b"BDAT")]
        assert lines == [b"BDAT 4096\r\n", b"BDAT 4096\r\n", b"BDAT %d LAST\r\n" % (len(payload) - 8192)]
        chunks = [e for e in session.transcript.snapshot() if isinstance(e, Body)]
        assert [e.size for e in chunks] == [4096, 4096, len(payload) - 8192] and all(e.stuffed == 0 for e in chunks)


def test_bdat_wrong_count_is_sent_and_flagged():
    received: list = []
    with FakeServer(bdat_server(received)) as server, Session(parse_target(server.target), SessionOptions(timeout=1)) as session:
        session.execute("connect")
        session.execute("ehlo")
        session.execute("mail a@b.test")
        session.execute("rcpt c@d.test")
        outcome = session.execute("bdat --declare 5", body=b"0123456789")
        assert any("announces 5 bytes but 10 follow" in w for w in warnings_of(session))
        assert received[0] == (5, True, b"01234")
        assert outcome.code == 250  # the server took 5 bytes; the rest is left for it to misread
        assert b"BDAT 5 LAST\r\n" in sent_lines(session)


def test_bdat_without_chunking_is_flagged(session, sandbox):
    session.execute("ehlo")
    session.execute("mail a@sandbox.smtpdbg.test")
    session.execute("rcpt b@sandbox.smtpdbg.test")
    features = session.state.features
    outcome = session.execute("bdat", body=b"Subject: x\r\n\r\nhi\r\n")
    if not features.has("chunking"):
        assert any("did not advertise CHUNKING" in w for w in warnings_of(session))
    assert outcome.code is not None or outcome.category


# -- PIPELINING --------------------------------------------------------------------------------------
def test_pipelined_mail_rcpt_data_then_body(session, sandbox):
    session.execute("ehlo")
    outcome = session.execute("pipeline MAIL FROM:<a@sandbox.smtpdbg.test>; RCPT TO:<b@sandbox.smtpdbg.test>; DATA")
    assert [c for c, _ in outcome.replies] == [250, 250, 354]
    assert session.state.stage.value == "data"
    assert session.execute("data", body=b"Subject: piped\r\n\r\nhello\r\n").code == 250
    assert sandbox.wait_for_messages(1)[0].content == b"Subject: piped\r\n\r\nhello\r\n"
    pipelined = [e for e in session.transcript.snapshot() if isinstance(e, Wire) and e.pipelined]
    assert [e.data for e in pipelined] == [b"MAIL FROM:<a@sandbox.smtpdbg.test>\r\n", b"RCPT TO:<b@sandbox.smtpdbg.test>\r\n",
                                           b"DATA\r\n"]


def test_pipelining_not_advertised_is_flagged():
    ehlo = b"250-fake\r\n250 SIZE 100\r\n"
    with FakeServer(esmtp(EHLO=ehlo)) as server, Session(parse_target(server.target), SessionOptions(timeout=2)) as session:
        session.execute("connect")
        session.execute("ehlo")
        session.execute("pipeline NOOP; NOOP")
        assert any("did not advertise PIPELINING" in w for w in warnings_of(session))


# -- DSN and SMTPUTF8 -------------------------------------------------------------------------------
def test_dsn_parameters_reach_the_server(session, sandbox):
    session.execute("ehlo")
    assert session.state.features.has("dsn")
    assert session.execute("mail a@sandbox.smtpdbg.test RET=HDRS ENVID=QQ314159").ok
    assert session.execute("rcpt b@sandbox.smtpdbg.test NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@sandbox.smtpdbg.test").ok
    assert session.execute("data", body=b"Subject: dsn\r\n\r\nx\r\n").ok
    message = sandbox.wait_for_messages(1)[0]
    assert message.mail_options == ("RET=HDRS", "ENVID=QQ314159")
    assert message.rcpt_options == (("NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;b@sandbox.smtpdbg.test"),)


def test_smtputf8_round_trip(session, sandbox):
    session.execute("ehlo")
    assert session.execute("mail jösé@sandbox.smtpdbg.test SMTPUTF8").ok
    assert session.execute("rcpt 用户@sandbox.smtpdbg.test").ok
    body = "Subject: ünïcödé\r\n\r\nпривет\r\n".encode("utf-8")
    assert session.execute("data", body=body).ok
    message = sandbox.wait_for_messages(1)[0]
    assert message.mail_from == "jösé@sandbox.smtpdbg.test" and message.rcpt_tos == ("用户@sandbox.smtpdbg.test",)
    assert message.content == body
    assert "jösé".encode() in b"".join(sent_lines(session))


def test_non_ascii_address_without_smtputf8_is_refused_clearly(session):
    session.execute("ehlo")
    outcome = session.execute("mail jösé@sandbox.smtpdbg.test")
    assert not outcome.ok and "needs the SMTPUTF8 parameter" in outcome.message
    assert session.execute("noop").ok


def test_smtputf8_not_advertised_can_be_sent_anyway():
    with FakeServer(esmtp()) as server, Session(parse_target(server.target), SessionOptions(timeout=2)) as session:
        session.execute("connect")
        session.execute("ehlo")
        refused = session.execute("mail jösé@x.test SMTPUTF8")
        assert "did not advertise SMTPUTF8" in refused.message and "--verbatim" in refused.message
        sent = session.execute("mail --verbatim <jösé@x.test> SMTPUTF8")
        assert sent.code == 250
        assert "mail FROM:<jösé@x.test> SMTPUTF8\r\n".encode() in sent_lines(session)


# -- OAuth ------------------------------------------------------------------------------------------
def oauth_server(good_token: str):
    error = base64.b64encode(json.dumps({"status": "401", "schemes": "Bearer", "scope": "https://mail.example/"}).encode())

    def auth(conn: Conn, line: bytes) -> None:
        words = line.split()
        payload = base64.b64decode(words[2]) if len(words) > 2 else None
        if payload is None:
            conn.send(b"334 \r\n")
            payload = base64.b64decode(conn.readline().strip())
        if b"auth=Bearer " + good_token.encode() + b"\x01" in payload:
            conn.send(b"235 2.7.0 Accepted\r\n")
            return
        conn.send(b"334 " + error + b"\r\n")
        conn.readline()
        conn.send(b"535 5.7.8 Username and Password not accepted\r\n")

    return esmtp(EHLO=b"250-fake\r\n250 AUTH XOAUTH2 OAUTHBEARER\r\n", AUTH=auth)


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_oauth_success_masks_the_token(mechanism):
    with FakeServer(oauth_server("tok-123")) as server:
        options = SessionOptions(timeout=3, allow_plaintext_auth=True)  # a fake server without TLS
        with Session(parse_target(server.target), options, environ={"TOKEN": "tok-123"}) as session:
            session.execute("connect")
            session.execute("ehlo")
            outcome = session.execute(f"auth {mechanism} alice@example.org --token-env TOKEN")
            assert outcome.ok and outcome.code == 235
            assert session.state.auth_mechanism == mechanism and session.state.auth_user == "alice@example.org"
            everything = repr(session.transcript.snapshot())
            assert "tok-123" not in everything
            assert base64.b64encode(b"auth=Bearer tok-123").decode()[:12] not in everything


@pytest.mark.parametrize("mechanism, dummy", [("XOAUTH2", b"\r\n"), ("OAUTHBEARER", b"AQ==\r\n")])
def test_oauth_failure_decodes_the_json_error(mechanism, dummy):
    with FakeServer(oauth_server("tok-123")) as server:
        with Session(parse_target(server.target), SessionOptions(timeout=3, allow_plaintext_auth=True)) as session:
            session.execute("connect")
            session.execute("ehlo")
            outcome = session.execute(f"auth {mechanism} alice@example.org", secret="wrong-token")
            assert outcome.category == "auth-failed" and outcome.code == 535
            assert '"status": "401"' in outcome.message
            notes = [e.note for e in session.transcript.snapshot() if isinstance(e, Wire) and e.note]
            assert any('"scope": "https://mail.example/"' in n for n in notes)
            assert "wrong-token" not in repr(session.transcript.snapshot())
            conn = server.connections[0]
            assert conn.received.endswith(dummy)


# -- XCLIENT / XFORWARD ------------------------------------------------------------------------------
def test_xtext_encoding():
    assert xtext("a+b=c d") == "a+2Bb+3Dc+20d"
    assert xtext("é") == "+C3+A9"


def test_long_attribute_lists_are_split_to_the_line_limit():
    pairs = [("NAME", "n" * 200), ("ADDR", "192.0.2.7"), ("HELO", "h" * 200), ("LOGIN", "l" * 150)]
    lines = split_attributes("XCLIENT", pairs, 512)
    assert len(lines) == 2 and all(len(l) + 2 <= 512 for l in lines)
    assert " ".join(lines).count("=") == 4


def test_xclient_resets_the_session_and_is_paired():
    received = []

    def xclient(conn: Conn, line: bytes) -> None:
        received.append(line)
        conn.send(b"220 fake.test ESMTP\r\n")

    ehlo = b"250-fake\r\n250 XCLIENT NAME ADDR HELO\r\n"
    with FakeServer(esmtp(EHLO=ehlo, XCLIENT=xclient)) as server, Session(parse_target(server.target),
                                                                           SessionOptions(timeout=3)) as session:
        session.execute("connect")
        session.execute("ehlo")
        outcome = session.execute("xclient ADDR=192.0.2.7 NAME=client+x.example")
        assert outcome.code == 220
        assert received == [b"XCLIENT ADDR=192.0.2.7 NAME=client+2Bx.example\r\n"]
        assert session.state.stage.value == "greeted" and not session.state.does_esmtp
        assert session.execute("ehlo").ok


def test_xforward_unadvertised_attribute_is_flagged():
    ehlo = b"250-fake\r\n250 XFORWARD NAME ADDR\r\n"
    with FakeServer(esmtp(EHLO=ehlo)) as server, Session(parse_target(server.target), SessionOptions(timeout=3)) as session:
        session.execute("connect")
        session.execute("ehlo")
        outcome = session.execute("xforward ADDR=192.0.2.7 IDENT=abc")
        assert outcome.code == 250
        assert any("IDENT not among the advertised XFORWARD" in w for w in warnings_of(session))


# -- PROXY protocol ---------------------------------------------------------------------------------
def test_proxy_header_formats():
    assert proxy_header("v1", ("192.0.2.1", 4242), ("127.0.0.1", 25), socket.AF_INET) == \
        b"PROXY TCP4 192.0.2.1 127.0.0.1 4242 25\r\n"
    v2 = proxy_header("v2", ("192.0.2.1", 4242), ("127.0.0.1", 25), socket.AF_INET)
    assert v2.startswith(V2_SIGNATURE) and v2[12:14] == b"\x21\x11"
    assert struct.unpack("!H", v2[14:16])[0] == 12 and v2[16:20] == bytes([192, 0, 2, 1])
    with pytest.raises(ValueError):
        proxy_header("v1", ("2001:db8::1", 1), ("127.0.0.1", 25), socket.AF_INET)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_proxy_header_goes_before_the_greeting(version):
    seen = []

    def behaviour(conn: Conn) -> None:
        conn.sock.settimeout(5)
        data = conn.sock.recv(200)
        seen.append(data)
        esmtp()(conn)

    options = SessionOptions(timeout=3, proxy_header=version, proxy_source=("198.51.100.7", 5555))
    with FakeServer(behaviour) as server, Session(parse_target(server.target), options) as session:
        assert session.execute("connect").ok
        header = seen[0]
        if version == "v1":
            assert header == f"PROXY TCP4 198.51.100.7 127.0.0.1 5555 {server.port}\r\n".encode()
        else:
            assert header.startswith(V2_SIGNATURE) and header[16:20] == bytes([198, 51, 100, 7])
        wires = [e for e in session.transcript.snapshot() if isinstance(e, Wire)]
        assert wires[0].is_send and "PROXY protocol" in wires[0].note


# -- TLS options ------------------------------------------------------------------------------------
def test_tls_sni_and_verify_name_are_separate(make_session):
    session = make_session("smtps", tls_name="sandbox.smtpdbg.test", tls_verify_name="127.0.0.1")
    assert session.execute("connect").ok
    tls = session.state.tls
    assert tls.server_name == "127.0.0.1" and tls.sni == "sandbox.smtpdbg.test" and tls.verified


def test_tls_verify_name_mismatch_fails(make_session):
    session = make_session("smtps", tls_verify_name="mail.other.test")
    outcome = session.execute("connect")
    assert outcome.category == "tls-verify" and "mail.other.test" in outcome.message


def test_tls_version_bounds(make_session):
    session = make_session("smtps", tls_max="1.2")
    assert session.execute("connect").ok
    assert session.state.tls.version == "TLSv1.2"


def test_bad_tls_options_are_clear(make_session):
    session = make_session(tls_ciphers="NOT-A-CIPHER")
    assert session.execute("connect").ok  # TLS is set up on first use
    session.execute("ehlo")
    outcome = session.execute("starttls")
    assert not outcome.ok and "cannot set up TLS" in outcome.message
    assert session.execute("noop").ok  # nothing was sent: the session is intact
    implicit = make_session("smtps", tls_ciphers="NOT-A-CIPHER")
    outcome = implicit.execute("connect")
    assert not outcome.ok and "cannot set up TLS" in outcome.message


def test_keylog_file_is_written(make_session, tmp_path):
    keylog = tmp_path / "keys.log"
    session = make_session("smtps", tls_keylog=str(keylog))
    assert session.execute("connect").ok
    assert "CLIENT_" in keylog.read_text() or "SECRET" in keylog.read_text()


def test_insecure_still_tells_what_a_verifying_client_would_conclude(make_session, endpoints):
    session = make_session("smtps", ca=None, insecure=True)
    assert session.execute("connect").ok
    verdict = session.state.tls.verdict
    assert "would REJECT" in verdict
    with_ca = make_session("smtps", insecure=True)  # the sandbox CA is known: the verdict is accept
    assert with_ca.execute("connect").ok
    assert with_ca.state.tls.verdict == "a verifying client would accept it"


def test_ipv4_forcing(make_session):
    session = make_session(ip_version=6)
    outcome = session.execute("connect")
    assert not outcome.ok  # the sandbox listens on 127.0.0.1 only
    v4 = make_session(ip_version=4)
    assert v4.execute("connect").ok


def test_xclient_through_docmd_also_forgets_ehlo():
    ehlo = b"250-fake\r\n250 XCLIENT NAME ADDR\r\n"
    with FakeServer(esmtp(EHLO=ehlo, XCLIENT=b"220 fake.test ESMTP\r\n")) as server, Session(
            parse_target(server.target), SessionOptions(timeout=3)) as session:
        session.execute("connect")
        session.execute("ehlo")
        assert session.state.does_esmtp
        assert session.execute("docmd XCLIENT ADDR=192.0.2.7").code == 220
        state = session.state
        assert not state.does_esmtp and state.ehlo_resp is None and state.stage.value == "greeted"
