"""The traced session against the real sandbox: exact bytes, TLS, AUTH, DATA, LMTP, raw."""

from __future__ import annotations

import base64
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpdbg.core import Body, CommandEnd, Direction, Error, Info, InfoKind, StateChange, Wire
from smtpdbg.core.protocol import Stage
from tests.fuzz import fuzz
from tests.smtplib_wire import smtplib_line


def wire(session, since: int = 0) -> list[Wire]:
    return [e for e in session.transcript.snapshot()[since:] if isinstance(e, Wire)]


def sent(session, since: int = 0) -> list[bytes]:
    return [e.data for e in wire(session, since) if e.direction is Direction.SEND]


def received(session, since: int = 0) -> list[bytes]:
    return [e.data for e in wire(session, since) if e.direction is Direction.RECV]


def test_greeting_and_ehlo_are_recorded_byte_for_byte(session, endpoints):
    mark = len(session.transcript)
    outcome = session.execute("ehlo client.smtpdbg.test")
    assert outcome.ok and outcome.code == 250
    assert sent(session, mark) == [b"ehlo client.smtpdbg.test\r\n"]
    lines = received(session, mark)
    assert lines[0] == b"250-sandbox.smtpdbg.test\r\n"
    assert lines[-1].startswith(b"250 ") and lines[-1].endswith(b"\r\n")
    assert all(line.startswith(b"250-") for line in lines[:-1])
    assert b"250-STARTTLS\r\n" in lines
    # the greeting came first, exactly as the server sent it
    first = received(session)[0]
    assert first == b"220 sandbox.smtpdbg.test smtpdbg sandbox\r\n"
    state = session.state
    assert state.does_esmtp and state.features.size == 33554432
    assert state.ehlo_resp.startswith("sandbox.smtpdbg.test")
    assert state.stage is Stage.IDENTIFIED
    assert "PLAIN" in state.features.auth_mechanisms


def test_events_have_increasing_sequence_and_time(session):
    session.execute("noop")
    events = session.transcript.snapshot()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    monos = [e.mono for e in events]
    assert monos == sorted(monos)


def test_starttls_after_connect_rewraps_and_resets_features(session):
    session.execute("ehlo")
    assert session.state.features.has("starttls")
    mark = len(session.transcript)
    outcome = session.execute("starttls")
    assert outcome.ok and outcome.code == 220, outcome
    state = session.state
    assert state.tls is not None and state.tls.verified
    assert state.tls.version.startswith("TLSv1.")
    assert state.tls.server_name == "127.0.0.1"
    assert state.tls.name_matches is True
    assert state.tls.certificate is not None and "127.0.0.1" in state.tls.certificate.san
    # RFC 3207: knowledge from before TLS is discarded
    assert state.ehlo_resp is None and not state.does_esmtp and not state.features.raw
    assert state.stage is Stage.TLS
    tls_events = [e for e in session.transcript.snapshot()[mark:] if isinstance(e, Info) and e.kind is InfoKind.TLS]
    assert len(tls_events) == 1 and tls_events[0].tls_info.verified
    mark = len(session.transcript)
    session.execute("ehlo")
    lines = wire(session, mark)
    assert lines and all(line.tls for line in lines)
    assert b"250-STARTTLS\r\n" not in [l.data for l in lines]
    assert session.state.stage is Stage.IDENTIFIED


def test_implicit_tls_is_verified(make_session):
    session = make_session("smtps")
    outcome = session.execute("connect")
    assert outcome.ok, outcome
    assert session.state.tls is not None and session.state.tls.implicit and session.state.tls.verified
    greeting = wire(session)[0]
    assert greeting.tls and greeting.data.startswith(b"220 ")


def test_unknown_ca_fails_verification_with_a_clear_message(make_session):
    session = make_session("smtps", ca=None)
    outcome = session.execute("connect")
    assert not outcome.ok and outcome.category == "tls-verify"
    assert "--ca FILE" in outcome.message and "--insecure" in outcome.message
    errors = [e for e in session.transcript.snapshot() if isinstance(e, Error)]
    assert errors and errors[-1].category == "tls-verify"


