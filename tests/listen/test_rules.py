"""Each kind of rule, seen by a real client: smtplib's exceptions and the swaks command's exit status."""

from __future__ import annotations

import os
import random
import shutil
import smtplib
import subprocess

import pytest

from smtpdbg.listen.rules import RuleBook, RuleError, parse_rules
from tests.listen.conftest import address

MESSAGE = b"Subject: t\r\n\r\nhello\r\n"
needs_swaks = pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed")


def swaks(server, *args: str) -> int:
    host, port = address(server)
    done = subprocess.run(["swaks", "-s", host, "-p", str(port), "-f", "a@x.test", "--timeout", "20", *args],
                          capture_output=True, timeout=60)
    return done.returncode


@needs_swaks
def test_rcpt_address_pattern_refused_for_swaks_and_smtplib(start_listen) -> None:
    server = start_listen("[[rule]]\nstage = 'rcpt'\naddress = '*@blocked.test'\nreply = '550 5.7.1 blocked'\n")
    assert swaks(server, "-t", "who@blocked.test") == 24  # swaks: no recipient accepted
    assert swaks(server, "-t", "who@open.test") == 0
    with smtplib.SMTP(*address(server)) as smtp, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.sendmail("a@x.test", ["b@BLOCKED.test"], MESSAGE)
    assert refused.value.recipients == {"b@BLOCKED.test": (550, b"5.7.1 blocked")}


def test_third_message_per_minute_from_one_client_gets_421(start_listen) -> None:
    server = start_listen("[[rule]]\nstage = 'mail'\nrate = '3/minute'\nreply = '421 4.7.0 too many messages'\n")
    with smtplib.SMTP(*address(server)) as smtp:
        smtp.sendmail("a@x.test", ["b@y.test"], MESSAGE)
        smtp.sendmail("a@x.test", ["b@y.test"], MESSAGE)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("a@x.test", ["b@y.test"], MESSAGE)
    assert refused.value.smtp_code == 421
    import time

    def closed_after_421() -> bool:
        texts = [getattr(e, "text", "") for e in server.connections[0].transcript.snapshot()]
        return any("closed the connection after its 421" in t for t in texts)

    deadline = time.monotonic() + 10
    while not closed_after_421() and time.monotonic() < deadline:  # the server's side runs on its own thread
        time.sleep(0.02)
    assert closed_after_421()  # RFC 5321 §3.8
    assert len(server.mailbox.snapshot()) == 2


@needs_swaks
def test_drop_after_the_final_dot(start_listen) -> None:
    server = start_listen("[[rule]]\nstage = 'message'\ndrop = true\n")
    assert swaks(server, "-t", "b@y.test") == 6  # swaks: the connection closed unexpectedly
    with smtplib.SMTP(*address(server)) as smtp, pytest.raises(smtplib.SMTPServerDisconnected):
        smtp.sendmail("a@x.test", ["b@y.test"], MESSAGE)
    assert server.mailbox.snapshot() == []
    assert server.connections[-1].closed


def test_tarpit_banner_outlasts_a_short_client_timeout(start_listen) -> None:
    server = start_listen("[[rule]]\nstage = 'connect'\ndelay = 30\n")
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        smtplib.SMTP(*address(server), timeout=0.5)


@needs_swaks
def test_data_refused_once_then_accepted(start_listen) -> None:
    server = start_listen("[[rule]]\nstage = 'data'\ntimes = 1\nreply = '451 4.3.0 try again'\n")
    assert swaks(server, "-t", "b@y.test") == 25  # swaks: DATA refused
    assert swaks(server, "-t", "b@y.test") == 0
    with smtplib.SMTP(*address(server)) as smtp:
        smtp.sendmail("a@x.test", ["b@y.test"], MESSAGE)
    assert len(server.mailbox.snapshot()) == 2


def test_after_lets_the_first_matches_pass(start_listen) -> None:
    server = start_listen("[[rule]]\nstage = 'rcpt'\nafter = 1\nreply = '452 4.5.3 too many recipients'\n")
    with smtplib.SMTP(*address(server)) as smtp:
        refused = smtp.sendmail("a@x.test", ["one@y.test", "two@y.test"], MESSAGE)
    assert refused == {"two@y.test": (452, b"4.5.3 too many recipients")}


