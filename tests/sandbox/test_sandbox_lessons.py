"""The sandbox obeys the rules lessons 12-15 teach, with stdlib smtplib as the client.

DSN and its report (RFC 3461, RFC 3464, RFC 5321 §4.5.5/§6.1), greylisting that lets a retry in, the
recipient limit (452 4.5.3, RFC 5321 §4.5.3.1.10), the per-connection message limit (421 4.7.0, closing:
§3.8), SIZE at MAIL (552 5.3.4, RFC 1870), PIPELINING (RFC 2920) and bare LF (§2.3.8: smuggling).
"""

from __future__ import annotations

import email
import email.utils
import smtplib
import socket
import time
from collections.abc import Iterator

import pytest

from smtpdbg.sandbox import Sandbox, SandboxConfig
from smtpdbg.sandbox.dsn import mail_params_reply, rcpt_params_reply
from smtpdbg.sandbox.limits import Greylist
from smtpdbg.sandbox.smuggling import crlf_for_bare_lf

TIMEOUT = 5.0
HOST = "sandbox.smtpdbg.test"
MESSAGE = b"Date: Fri, 4 Dec 2026 10:00:00 +0000\r\nFrom: alice@sandbox.smtpdbg.test\r\nSubject: t\r\n\r\nhello\r\n"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    config = SandboxConfig(dsn=True, max_recipients=2, max_messages=2, greylist_delay=0.2,
                           data_size_limit=10240, extra_extensions=("PIPELINING",), bare_lf="both")
    with Sandbox(config) as sb:
        yield sb


@pytest.fixture
def smtp(sandbox: Sandbox) -> Iterator[smtplib.SMTP]:
    sandbox.clear_messages()
    with smtplib.SMTP(*sandbox.endpoints.smtp, local_hostname="client.example", timeout=TIMEOUT) as client:
        client.ehlo()
        yield client


def reports(sandbox: Sandbox):
    return [m for m in sandbox.messages if m.mail_from == ""]


# -- DSN ---------------------------------------------------------------------------------------------
def test_dsn_is_advertised_and_its_parameters_are_checked(smtp):
    assert smtp.has_extn("dsn")
    assert smtp.mail("alice@x.test", ["RET=BOTH"])[0] == 501
    assert smtp.mail("alice@x.test", ["RET=FULL", "RET=HDRS"])[0] == 501
    assert smtp.mail("alice@x.test", ["ENVID=" + "a" * 101])[0] == 501
    code, text = smtp.mail("alice@x.test", ["RET=FULL", "ENVID=id+2B1"])
    assert (code, text[:5]) == (250, b"2.1.0")
    assert smtp.rcpt("bob@x.test", ["NOTIFY=NEVER,SUCCESS"])[:1] == (501,)
    assert smtp.rcpt("bob@x.test", ["NOTIFY=SOMETIMES"])[:1] == (501,)
    assert smtp.rcpt("bob@x.test", ["ORCPT=bob@x.test"])[:1] == (501,)
    assert smtp.rcpt("bob@x.test", ["NOTIFY=SUCCESS,FAILURE,DELAY", "ORCPT=rfc822;bob@x.test"])[0] == 250


@pytest.mark.parametrize("params, problem", [
    (["RET=hdrs"], None), (["ENVID=a b"], "ENVID"), (["ENVID="], "ENVID"), (["RET"], "RET"),
])
def test_mail_parameter_syntax(params, problem):
    reply = mail_params_reply(params)
    assert (reply is None) if problem is None else (reply.startswith("501 5.5.4") and problem in reply)


@pytest.mark.parametrize("params, ok", [
    (["NOTIFY=never"], True), (["NOTIFY=SUCCESS,SUCCESS"], False), (["ORCPT=rfc822;"], False),
    (["ORCPT=x-local;a+2Bb"], True), (["NOTIFY=DELAY", "NOTIFY=DELAY"], False),
])
def test_rcpt_parameter_syntax(params, ok):
    assert (rcpt_params_reply(params) is None) == ok