def test_insecure_connects_but_marks_the_session_unverified(make_session):
    session = make_session("smtps", ca=None, insecure=True)
    outcome = session.execute("connect")
    assert outcome.ok
    assert session.state.insecure and session.state.tls.verified is False
    texts = [e.text for e in session.transcript.snapshot() if isinstance(e, Info)]
    assert any("verification is OFF" in t for t in texts)
    assert any("NOT VERIFIED" in t for t in texts)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
@pytest.mark.parametrize("initial", ["", " --no-initial-response"])
def test_auth_each_mechanism_masks_the_password(session, endpoints, mechanism, initial):
    session.execute("ehlo")
    outcome = session.execute(f"auth {mechanism} alice{initial}", secret=endpoints.password)
    assert outcome.ok and outcome.code == 235, outcome
    state = session.state
    assert state.authenticated and state.auth_user == "alice" and state.auth_mechanism == mechanism
    password = endpoints.password.encode()
    forbidden = [password, base64.b64encode(password), base64.b64encode(b"\0alice\0" + password)]
    for event in session.transcript.snapshot():
        text = repr(event).encode()
        for secret in forbidden:
            assert secret not in text, event
    notes = [e.note for e in wire(session) if e.redacted]
    assert notes and any("alice" in n for n in notes)


def test_wrong_password_is_an_auth_error(session):
    session.execute("ehlo")
    outcome = session.execute("auth PLAIN alice", secret="not-the-password")
    assert not outcome.ok and outcome.category == "auth-failed" and outcome.code == 535
    assert outcome.connected
    assert not session.state.authenticated


def test_login_reads_password_from_environment(session):
    session.execute("ehlo")
    outcome = session.execute("login alice --password-env SANDBOX_PASSWORD")
    assert outcome.ok and outcome.code == 235
    missing = session.execute("login alice --password-env NOT_SET_ANYWHERE")
    assert not missing.ok and "NOT_SET_ANYWHERE" in missing.message


def test_data_is_dot_stuffed_and_received_exactly(session, sandbox):
    session.execute("ehlo")
    session.execute("mail alice@sandbox.smtpdbg.test")
    session.execute("rcpt bob@sandbox.smtpdbg.test")
    body = b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n"
    outcome = session.execute("data", body=body)
    assert outcome.ok and outcome.code == 250, outcome
    message = sandbox.wait_for_messages(1)[0]
    assert message.content == body
    assert message.rcpt_tos == ("bob@sandbox.smtpdbg.test",)
    bodies = [e for e in session.transcript.snapshot() if isinstance(e, Body)]
    assert bodies[-1].stuffed == 3
    assert b"..leading dot\r\n" in bodies[-1].head and bodies[-1].head[-1] == b".\r\n"
    assert session.state.stage is Stage.IDENTIFIED
    assert session.state.last_transaction.status == "delivered"


@settings(max_examples=fuzz(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.text(alphabet=st.sampled_from(list("ab. \t:xé")), max_size=12), min_size=1, max_size=8))
def test_property_what_the_server_receives_equals_what_was_sent(session, sandbox, lines):
    sandbox.clear_messages()
    if session.state.stage is not Stage.IDENTIFIED:
        session.execute("ehlo")
    body = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    assert session.execute("mail a@sandbox.smtpdbg.test").ok
    assert session.execute("rcpt b@sandbox.smtpdbg.test").ok
    outcome = session.execute("data", body=body)
    assert outcome.ok, outcome
    assert sandbox.wait_for_messages(1)[0].content == body


