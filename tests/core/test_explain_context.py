"""A reply explained where it came (smtpdbg.core.catalog.context): each context case of issues 11 §2 and 14 §1.

The Reply events come from the core's own protocol tracker, or from a real session against a fake server on
loopback, so the context (the command answered, the stage) is the one the core records, not one typed in here.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdbg.core import Session, SessionOptions
from smtpdbg.core.catalog import explain_exchange, explain_in_context, explain_reply
from smtpdbg.core.describe import annotate_exchange, annotate_reply, explain_topic
from smtpdbg.core.events import Info, Reply
from smtpdbg.core.protocol import END_OF_DATA, GREETING, ProtocolTracker
from smtpdbg.core.target import parse_target
from smtpdbg.core.transcript import Transcript
from tests.servers import FakeServer, esmtp

FEATURES = "PIPELINING\nSIZE 33554432\nSTARTTLS\nAUTH PLAIN LOGIN\nENHANCEDSTATUSCODES\nPRDR"


def tracker(greeting: int = 220) -> ProtocolTracker:
    tracker = ProtocolTracker(transcript=Transcript())
    tracker.on_connect()
    tracker.on_reply(greeting, "mx.example.test ESMTP")
    return tracker


def exchange(tracker: ProtocolTracker, line: bytes, code: int, text: str = "ok") -> Reply:
    tracker.on_send(line)
    return tracker.on_reply(code, text)


def in_transaction(*recipients: str) -> ProtocolTracker:
    t = tracker()
    exchange(t, b"EHLO client.example\r\n", 250, "mx.example.test\n" + FEATURES)
    exchange(t, b"MAIL FROM:<a@example.org>\r\n", 250, "2.1.0 Ok")
    for address in recipients:
        exchange(t, f"RCPT TO:<{address}>\r\n".encode(), 250, "2.1.5 Ok")
    return t


def after_the_dot(code: int, text: str) -> Reply:
    t = in_transaction("b@example.org")
    exchange(t, b"DATA\r\n", 354, "End data with <CR><LF>.<CR><LF>")
    t.on_body_sent()
    return t.on_reply(code, text)


# -- 554: at RCPT, after the final dot, as the greeting ------------------------------------------------
def test_554_at_rcpt_is_a_policy_refusal_and_the_transaction_goes_on_against_a_server():
    """Postfix answers a relay attempt with 554 5.7.1 at RCPT; the next RCPT still gets 250 and DATA works."""
    def rcpt(conn, line):
        conn.send(b"554 5.7.1 <x@elsewhere.example>: Relay access denied\r\n" if b"elsewhere" in line
                  else b"250 2.1.5 Ok\r\n")

    ehlo = b"250-fake.test\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"
    with FakeServer(esmtp(EHLO=ehlo, RCPT=rcpt)) as server, \
            Session(parse_target(server.target), SessionOptions(timeout=5)) as session:
        for command in ("connect", "ehlo", "mail a@fake.test", "rcpt x@elsewhere.example", "rcpt b@fake.test"):
            session.execute(command)
        replies = [e for e in session.transcript.snapshot() if isinstance(e, Reply)]
        refused, accepted = replies[-2], replies[-1]
        assert (refused.command, refused.code, accepted.code) == ("RCPT", 554, 250)
        explanation = explain_exchange(refused)
        assert explanation.place == "rcpt" and explanation.where == "at RCPT"
        assert explanation.title == "recipient refused by policy"
        assert "Relay access denied" in explanation.meaning and "RFC 5321 §3.6.2" in explanation.meaning
        assert explanation.goes_on is True and explanation.transaction.startswith("goes on")
        assert "next RCPT may still be accepted" in explanation.transaction
        assert "final dot" not in " ".join(explanation.lines())
        assert "authenticate" in explanation.next_step
        # the core agrees: the transaction is open with b accepted, and the message can be sent
        assert session.state.stage.value == "rcpt"
        assert session.execute("data", body=b"Subject: t\r\n\r\nhi\r\n").ok


def test_554_after_the_final_dot_ends_the_transaction():
    explanation = explain_exchange(after_the_dot(554, "5.7.1 Message rejected: spam"))
    assert explanation.place == "end" and explanation.where == "after the final dot"
    assert explanation.title == "message refused" and "Nothing was delivered" in explanation.meaning
    assert explanation.goes_on is False and explanation.transaction.startswith("over")


def test_554_greeting_is_no_smtp_service():
    t = tracker(554)
    [greeting] = [e for e in t.transcript.snapshot() if isinstance(e, Reply)]
    explanation = explain_exchange(greeting)
    assert greeting.command == GREETING and explanation.where == "as the greeting"
    assert explanation.title == "no SMTP service here"
    assert "QUIT" in explanation.next_step and explanation.goes_on is None


def test_554_without_context_names_its_variants():
    lines = explain_topic("554")
    text = "\n".join(lines)
    assert lines[0].startswith("554 Transaction failed")
    assert "at RCPT: recipient refused by policy (the transaction goes on)" in text
    assert "after the final dot: message refused (the transaction is over)" in text
    assert "as the greeting: no SMTP service here" in text
    assert "to DATA: no valid recipients" in text
    assert "RCPT" in explain_reply(554).commands and explain_reply(554).ends_transaction is False


# -- 220 after STARTTLS ------------------------------------------------------------------------------------
def test_220_after_starttls_means_ready_to_start_tls():
    t = in_transaction()
    exchange(t, b"RSET\r\n", 250)
    reply = exchange(t, b"STARTTLS\r\n", 220, "2.0.0 Ready to start TLS")
    explanation = explain_exchange(reply)
    assert explanation.title == "ready to start TLS" and explanation.where == "to STARTTLS"
    assert "service ready" not in explanation.title
    assert "EHLO again" in explanation.next_step and "RFC 3207" in explanation.rfc
    assert explain_exchange(tracker_greeting()).title == "service ready"


def tracker_greeting() -> Reply:
    return [e for e in tracker().transcript.snapshot() if isinstance(e, Reply)][0]


# -- 451 / 452 / 552 at RCPT ----------------------------------------------------------------------------------
def test_451_with_4_7_x_at_rcpt_is_greylisting_or_policy_deferral():
    t = in_transaction("b@example.org")
    greylisted = explain_exchange(exchange(t, b"RCPT TO:<c@example.org>\r\n", 451, "4.7.1 Greylisted, try again later"))
    assert "greylisting" in greylisted.title and greylisted.goes_on is True
    assert "retry later" in greylisted.next_step and "other recipients" in greylisted.next_step
    broken = explain_exchange(exchange(t, b"RCPT TO:<d@example.org>\r\n", 451, "4.3.0 lookup failed"))
    assert "greylisting" not in broken.title and "temporary error" in broken.title
    assert "greylisting" in explain_reply(451).meaning.lower()  # the plain entry mentions it too


def test_452_at_rcpt_is_too_many_recipients_send_the_accepted_ones_now():
    t = in_transaction("b@example.org")
    explanation = explain_exchange(exchange(t, b"RCPT TO:<c@example.org>\r\n", 452, "4.5.3 Too many recipients"))
    assert explanation.title == "too many recipients" and explanation.goes_on is True
    assert "recipients already accepted" in explanation.next_step and "new transaction" in explanation.next_step
    assert "retry later" not in explanation.next_step.lower()
    assert any(note.startswith("4.5.3 Too many recipients") for note in explanation.notes)


@pytest.mark.parametrize(("command", "title"), [("MAIL", "insufficient storage now"),
                                                (END_OF_DATA, "message not accepted, for now")])
def test_452_elsewhere_is_insufficient_storage(command, title):
    explanation = explain_in_context(452, "4.3.1", command)
    assert explanation.title == title and "too many recipients" not in explanation.title


def test_552_at_rcpt_is_temporary_rfc5321_4_5_3_1_10():
    t = in_transaction("b@example.org")
    explanation = explain_exchange(exchange(t, b"RCPT TO:<c@example.org>\r\n", 552, "too many recipients"))
    assert "temporary" in explanation.title and "RFC 5321 §4.5.3.1.10" in explanation.rfc
    assert "give up" not in explanation.next_step.lower()
    assert "recipients already accepted" in explanation.next_step
    full = explain_in_context(552, "5.2.2", "RCPT")
    assert full.title == "mailbox full (treat as temporary)" and "retry it later" in full.next_step
    assert "RFC 5321 §4.5.3.1.10" in explain_reply(552).meaning


# -- 250 after the final dot --------------------------------------------------------------------------------
def test_250_after_the_final_dot_says_responsibility_taken_and_the_transaction_ended():
    explanation = explain_exchange(after_the_dot(250, "2.0.0 Ok: queued as 4F2"))
    assert explanation.title == "message accepted" and "taken responsibility" in explanation.meaning
    assert explanation.goes_on is False and explanation.transaction.startswith("over")
    assert "duplicate" in explanation.next_step
    text = "\n".join(explain_topic("250"))
    assert "ends the transaction: no" not in text
    assert "after the final dot: message accepted (the transaction is over)" in text


def test_bdat_last_is_the_end_of_the_message_and_other_chunks_are_not():
    assert explain_in_context(250, None, "BDAT", argument="100 LAST").title == "message accepted"
    chunk = explain_in_context(250, None, "BDAT", argument="100")
    assert chunk.title == "chunk received" and chunk.goes_on is True
    refused = explain_in_context(552, "5.3.4", "BDAT", argument="100")
    assert refused.goes_on is False and "RFC 3030 §2" in refused.meaning


def test_per_recipient_replies_after_the_message_name_their_recipient():
    t = in_transaction()
    exchange(t, b"RSET\r\n", 250)
    exchange(t, b"MAIL FROM:<a@b> PRDR\r\n", 250)
    exchange(t, b"RCPT TO:<r1@x>\r\n", 250)
    exchange(t, b"DATA\r\n", 354)
    t.on_body_sent()
    first = explain_exchange(t.on_reply(353, "content analysis has started"))
    assert first.goes_on is True and "PRDR" in first.title
    refused = explain_exchange(t.on_reply(550, "5.7.1 r1 refuses this content"))
    assert refused.title.startswith("for <r1@x>:") and "decides <r1@x> only" in refused.transaction


# -- 5.2.2, 553, unknown classes, unlisted codes -------------------------------------------------------------
def test_553_is_not_said_to_mean_relaying_denied():
    meaning = explain_reply(553).meaning
    assert "often relaying" not in meaning
    assert "RFC 5321 §3.6.2" in meaning and "554 5.7.1" in meaning  # where relay refusals really come


@pytest.mark.parametrize("code", ["199", "600", "150", "099"])
def test_codes_outside_the_classes_get_rfc5321s_rule(code):
    text = "\n".join(explain_topic(code))
    assert "nothing known" not in text
    assert "RFC 5321 §4.2" in text and "fatal" in text


@pytest.mark.parametrize(("code", "related"), [("422", "X.7.12"), ("430", "X.5.1"), ("523", "X.7.10")])
def test_codes_only_the_registry_mentions_are_explained_by_first_digit_and_registry(code, related):
    text = "\n".join(explain_topic(code))
    assert "nothing known" not in text and "first digit" in text and related in text


def test_a_reply_without_a_code_is_not_smtp():
    t = tracker()
    explanation = explain_exchange(exchange(t, b"NOOP\r\n", -1, "garbage"))
    assert explanation.outcome == "not an SMTP reply" and explanation.title == "no reply code"
    assert any(note.startswith("protocol violation:") for note in explanation.notes)


# -- stage-dependent meanings --------------------------------------------------------------------------------
def test_503_depends_on_the_stage_the_command_was_sent_in():
    t = in_transaction("b@example.org")
    inside = explain_exchange(exchange(t, b"AUTH PLAIN\r\n", 503, "5.5.1 AUTH not permitted during a mail transaction"))
    assert inside.title == "AUTH inside a transaction" and "rset" in inside.next_step
    fresh = tracker()
    exchange(fresh, b"HELO client.example\r\n", 250, "mx.example.test")
    early = explain_exchange(exchange(fresh, b"AUTH PLAIN\r\n", 503, "5.5.1 Error: send EHLO first"))
    assert early.title == "AUTH at the wrong moment" and "ehlo" in early.next_step


def test_ehlo_refused_suggests_helo():
    explanation = explain_in_context(502, "5.5.2", "EHLO")
    assert "`helo`" in explanation.next_step and "ehlo_or_helo_if_needed" in explanation.next_step


def test_421_anywhere_suggests_reconnect():
    for command in ("RCPT", "NOOP", GREETING, END_OF_DATA):
        explanation = explain_in_context(421, "4.4.2", command)
        assert "`reconnect`" in explanation.next_step and explanation.goes_on is not True


def test_unsolicited_replies_are_said_to_be_unsolicited():
    t = tracker()
    exchange(t, b"EHLO client.example\r\n", 250, "mx.example.test")
    stray = t.on_reply(250, "nobody asked")
    assert stray.unsolicited
    explanation = explain_exchange(stray)
    assert explanation.where == "unsolicited" and "nothing was waiting" in explanation.title


# -- vendor notes -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "enhanced", "text", "vendor", "words"), [
    (550, "5.4.1", "5.4.1 Recipient address rejected: Access denied", "Microsoft Exchange Online", "does not exist"),
    (550, "5.7.26", "5.7.26 This mail has been blocked because the sender is unauthenticated", "Gmail", "SPF"),
    (421, "4.7.28", "4.7.28 unusual rate of unsolicited mail", "Gmail", "rate"),
])
def test_vendor_notes_are_marked(code, enhanced, text, vendor, words):
    explanation = explain_in_context(code, enhanced, "RCPT", text=text)
    notes = [note for note in explanation.notes if note.startswith(f"vendor note ({vendor}):")]
    assert notes and words in notes[0]
    assert any(line.strip().startswith(f"vendor note ({vendor})") for line in explain_topic(enhanced))


# -- one line, and the frontends' helpers --------------------------------------------------------------------
def test_summary_is_one_line_in_context():
    t = in_transaction()
    reply = exchange(t, b"RCPT TO:<x@elsewhere.example>\r\n", 554, "5.7.1 <x@elsewhere.example>: Relay access denied")
    assert annotate_exchange(reply) == "554 5.7.1 at RCPT → permanent failure: recipient refused by policy"
    assert "\n" not in annotate_exchange(reply)


def test_explain_topic_with_a_command_explains_it_there():
    assert explain_topic("554 rcpt")[0].startswith("554 at RCPT → permanent failure: recipient refused by policy")
    assert explain_topic("554 5.7.1 rcpt")[0].startswith("554 5.7.1 at RCPT")
    assert explain_topic("220 starttls")[0].startswith("220 to STARTTLS → ok: ready to start TLS")
    assert explain_topic("250 dot")[0].startswith("250 after the final dot → ok: message accepted")


def test_explanations_never_raise_on_odd_input():
    for args in [(None,), (-1, None, "RCPT"), (9999, "9.9.9", "???"), (250, "", "<end of data>", "x", ),
                 (True, None, "RCPT"), (550, "5.999.999", "MAIL")]:
        explanation = explain_in_context(*args)
        assert explanation.lines() and explanation.summary()
    assert explain_exchange(object()).lines()


# -- explain reads the session; the lessons' claims about explain hold -------------------------------------
def test_explain_size_says_the_limit_this_server_announced(session):
    session.execute("ehlo")
    assert session.state.features.size == 33554432
    mark = len(session.transcript)
    session.execute("explain SIZE")
    texts = [e.text for e in session.transcript.snapshot()[mark:] if isinstance(e, Info)]
    assert "  this server announced: 32 MiB maximum message size" in texts
    assert not any("no fixed limit announced" in text for text in texts)
    mark = len(session.transcript)
    session.execute("explain REQUIRETLS")
    texts = [e.text for e in session.transcript.snapshot()[mark:] if isinstance(e, Info)]
    assert "  this server did not announce REQUIRETLS" in texts


@pytest.mark.parametrize("keyword", ["STARTTLS", "AUTH", "VRFY", "EXPN", "HELP"])
def test_keywords_that_are_commands_show_both_meanings(keyword):
    text = "\n".join(explain_topic(keyword))
    assert f"EHLO keyword {keyword}:" in text and " — " in text.splitlines()[0]  # the command's usage line first


def test_pipeconnect_and_the_legacy_auth_form_are_known():
    assert "Exim 4.96" in "\n".join(explain_topic("PIPECONNECT"))
    assert annotate_reply("250-AUTH=LOGIN PLAIN", ehlo=True) == "AUTH → Authentication: LOGIN PLAIN"


def test_lessons_claim_nothing_explain_does_not_know():
    import tomllib
    from pathlib import Path

    import smtpdbg

    for path in sorted((Path(smtpdbg.__file__).parent / "lessons").glob("*.toml")):
        lesson = tomllib.loads(path.read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8")
        assert "knows every reply code" not in text, path.name
        for step in lesson.get("step", []):
            command = step.get("command", "")
            if command.startswith("explain "):
                assert not explain_topic(command[len("explain "):])[0].startswith("nothing known"), (path.name, command)


@settings(max_examples=300, deadline=None)
@given(code=st.one_of(st.none(), st.integers(-5, 1200), st.booleans(), st.text(max_size=4)),
       enhanced=st.one_of(st.none(), st.text(max_size=12), st.from_regex(r"[245]\.\d{1,3}\.\d{1,3}", fullmatch=True)),
       command=st.one_of(st.sampled_from(["RCPT", "MAIL", "<greeting>", "<end of data>", "BDAT", "EHLO", "", "XYZ"]),
                         st.text(max_size=8), st.none(), st.integers()),
       stage=st.one_of(st.sampled_from(["mail", "rcpt", "authenticated", ""]), st.text(max_size=5), st.none()),
       text=st.one_of(st.text(max_size=30), st.none()))
def test_explain_in_context_never_raises(code, enhanced, command, stage, text):
    explanation = explain_in_context(code, enhanced, command, stage, text=text, argument=text)
    assert explanation.lines() and "\n" not in explanation.summary()


@pytest.mark.parametrize("line", ["explain 554 rcpt", "explain 554 5.7.1 rcpt", "explain 250 dot"])
def test_explain_takes_a_code_with_its_command_at_the_prompt(line):
    """Lesson 05 teaches `explain 554 rcpt`: the prompt parses it and explains the code there."""
    session = Session(parse_target("127.0.0.1:9"), SessionOptions(timeout=2))
    try:
        outcome = session.execute(line)
        texts = [e.text for e in session.transcript.snapshot() if isinstance(e, Info)]
    finally:
        session.shutdown()
    assert outcome.ok, outcome
    code = line.split()[1]
    assert texts[0] == explain_topic(" ".join(line.split()[1:]))[0]
    assert texts[0].startswith(f"{code} ") and texts[0] != explain_topic(code)[0]  # explained in context
def test_503_to_starttls_after_ehlo_says_tls_is_active_not_that_ehlo_is_missing(make_session):
    """The sandbox refuses a second STARTTLS with 503 (RFC 3207 §4.2); EHLO had been sent."""
    session = make_session()
    for command in ("connect", "ehlo", "starttls", "ehlo"):
        assert session.execute(command).ok, command
    outcome = session.execute("starttls --force")
    assert outcome.code == 503
    reply = [e for e in session.transcript.snapshot() if isinstance(e, Reply)][-1]
    explanation = explain_exchange(reply)
    assert explanation.title == "TLS already active" and "before EHLO" not in explanation.meaning


def test_503_to_starttls_before_ehlo_says_so():
    assert explain_in_context(503, "5.5.1", "STARTTLS", "greeted").title == "STARTTLS before EHLO"
    assert explain_in_context(503, "5.5.1", "STARTTLS", "identified").title == "TLS already active"


@pytest.mark.parametrize(("command", "stage"), [("RCPT", "identified"), ("DATA", "identified"), ("DATA", "mail")])
def test_a_503_out_of_sequence_says_no_transaction_is_open(command, stage):
    """RCPT or DATA refused 503: nothing is held by the server, so no 'goes on' and no 'rset clears them'."""
    explanation = explain_in_context(503, "5.5.1", command, stage)
    assert "goes on" not in explanation.transaction and "still holds" not in explanation.transaction
    assert "MAIL" in explanation.transaction


def test_a_reply_the_command_cannot_get_is_explained_as_the_violation_it_is():
    """A second greeting answering EHLO is not "service ready"; a 250 to DATA is not "ok"."""
    t = tracker()
    greeting = explain_exchange(exchange(t, b"EHLO client.test\r\n", 220, "hi again"))
    assert greeting.outcome == "protocol violation" and "service ready" not in greeting.summary()
    assert not greeting.transaction and "reconnect" in greeting.next_step
    assert any(note.startswith("protocol violation:") for note in greeting.notes)