def test_a_failure_after_acceptance_comes_back_as_a_report_from_the_null_sender(sandbox, smtp):
    smtp.mail("alice@sandbox.smtpdbg.test", ["RET=HDRS", "ENVID=lesson-12"])
    assert smtp.rcpt("bob@sandbox.smtpdbg.test", ["NOTIFY=SUCCESS", "ORCPT=rfc822;bob@old.test"])[0] == 250
    assert smtp.rcpt("bounce@sandbox.smtpdbg.test", ["NOTIFY=FAILURE"])[0] == 250  # accepted, fails later
    code, text = smtp.data(MESSAGE)
    assert code == 250 and b"report goes to <alice@sandbox.smtpdbg.test>" in text
    delivered, report = sandbox.messages
    assert delivered.rcpt_tos == ("bob@sandbox.smtpdbg.test",)  # bounce@ never got it
    assert (report.mail_from, report.rcpt_tos) == ("", ("alice@sandbox.smtpdbg.test",))
    parsed = email.message_from_bytes(report.content)
    assert parsed["Date"] and parsed["From"].startswith("Mail Delivery System <MAILER-DAEMON@")
    assert parsed.get_content_type() == "multipart/report" and parsed.get_param("report-type") == "delivery-status"
    text_part, status, returned = parsed.get_payload()
    assert text_part.get_content_type() == "text/plain"
    assert status.get_content_type() == "message/delivery-status"
    per_message, bob, bounce = status.get_payload()
    assert per_message["Reporting-MTA"] == f"dns; {HOST}" and per_message["Original-Envelope-Id"] == "lesson-12"
    assert (bob["Original-Recipient"], bob["Action"], bob["Status"]) == ("rfc822;bob@old.test", "delivered", "2.0.0")
    assert (bounce["Final-Recipient"], bounce["Action"], bounce["Status"]) == (
        "rfc822;bounce@sandbox.smtpdbg.test", "failed", "5.1.1")
    assert bounce["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    assert returned.get_content_type() == "text/rfc822-headers"  # RET=HDRS: the header only
    assert b"Subject: t" in report.content and b"hello" not in report.content


def test_ret_full_returns_the_message_and_notify_decides_who_is_reported(sandbox, smtp):
    smtp.mail("alice@sandbox.smtpdbg.test", ["RET=FULL"])
    smtp.rcpt("bob@sandbox.smtpdbg.test")  # no NOTIFY: failures (and delays) only
    smtp.rcpt("bounce@sandbox.smtpdbg.test")
    smtp.data(MESSAGE)
    (report,) = reports(sandbox)
    parsed = email.message_from_bytes(report.content)
    assert parsed.get_payload()[2].get_content_type() == "message/rfc822" and b"hello" in report.content
    assert b"Final-Recipient: rfc822;bob@" not in report.content


def test_a_delayed_recipient_stays_queued_and_its_report_says_until_when_it_is_retried(sandbox, smtp):
    smtp.mail("alice@sandbox.smtpdbg.test")
    smtp.rcpt("later@sandbox.smtpdbg.test")  # no NOTIFY: FAILURE,DELAY
    smtp.rcpt("bob@sandbox.smtpdbg.test", ["NOTIFY=FAILURE"])
    smtp.data(MESSAGE)
    delivered, report = sandbox.messages
    assert delivered.rcpt_tos == ("bob@sandbox.smtpdbg.test",)
    status = email.message_from_bytes(report.content).get_payload()[1]
    (later,) = status.get_payload()[1:]
    assert (later["Action"], later["Status"]) == ("delayed", "4.4.1")
    until = email.utils.parsedate_to_datetime(later["Will-Retry-Until"])
    attempt = email.utils.parsedate_to_datetime(later["Last-Attempt-Date"])
    assert (until - attempt).days == 5
    assert email.message_from_bytes(report.content)["Subject"] == "Delivery Status Notification (Delay)"


def test_no_report_when_nobody_asked_and_none_about_a_bounce(sandbox, smtp):
    smtp.mail("alice@sandbox.smtpdbg.test")
    smtp.rcpt("bob@sandbox.smtpdbg.test")
    smtp.rcpt("bounce@sandbox.smtpdbg.test", ["NOTIFY=NEVER"])
    assert b"no delivery report" in smtp.data(MESSAGE)[1]
    smtp.mail("<>")
    smtp.rcpt("bounce@sandbox.smtpdbg.test")
    code, text = smtp.data(MESSAGE)
    assert code == 250 and b"the sender is <>" in text
    assert reports(sandbox) == []


# -- greylisting, recipient and message limits ---------------------------------------------------------
def test_greylisting_lets_the_same_triple_in_after_the_delay_then_starts_over(smtp):
    smtp.mail("alice@sandbox.smtpdbg.test")
    assert smtp.rcpt("greylist@sandbox.smtpdbg.test") == (451, b"4.7.1 Greylisted, try again later")
    assert smtp.rcpt("greylist@sandbox.smtpdbg.test")[0] == 451  # too early
    smtp.rset()
    smtp.mail("carol@sandbox.smtpdbg.test")
    assert smtp.rcpt("greylist@sandbox.smtpdbg.test")[0] == 451  # another sender: another triple
    time.sleep(0.3)
    smtp.rset()
    smtp.mail("alice@sandbox.smtpdbg.test")
    assert smtp.rcpt("greylist@sandbox.smtpdbg.test")[0] == 250
    smtp.rset()
    smtp.mail("alice@sandbox.smtpdbg.test")
    assert smtp.rcpt("greylist@sandbox.smtpdbg.test")[0] == 451  # let in once, then forgotten


def test_greylist_clock():
    now = [0.0]
    greylist = Greylist(5.0, clock=lambda: now[0])
    assert not greylist.passes("192.0.2.1", "a@x", "b@y")
    now[0] = 4.9
    assert not greylist.passes("192.0.2.1", "A@X", "b@y")
    now[0] = 5.0
    assert greylist.passes("192.0.2.1", "a@x", "B@Y")
    assert not greylist.passes("192.0.2.1", "a@x", "b@y")


def test_too_many_recipients_is_452_and_the_rest_goes_in_another_transaction(sandbox, smtp):
    smtp.mail("alice@sandbox.smtpdbg.test")
    assert smtp.rcpt("bob@sandbox.smtpdbg.test")[0] == 250
    assert smtp.rcpt("reject@sandbox.smtpdbg.test")[0] == 550  # refused ones do not count
    assert smtp.rcpt("carol@sandbox.smtpdbg.test")[0] == 250
    assert smtp.rcpt("dave@sandbox.smtpdbg.test") == (452, b"4.5.3 Error: too many recipients")
    assert smtp.data(MESSAGE)[0] == 250
    assert smtp.sendmail("alice@sandbox.smtpdbg.test", ["dave@sandbox.smtpdbg.test"], MESSAGE) == {}
    assert [m.rcpt_tos for m in sandbox.messages] == [
        ("bob@sandbox.smtpdbg.test", "carol@sandbox.smtpdbg.test"), ("dave@sandbox.smtpdbg.test",)]


def test_the_message_limit_answers_421_at_mail_and_closes(sandbox, smtp):
    for _ in range(2):
        smtp.sendmail("alice@sandbox.smtpdbg.test", ["bob@sandbox.smtpdbg.test"], MESSAGE)
    code, text = smtp.mail("alice@sandbox.smtpdbg.test")
    assert code == 421 and text.startswith(b"4.7.0 ") and HOST.encode() in text
    with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
        smtp.noop()
    with smtplib.SMTP(*sandbox.endpoints.smtp, timeout=TIMEOUT) as again:  # a new connection starts over
        assert again.sendmail("alice@sandbox.smtpdbg.test", ["bob@sandbox.smtpdbg.test"], MESSAGE) == {}


# -- SIZE and PIPELINING -------------------------------------------------------------------------------
def test_size_over_the_announced_limit_is_refused_at_mail(smtp):
    assert smtp.esmtp_features["size"] == "10240"
    assert smtp.mail("alice@sandbox.smtpdbg.test", ["SIZE=10241"]) == (
        552, b"5.3.4 Error: message size exceeds fixed maximum message size")
    assert smtp.mail("alice@sandbox.smtpdbg.test", ["SIZE=10240"])[0] == 250
    smtp.rcpt("bob@sandbox.smtpdbg.test")
    code, text = smtp.data(MESSAGE + b"x" * 10240 + b"\r\n")
    assert (code, text[:5]) == (552, b"5.3.4")


def test_a_pipelined_group_gets_its_replies_in_order(sandbox):
    with socket.create_connection(sandbox.endpoints.smtp, timeout=TIMEOUT) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(b"EHLO client.example\r\n")
        keywords = []
        while (line := reader.readline())[3:4] == b"-":
            keywords.append(line[4:].strip())
        assert b"PIPELINING" in keywords
        sock.sendall(b"MAIL FROM:<alice@sandbox.smtpdbg.test>\r\nRCPT TO:<reject@sandbox.smtpdbg.test>\r\n"
                     b"RCPT TO:<bob@sandbox.smtpdbg.test>\r\nDATA\r\n")
        codes = [reader.readline()[:3] for _ in range(4)]
        assert codes == [b"250", b"550", b"250", b"354"]


# -- bare LF -------------------------------------------------------------------------------------------
SMUGGLED = (b"Subject: lunch\r\n\r\nnoon\n.\nMAIL FROM:<ceo@sandbox.smtpdbg.test>\r\nRCPT TO:<%s>\r\nDATA\r\n"
            b"Subject: pay\r\n\r\nPay now.\r\n.\r\n")


def smuggle(sandbox: Sandbox, recipient: bytes) -> list[bytes]:
    with socket.create_connection(sandbox.endpoints.smtp, timeout=TIMEOUT) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(b"HELO client.example\r\nMAIL FROM:<alice@sandbox.smtpdbg.test>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                     % recipient)
        assert [reader.readline()[:3] for _ in range(4)] == [b"250", b"250", b"250", b"354"]
        sock.sendall(SMUGGLED % recipient)
        sock.sendall(b"QUIT\r\n")
        replies = []
        while (line := reader.readline()) and not line.startswith(b"221"):
            replies.append(line.rstrip(b"\r\n"))
        return replies


def test_a_vulnerable_server_ends_the_message_at_lf_dot_lf_and_runs_the_smuggled_commands(sandbox):
    sandbox.clear_messages()
    replies = smuggle(sandbox, b"bob@unpatched.sandbox.smtpdbg.test")
    assert [r[:3] for r in replies] == [b"250", b"250", b"250", b"354", b"250"]
    first, smuggled = sandbox.messages
    assert first.content.endswith(b"noon\r\n") and smuggled.mail_from == "ceo@sandbox.smtpdbg.test"


def test_a_patched_server_refuses_a_message_with_a_bare_lf(sandbox):
    sandbox.clear_messages()
    assert smuggle(sandbox, b"bob@sandbox.smtpdbg.test") == [b"550 5.5.2 Error: bare <LF> received"]
    assert sandbox.messages == []


def send_by_hand(sandbox: Sandbox, message_commands: bytes, replies: int) -> list[bytes]:
    with socket.create_connection(sandbox.endpoints.smtp, timeout=TIMEOUT) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(b"HELO client.example\r\nMAIL FROM:<alice@sandbox.smtpdbg.test>\r\n"
                     b"RCPT TO:<bob@sandbox.smtpdbg.test>\r\n" + message_commands)
        return [reader.readline()[:3] for _ in range(3 + replies)][3:]


def test_the_default_keeps_a_bare_lf_as_text_and_bdat_is_never_refused():
    body = b"Subject: x\r\n\r\na\n.\nb\r\n"
    with Sandbox(SandboxConfig(lmtp=False)) as sb:  # keep: only CRLF ends a line, the LF is text
        assert send_by_hand(sb, b"DATA\r\n" + body + b".\r\n", 2) == [b"354", b"250"]
        assert sb.messages[0].content == body
    with Sandbox(SandboxConfig(lmtp=False, bare_lf="reject")) as sb:  # BDAT counts octets: nothing to smuggle
        assert send_by_hand(sb, b"BDAT %d LAST\r\n" % len(body) + body, 1) == [b"250"]
        assert sb.messages[0].content == body


def test_bare_lf_becomes_crlf_across_reads():
    assert crlf_for_bare_lf(b"a\nb\r\nc", b"") == b"a\r\nb\r\nc"
    assert crlf_for_bare_lf(b"\nx", b"\r") == b"\nx"  # the CR came in the read before
    assert crlf_for_bare_lf(b"\nx", b"\n") == b"\r\nx"


def test_bare_lf_mode_is_checked():
    with pytest.raises(ValueError, match="bare_lf"):
        SandboxConfig(bare_lf="sometimes")


def test_the_cli_turns_the_lesson_settings_on():
    from smtpdbg.sandbox.cli import build_parser, config_from_args

    args = build_parser().parse_args(["--dsn", "--greylist-delay", "2", "--max-recipients", "3",
                                      "--max-messages", "4", "--bare-lf", "both"])
    config = config_from_args(args)
    assert (config.dsn, config.greylist_delay, config.max_recipients, config.max_messages, config.bare_lf) == (
        True, 2.0, 3, 4, "both")
    default = config_from_args(build_parser().parse_args([]))
    assert (default.dsn, default.greylist_delay, default.max_recipients, default.bare_lf) == (False, None, 0, "keep")