def test_large_body_is_summarised_not_kept_whole(session, sandbox):
    session.execute("ehlo")
    session.execute("mail a@sandbox.smtpdbg.test")
    session.execute("rcpt b@sandbox.smtpdbg.test")
    body = b"Subject: big\r\n\r\n" + b"".join(b"line %06d of a large message\r\n" % i for i in range(100_000))
    outcome = session.execute("data", body=body)
    assert outcome.ok, outcome
    event = [e for e in session.transcript.snapshot() if isinstance(e, Body)][-1]
    assert event.line_count == 100_003 and event.size == len(body) + 3
    assert event.omitted > 90_000
    kept = sum(len(l) for l in event.head + event.tail)
    assert kept < 300_000
    assert event.tail[-1] == b".\r\n"
    assert sandbox.wait_for_messages(1)[0].content == body


def test_lmtp_reads_one_reply_per_recipient_and_stays_in_sync(make_session, sandbox):
    session = make_session("lmtp")
    assert session.execute("connect").ok
    assert session.execute("ehlo").ok
    session.execute("mail a@sandbox.smtpdbg.test")
    for name in ("bob", "full", "carol"):
        assert session.execute(f"rcpt {name}@sandbox.smtpdbg.test").ok
    mark = len(session.transcript)
    outcome = session.execute("data", body=b"Subject: lmtp\r\n\r\nhi\r\n")
    assert [code for code, _ in outcome.replies] == [250, 452, 250]
    assert not outcome.ok and outcome.code == 452
    delivery = session.state.last_transaction
    assert [(r.address, r.fate.value) for r in delivery.recipients] == [
        ("bob@sandbox.smtpdbg.test", "accepted"),
        ("full@sandbox.smtpdbg.test", "temporary failure"),
        ("carol@sandbox.smtpdbg.test", "accepted"),
    ]
    # no desync: the next command gets its own reply
    noop = session.execute("noop")
    assert noop.ok and noop.code == 250
    warnings = [e for e in session.transcript.snapshot()[mark:] if isinstance(e, Info) and e.kind is InfoKind.WARNING]
    assert warnings == []


def test_raw_sends_exact_bytes_and_reads_replies(session):
    session.execute("ehlo")
    mark = len(session.transcript)
    outcome = session.execute(r"raw --replies 2 NOOP\r\nnoop  with\tstuff")
    assert [c for c, _ in outcome.replies] == [250, 250] or outcome.replies[1][0] >= 500
    assert sent(session, mark) == [b"NOOP\r\n", b"noop  with\tstuff\r\n"]


def test_raw_fewer_replies_read_then_late_reply_is_flagged(session):
    session.execute("ehlo")
    session.execute(r"raw NOOP\r\nNOOP")
    mark = len(session.transcript)
    outcome = session.execute("rset")
    assert outcome.ok and outcome.code == 250
    texts = [e.text for e in session.transcript.snapshot()[mark:] if isinstance(e, Info) and e.kind is InfoKind.WARNING]
    assert any("late reply 250 to NOOP" in t for t in texts)


def test_pipeline_pairs_replies_in_order(session, sandbox):
    session.execute("ehlo")
    outcome = session.execute("pipeline MAIL FROM:<a@sandbox.smtpdbg.test>; RCPT TO:<reject@sandbox.smtpdbg.test>; RCPT TO:<b@sandbox.smtpdbg.test>")
    assert [c for c, _ in outcome.replies] == [250, 550, 250]
    pipelined = [e for e in wire(session) if e.pipelined]
    assert len(pipelined) == 3
    assert session.state.stage is Stage.RCPT
    assert [r.rcpt_code for r in session.state.recipients] == [550, 250]
    outcome = session.execute("data", body=b"Subject: p\r\n\r\nx\r\n")
    assert outcome.ok
    assert sandbox.wait_for_messages(1)[0].rcpt_tos == ("b@sandbox.smtpdbg.test",)


def test_verbatim_mail_skips_quoteaddr(session):
    session.execute("ehlo")
    mark = len(session.transcript)
    session.execute("mail --verbatim <odd address@example.org>")
    assert sent(session, mark) == [b"mail FROM:<odd address@example.org>\r\n"]
    mark = len(session.transcript)
    session.execute("rset")
    session.execute("mail x@example.org SIZE=10 BODY=8BITMIME")
    assert sent(session, mark)[-1] == smtplib_line("mail", "x@example.org", ["SIZE=10", "BODY=8BITMIME"])


