"""The stage strip's model: fed by the core's replies, ledger and state, whatever was typed (no UI)."""

from __future__ import annotations

import pytest

from smtpdbg.core.target import Target
from smtpdbg.tui.model.rows import RowStore
from smtpdbg.tui.model.stages import AUTH, DATA, DONE, EHLO, EHLO_AGAIN, GREETED, MAIL, RCPT, TLS, StageTrack
from tests.tui.fakes import FakeSession

BODY = b"Subject: x\r\n\r\nhi\r\n"


def track_of(*commands: str, transport: str = "smtp", body: bytes = BODY) -> StageTrack:
    """The track after a scripted session, fed as the app feeds it: the row store's timeline."""
    fake = FakeSession(Target(transport, "mx.example.test", 25))
    for command in commands:
        fake.submit(command, body=body if command in ("data", "sendmail a@b c@d") else None,
                    secret="x" if command.startswith("auth") else None)
    track = StageTrack()
    track.follow(RowStore().ingest(fake.transcript.snapshot()).timeline)
    return track


def statuses(track: StageTrack) -> dict[int, str]:
    return {s.index: s.status for s in track.segments()}


@pytest.mark.parametrize("refused", ["rcpt reject@example.test", "docmd RCPT TO:<reject@example.test>",
                                     "raw RCPT TO:<reject@example.test>"])
def test_a_refused_recipient_fails_rcpt_however_it_was_typed(refused):
    track = track_of("connect", "ehlo", "mail a@example.test", refused)
    segment = track.segments()[RCPT]
    assert segment.status == "failed" and segment.code == 550
    assert statuses(track)[MAIL] == "current"


@pytest.mark.parametrize("sender", ["mail reject@example.test", "docmd MAIL FROM:<reject@example.test>",
                                    "raw MAIL FROM:<reject@example.test>"])
def test_a_refused_sender_fails_mail_however_it_was_typed(sender):
    segment = track_of("connect", "ehlo", sender).segments()[MAIL]
    assert segment.status == "failed" and segment.code == 550


@pytest.mark.parametrize("commands", [("mail a@example.test", "rcpt bob@example.test"),
                                      ("docmd MAIL FROM:<a@example.test>", "raw RCPT TO:<bob@example.test>")])
def test_accepted_steps_light_their_stages_with_the_reply_s_latency(commands):
    track = track_of("connect", "ehlo", *commands)
    assert statuses(track)[MAIL] == "done" and statuses(track)[RCPT] == "current"
    assert track.latency[MAIL] == pytest.approx(0.001) and track.latency[RCPT] == pytest.approx(0.001)


def test_a_sent_message_shows_how_many_recipients_it_reached():
    track = track_of("connect", "ehlo", "mail a@example.test", "rcpt bob@example.test", "rcpt carol@example.test",
                     "rcpt full@example.test", "data", transport="lmtp")
    segment = track.segments()[DATA]
    assert (segment.tally, segment.tally_status, segment.status) == ("2/3 ✓", "partial", "done")
    assert statuses(track)[DONE] == "current"
    delivered = track_of("connect", "ehlo", "mail a@example.test", "rcpt bob@example.test", "data").segments()[DATA]
    assert (delivered.tally, delivered.tally_status) == ("1/1 ✓", "done")
    cleared = track_of("connect", "ehlo", "mail a@example.test", "rcpt bob@example.test", "data", "mail a@example.test")
    assert cleared.segments()[DATA].tally == "" and statuses(cleared)[MAIL] == "current"


def test_a_sendmail_lights_the_same_stages():
    track = track_of("connect", "ehlo", "sendmail a@b c@d")
    assert [statuses(track)[i] for i in (MAIL, RCPT, DATA)] == ["done"] * 3 and statuses(track)[DONE] == "current"
    assert track.segments()[DATA].tally == "1/1 ✓"


def test_an_unknown_outcome_is_shown_as_unknown():
    track = track_of("connect", "ehlo", "mail a@example.test", "rcpt bob@example.test", "data",
                     body=b"X-Fake-Drop: yes\r\n\r\nhi\r\n")
    segment = track.segments()[DATA]
    assert (segment.tally, segment.tally_status, segment.status) == ("?/1 unknown", "unknown", "failed")
    assert not track.state.connected


def test_implicit_tls_lights_tls_at_connect_and_skips_the_second_ehlo():
    track = track_of("connect", "ehlo", transport="smtps")
    assert [statuses(track)[i] for i in (GREETED, EHLO, TLS, EHLO_AGAIN)] == ["done", "current", "done", "skipped"]
    assert set(track.latency) == {GREETED, EHLO}
    track = track_of("connect", "ehlo", "quit", transport="smtps")
    assert [statuses(track)[i] for i in (GREETED, EHLO, TLS)] == ["done"] * 3  # closed: the path walked stays


def test_starttls_then_ehlo_is_the_second_ehlo_and_auth_waits_for_235():
    track = track_of("connect", "ehlo", "starttls", "ehlo", "auth PLAIN alice")
    assert [statuses(track)[i] for i in (EHLO, TLS, EHLO_AGAIN)] == ["done"] * 3
    assert statuses(track)[AUTH] == "current" and AUTH in track.latency


def test_rset_clears_the_transaction_and_says_so():
    track = track_of("connect", "ehlo", "mail a@example.test", "rcpt reject@example.test", "docmd RSET")
    assert track.reset == "RSET" and track.failed is None and MAIL not in track.latency
    assert statuses(track)[MAIL] == "todo"
