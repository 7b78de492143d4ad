"""Tests for the command language parser (smtpdbg.core.parser) and its spec table.

Expected values are typed in, not derived from the table, so a changed argument
name, kind or option shows up as a failing row.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdbg.core.commands import COMMANDS, Kind, lookup, names
from smtpdbg.core.parser import Analysis, ParseError, analyze, parse, quote_path, tokenize, unescape
from tests.fuzz import fuzz

# -- every command parses --------------------------------------------------------------
# (line, command name, positional args, options)
TYPICAL = [
    ("connect smtp://mx.example.org:2525", "connect", {"target": "smtp://mx.example.org:2525"}, {}),
    ("reconnect --timeout 3", "reconnect", {}, {"timeout": 3.0}),
    ("starttls --cert client.pem --key client.key", "starttls", {}, {"cert": "client.pem", "key": "client.key"}),
    ("quit", "quit", {}, {}),
    ("close", "close", {}, {}),
    ("abort", "abort", {}, {}),
    ("set_debuglevel 2", "set_debuglevel", {"level": "2"}, {}),
    ("timeout 12.5", "timeout", {"seconds": "12.5"}, {}),
    ("set plaintext-auth allow", "set", {"setting": "plaintext-auth", "value": "allow"}, {}),
    ("ehlo client.example.org", "ehlo", {"name": "client.example.org"}, {}),
    ("helo client.example.org", "helo", {"name": "client.example.org"}, {}),
    ("ehlo_or_helo_if_needed", "ehlo_or_helo_if_needed", {}, {}),
    ("has_extn STARTTLS", "has_extn", {"name": "STARTTLS"}, {}),
    ("login alice --password-env SMTP_PASSWORD", "login", {"user": "alice"}, {"password_env": "SMTP_PASSWORD"}),
    ("auth PLAIN alice --no-initial-response", "auth", {"mechanism": "PLAIN", "user": "alice"},
     {"no_initial_response": True}),
    ("mail alice@example.org SIZE=1024", "mail", {"sender": "alice@example.org", "params": ["SIZE=1024"]}, {}),
    ("rcpt bob@example.org NOTIFY=NEVER", "rcpt", {"recipient": "bob@example.org", "params": ["NOTIFY=NEVER"]}, {}),
    ("data @message.eml", "data", {"file": "message.eml"}, {}),
    ("sendmail a@example.org b@example.org,c@example.org @m.eml", "sendmail",
     {"from_addr": "a@example.org", "to_addrs": "b@example.org,c@example.org", "file": "m.eml"}, {}),
    ("send_message @m.eml --from a@example.org", "send_message", {"file": "m.eml"}, {"from": "a@example.org"}),
    ("rset", "rset", {}, {}),
    ("noop", "noop", {}, {}),
    ("verify postmaster", "verify", {"address": "postmaster"}, {}),
    ("expn staff", "expn", {"address": "staff"}, {}),
    ("help MAIL", "help", {"topic": "MAIL"}, {}),
    ("docmd ETRN example.org", "docmd", {"verb": "ETRN", "args": "example.org"}, {}),
    ("raw NOOP", "raw", {"data": "NOOP"}, {}),
    ("pipeline MAIL FROM:<a@b>; RCPT TO:<c@d>; DATA", "pipeline", {"commands": "MAIL FROM:<a@b>; RCPT TO:<c@d>; DATA"}, {}),
    ("drain 0.5", "drain", {"seconds": "0.5"}, {}),
    ("bdat @msg.eml --chunk 4096 --declare 10", "bdat", {"file": "msg.eml"}, {"chunk": 4096, "declare": 10}),
    ("xclient ADDR=192.0.2.7 NAME=client.example", "xclient", {"attributes": ["ADDR=192.0.2.7", "NAME=client.example"]}, {}),
    ("xforward PROTO=ESMTP --max-line 200", "xforward", {"attributes": ["PROTO=ESMTP"]}, {"max_line": 200}),
    ("show esmtp_features", "show", {"attribute": "esmtp_features"}, {}),
    ("explain 5.7.8", "explain", {"topic": "5.7.8"}, {}),
    ("mailbox 2", "mailbox", {"number": "2"}, {}),
    ("? mail", "?", {"command": "mail"}, {}),
    ("save script session.smtp", "save", {"format": "script", "file": "session.smtp"}, {}),
]


def test_typical_lines_cover_every_command() -> None:
    assert {name for _, name, _, _ in TYPICAL} == set(names())


@pytest.mark.parametrize(("line", "name", "args", "options"), TYPICAL, ids=[row[1] for row in TYPICAL])
def test_typical_line_parses(line: str, name: str, args: dict, options: dict) -> None:
    parsed = parse(line)
    assert parsed.name == name
    assert dict(parsed.args) == args
    assert dict(parsed.options) == options
    assert parsed.text == line


@pytest.mark.parametrize(("alias", "name"), [("vrfy", "verify"), ("commands", "?"), ("EHLO", "ehlo"), ("Mail", "mail")])
def test_aliases_and_case(alias: str, name: str) -> None:
    assert lookup(alias).name == name
    assert parse(alias + (" a@b" if name in ("verify", "mail") else "")).name == name


def test_lookup_unknown_is_none() -> None:
    assert lookup("frobnicate") is None


@pytest.mark.parametrize(("name", "usage"), [
    ("ehlo", "ehlo [--timeout SECONDS] [NAME]"),
    ("auth", "auth [--password-env NAME] [--token-env NAME] [--no-initial-response] [--timeout SECONDS] MECHANISM USER"),
    ("mail", "mail [--verbatim] [--timeout SECONDS] SENDER [PARAMS...]"),
    ("quit", "quit [--timeout SECONDS]"),
    ("close", "close"),
])
def test_usage(name: str, usage: str) -> None:
    assert lookup(name).usage == usage


# -- options -------------------------------------------------------------------------------
@pytest.mark.parametrize(("line", "args", "options"), [
    ("ehlo --timeout 5 x", {"name": "x"}, {"timeout": 5.0}),
    ("ehlo --timeout=5 x", {"name": "x"}, {"timeout": 5.0}),
    ("ehlo x --timeout 2.5", {"name": "x"}, {"timeout": 2.5}),
    ("ehlo x --timeout=0", {"name": "x"}, {"timeout": 0.0}),
    ("starttls --force", {}, {"force": True}),
    ("raw --no-crlf --replies 2 QUIT", {"data": "QUIT"}, {"no_crlf": True, "replies": 2.0}),
    ("mail --verbatim a@b", {"sender": "a@b"}, {"verbatim": True}),
    ("mail a@b --timeout 5 SIZE=1", {"sender": "a@b", "params": ["SIZE=1"]}, {"timeout": 5.0}),
    ("sendmail a b --mail-option SIZE=1 --mail-option=BODY=8BITMIME --rcpt-option NOTIFY=NEVER",
     {"from_addr": "a", "to_addrs": "b"},
     {"mail_option": ["SIZE=1", "BODY=8BITMIME"], "rcpt_option": ["NOTIFY=NEVER"]}),
    ("send_message @m --to a --to b", {"file": "m"}, {"to": ["a", "b"]}),
    # a FILE option takes a plain path or the @path spelling completion offers
    ("starttls --cert @client.pem --key=@client.key", {}, {"cert": "client.pem", "key": "client.key"}),
])
def test_options(line: str, args: dict, options: dict) -> None:
    parsed = parse(line)
    assert dict(parsed.args) == args
    assert dict(parsed.options) == options


def test_opt_and_arg_defaults() -> None:
    parsed = parse("ehlo")
    assert parsed.arg("name") is None
    assert parsed.arg("name", "fallback") == "fallback"
    assert parsed.opt("timeout", 30.0) == 30.0


# -- words kept verbatim -------------------------------------------------------------------
@pytest.mark.parametrize(("line", "arg", "value"), [
    ("mail a@b SIZE=1 BODY=8BITMIME", "params", ["SIZE=1", "BODY=8BITMIME"]),
    ('mail "john doe"@example.org', "sender", '"john doe"@example.org'),
    ('rcpt "a  b"@example.org', "recipient", '"a  b"@example.org'),
    ("mail <>", "sender", "<>"),
    ("docmd ETRN  foo   bar ", "args", "foo   bar "),
    ("docmd XCLIENT NAME=x\tADDR=1.2.3.4", "args", "NAME=x\tADDR=1.2.3.4"),
    ("raw MAIL FROM:<a>\\r\\n  x", "data", "MAIL FROM:<a>\\r\\n  x"),
    ("raw   two  spaces  ", "data", "two  spaces  "),
    ("raw --not-an-option here", "data", None),
    ("help MAIL FROM", "topic", "MAIL FROM"),
])
def test_verbatim_words(line: str, arg: str, value) -> None:
    if value is None:
        with pytest.raises(ParseError, match="unknown option --not-an-option"):
            parse(line)
        return
    assert parse(line).arg(arg) == value


def test_rest_of_line_keeps_option_lookalikes() -> None:
    # once the rest-of-line argument starts, "--x" is data, not an option ...
    assert parse("raw QUIT --replies 9").arg("data") == "QUIT --replies 9"
    parsed = parse("docmd ETRN x --timeout 3")
    assert parsed.arg("args") == "x --timeout 3"
    assert parsed.opt("timeout") is None
    # ... but before it starts, options are still options
    parsed = parse("docmd ETRN --timeout 3")
    assert parsed.arg("args") is None
    assert parsed.opt("timeout") == 3.0


@pytest.mark.parametrize(("line", "path"), [("data @m.eml", "m.eml"), ("data @/tmp/x y", None),
                                            ("data @./a/b.eml", "./a/b.eml"), ("send_message @~/m", "~/m")])
def test_file_argument_strips_at(line: str, path) -> None:
    if path is None:  # a second word after the optional FILE is too many
        with pytest.raises(ParseError, match="unexpected 'y'"):
            parse(line)
    else:
        assert parse(line).arg("file") == path


@pytest.mark.parametrize("line", ["data message.eml", "data @", "send_message /tmp/m.eml", "sendmail a b m.eml"])
def test_file_argument_needs_at(line: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(line)
    word = line.split()[-1]
    assert info.value.column == line.rindex(word)
    assert "write it as @path" in info.value.message
    assert info.value.expected == ("@FILE",)


# -- errors ----------------------------------------------------------------------------------
# (line, column, message fragment, expected)
ERRORS = [
    ("", 0, "empty command", None),
    ("   ", 0, "empty command", None),
    ("frob x", 0, "unknown command 'frob'", None),
    ("  frob", 2, "unknown command 'frob'", None),
    ("ehlo --bogus", 5, "unknown option --bogus for ehlo (options: --timeout)", ("--timeout",)),
    ("close --timeout 3", 6, "unknown option --timeout for close (options: none)", ()),
    ("ehlo x --bogus=1", 7, "unknown option --bogus", ("--timeout",)),
    ("auth", 5, "auth needs MECHANISM", ("MECHANISM",)),
    ("auth PLAIN", 11, "auth needs USER", ("USER",)),
    ("auth PLAIN   ", 11, "auth needs USER", ("USER",)),
    ("mail", 5, "mail needs SENDER", ("SENDER",)),
    ("raw", 4, "raw needs DATA", ("DATA",)),
    ("ehlo a b", 7, "unexpected 'b': usage is ehlo [--timeout SECONDS] [NAME]", ()),
    ("quit now", 5, "unexpected 'now'", ()),
    ("ehlo --timeout", 14, "--timeout needs a value (SECONDS)", ("SECONDS",)),
    ("login alice --password-env", 26, "--password-env needs a value (NAME)", ("NAME",)),
    ("ehlo --timeout abc", 15, "--timeout needs a number, not 'abc'", ("number",)),
    ("ehlo --timeout=abc", 15, "--timeout needs a number, not 'abc'", ("number",)),
    ("ehlo --timeout -1", 15, "--timeout must not be negative", ("number",)),
    ("starttls --force=yes", 9, "--force takes no value", ()),
    ("set_debuglevel x", 15, "LEVEL must be a number, not 'x'", ("number",)),
    ("starttls --cert @", 16, "--cert needs a file", ("@FILE",)),
]


@pytest.mark.parametrize(("line", "column", "message", "expected"), ERRORS, ids=[repr(row[0]) for row in ERRORS])
def test_parse_errors(line: str, column: int, message: str, expected) -> None:
    with pytest.raises(ParseError) as info:
        parse(line)
    error = info.value
    assert error.column == column
    assert message in error.message
    assert str(error) == f"{error.message} (column {column + 1})"
    if expected is not None:
        assert error.expected == expected


def test_missing_argument_column_is_where_it_would_be_typed() -> None:
    # one past the end of what was typed: after the separating space
    for line in ("auth", "auth ", "auth PLAIN", "rcpt"):
        with pytest.raises(ParseError) as info:
            parse(line)
        assert info.value.column == len(line.rstrip()) + 1


def test_unknown_command_suggests_close_names() -> None:
    with pytest.raises(ParseError) as info:
        parse("ehol")
    assert set(info.value.expected) == {"ehlo", "ehlo_or_helo_if_needed"}
    with pytest.raises(ParseError) as info:
        parse("zz")
    assert info.value.expected == names()


# -- tokenize --------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "words"), [
    ("", []),
    ("  a \t b  ", [("a", 2, 3), ("b", 6, 7)]),
    ('mail "john doe"@x y', [("mail", 0, 4), ('"john doe"@x', 5, 17), ("y", 18, 19)]),
    ('a "unclosed quote', [("a", 0, 1), ('"unclosed quote', 2, 17)]),
])
def test_tokenize(text: str, words: list) -> None:
    assert [(t.text, t.start, t.end) for t in tokenize(text)] == words


# -- analyze --------------------------------------------------------------------------------
# (text, cursor, command, word, word_start, kind, hint, given)
ANALYSES = [
    ("", None, None, "", 0, Kind.COMMAND, "", ()),
    ("eh", None, None, "eh", 0, Kind.COMMAND, "", ()),
    ("  eh", None, None, "eh", 2, Kind.COMMAND, "", ()),
    ("ehlo ", None, "ehlo", "", 5, Kind.HOSTNAME, "[NAME]", ()),
    ("ehlo cli", None, "ehlo", "cli", 5, Kind.HOSTNAME, "", ()),
    ("auth ", None, "auth", "", 5, Kind.MECHANISM, "MECHANISM USER", ()),
    ("auth PL", None, "auth", "PL", 5, Kind.MECHANISM, "USER", ()),
    ("auth PLAIN ", None, "auth", "", 11, Kind.USER, "USER", ()),
    ("mail ", None, "mail", "", 5, Kind.ADDRESS, "SENDER [PARAMS...]", ()),
    ("mail a@b ", None, "mail", "", 9, Kind.MAIL_PARAM, "[PARAMS...]", ()),
    ("mail a@b SIZE=1 ", None, "mail", "", 16, Kind.MAIL_PARAM, "[PARAMS...]", ("SIZE=1",)),
    ("mail a@b SIZE=1 BO", None, "mail", "BO", 16, Kind.MAIL_PARAM, "[PARAMS...]", ("SIZE=1",)),
    ("rcpt c@d ", None, "rcpt", "", 9, Kind.RCPT_PARAM, "[PARAMS...]", ()),
    ("data @", None, "data", "@", 5, Kind.FILE, "", ()),
    ("data @msg", None, "data", "@msg", 5, Kind.FILE, "", ()),
    ("sendmail a b ", None, "sendmail", "", 13, Kind.FILE, "[FILE]", ()),
    ("sendmail --mail-option ", None, "sendmail", "", 23, Kind.MAIL_PARAM, "FROM_ADDR TO_ADDRS [FILE]", ()),
    ("login alice --password-env ", None, "login", "", 27, Kind.ENVNAME, "", ()),
    ("ehlo --timeout ", None, "ehlo", "", 15, Kind.NUMBER, "[NAME]", ()),
    ("docmd ", None, "docmd", "", 6, Kind.DOCMD_VERB, "VERB [ARGS]", ()),
    ("has_extn ", None, "has_extn", "", 9, Kind.EXTENSION, "NAME", ()),
    ("connect ", None, "connect", "", 8, Kind.TARGET, "[TARGET]", ()),
    ("show ", None, "show", "", 5, Kind.ATTRIBUTE, "[ATTRIBUTE]", ()),
    ("explain ", None, "explain", "", 8, Kind.TOPIC, "TOPIC", ()),
    ("? ", None, "?", "", 2, Kind.COMMAND, "[COMMAND]", ()),
    ("ehlo x ", None, "ehlo", "", 7, None, "", ()),
    # the cursor in the middle of the line: only the text before it counts
    ("ehlo foo --timeout 3", 3, None, "ehl", 0, Kind.COMMAND, "", ()),
    ("auth PLAIN alice", 7, "auth", "PL", 5, Kind.MECHANISM, "USER", ()),
    ("auth PLAIN alice", 5, "auth", "", 5, Kind.MECHANISM, "MECHANISM USER", ()),
    ("mail a@b SIZE=1 BODY=8BITMIME", 9, "mail", "", 9, Kind.MAIL_PARAM, "[PARAMS...]", ()),
    ("data @msg.eml --timeout 3", 9, "data", "@msg", 5, Kind.FILE, "", ()),
]


@pytest.mark.parametrize(("text", "cursor", "command", "word", "word_start", "kind", "hint", "given"), ANALYSES,
                         ids=[f"{row[0]!r}@{row[1]}" for row in ANALYSES])
def test_analyze(text, cursor, command, word, word_start, kind, hint, given) -> None:
    analysis = analyze(text, cursor)
    assert (analysis.spec.name if analysis.spec else None) == command
    assert analysis.word == word
    assert analysis.word_start == word_start
    assert analysis.kind is kind
    assert analysis.hint == hint
    assert analysis.given == given
    assert not analysis.option_expected


@pytest.mark.parametrize(("text", "used"), [
    ("ehlo --", frozenset()),
    ("ehlo --t", frozenset()),
    ("mail a@b --", frozenset()),
    ("ehlo --timeout 3 --", frozenset({"--timeout"})),
    ("auth --no-initial-response PLAIN --p", frozenset({"--no-initial-response"})),
])
def test_analyze_option_expected(text: str, used: frozenset) -> None:
    analysis = analyze(text)
    assert analysis.option_expected
    assert analysis.kind is None
    assert analysis.word == text.split()[-1]
    assert analysis.used_options == used


def test_analyze_option_value_names_the_option() -> None:
    analysis = analyze("login alice --password-env ")
    assert analysis.arg is lookup("login").option("--password-env")
    assert [a.name for a in analysis.expected] == []
    assert analysis.used_options == frozenset()


def test_analyze_unknown_command() -> None:
    analysis = analyze("frob ")
    assert analysis.spec is None
    assert analysis.kind is None
    assert analysis.error is not None and "unknown command" in analysis.error.message


@pytest.mark.parametrize(("text", "error"), [
    ("ehlo ", None),
    ("auth ", "auth needs MECHANISM"),
    ("ehlo a b", "unexpected 'b'"),
    ("ehlo --bogus x", "unknown option --bogus"),
])
def test_analyze_reports_whole_line_error(text: str, error) -> None:
    analysis = analyze(text)
    if error is None:
        assert analysis.error is None
    else:
        assert error in analysis.error.message


def test_analyze_error_before_cursor_sets_no_kind() -> None:
    analysis = analyze("ehlo --bogus ")
    assert analysis.spec.name == "ehlo"
    assert analysis.kind is None
    assert "unknown option --bogus" in analysis.error.message


# -- properties ----------------------------------------------------------------------------
WORDS = sorted(set(names()) | {"vrfy", "commands", "EHLO"}) + [
    "--timeout", "--timeout=", "--timeout=1", "--password-env", "--mail-option", "--cert", "--force", "--", "-", "--x",
    "@", "@x", '"', '"a b"', "a@b", "<>", "SIZE=1", "PLAIN", "1", "-1", "abc", "=", "\\", "\\x4", "\\r\\n",
]
LINES = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=4)), max_size=8).flatmap(
        lambda words: st.sampled_from([" ", "  ", "\t"]).map(lambda sep: sep.join(words))
    ).flatmap(lambda line: st.sampled_from([line, line + " "])),
)


@settings(max_examples=fuzz(200), deadline=None)
@given(LINES)
def test_parse_raises_only_parse_error(text: str) -> None:
    try:
        parsed = parse(text)
    except ParseError as error:
        assert 0 <= error.column <= len(text) + 1
        assert error.message
    else:
        assert parsed.spec in COMMANDS
        assert parsed.text == text


@settings(max_examples=fuzz(200), deadline=None)
@given(LINES.flatmap(lambda text: st.tuples(st.just(text), st.integers(0, len(text)))))
def test_analyze_never_raises(case: tuple[str, int]) -> None:
    text, cursor = case
    analysis = analyze(text, cursor)
    assert isinstance(analysis, Analysis)
    assert 0 <= analysis.word_start <= cursor
    assert text[analysis.word_start:analysis.word_start + len(analysis.word)] == analysis.word
    assert analysis.word_start + len(analysis.word) <= cursor
    assert isinstance(analysis.hint, str)


# -- unescape ------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "data"), [
    ("QUIT", b"QUIT"),
    ("a\\r\\nb", b"a\r\nb"),
    ("\\t\\\\\\0\\e", b"\t\\\x00\x1b"),
    ("\\x00\\xfF\\x41", b"\x00\xffA"),
    ("é", "é".encode()),
    ("", b""),
])
def test_unescape(text: str, data: bytes) -> None:
    assert unescape(text) == data


@pytest.mark.parametrize(("text", "column", "message"), [
    ("abc\\", 3, "backslash at the end"),
    ("\\q", 0, "unknown escape \\q"),
    ("ab\\x4", 2, "bad escape \\x4"),
    ("\\xzz", 0, "bad escape \\xzz"),
    ("\\x", 0, "bad escape \\x"),
])
def test_unescape_errors(text: str, column: int, message: str) -> None:
    with pytest.raises(ParseError) as info:
        unescape(text)
    assert info.value.column == column
    assert message in info.value.message


def _escape(data: bytes) -> str:
    """The reverse of unescape, written independently: printable ASCII as is, the rest \\xNN."""
    out = []
    for byte in data:
        if byte == 0x5C:
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


@settings(max_examples=fuzz(200), deadline=None)
@given(st.binary(max_size=64))
def test_unescape_roundtrip(data: bytes) -> None:
    assert unescape(_escape(data)) == data


@settings(max_examples=fuzz(200), deadline=None)
@given(st.text(max_size=40).filter(lambda t: "\\" not in t and not any(0xD800 <= ord(c) <= 0xDFFF for c in t)))
def test_unescape_plain_text_is_utf8(text: str) -> None:
    assert unescape(text) == text.encode("utf-8")


def test_options_are_recognised_after_repeated_arguments() -> None:
    parsed = parse("mail a@b.test SIZE=1 --timeout 5 BODY=8BITMIME")
    assert parsed.arg("params") == ["SIZE=1", "BODY=8BITMIME"]
    assert parsed.opt("timeout") == 5.0
    with pytest.raises(ParseError) as info:
        parse("rcpt a@b.test NOTIFY=NEVER --bogus")
    assert "unknown option --bogus" in info.value.message


def test_whole_number_options_reject_fractions() -> None:
    assert parse("raw --replies 2 NOOP").opt("replies") == 2
    with pytest.raises(ParseError) as info:
        parse("raw --replies 1.5 NOOP")
    assert "whole number" in info.value.message


def test_paths_with_spaces_are_written_in_double_quotes() -> None:
    assert parse('data @"my message.eml"').arg("file") == "my message.eml"
    assert parse('save text "/tmp/my transcript.txt"').arg("file") == "/tmp/my transcript.txt"
    assert parse("data @plain.eml").arg("file") == "plain.eml"


@pytest.mark.parametrize("path", ["/tmp/plain.txt", "/tmp/my saves/one two.jsonl", "--looks-like-an-option", "a\tb",
                                  "-", "ünïcode dir/x"])
def test_a_quoted_path_parses_back_to_itself(path):
    assert parse(f"save jsonl {quote_path(path)}").arg("file") == path


@pytest.mark.parametrize("path", ['say "hi".txt', "two\nlines", "cr\r"])
def test_paths_no_command_word_can_carry_are_refused(path):
    with pytest.raises(ValueError, match="double quote or a line break"):
        quote_path(path)