def test_docmd_and_queries(session):
    session.execute("ehlo")
    assert session.execute("docmd NOOP").code == 250
    assert session.execute("verify alice").code in (250, 252)
    assert session.execute("vrfy nobody-here").code == 550
    helped = session.execute("help")
    assert helped.code == 250 or helped.code == 214


def test_every_command_start_has_an_end_and_state_changes(session):
    session.execute("noop")
    session.execute("bogus-command")
    events = session.transcript.snapshot()
    starts = [e for e in events if type(e).__name__ == "CommandStart"]
    ends = [e for e in events if isinstance(e, CommandEnd)]
    assert len(starts) == len(ends) >= 2
    assert any(isinstance(e, StateChange) and e.state.busy for e in events)
    assert not session.state.busy


def test_quit_closes_and_commands_after_say_not_connected(session):
    outcome = session.execute("quit")
    assert outcome.ok and outcome.code == 221
    assert not session.state.connected and session.state.stage is Stage.DISCONNECTED
    after = session.execute("noop")
    assert not after.ok and after.category == "not-connected"
    again = session.execute("reconnect")
    assert again.ok and session.state.connected


def test_commands_run_one_at_a_time_from_many_threads(session):
    results = []

    def worker() -> None:
        for _ in range(10):
            results.append(session.execute("noop"))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40 and all(r.ok and r.code == 250 for r in results)
    warnings = [e for e in session.transcript.snapshot() if isinstance(e, Info) and e.kind is InfoKind.WARNING]
    assert warnings == []


def test_show_and_explain_are_local(session):
    mark = len(session.transcript)
    session.execute("ehlo")
    session.execute("show esmtp_features")
    session.execute("explain 550")
    session.execute("explain 5.7.8")
    session.execute("explain SIZE")
    texts = [e.text for e in session.transcript.snapshot()[mark:] if isinstance(e, Info)]
    assert any(t.startswith("esmtp_features = {") and "'size': '33554432'" in t for t in texts)
    assert any(t.startswith("550 ") for t in texts)
    assert any(t.startswith("5.7.8 ") for t in texts)
    assert any(t.startswith("SIZE") for t in texts)


def test_send_message_and_sendmail(session, sandbox, tmp_path):
    session.execute("ehlo")
    message = tmp_path / "m.eml"
    message.write_bytes(b"From: a@sandbox.smtpdbg.test\r\nTo: b@sandbox.smtpdbg.test\r\nBcc: c@sandbox.smtpdbg.test\r\n"
                        b"Subject: file\r\n\r\nbody\r\n")
    outcome = session.execute(f"send_message @{message}")
    assert outcome.ok, outcome
    got = sandbox.wait_for_messages(1)[0]
    assert set(got.rcpt_tos) == {"b@sandbox.smtpdbg.test", "c@sandbox.smtpdbg.test"}
    assert b"Bcc:" not in got.content
    sandbox.clear_messages()
    outcome = session.execute("sendmail a@sandbox.smtpdbg.test b@sandbox.smtpdbg.test,reject@sandbox.smtpdbg.test",
                              body=b"Subject: s\r\n\r\nx\r\n")
    # the message went to b, but a refused recipient fails the command at RCPT however it was sent
    assert not outcome.ok and outcome.category == "recipient-refused" and outcome.stage == "rcpt", outcome
    assert "reject@sandbox.smtpdbg.test" in outcome.message and outcome.code == 250
    assert sandbox.wait_for_messages(1)[0].rcpt_tos == ("b@sandbox.smtpdbg.test",)
    texts = [e.text for e in session.transcript.snapshot() if isinstance(e, Info)]
    assert any("recipient refused: reject@sandbox.smtpdbg.test: 550" in t for t in texts)


