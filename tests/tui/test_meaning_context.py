"""The app's meaning panel, annotations and failure lines explain a reply from its Reply event, in context.

The events come from real sessions (the sandbox, a fake server on loopback); the row store is fed as the app
feeds it, and each Reply event is kept for its reply's rows (:func:`smtpdbg.tui.model.meaning.index_reply`).
"""

from __future__ import annotations

from smtpdbg.core import Session, SessionOptions
from smtpdbg.core.events import Reply
from smtpdbg.core.target import parse_target
from smtpdbg.tui.model import rows as R
from smtpdbg.tui.model.meaning import annotation, explain_row, has_annotation, index_reply, reply_at
from smtpdbg.tui.model.rows import EXPLAIN_WIDTH, RowStore, explain_failure
from tests.servers import FakeServer, esmtp


def store_of(session: Session, *, with_replies: bool = True) -> RowStore:
    store = RowStore()
    for event in session.transcript.snapshot():
        store.ingest([event])
        if with_replies and isinstance(event, Reply):
            index_reply(store, event)
    return store


def row(store: RowStore, prefix: str) -> int:
    return next(i for i in range(len(store)) if store.texts[i].startswith(prefix)
                and store.kinds[i] & R.KIND in (R.RECV2, R.RECV3, R.RECV4, R.RECV5, R.RECV_BAD))


def test_each_line_of_a_reply_finds_its_reply_event(make_session):
    session = make_session()
    session.execute("connect")
    session.execute("ehlo")
    store = store_of(session)
    ehlo_rows = [i for i in range(len(store)) if store.texts[i].startswith("250")]
    assert len(ehlo_rows) > 3
    events = {id(reply_at(store, i)) for i in ehlo_rows}
    assert len(events) == 1 and reply_at(store, ehlo_rows[0]).command == "EHLO"
    assert reply_at(store, row(store, "220 ")).command == "<greeting>"
    sent = next(i for i in range(len(store)) if store.kinds[i] & R.KIND == R.SEND)
    assert reply_at(store, sent) is None


def test_the_panel_on_an_ehlo_keyword_line_shows_the_keywords_meaning(make_session):
    session = make_session()
    session.execute("connect")
    session.execute("ehlo")
    for with_replies in (True, False):
        store = store_of(session, with_replies=with_replies)
        text = "\n".join(explain_row(store, row(store, "250-STARTTLS")))
        assert "STARTTLS: Secure SMTP over TLS (RFC 3207)" in text
        assert "starttls [--force]" not in text  # not the command's help
        assert annotation(store, row(store, "250-SIZE")) == "SIZE → 32 MiB maximum message size"


def test_the_panel_on_the_220_after_starttls_says_ready_to_start_tls(make_session):
    session = make_session()
    for command in ("connect", "ehlo", "starttls"):
        assert session.execute(command).ok
    store = store_of(session)
    ready = [i for i in range(len(store)) if store.texts[i].startswith("220 ")][-1]
    lines = explain_row(store, ready)
    assert lines[0].startswith("220 2.0.0 to STARTTLS → ok: ready to start TLS")
    assert annotation(store, ready) == "220 2.0.0 to STARTTLS → ok: ready to start TLS"
    greeting = row(store, "220 ")
    assert annotation(store, greeting) == "220 as the greeting → ok: service ready"


def test_refusals_at_rcpt_are_explained_there(make_session):
    session = make_session()
    for command in ("connect", "ehlo", "mail alice@sandbox.smtpdbg.test", "rcpt reject@sandbox.smtpdbg.test",
                    "rcpt greylist@sandbox.smtpdbg.test", "rcpt bob@sandbox.smtpdbg.test"):
        session.execute(command)
    store = store_of(session)
    rejected = row(store, "550 5.1.1")
    assert has_annotation(store, rejected)
    assert annotation(store, rejected) == "550 5.1.1 at RCPT → permanent failure: no such recipient"
    panel = explain_row(store, rejected)
    assert any(line.startswith("  transaction: goes on") for line in panel)
    greylisted = row(store, "451 4.7.1")
    assert "greylisting" in annotation(store, greylisted)


def test_failure_lines_are_explained_from_the_reply_event():
    def rcpt(conn, line):
        conn.send(b"554 5.7.1 <x@elsewhere.example>: Relay access denied\r\n")

    with FakeServer(esmtp(RCPT=rcpt)) as server, \
            Session(parse_target(server.target), SessionOptions(timeout=5)) as session:
        for command in ("connect", "ehlo", "mail a@fake.test", "rcpt x@elsewhere.example"):
            session.execute(command)
        reply = [e for e in session.transcript.snapshot() if isinstance(e, Reply)][-1]
        lines = explain_failure(reply.code, reply.text, reply=reply)
        assert lines[0].startswith("554 5.7.1 at RCPT → permanent failure:")
        assert any(line.startswith("transaction: goes on") for line in lines)
        assert not any("final dot" in line for line in lines)
        assert all(len(line) <= EXPLAIN_WIDTH for line in lines)
        store = store_of(session)
        assert explain_row(store, row(store, "554 5.7.1"))[0].startswith("554 5.7.1 at RCPT")