def test_probability_is_seeded(start_listen) -> None:
    server = start_listen("seed = 7\n[[rule]]\nstage = 'rcpt'\nprobability = 0.5\nreply = '450 4.2.1 busy'\n")
    draws = random.Random(7)
    expected = {f"r{i}@y.test": (450, b"4.2.1 busy") for i in range(8) if draws.random() < 0.5}
    with smtplib.SMTP(*address(server)) as smtp:
        smtp.ehlo()
        smtp.mail("a@x.test")
        got = {f"r{i}@y.test": smtp.rcpt(f"r{i}@y.test") for i in range(8)}
    assert {k: v for k, v in got.items() if v[0] == 450} == expected and 0 < len(expected) < 8


def test_rules_reload_when_the_file_is_saved(start_listen) -> None:
    server = start_listen("[[rule]]\nstage = 'rcpt'\nreply = '550 5.1.1 first'\n")
    path = server.rules.path

    def rcpt() -> tuple[int, bytes]:
        with smtplib.SMTP(*address(server)) as smtp:
            smtp.ehlo()
            smtp.mail("a@x.test")
            return smtp.rcpt("b@y.test")

    assert rcpt() == (550, b"5.1.1 first")
    with open(path, "w") as handle:
        handle.write("[[rule]]\nstage = 'rcpt'\nreply = '551 5.1.6 second'\n")
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert rcpt() == (551, b"5.1.6 second")
    with open(path, "w") as handle:
        handle.write("[[rule]]\nstage = 'nowhere'\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2 * 10**9))
    assert rcpt() == (551, b"5.1.6 second")  # a broken file keeps the rules in force
    assert "stage must be one of" in server.rules.error


@pytest.mark.parametrize("text, message", [
    ("[[rule]]\nstage = 'rcpt'\n", "says nothing to do"),
    ("[[rule]]\nstage = 'rcpt'\nreply = '650 no'\n", "code from 200 to 599"),
    ("[[rule]]\nstage = 'rcpt'\nrate = 'lots'\nreply = '250'\n", "rate is COUNT/SECONDS"),
    ("[[rule]]\nstage = 'rcpt'\ncolour = 1\nreply = '250'\n", "unknown key 'colour'"),
    ("[[rule]]\nstage = 'rcpt'\nprobability = 2\nreply = '250'\n", "probability is a number"),
    ("rule = [", "not valid TOML"),
])
def test_bad_rules_are_explained(text: str, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rules(text)


def test_a_rule_book_from_text_answers_without_a_file() -> None:
    from smtpdbg.listen.rules import Context

    book = RuleBook(text="[[rule]]\nstage = 'any'\nclient = '10.*'\ndrop = true\n")
    assert book.decide(Context("rcpt", "127.0.0.1")) is None
    rule, answer = book.decide(Context("mail", "10.1.2.3"))
    assert answer.action == "drop" and rule.name == "rule 1"


def test_command_tells_apart_the_commands_of_one_stage(start_listen) -> None:
    server = start_listen("[[rule]]\nstage = 'other'\ncommand = 'expn'\nreply = '550 5.7.1 no lists here'\n")
    with smtplib.SMTP(*address(server)) as smtp:
        smtp.ehlo()
        assert smtp.expn("staff") == (550, b"5.7.1 no lists here")
        assert smtp.help() == b"5.5.2 Command not recognized"  # HELP: stage other too, but not EXPN


@pytest.mark.parametrize(("rule", "said"), [
    ("stage = 'connect'\ndelay = 10\n", "wait 10 s, then the normal reply"),
    ("stage = 'rcpt'\ndelay = 2\nreply = '451 4.7.1 slow down'\n", "wait 2 s, then reply 451 4.7.1 slow down"),
    ("stage = 'message'\ndrop = true\n", "drop"),
])
def test_a_rule_is_described_in_its_own_words(rule, said) -> None:
    from smtpdbg.listen.rules import RuleBook

    [parsed] = RuleBook(text="[[rule]]\n" + rule).rules
    assert parsed.answer.describe() == said