def test_missing_file_is_a_clear_local_error(session):
    mark = len(session.transcript)
    outcome = session.execute("data @/nonexistent/message.eml")
    assert not outcome.ok and "no such file" in outcome.message
    assert sent(session, mark) == []
    assert session.execute("noop").ok


def test_out_of_order_command_is_sent_anyway_but_flagged(session):
    mark = len(session.transcript)
    outcome = session.execute("rcpt bob@sandbox.smtpdbg.test")
    assert outcome.code == 503
    warnings = [e.text for e in session.transcript.snapshot()[mark:] if isinstance(e, Info) and e.kind is InfoKind.WARNING]
    assert any(w.startswith("out of order (sent anyway): RCPT before") for w in warnings)
    assert sent(session, mark) == [smtplib_line("rcpt", "bob@sandbox.smtpdbg.test")]


def test_a_hand_typed_auth_payload_is_masked_in_the_command_echo(session):
    payload = base64.b64encode(b"\0alice\0hand-typed-secret").decode()
    session.execute("ehlo")
    outcome = session.execute(f"raw AUTH PLAIN {payload}")
    assert outcome.code == 535
    everything = repr(session.transcript.snapshot()) + repr(outcome)
    assert payload not in everything and "hand-typed-secret" not in everything


def test_connecting_event_names_the_transport(make_session):
    session = make_session("smtps")
    session.execute("connect")
    connecting = [e for e in session.transcript.snapshot() if isinstance(e, Info) and e.kind is InfoKind.CONNECTING]
    assert connecting[0].peer.startswith("smtps://127.0.0.1:")


def test_a_batch_runs_in_order_and_stops_where_told(session):
    seen = []

    def proceed(index, outcome):
        seen.append((index, outcome.code))
        return outcome.ok

    outcomes = session.submit_batch(
        [("ehlo", None), ("mail a@sandbox.smtpdbg.test", None), ("rcpt reject@sandbox.smtpdbg.test", None),
         ("rcpt b@sandbox.smtpdbg.test", None)], proceed).result(timeout=10)
    assert [o.code for o in outcomes] == [250, 250, 550]
    assert seen == [(0, 250), (1, 250), (2, 550)]
    assert [r.address for r in session.state.recipients] == ["reject@sandbox.smtpdbg.test"]
    bad = session.submit_batch([("not-a-command", None), ("noop", None)], lambda i, o: True).result(timeout=10)
    assert bad[0].category == "parse" and bad[1].code == 250


def test_auth_behind_a_bare_cr_is_masked_on_the_wire_record(session):
    payload = base64.b64encode(b"\0alice\0cr-secret").decode()
    session.execute("ehlo")
    session.execute(f"raw NOOP\\rAUTH PLAIN {payload}")
    recorded = b"".join(e.data for e in session.transcript.snapshot() if isinstance(e, Wire))
    assert payload.encode() not in recorded and b"NOOP\rAUTH PLAIN ********" in recorded
    assert payload not in repr(session.transcript.snapshot())


def test_a_password_typed_as_the_variable_name_is_not_echoed(session):
    session.execute("ehlo")
    outcome = session.execute("login alice --password-env hunter2!")
    assert not outcome.ok and "hunter2" not in outcome.message and "not the secret itself" in outcome.message
    named = session.execute("login alice --password-env MISSING_PW")
    assert "MISSING_PW is not set" in named.message


def test_send_message_passes_mail_and_rcpt_options(session, sandbox, tmp_path):
    session.execute("ehlo")
    message = tmp_path / "dsn.eml"
    message.write_bytes(b"From: a@sandbox.smtpdbg.test\r\nTo: b@sandbox.smtpdbg.test\r\nSubject: dsn\r\n\r\nx\r\n")
    outcome = session.execute(f"send_message @{message} --mail-option RET=HDRS --rcpt-option NOTIFY=NEVER")
    assert outcome.ok, outcome
    got = sandbox.wait_for_messages(1)[0]
    assert "RET=HDRS" in got.mail_options and got.rcpt_options == (("NOTIFY=NEVER",),)
