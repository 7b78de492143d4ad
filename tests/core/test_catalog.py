"""Tests for the explanation catalog (smtpdbg.core.catalog).

The completeness lists below are typed in from the RFCs and the IANA registries,
not derived from the catalog, so a code dropped from a table fails a test.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpdbg.core.catalog import (
    ENHANCED_CODES,
    EXTENSIONS,
    REPLY_CODES,
    EnhancedInfo,
    ExtensionInfo,
    ReplyInfo,
    explain_enhanced,
    explain_extension,
    explain_reply,
    parse_enhanced,
    reply_class_meaning,
)

# -- reply codes ---------------------------------------------------------------------------
# RFC 5321 §4.2.3, "Reply Codes in Numeric Order".
RFC5321_CODES = [211, 214, 220, 221, 250, 251, 252, 354, 421, 450, 451, 452, 455,
                 500, 501, 502, 503, 504, 550, 551, 552, 553, 554, 555]
# RFC 4954 (AUTH) §4 and §6; 454 and 530 are also RFC 3207's (STARTTLS).
RFC4954_CODES = [235, 334, 432, 454, 500, 501, 530, 534, 535, 538]
RFC7504_CODES = [521, 556]
RFC1985_CODES = [250, 251, 252, 253, 458, 459]  # ETRN
RFC2645_CODES = [453]  # ATRN
RFC1845_CODES = [355]  # CHECKPOINT

ALL_DEFINED = sorted(set(RFC5321_CODES + RFC4954_CODES + RFC7504_CODES + RFC1985_CODES
                         + RFC2645_CODES + RFC1845_CODES))


@pytest.mark.parametrize("code", ALL_DEFINED)
def test_every_rfc_reply_code_is_catalogued(code: int) -> None:
    info = explain_reply(code)
    assert isinstance(info, ReplyInfo)
    assert info.code == code
    assert info.text and info.meaning and info.client_action and info.commands
    assert "RFC" in info.rfc


def test_catalog_holds_only_codes_an_rfc_defines() -> None:
    assert set(REPLY_CODES) == set(ALL_DEFINED)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (250, "Requested mail action okay, completed"),
        (354, "Start mail input; end with <CRLF>.<CRLF>"),
        (421, "<domain> Service not available, closing transmission channel"),
        (455, "Server unable to accommodate parameters"),
        (503, "Bad sequence of commands"),
        (550, "Requested action not taken: mailbox unavailable"),
        (555, "MAIL FROM/RCPT TO parameters not recognized or not implemented"),
        (535, "5.7.8 Authentication credentials invalid"),
        (521, "<domain> does not accept mail"),
        (556, "Domain does not accept mail"),
        (453, "You have no mail"),
    ],
)
def test_standard_reply_texts(code: int, text: str) -> None:
    assert explain_reply(code).text == text


@pytest.mark.parametrize(
    ("code", "rfc"),
    [(550, "RFC 5321 §4.2.2"), (235, "RFC 4954"), (521, "RFC 7504"), (458, "RFC 1985"), (355, "RFC 1845")],
)
def test_reply_rfc_reference(code: int, rfc: str) -> None:
    assert rfc in explain_reply(code).rfc


# RFC 5321 §4.3.2, "Command-Reply Sequences", typed in per command.
SEQUENCES = {
    "<greeting>": [220, 554],
    "EHLO": [250, 504, 550, 502],
    "HELO": [250, 504, 550, 502],
    "MAIL": [250, 552, 451, 452, 550, 553, 503, 455, 555],
    "RCPT": [250, 251, 550, 551, 552, 553, 450, 451, 452, 503, 455, 555],
    "DATA": [354, 503, 554],
    "<end of data>": [250, 552, 554, 451, 452, 450, 550],
    "RSET": [250],
    "VRFY": [250, 251, 252, 550, 551, 553, 502, 504],
    "EXPN": [250, 252, 550, 500, 502, 504],
    "HELP": [211, 214, 502, 504],
    "NOOP": [250],
    "QUIT": [221],
}


@pytest.mark.parametrize(("command", "codes"), SEQUENCES.items())
def test_commands_follow_rfc5321_sequences(command: str, codes: list[int]) -> None:
    for code in codes:
        assert command in explain_reply(code).commands, (command, code)


@pytest.mark.parametrize("code", [500, 501, 421])
def test_any_command_codes(code: int) -> None:
    # RFC 5321 §4.3.2: these may answer any command.
    for command in ("EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "VRFY"):
        assert command in explain_reply(code).commands


@pytest.mark.parametrize(
    ("code", "commands"),
    [(235, {"AUTH"}), (334, {"AUTH", "<auth response>"}), (220, {"<greeting>", "STARTTLS"}),
     (253, {"ETRN"}), (453, {"ATRN"}), (355, {"MAIL"})],
)
def test_extension_reply_commands(code: int, commands: set[str]) -> None:
    assert commands <= set(explain_reply(code).commands)


# "Whatever command it answers": 554 at RCPT (Postfix's Relay access denied) leaves the transaction open.
@pytest.mark.parametrize(("code", "ends"), [(221, True), (421, True), (554, False), (521, True),
                                            (250, False), (354, False), (450, False), (550, False)])
def test_ends_transaction(code: int, ends: bool) -> None:
    assert explain_reply(code).ends_transaction is ends


@pytest.mark.parametrize("code", [0, -1, 200, 299, 422, 523, 525, 600, 999, 1000])
def test_unknown_reply_codes(code: int) -> None:
    assert explain_reply(code) is None


def test_explain_reply_accepts_digit_strings_only() -> None:
    assert explain_reply("550").code == 550
    assert explain_reply("abc") is None
    assert explain_reply(True) is None


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (250, ["positive completion", "x5x mail system"]),
        (354, ["intermediate", "x5x mail system"]),
        (421, ["transient", "x2x connections"]),
        (500, ["permanent", "x0x syntax"]),
        (214, ["positive completion", "x1x information"]),
        (535, ["permanent", "x3x"]),
        (299, ["positive completion", "not defined"]),
    ],
)
def test_reply_class_meaning(code: int, words: list[str]) -> None:
    meaning = reply_class_meaning(code)
    for word in words:
        assert word in meaning


@pytest.mark.parametrize("code", [0, 99, 100, 199, 600, 999, 1000, -550])
def test_reply_class_meaning_of_invalid_codes(code: int) -> None:
    assert "not" in reply_class_meaning(code) or "outside" in reply_class_meaning(code)


# -- enhanced status codes -------------------------------------------------------------------
# RFC 3463 §3.1-§3.8.
RFC3463 = [
    "X.0.0",
    "X.1.0", "X.1.1", "X.1.2", "X.1.3", "X.1.4", "X.1.5", "X.1.6", "X.1.7", "X.1.8",
    "X.2.0", "X.2.1", "X.2.2", "X.2.3", "X.2.4",
    "X.3.0", "X.3.1", "X.3.2", "X.3.3", "X.3.4", "X.3.5",
    "X.4.0", "X.4.1", "X.4.2", "X.4.3", "X.4.4", "X.4.5", "X.4.6", "X.4.7",
    "X.5.0", "X.5.1", "X.5.2", "X.5.3", "X.5.4", "X.5.5",
    "X.6.0", "X.6.1", "X.6.2", "X.6.3", "X.6.4", "X.6.5",
    "X.7.0", "X.7.1", "X.7.2", "X.7.3", "X.7.4", "X.7.5", "X.7.6", "X.7.7",
]
# Later additions to the IANA "SMTP Enhanced Status Codes" registry, with sample texts.
IANA_ADDITIONS = {
    "X.1.9": "Message relayed to non-compliant mailer",
    "X.1.10": "Recipient address has null MX",
    "X.3.6": "Requested priority was changed",
    "X.5.6": "Authentication Exchange line is too long",
    "X.6.6": "Message content not available",
    "X.6.7": "Non-ASCII addresses not permitted for that sender/recipient",
    "X.6.8": "UTF-8 string reply is required, but not permitted by the SMTP client",
    "X.6.9": "UTF-8 header message cannot be transferred to one or more recipients, "
             "so the message must be rejected",
    "X.6.10": "Duplicate of X.6.8 (deprecated)",
    "X.7.8": "Authentication credentials invalid",
    "X.7.9": "Authentication mechanism is too weak",
    "X.7.10": "Encryption Needed",
    "X.7.11": "Encryption required for requested authentication mechanism",
    "X.7.12": "A password transition is needed",
    "X.7.13": "User Account Disabled",
    "X.7.14": "Trust relationship required",
    "X.7.15": "Priority Level is too low",
    "X.7.16": "Message is too big for the specified priority",
    "X.7.17": "Mailbox owner has changed",
    "X.7.18": "Domain owner has changed",
    "X.7.19": "RRVS test cannot be completed",
    "X.7.20": "No passing DKIM signature found",
    "X.7.21": "No acceptable DKIM signature found",
    "X.7.22": "No valid author-matched DKIM signature found",
    "X.7.23": "SPF validation failed",
    "X.7.24": "SPF validation error",
    "X.7.25": "Reverse DNS validation failed",
    "X.7.26": "Multiple authentication checks failed",
    "X.7.27": "Sender address has null MX",
    "X.7.28": "Mail flood detected",
    "X.7.29": "ARC validation failure",
    "X.7.30": "REQUIRETLS support required",
}
SUBJECTS = {
    "0": "Other or undefined status", "1": "Addressing status", "2": "Mailbox status",
    "3": "Mail system status", "4": "Network and routing status", "5": "Mail delivery protocol status",
    "6": "Message content or media status", "7": "Security or policy status",
}


@pytest.mark.parametrize("key", RFC3463 + list(IANA_ADDITIONS))
def test_every_registered_enhanced_code_is_catalogued(key: str) -> None:
    assert key in ENHANCED_CODES
    for cls in "245":
        info = explain_enhanced(cls + key[1:])
        assert isinstance(info, EnhancedInfo)
        assert info.exact
        assert info.code == cls + key[1:]
        assert info.subject == SUBJECTS[key.split(".")[1]]
        assert info.detail and info.meaning and info.client_action
        assert "RFC" in info.rfc or "draft" in info.rfc


def test_enhanced_catalog_has_nothing_unregistered() -> None:
    assert set(ENHANCED_CODES) == set(RFC3463) | set(IANA_ADDITIONS)


@pytest.mark.parametrize(("key", "detail"), IANA_ADDITIONS.items())
def test_registry_sample_texts(key: str, detail: str) -> None:
    assert ENHANCED_CODES[key].detail == detail


@pytest.mark.parametrize(
    ("code", "detail", "basic", "rfc"),
    [
        ("5.1.1", "Bad destination mailbox address", (451, 550), "RFC 3463"),
        ("5.7.8", "Authentication credentials invalid", (535, 554), "RFC 4954"),
        ("4.7.0", "Other or undefined security status",
         (220, 235, 450, 454, 500, 501, 503, 504, 530, 535, 550), "RFC 3463"),
        ("5.3.4", "Message too big for system", (552, 554), "RFC 3463"),
        ("5.1.10", "Recipient address has null MX", (556,), "RFC 7505"),
        ("5.7.27", "Sender address has null MX", (550,), "RFC 7505"),
        ("5.7.30", "REQUIRETLS support required", (550,), "RFC 8689"),
        ("5.7.23", "SPF validation failed", (550,), "RFC 7372"),
        ("4.4.1", "No answer from host", (451,), "RFC 3463"),
    ],
)
def test_explain_enhanced_table(code: str, detail: str, basic: tuple[int, ...], rfc: str) -> None:
    info = explain_enhanced(code)
    assert info.detail == detail
    assert info.basic_codes == basic
    assert rfc in info.rfc


# Where the generic class advice would mislead (issue 14): a full mailbox is transient by nature, and too many
# recipients is solved by splitting the transaction, not by retrying it.
SPECIAL_ADVICE = {"X.2.2", "X.5.3"}


@pytest.mark.parametrize("key", [k for k in RFC3463 + list(IANA_ADDITIONS) if k not in SPECIAL_ADVICE])
def test_client_action_depends_on_class(key: str) -> None:
    transient = explain_enhanced("4" + key[1:]).client_action
    permanent = explain_enhanced("5" + key[1:]).client_action
    success = explain_enhanced("2" + key[1:]).client_action
    assert "retry later" in transient
    assert "do not retry" in permanent
    assert len({transient, permanent, success}) == 3


def test_mailbox_full_is_consistently_transient_in_nature() -> None:
    # RFC 3463 §3.3: X.2.2 "should be used as a persistent transient failure"; a 5.2.2 must not say both
    # "usually temporary" and "do not retry".
    full = explain_enhanced("5.2.2")
    assert "do not retry" not in full.client_action.lower() and "transient" in full.client_action
    assert "transient" in full.meaning and "usually temporary" not in full.meaning
    assert "retry later" in explain_enhanced("4.2.2").client_action


def test_too_many_recipients_says_split_not_retry() -> None:
    # RFC 5321 §4.5.3.1.10 / RFC 3463 §3.6: send to the accepted recipients now, the rest in a new transaction.
    for code in ("4.5.3", "5.5.3"):
        action = explain_enhanced(code).client_action
        assert "recipients already accepted" in action and ("new transaction" in action or "another transaction" in action)
        assert "retry later" not in action


def test_success_warnings_keep_their_note() -> None:
    assert "lost" in explain_enhanced("2.6.4").client_action
    assert "priority" in explain_enhanced("2.3.6").client_action


def test_class_agnostic_lookup_and_normalisation() -> None:
    assert explain_enhanced("X.1.1") == ENHANCED_CODES["X.1.1"]
    assert explain_enhanced("x.7.8").detail == "Authentication credentials invalid"
    assert explain_enhanced(" 5.01.001 ").code == "5.1.1"


@pytest.mark.parametrize(
    ("code", "subject"),
    [("5.1.99", "Addressing status"), ("4.7.999", "Security or policy status"),
     ("2.0.5", "Other or undefined status"), ("5.6.42", "Message content or media status")],
)
def test_unknown_detail_falls_back_to_class_and_subject(code: str, subject: str) -> None:
    info = explain_enhanced(code)
    assert info.exact is False
    assert info.subject == subject
    assert info.code == code
    assert ("retry later" in info.client_action) == code.startswith("4")


def test_unknown_subject_falls_back_to_class() -> None:
    info = explain_enhanced("5.9.1")
    assert info.exact is False and "9" in info.subject and "Permanent" in info.meaning


@pytest.mark.parametrize("text", ["", "5", "5.1", "1.1.1", "3.1.1", "6.1.1", "5.1.1.1", "5.1.1234",
                                  "5.1234.1", "abc", "5-1-1", "５.1.1", "5.١.1"])
def test_not_enhanced_codes(text: str) -> None:
    assert explain_enhanced(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5.1.1 <x@y>: User unknown", "5.1.1"),
        ("550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in local recipient table",
         "5.1.1"),
        ("250 2.0.0 Ok: queued as 4Bq5yW1x2Lz9", "2.0.0"),
        ("250-2.1.0 Sender OK", "2.1.0"),
        ("550-5.7.1 [192.0.2.1] Message rejected due to local policy", "5.7.1"),
        ("451 4.7.1 Greylisting in action, please come back later", "4.7.1"),
        ("535 5.7.8 Username and Password not accepted.", "5.7.8"),
        ("554 5.7.30 REQUIRETLS support required", "5.7.30"),
        ("4.2.2 mailbox full", "4.2.2"),
        ("5.1.10", "5.1.10"),
        ("  5.1.10 Recipient address has null MX", "5.1.10"),
        ("421 4.4.2 example.org Error: timeout exceeded", "4.4.2"),
        ("250 OK", None),
        ("2.0", None),
        ("550 1.2.3.4 blocked", None),
        ("550 5.2.3.4 blocked by a DNS blocklist", None),
        ("5.2.3.4 is listed", None),
        ("1.2.3.4", None),
        ("220 mail.example.org ESMTP Postfix", None),
        ("354 End data with <CR><LF>.<CR><LF>", None),
        ("250 5.1.1 class does not match the reply code", None),
        ("550 Mailbox 5.1.1 unknown", None),
        ("3.1.1 not a class", None),
        ("5.1.1x", None),
        ("5.1.1234 too many digits", None),
        ("", None),
    ],
)
def test_parse_enhanced(text: str, expected: str | None) -> None:
    assert parse_enhanced(text) == expected


# -- EHLO keywords ------------------------------------------------------------------------------
# The IANA "SMTP Service Extensions" registry.
IANA_EXTENSIONS = [
    "SEND", "SOML", "SAML", "VRFY", "EXPN", "HELP", "TURN", "8BITMIME", "SIZE", "VERB", "ONEX",
    "CHUNKING", "BINARYMIME", "CHECKPOINT", "DELIVERBY", "PIPELINING", "DSN", "ETRN",
    "ENHANCEDSTATUSCODES", "STARTTLS", "NO-SOLICITING", "MTRK", "SUBMITTER", "AUTH", "ATRN", "BURL",
    "FUTURERELEASE", "UTF8SMTP", "CONPERM", "CONNEG", "MT-PRIORITY", "RRVS", "SMTPUTF8", "REQUIRETLS",
    "LIMITS",
]
# Keywords Postfix, Exim, Sendmail and Exchange advertise without registration.
VENDOR_EXTENSIONS = [
    "XCLIENT", "XFORWARD", "XOAUTH2", "PRDR", "XVERP", "XOORG", "X-EXPS", "XEXCH50", "X-LINK2STATE",
    "X-ANONYMOUSTLS", "XUSR", "PIPE_CONNECT", "PIPECONNECT", "X_PIPE_CONNECT", "WELLKNOWN",
]


@pytest.mark.parametrize("keyword", IANA_EXTENSIONS)
def test_every_registered_extension_is_catalogued(keyword: str) -> None:
    info = explain_extension(keyword)
    assert isinstance(info, ExtensionInfo)
    assert info.keyword == keyword
    assert info.title and info.meaning
    assert not info.rfc.startswith("Vendor")


@pytest.mark.parametrize("keyword", VENDOR_EXTENSIONS)
def test_vendor_extensions_are_marked(keyword: str) -> None:
    info = explain_extension(keyword)
    assert info is not None
    assert info.rfc.startswith("Vendor extension")


@pytest.mark.parametrize(
    ("keyword", "mail", "rcpt", "verbs"),
    [
        ("SIZE", ("SIZE=",), (), ()),
        ("8BITMIME", ("BODY=8BITMIME",), (), ()),
        ("BINARYMIME", ("BODY=BINARYMIME",), (), ()),
        ("DSN", ("RET=FULL", "RET=HDRS", "ENVID="), ("NOTIFY=", "ORCPT="), ()),
        ("SMTPUTF8", ("SMTPUTF8",), (), ()),
        ("REQUIRETLS", ("REQUIRETLS",), (), ()),
        ("MT-PRIORITY", ("MT-PRIORITY=",), (), ()),
        ("DELIVERBY", ("BY=",), (), ()),
        ("FUTURERELEASE", ("HOLDFOR=", "HOLDUNTIL="), (), ()),
        ("AUTH", ("AUTH=",), (), ("AUTH",)),
        ("STARTTLS", (), (), ("STARTTLS",)),
        ("CHUNKING", (), (), ("BDAT",)),
        ("ETRN", (), (), ("ETRN",)),
        ("ATRN", (), (), ("ATRN",)),
        ("XCLIENT", (), (), ("XCLIENT",)),
        ("XFORWARD", (), (), ("XFORWARD",)),
        ("VRFY", (), (), ("VRFY",)),
        ("EXPN", (), (), ("EXPN",)),
        ("HELP", (), (), ("HELP",)),
        ("BURL", (), (), ("BURL",)),
        ("PIPELINING", (), (), ()),
        ("ENHANCEDSTATUSCODES", (), (), ()),
        ("RRVS", (), ("RRVS=",), ()),
    ],
)
def test_extension_parameters_and_verbs(keyword, mail, rcpt, verbs) -> None:
    info = explain_extension(keyword)
    assert (info.mail_params, info.rcpt_params, info.verbs) == (mail, rcpt, verbs)


@pytest.mark.parametrize(
    ("keyword", "template"),
    [
        ("SIZE", "mail alice@example.org SIZE=1024"),
        ("STARTTLS", "starttls"),
        ("AUTH", "auth PLAIN alice"),
        ("VRFY", "verify alice"),
        ("ETRN", "docmd ETRN example.org"),
        ("8BITMIME", "mail alice@example.org BODY=8BITMIME"),
        ("DSN", "rcpt bob@example.org NOTIFY=SUCCESS,FAILURE"),
        ("PIPELINING", ""),
        ("LIMITS", ""),
    ],
)
def test_templates(keyword: str, template: str) -> None:
    info = explain_extension(keyword)
    assert info.template == template
    assert info.exercisable is bool(template)


@pytest.mark.parametrize(
    ("params", "meaning"),
    [
        ("33554432", "32 MiB maximum message size"),
        ("10240000", "9.8 MiB (10,240,000 bytes) maximum message size"),
        ("52428800", "50 MiB maximum message size"),
        ("35882577", "34.2 MiB (35,882,577 bytes) maximum message size"),
        ("1024", "1 KiB maximum message size"),
        ("512", "512 bytes maximum message size"),
        ("2147483648", "2 GiB maximum message size"),
        ("", "no fixed limit announced"),
    ],
)
def test_size_in_human_units(params: str, meaning: str) -> None:
    assert explain_extension("SIZE", params).params_meaning == meaning


def test_size_zero_and_garbage() -> None:
    assert explain_extension("SIZE", "0").params_meaning.startswith("no fixed limit announced")
    assert "unreadable" in explain_extension("SIZE", "lots").params_meaning
    assert "unreadable" in explain_extension("SIZE", "9" * 5000).params_meaning


def test_auth_mechanisms_listed() -> None:
    meaning = explain_extension("AUTH", "PLAIN LOGIN CRAM-MD5").params_meaning
    assert meaning.startswith("3 mechanisms: ")
    for name in ("PLAIN (", "LOGIN (", "CRAM-MD5 ("):
        assert name in meaning
    assert "TLS" in meaning


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-1", "SCRAM-SHA-256", "GSSAPI",
                                       "NTLM", "EXTERNAL"])
def test_each_common_mechanism_has_a_phrase(mechanism: str) -> None:
    meaning = explain_extension("AUTH", mechanism).params_meaning
    assert meaning.startswith(f"1 mechanism: {mechanism} (")
    assert "not in this catalog" not in meaning


def test_unknown_and_absent_mechanisms() -> None:
    assert "not in this catalog" in explain_extension("AUTH", "FANCY-NEW").params_meaning
    assert "no mechanisms" in explain_extension("AUTH", "").params_meaning


def test_limits() -> None:
    meaning = explain_extension("LIMITS", "RCPTMAX=50 MAILMAX=10000 RCPTDOMAINMAX=1").params_meaning
    assert meaning == (
        "at most 50 recipients per transaction; at most 10,000 transactions (MAIL commands) per session; "
        "at most 1 recipient domain per transaction"
    )
    assert "malformed" in explain_extension("LIMITS", "RCPTMAX=many").params_meaning
    assert "not a limit" in explain_extension("LIMITS", "FUTURELIMIT=3").params_meaning


@pytest.mark.parametrize(
    ("keyword", "params", "fragment"),
    [
        ("DELIVERBY", "3600", "3,600 seconds (1 hour)"),
        ("DELIVERBY", "", "no minimum"),
        ("MT-PRIORITY", "MIXER", "MIXER"),
        ("MT-PRIORITY", "STANAG4406", "STANAG 4406"),
        ("MT-PRIORITY", "NSEP", "Emergency"),
        ("MT-PRIORITY", "", "no priority assignment policy"),
        ("FUTURERELEASE", "604800 2004-11-28T12:00:00Z", "604,800 seconds (7 days)"),
        ("FUTURERELEASE", "604800 2004-11-28T12:00:00Z", "until 2004-11-28T12:00:00Z"),
        ("XCLIENT", "NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT", "DESTPORT (server port"),
        ("XFORWARD", "NAME ADDR PROTO HELO SOURCE IDENT", "IDENT (queue ID"),
        ("X-EXPS", "GSSAPI NTLM", "2 mechanisms"),
        ("BURL", "imap", "URLAUTH"),
        ("PIPELINING", "", ""),
        ("PIPELINING", "bogus", "takes no parameters"),
    ],
)
def test_parameter_explanations(keyword: str, params: str, fragment: str) -> None:
    meaning = explain_extension(keyword, params).params_meaning
    assert fragment in meaning
    if not fragment:
        assert meaning == ""


@pytest.mark.parametrize(
    ("line", "params", "keyword", "fragment"),
    [
        ("size", "1024", "SIZE", "1 KiB"),
        ("Auth", "plain", "AUTH", "PLAIN ("),
        ("AUTH=LOGIN", "PLAIN", "AUTH", "2 mechanisms"),
        ("SIZE 33554432", "", "SIZE", "32 MiB"),
        ("  starttls  ", "", "STARTTLS", ""),
        ("SIZE=", "", "SIZE", "no fixed limit"),
    ],
)
def test_keyword_forms(line: str, params: str, keyword: str, fragment: str) -> None:
    info = explain_extension(line, params)
    assert info.keyword == keyword
    assert fragment in info.params_meaning


@pytest.mark.parametrize("keyword", ["", "   ", "X-NOT-A-THING", "HELO", "=", "=SIZE"])
def test_unknown_keywords(keyword: str) -> None:
    assert explain_extension(keyword) is None


def test_mapping_entries_match_explain_without_params() -> None:
    for keyword, info in EXTENSIONS.items():
        assert keyword == info.keyword == keyword.upper()
        assert explain_extension(keyword) == info
        assert info.exercisable is bool(info.template)
        for name in info.mail_params + info.rcpt_params + info.verbs:
            assert name == name.upper()


# -- shape -------------------------------------------------------------------------------------
def test_mappings_are_read_only_and_entries_frozen() -> None:
    with pytest.raises(TypeError):
        REPLY_CODES[999] = REPLY_CODES[250]  # type: ignore[index]
    with pytest.raises(TypeError):
        ENHANCED_CODES["X.9.9"] = ENHANCED_CODES["X.1.1"]  # type: ignore[index]
    with pytest.raises(TypeError):
        EXTENSIONS["FOO"] = EXTENSIONS["SIZE"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        REPLY_CODES[250].code = 251  # type: ignore[misc]


def test_catalog_does_not_import_ui_libraries() -> None:
    code = (
        "import sys, smtpdbg.core.catalog\n"
        "bad = [m for m in ('textual', 'prompt_toolkit', 'rich') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- properties: a debugger is fed whatever a server sends ---------------------------------------
@given(st.text())
def test_text_lookups_never_raise(text: str) -> None:
    parse_enhanced(text)
    explain_enhanced(text)
    explain_extension(text)
    explain_extension(text, text)
    explain_extension("SIZE", text)
    explain_extension("AUTH", text)
    explain_extension("LIMITS", text)
    explain_extension("FUTURERELEASE", text)
    explain_extension("DELIVERBY", text)


@given(st.integers())
def test_int_lookups_never_raise(code: int) -> None:
    info = explain_reply(code)
    assert info is None or info.code == code
    assert isinstance(reply_class_meaning(code), str)


@given(st.text())
def test_parsed_codes_are_explained(text: str) -> None:
    code = parse_enhanced(text)
    if code is not None:
        assert code in text
        assert explain_enhanced(code) is not None


@given(st.from_regex(r"\A[245]\.[0-9]{1,3}\.[0-9]{1,3}\Z"), st.text(alphabet=" \tabc<>@.:"))
def test_well_formed_codes_always_parse_and_explain(code: str, rest: str) -> None:
    assert parse_enhanced(f"{code} {rest}") == code
    assert parse_enhanced(f"{code[0]}50 {code} {rest}") == code
    info = explain_enhanced(code)
    assert info is not None and info.code[0] == code[0]


# -- the catalog against the RFC and IANA texts (issue 14 §1) ------------------------------------------------
# RFC 5321 §4.2.2 "Reply Codes by Function Groups", every text as the RFC words it.
RFC5321_TEXTS = {
    211: "System status, or system help reply", 214: "Help message", 220: "<domain> Service ready",
    221: "<domain> Service closing transmission channel", 250: "Requested mail action okay, completed",
    251: "User not local; will forward to <forward-path>",
    252: "Cannot VRFY user, but will accept message and attempt delivery",
    354: "Start mail input; end with <CRLF>.<CRLF>",
    421: "<domain> Service not available, closing transmission channel",
    450: "Requested mail action not taken: mailbox unavailable",
    451: "Requested action aborted: local error in processing",
    452: "Requested action not taken: insufficient system storage",
    455: "Server unable to accommodate parameters", 500: "Syntax error, command unrecognized",
    501: "Syntax error in parameters or arguments", 502: "Command not implemented",
    503: "Bad sequence of commands", 504: "Command parameter not implemented",
    550: "Requested action not taken: mailbox unavailable", 551: "User not local; please try <forward-path>",
    552: "Requested mail action aborted: exceeded storage allocation",
    553: "Requested action not taken: mailbox name not allowed", 554: "Transaction failed",
    555: "MAIL FROM/RCPT TO parameters not recognized or not implemented",
}


@pytest.mark.parametrize(("code", "text"), RFC5321_TEXTS.items())
def test_every_rfc5321_text(code: int, text: str) -> None:
    assert explain_reply(code).text == text


# What each entry must (and must not) say, with the RFC text it rests on.
CLAIMS = [
    # RFC 5321 §4.5.3.1.10: "Clients SHOULD treat a 552 code in this case as a temporary ... failure".
    (552, ["RFC 5321 §4.5.3.1.10", "temporary"], ["give up"]),
    # RFC 5321 §3.6.2: a relay refused for policy reasons gets 550; 553 is "mailbox name not allowed".
    (553, ["not acceptable"], ["often relaying"]),
    # RFC 5321 §3.3 (DATA: "no valid recipients"), §3.1 (greeting: "No SMTP service here"); Postfix at RCPT.
    (554, ["no SMTP service here", "no valid recipients", "RCPT"], ["typically the message was rejected"]),
    # RFC 6647 greylisting; the errors lesson uses 451 4.7.1.
    (451, ["greylisting", "4.7"], []),
    (450, ["Greylisting", "451"], ["usually answers this way"]),
]


@pytest.mark.parametrize(("code", "present", "absent"), CLAIMS)
def test_entries_say_what_the_rfcs_say(code: int, present: list[str], absent: list[str]) -> None:
    info = explain_reply(code)
    text = f"{info.meaning} {info.client_action}"
    for words in present:
        assert words in text, words
    for words in absent:
        assert words not in text, words


# -- every EHLO keyword real servers advertise is known ---------------------------------------------------------
# Postfix smtpd.c (3.10): the EHLO_APPEND lines, incl. the legacy "AUTH=" form (broken_sasl_auth_clients).
POSTFIX_EHLO = ["PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS", "AUTH PLAIN LOGIN", "AUTH=PLAIN LOGIN",
                "XVERP", "XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT",
                "XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN",
                "SMTPUTF8", "CHUNKING", "REQUIRETLS"]
# Exim smtp_in.c (4.99): PIPECONNECT since 4.96 (PIPE_CONNECT in 4.95, X_PIPE_CONNECT in 4.92-4.94).
EXIM_EHLO = ["SIZE 52428800", "LIMITS MAILMAX=1000 RCPTMAX=50000", "8BITMIME", "DSN", "ATRN", "ETRN", "VRFY", "EXPN",
             "PIPELINING", "PIPECONNECT", "PIPE_CONNECT", "X_PIPE_CONNECT", "AUTH PLAIN LOGIN CRAM-MD5", "CHUNKING",
             "STARTTLS", "XCLIENT ADDR NAME PORT LOGIN DESTADDR DESTPORT", "PRDR", "SMTPUTF8", "WELLKNOWN", "HELP"]


@pytest.mark.parametrize("line", POSTFIX_EHLO + EXIM_EHLO)
def test_every_keyword_postfix_and_exim_advertise_is_known(line: str) -> None:
    from smtpdbg.core.describe import annotate_reply

    keyword, _, params = line.partition(" ")
    info = explain_extension(keyword, params)
    assert info is not None and "not in this catalog" not in info.params_meaning
    annotated = annotate_reply(f"250-{line}", ehlo=True)
    assert annotated and "→" in annotated
    if "=" in keyword:  # the legacy AUTH= form keeps every mechanism
        assert "LOGIN" in annotated and "PLAIN" in annotated


def test_every_keyword_the_sandbox_advertises_is_known() -> None:
    import smtplib
    import ssl

    from smtpdbg.sandbox import Sandbox, SandboxConfig

    config = SandboxConfig(xclient=True, extra_extensions=("PIPELINING", "ENHANCEDSTATUSCODES", "DSN"))
    keywords: set[str] = set()
    with Sandbox(config) as sandbox:
        ep = sandbox.endpoints
        context = ssl.create_default_context(cafile=ep.ca_path)
        with smtplib.SMTP(*ep.smtp, local_hostname="client.example", timeout=5) as smtp:
            smtp.ehlo()
            keywords |= set(smtp.esmtp_features)
            smtp.starttls(context=context)
            smtp.ehlo()
            keywords |= set(smtp.esmtp_features)
        with smtplib.SMTP_SSL(*ep.smtps, local_hostname="client.example", timeout=5, context=context) as smtp:
            smtp.ehlo()
            keywords |= set(smtp.esmtp_features)
        if ep.lmtp:
            with smtplib.LMTP(ep.lmtp, timeout=5) as lmtp:
                lmtp.ehlo()
                keywords |= set(lmtp.esmtp_features)
    assert {"starttls", "auth", "size", "chunking", "xclient"} <= keywords
    assert [k for k in sorted(keywords) if explain_extension(k) is None] == []


def test_a_masked_starttls_is_explained_as_the_mask_it_is() -> None:
    """What the STARTTLS-stripping box of lesson 11 leaves in the EHLO reply (RFC 3207 §6)."""
    info = explain_extension("xxxxxxxa")
    assert info is not None and "not an extension" in info.title
    assert "STARTTLS" in info.meaning and "RFC 3207 §6" in info.rfc and not info.verbs
