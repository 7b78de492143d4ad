"""Tests for completion (smtpdbg.core.completion): (text, cursor, state) -> candidates.

States are built by hand; feature keywords are lowercase and AUTH's parameters
start with a space, exactly as smtplib stores ``esmtp_features``.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpdbg.core.commands import COMMANDS, Kind, names
from smtpdbg.core.completion import Completions, complete, spec_hint
from smtpdbg.core.ledger import Recipient, Transaction
from smtpdbg.core.protocol import Stage
from smtpdbg.core.verdict import Fate
from smtpdbg.core.state import Features, SessionState
from tests.fuzz import fuzz

FEATURES = Features(MappingProxyType({
    "size": "33554432", "auth": " PLAIN LOGIN", "dsn": "", "8bitmime": "", "chunking": "", "etrn": "",
    "xclient": "NAME ADDR",
}))
IDENTIFIED = SessionState(connected=True, stage=Stage.IDENTIFIED, features=FEATURES)
BARE = SessionState(connected=True, stage=Stage.IDENTIFIED)
"""Identified with plain HELO: nothing advertised."""


def texts(completions: Completions) -> list[str]:
    return [c.text for c in completions.candidates]


def preferred(completions: Completions) -> set[str]:
    return {c.text for c in completions.candidates if c.preferred}


def not_preferred(completions: Completions) -> set[str]:
    return {c.text for c in completions.candidates if not c.preferred}


def assert_preferred_first(completions: Completions) -> None:
    flags = [c.preferred for c in completions.candidates]
    assert flags == sorted(flags, reverse=True), "a non-preferred candidate comes before a preferred one"


# -- verbs -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("stage", "first"), [
    (Stage.DISCONNECTED, ["connect", "reconnect"]),
    (Stage.GREETED, ["ehlo", "helo"]),
    (Stage.TLS, ["ehlo", "helo"]),
    (Stage.IDENTIFIED, ["starttls", "login", "auth", "mail"]),
    (Stage.MAIL, ["rcpt", "rset"]),
    (Stage.RCPT, ["rcpt", "data"]),
])
def test_verbs_ranked_valid_next_first(stage: Stage, first: list[str]) -> None:
    result = complete("", 0, SessionState(stage=stage))
    assert result.kind is Kind.COMMAND
    assert result.start == 0 and result.word == ""
    assert texts(result)[:len(first)] == first
    assert set(first) <= preferred(result)
    assert_preferred_first(result)
    # out-of-order verbs are still offered: a debugger lets you break the rules
    assert sorted(texts(result)) == sorted(names())


@pytest.mark.parametrize(("stage", "verb"), [(Stage.GREETED, "mail"), (Stage.GREETED, "data"),
                                              (Stage.RCPT, "ehlo"), (Stage.MAIL, "data")])
def test_out_of_order_verbs_offered_not_preferred(stage: Stage, verb: str) -> None:
    result = complete("", 0, SessionState(stage=stage))
    assert verb in not_preferred(result)


def test_starttls_not_preferred_once_in_tls() -> None:
    from smtpdbg.core.state import TlsInfo
    tls = TlsInfo(version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", bits=256, verified=True,
                  server_name="mx.example.org", implicit=False)
    assert "starttls" in preferred(complete("", 0, IDENTIFIED))
    assert "starttls" in not_preferred(complete("", 0, SessionState(stage=Stage.IDENTIFIED, tls=tls)))


@pytest.mark.parametrize(("text", "stage", "expected"), [
    ("r", Stage.RCPT, ["rcpt", "rset", "raw", "reconnect"]),
    ("E", Stage.GREETED, ["ehlo", "ehlo_or_helo_if_needed", "expn", "explain"]),
    ("  se", Stage.IDENTIFIED, ["sendmail", "send_message", "set_debuglevel", "set"]),
    ("ehlo", Stage.GREETED, ["ehlo_or_helo_if_needed"]),  # an exact match is not offered again
    ("zz", Stage.GREETED, []),
])
def test_verb_prefix(text: str, stage: Stage, expected: list[str]) -> None:
    result = complete(text, len(text), SessionState(stage=stage))
    assert texts(result) == expected
    assert result.word == text.strip()
    assert result.start == len(text) - len(text.strip())


def test_verb_candidates_carry_summaries() -> None:
    summaries = {spec.name: spec.summary for spec in COMMANDS}
    for candidate in complete("", 0, SessionState()).candidates:
        assert candidate.display == candidate.text
        assert candidate.meaning == summaries[candidate.text]


# -- AUTH mechanisms ---------------------------------------------------------------------------
def test_auth_offers_advertised_mechanisms_first() -> None:
    result = complete("auth ", None, IDENTIFIED)
    assert result.kind is Kind.MECHANISM
    assert result.hint == "MECHANISM USER"
    assert texts(result)[:2] == ["PLAIN", "LOGIN"]
    assert set(texts(result)) == {"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"}
    assert preferred(result) == {"PLAIN", "LOGIN"}
    assert not_preferred(result) == {"CRAM-MD5", "XOAUTH2", "OAUTHBEARER"}


def test_auth_mechanism_smtplib_lacks_is_offered_not_preferred() -> None:
    state = SessionState(features=Features(MappingProxyType({"auth": " XOAUTH2 PLAIN GSSAPI"})))
    result = complete("auth ", None, state)
    assert preferred(result) == {"PLAIN", "XOAUTH2"}
    assert {"LOGIN", "CRAM-MD5", "GSSAPI", "OAUTHBEARER"} <= not_preferred(result)
    gssapi = next(c for c in result.candidates if c.text == "GSSAPI")
    assert "no implementation" in gssapi.meaning


def test_auth_nothing_advertised_offers_all_smtplib_mechanisms() -> None:
    result = complete("auth ", None, BARE)
    assert texts(result) == ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"]


@pytest.mark.parametrize(("text", "expected"), [("auth pl", ["PLAIN"]), ("auth CR", ["CRAM-MD5"]), ("auth X", ["XOAUTH2"]), ("auth Z", [])])
def test_auth_mechanism_prefix_is_case_insensitive(text: str, expected: list[str]) -> None:
    result = complete(text, None, IDENTIFIED)
    assert texts(result) == expected
    assert result.start == 5


def test_auth_user_after_mechanism() -> None:
    result = complete("auth PLAIN ", None, SessionState(sandbox=True))
    assert result.kind is Kind.USER
    assert result.hint == "USER"
    assert texts(result) == ["alice"]
    assert texts(complete("auth PLAIN ", None, SessionState(auth_user="bob"))) == ["bob"]


# -- MAIL / RCPT parameters -----------------------------------------------------------------
def test_mail_params_advertised_are_preferred() -> None:
    result = complete("mail a@b ", None, IDENTIFIED)
    assert result.kind is Kind.MAIL_PARAM
    assert result.hint == "[PARAMS...]"
    assert {"SIZE=", "BODY=8BITMIME", "RET=FULL", "RET=HDRS", "ENVID=", "AUTH=<>"} <= preferred(result)
    assert {"SMTPUTF8", "REQUIRETLS", "BODY=BINARYMIME", "MT-PRIORITY="} <= not_preferred(result)
    assert_preferred_first(result)
    size = next(c for c in result.candidates if c.text == "SIZE=")
    assert "33,554,432" in size.meaning
    smtputf8 = next(c for c in result.candidates if c.text == "SMTPUTF8")
    assert "SMTPUTF8 not advertised" in smtputf8.meaning


def test_mail_params_nothing_advertised_none_preferred() -> None:
    result = complete("mail a@b ", None, BARE)
    assert "SIZE=" in texts(result)
    assert preferred(result) == set()


@pytest.mark.parametrize(("text", "gone"), [
    ("mail a@b SIZE=1 ", {"SIZE="}),
    ("mail a@b size=1 ", {"SIZE="}),
    ("mail a@b BODY=8BITMIME ", {"BODY=8BITMIME", "BODY=7BIT", "BODY=BINARYMIME"}),
    ("mail a@b RET=HDRS SIZE=9 ", {"RET=FULL", "RET=HDRS", "SIZE="}),
    ("rcpt c@d NOTIFY=NEVER ", {"NOTIFY=NEVER", "NOTIFY=SUCCESS,FAILURE", "NOTIFY=SUCCESS,FAILURE,DELAY"}),
])
def test_given_param_not_offered_again(text: str, gone: set[str]) -> None:
    result = complete(text, None, IDENTIFIED)
    assert not gone & set(texts(result))
    assert result.candidates  # the others are still offered


@pytest.mark.parametrize(("text", "expected"), [
    ("mail a@b B", ["BODY=8BITMIME", "BODY=7BIT", "BODY=BINARYMIME", "BY="]),
    ("mail a@b SIZE=1 r", ["RET=FULL", "RET=HDRS", "REQUIRETLS"]),
    ("mail a@b SIZE=", []),
])
def test_mail_param_prefix(text: str, expected: list[str]) -> None:
    result = complete(text, None, IDENTIFIED)
    assert texts(result) == expected


def test_rcpt_params_with_dsn() -> None:
    result = complete("rcpt c@d ", None, IDENTIFIED)
    assert result.kind is Kind.RCPT_PARAM
    assert {"NOTIFY=SUCCESS,FAILURE", "NOTIFY=NEVER", "ORCPT=rfc822;"} <= preferred(result)
    no_dsn = complete("rcpt c@d ", None, BARE)
    assert "ORCPT=rfc822;" in texts(no_dsn)
    assert preferred(no_dsn) == set()


def test_sendmail_mail_option_value_is_a_mail_param() -> None:
    result = complete("sendmail --mail-option ", None, IDENTIFIED)
    assert result.kind is Kind.MAIL_PARAM
    assert "SIZE=" in preferred(result)


# -- docmd / has_extn ---------------------------------------------------------------------------
def test_docmd_offers_advertised_extension_verbs() -> None:
    result = complete("docmd ", None, IDENTIFIED)
    assert result.kind is Kind.DOCMD_VERB
    assert result.hint == "VERB [ARGS]"
    assert {"BDAT", "ETRN", "XCLIENT", "AUTH"} <= preferred(result)
    assert {"HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "LHLO"} <= not_preferred(result)
    assert "SIZE" not in texts(result)  # a keyword without a verb of its own
    assert_preferred_first(result)
    bdat = next(c for c in result.candidates if c.text == "BDAT")
    assert "CHUNKING" in bdat.meaning


def test_docmd_nothing_advertised_offers_standard_verbs() -> None:
    result = complete("docmd ", None, BARE)
    assert "BDAT" not in texts(result)
    assert {"EHLO", "MAIL", "STARTTLS"} <= not_preferred(result)
    assert texts(complete("docmd e", None, BARE)) == ["EHLO", "EXPN"]


def test_has_extn_offers_advertised_keywords() -> None:
    result = complete("has_extn ", None, IDENTIFIED)
    assert result.kind is Kind.EXTENSION
    assert preferred(result) == {"SIZE", "AUTH", "DSN", "8BITMIME", "CHUNKING", "ETRN", "XCLIENT"}
    # keywords the server did not advertise are still offered (has_extn STARTTLS is a natural question)
    assert {"STARTTLS", "PIPELINING"} <= not_preferred(result)
    assert texts(result)[:7] and set(texts(result)[:7]) == preferred(result)
    assert texts(complete("has_extn x", None, IDENTIFIED)) == ["XCLIENT"]


def test_has_extn_before_ehlo_offers_common_keywords() -> None:
    result = complete("has_extn ", None, SessionState(stage=Stage.GREETED))
    assert {"STARTTLS", "AUTH", "PIPELINING", "SIZE"} <= not_preferred(result)
    assert preferred(result) == set()


# -- files ----------------------------------------------------------------------------------
@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "msg.eml").write_text("Subject: x\n\nhi\n")
    (tmp_path / "mail2.txt").write_text("")
    (tmp_path / ".hidden.eml").write_text("")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "inner.eml").write_text("")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("text", "expected"), [
    ("data @", ["@mail2.txt", "@msg.eml", "@sub/"]),
    ("data ", ["@mail2.txt", "@msg.eml", "@sub/"]),
    ("data @m", ["@mail2.txt", "@msg.eml"]),
    ("data @s", ["@sub/"]),
    ("data @sub/", ["@sub/deeper/", "@sub/inner.eml"]),
    ("data @sub/i", ["@sub/inner.eml"]),
    ("data @.", ["@.hidden.eml"]),
    ("data @M", []),  # file names are case-sensitive
    ("data @nothing/", []),
    ("send_message @", ["@mail2.txt", "@msg.eml", "@sub/"]),
    ("sendmail a b @ms", ["@msg.eml"]),
    ("starttls --cert @ms", ["@msg.eml"]),
])
def test_file_completion(tree: Path, text: str, expected: list[str]) -> None:
    result = complete(text, None, SessionState())
    assert result.kind is Kind.FILE
    assert texts(result) == expected
    assert result.start == text.rindex(" ") + 1


def test_file_candidates_display_name_and_kind(tree: Path) -> None:
    result = complete("data @sub/", None, SessionState())
    shown = {c.text: (c.display, c.meaning) for c in result.candidates}
    assert shown == {"@sub/deeper/": ("deeper/", "directory"), "@sub/inner.eml": ("inner.eml", "file")}


@pytest.mark.parametrize("text", ["data @a\x00/b", "data @\ud800/x", "data @~no_such_user_zz/x", "data @/no/such/dir/",
                                  "data @msg.eml/"])
def test_file_completion_odd_paths_offer_nothing(tree: Path, text: str) -> None:
    assert complete(text, None, SessionState()).candidates == ()


def test_file_completion_absolute_path(tree: Path) -> None:
    text = f"data @{tree}/ms"
    assert texts(complete(text, None, SessionState())) == [f"@{tree}/msg.eml"]


def test_completed_file_parses(tree: Path) -> None:
    from smtpdbg.core.parser import parse
    for text in ("data @ms", "starttls --cert @ms"):
        candidate = complete(text, None, SessionState()).candidates[0].text
        line = text[:text.rindex(" ") + 1] + candidate
        parsed = parse(line)
        assert os.path.isfile(parsed.arg("file") or parsed.opt("cert"))


# -- options, env names, other kinds ------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("ehlo --", ["--timeout"]),
    ("ehlo --t", ["--timeout"]),
    ("auth --", ["--password-env", "--token-env", "--no-initial-response", "--timeout"]),
    ("auth --no-initial-response --", ["--password-env", "--token-env", "--timeout"]),
    ("sendmail --mail-option SIZE=1 --m", ["--mail-option", "--max-body"]),  # a repeatable option is offered again
    ("close --", []),
])
def test_option_completion(text: str, expected: list[str]) -> None:
    result = complete(text, None, IDENTIFIED)
    assert texts(result) == expected
    assert result.kind is None
    assert result.word == text.split()[-1]


def test_option_candidate_shows_metavar() -> None:
    result = complete("ehlo --", None, IDENTIFIED)
    (timeout,) = result.candidates
    assert timeout.display == "--timeout SECONDS"
    assert "seconds" in timeout.meaning
    assert result.hint == "[NAME]"


def test_envname_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTPDBG_TEST_PASSWORD", "x")
    monkeypatch.setenv("smtpdbg_lower", "x")
    result = complete("login alice --password-env SMTPDBG_T", None, SessionState())
    assert result.kind is Kind.ENVNAME
    assert texts(result) == ["SMTPDBG_TEST_PASSWORD"]
    assert texts(complete("login alice --password-env smtpdbg_", None, SessionState())) == []


def test_hostname_completion_offers_local_hostname() -> None:
    result = complete("ehlo ", None, SessionState(local_hostname="client.example.org"))
    assert result.kind is Kind.HOSTNAME
    assert result.hint == "[NAME]"
    assert texts(result) == ["client.example.org", "localhost", "[127.0.0.1]"]


def test_address_completion_offers_session_addresses() -> None:
    recipients = (Recipient("b@example.org", 250, "ok", Fate.PENDING), Recipient("a@example.org", 250, "ok", Fate.PENDING))
    state = SessionState(mail_from="a@example.org", transaction=Transaction(1, 1, "a@example.org", 250,
                                                                            recipients=recipients))
    assert texts(complete("rcpt ", None, state)) == ["a@example.org", "b@example.org"]
    assert "alice@sandbox.smtpdbg.test" in texts(complete("mail ", None, SessionState(sandbox=True)))


def test_target_completion() -> None:
    result = complete("connect ", None, SessionState(target="smtp://127.0.0.1:2525"))
    assert texts(result) == ["smtp://127.0.0.1:2525", "smtp://", "smtps://", "lmtp://"]
    assert preferred(result) == {"smtp://127.0.0.1:2525"}


@pytest.mark.parametrize(("text", "present"), [
    ("show ehlo", {"ehlo_resp", "ehlo_msg"}),
    ("? ma", {"mail"}),
    ("explain SI", {"SIZE"}),
])
def test_other_kinds(text: str, present: set[str]) -> None:
    assert present <= set(texts(complete(text, None, IDENTIFIED)))


@pytest.mark.parametrize(("text", "kind"), [("ehlo x ", None), ("frob ", None), ("raw QU", Kind.RAW),
                                            ("docmd ETRN x", Kind.TEXT), ("help ", Kind.TEXT)])
def test_nothing_to_offer(text: str, kind) -> None:
    result = complete(text, None, IDENTIFIED)
    assert result.candidates == ()
    assert result.kind is kind


@pytest.mark.parametrize(("text", "hint"), [
    ("", ""), ("ehlo ", "[NAME]"), ("auth ", "MECHANISM USER"), ("auth PLAIN ", "USER"), ("mail ", "SENDER [PARAMS...]"),
    ("sendmail ", "FROM_ADDR TO_ADDRS [FILE]"), ("sendmail a ", "TO_ADDRS [FILE]"), ("data ", "[FILE]"),
])
def test_hint(text: str, hint: str) -> None:
    assert complete(text, None, IDENTIFIED).hint == hint


def test_cursor_in_the_middle() -> None:
    result = complete("auth PL alice", 7, IDENTIFIED)
    assert result.start == 5 and result.word == "PL"
    assert texts(result) == ["PLAIN"]


@pytest.mark.parametrize(("text", "usage"), [("auth x", "auth [--password-env NAME] [--token-env NAME] [--no-initial-response] "
                                                         "[--timeout SECONDS] MECHANISM USER"),
                                             ("frob", ""), ("", "")])
def test_spec_hint(text: str, usage: str) -> None:
    assert spec_hint(text) == usage


# -- property ---------------------------------------------------------------------------------
STATES = st.sampled_from([SessionState(), IDENTIFIED, BARE, SessionState(sandbox=True, stage=Stage.RCPT),
                          SessionState(stage=Stage.GREETED, local_hostname="h", target="smtp://h:25")])
WORDS = list(names()) + ["--", "--timeout", "--mail-option", "--password-env", "--cert", "@", "@/", "@./", "@~/",
                         "@\x00/x", "@\ud800/", "a@b", "SIZE=1", "PLAIN", '"', " ", ""]
TEXT = st.one_of(
    st.text(max_size=30),
    st.tuples(st.sampled_from(names()), st.lists(st.sampled_from(WORDS) | st.text(max_size=3), max_size=5)).map(
        lambda parts: " ".join([parts[0], *parts[1]])),
)


@settings(max_examples=fuzz(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TEXT.flatmap(lambda text: st.tuples(st.just(text), st.integers(0, len(text)))), STATES)
def test_complete_never_raises(tree: Path, case: tuple[str, int], state: SessionState) -> None:
    text, cursor = case
    result = complete(text, cursor, state)
    assert 0 <= result.start <= cursor
    assert text[result.start:cursor].startswith(result.word) or result.word == ""
    for candidate in result.candidates:
        assert candidate.text != result.word


def test_xclient_attributes_come_from_the_advertised_list() -> None:
    state = SessionState(features=Features(MappingProxyType({"xclient": "NAME ADDR PROTO", "xforward": "ADDR IDENT"})))
    result = complete("xclient ADDR=192.0.2.7 ", None, state)
    assert texts(result) == ["NAME=", "PROTO="] and preferred(result) == {"NAME=", "PROTO="}
    assert texts(complete("xforward I", None, state)) == ["IDENT="]
    # nothing advertised: the known attributes, not preferred
    bare = complete("xclient ", None, BARE)
    assert "ADDR=" in texts(bare) and preferred(bare) == set()
