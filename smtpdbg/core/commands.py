"""The command language: one table of command specifications.

The parser, completion, argument hints, help text, the TUI's command palette
and the REPL all read this table. A command speaks in the terms of Python's
``smtplib.SMTP`` methods (``ehlo example.com`` is ``smtp.ehlo('example.com')``)
plus a few debugger commands (``raw``, ``drain``, ``reconnect``, ``abort``).
Adding a command means adding one entry here and one handler in
:mod:`smtpdbg.core.handlers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(str, Enum):
    """What kind of value an argument takes; completion offers candidates by kind."""

    TARGET = "target"
    HOSTNAME = "hostname"
    ADDRESS = "address"
    ADDRESSES = "addresses"
    MAIL_PARAM = "mail-param"
    RCPT_PARAM = "rcpt-param"
    MECHANISM = "mechanism"
    USER = "user"
    EXTENSION = "extension"
    DOCMD_VERB = "docmd-verb"
    FILE = "file"
    ENVNAME = "env"
    NUMBER = "number"
    TEXT = "text"
    RAW = "raw"
    ATTRIBUTE = "attribute"
    COMMAND = "command"
    TOPIC = "topic"
    OPTION_VALUE = "value"
    XCLIENT_ATTR = "xclient-attribute"
    XFORWARD_ATTR = "xforward-attribute"
    EXPORT_FORMAT = "export-format"
    OUTPUT = "output"
    """A path to write (no ``@``)."""
    SETTING = "setting"
    SETTING_VALUE = "setting-value"


@dataclass(frozen=True, slots=True)
class Arg:
    """A positional argument."""

    name: str
    kind: Kind
    help: str
    required: bool = False
    many: bool = False
    """Takes every remaining word."""
    rest: bool = False
    """Takes the rest of the line verbatim (spaces and all)."""


@dataclass(frozen=True, slots=True)
class Option:
    """A ``--name`` option: a flag, or with a value (``--name VALUE`` / ``--name=VALUE``)."""

    name: str
    help: str
    metavar: str = ""
    kind: Kind = Kind.OPTION_VALUE
    many: bool = False

    @property
    def flag(self) -> bool:
        return not self.metavar


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command of the language."""

    name: str
    summary: str
    group: str
    call: str
    """The smtplib equivalent, e.g. ``smtp.ehlo(name)``; empty for debugger-only commands."""
    wire: str = ""
    """What goes on the wire, e.g. ``EHLO <name>``."""
    rfc: str = ""
    args: tuple[Arg, ...] = ()
    options: tuple[Option, ...] = ()
    aliases: tuple[str, ...] = ()
    network: bool = True
    """Talks to the server (runs under the command timeout)."""
    body: bool = False
    """May take a message body (lines ended by a lone ``.``) when no @FILE is given."""
    secret: bool = False
    """Needs a password (asked masked, or read from an environment variable)."""
    handler: str = ""
    """Where the command's handler is, as ``module:function`` under ``smtpdbg.core``
    (``handlers.envelope:mail``); :mod:`smtpdbg.core.registry` resolves it. Required."""

    def __post_init__(self) -> None:
        if ":" not in self.handler:
            raise ValueError(f"command {self.name!r} names no handler: every command needs one")

    def option(self, name: str) -> Option | None:
        for option in self.options:
            if option.name == name:
                return option
        return None

    @property
    def usage(self) -> str:
        parts = [self.name]
        for option in self.options:
            value = f" {option.metavar}" if option.metavar else ""
            parts.append(f"[{option.name}{value}]")
        for arg in self.args:
            label = arg.name.upper() + ("..." if arg.many else "")
            parts.append(label if arg.required else f"[{label}]")
        return " ".join(parts)


TIMEOUT = Option("--timeout", "wall-clock limit for this command, in seconds", "SECONDS", Kind.NUMBER)
_MAX_BODY = Option("--max-body", "stop (and close the connection) if the @FILE has more bytes than this "
                   "(default: no limit for a regular file, 256 MiB for a pipe or device)", "BYTES", Kind.NUMBER)
_OVER_SIZE = Option("--over-size", "send an @FILE larger than the server's announced SIZE anyway (RFC 1870)")
PASSWORD_ENV = Option("--password-env", "read the password from this environment variable", "NAME", Kind.ENVNAME)
NO_IR = Option("--no-initial-response", "do not send the RFC 4954 initial response with AUTH (initial_response_ok=False)")
VERBATIM = Option("--verbatim", "send the address exactly as typed (skip smtplib's quoteaddr)")

_ADDRESS = Arg("address", Kind.ADDRESS, "a mailbox, e.g. alice@example.org or <alice@example.org>", required=True)

COMMANDS: tuple[CommandSpec, ...] = (
    # connection ------------------------------------------------------------------------
    CommandSpec("connect", "open the connection and read the greeting", "connection", "smtp.connect(host, port)",
                "(TCP connect; the server speaks first)", "RFC 5321 §3.1",
                (Arg("target", Kind.TARGET, "host[:port], smtp://, smtps://, lmtp:// or /unix/path (default: the current target)"),),
                (TIMEOUT,), handler="handlers.connection:connect"),
    CommandSpec("reconnect", "close and connect again to the same target", "connection", "smtp.close(); smtp.connect(host, port)",
                options=(TIMEOUT,), handler="handlers.connection:reconnect"),
    CommandSpec("starttls", "upgrade the connection to TLS (RFC 3207), verifying the certificate", "connection",
                "smtp.starttls(keyfile, certfile, context)", "STARTTLS", "RFC 3207",
                options=(Option("--force", "send STARTTLS even if the server did not advertise it"),
                         Option("--cert", "client certificate (PEM) to present", "FILE", Kind.FILE),
                         Option("--key", "private key of --cert", "FILE", Kind.FILE), TIMEOUT),
                handler="handlers.connection:starttls"),
    CommandSpec("quit", "say goodbye and close", "connection", "smtp.quit()", "QUIT", "RFC 5321 §4.1.1.10", options=(TIMEOUT,),
                handler="handlers.connection:quit_"),
    CommandSpec("close", "close the connection without QUIT", "connection", "smtp.close()", network=False,
                handler="handlers.connection:close"),
    CommandSpec("abort", "interrupt the running command (shuts the socket down)", "connection", "", network=False,
                handler="handlers.tool:abort"),
    CommandSpec("set_debuglevel", "smtplib's own debug output, shown in the transcript", "connection",
                "smtp.set_debuglevel(level)", args=(Arg("level", Kind.NUMBER, "0 off, 1 on, 2 with timestamps", required=True),),
                network=False, handler="handlers.connection:set_debuglevel"),
    CommandSpec("timeout", "show or set the default command timeout for this session", "connection", "smtp.timeout = seconds",
                args=(Arg("seconds", Kind.NUMBER, "seconds (default 30)"),), network=False,
                handler="handlers.connection:timeout"),
    # greeting -----------------------------------------------------------------------------
    CommandSpec("ehlo", "identify yourself and ask for the ESMTP extensions", "greeting", "smtp.ehlo(name)",
                "EHLO <name>", "RFC 5321 §4.1.1.1",
                (Arg("name", Kind.HOSTNAME, "your host name (default: local_hostname)"),), (TIMEOUT,),
                handler="handlers.greeting:ehlo"),
    CommandSpec("helo", "identify yourself (plain SMTP, no extensions)", "greeting", "smtp.helo(name)",
                "HELO <name>", "RFC 5321 §4.1.1.1",
                (Arg("name", Kind.HOSTNAME, "your host name (default: local_hostname)"),), (TIMEOUT,),
                handler="handlers.greeting:helo"),
    CommandSpec("ehlo_or_helo_if_needed", "EHLO (or HELO) unless already done", "greeting",
                "smtp.ehlo_or_helo_if_needed()", "EHLO / HELO", options=(TIMEOUT,),
                handler="handlers.greeting:ehlo_or_helo_if_needed"),
    CommandSpec("has_extn", "did the server advertise this extension?", "greeting", "smtp.has_extn(name)",
                args=(Arg("name", Kind.EXTENSION, "an EHLO keyword, e.g. STARTTLS", required=True),), network=False,
                handler="handlers.greeting:has_extn"),
    # authentication ---------------------------------------------------------------------
    CommandSpec("login", "authenticate, letting smtplib pick the mechanism (CRAM-MD5, PLAIN, LOGIN)", "auth",
                "smtp.login(user, password)", "AUTH <mechanism> ...", "RFC 4954",
                (Arg("user", Kind.USER, "user name", required=True),), (PASSWORD_ENV, NO_IR, TIMEOUT), secret=True,
                handler="handlers.auth:login"),
    CommandSpec("auth", "authenticate with one mechanism", "auth", "smtp.auth(mechanism, authobject)",
                "AUTH <mechanism> [initial-response]", "RFC 4954",
                (Arg("mechanism", Kind.MECHANISM, "PLAIN, LOGIN, CRAM-MD5, XOAUTH2 or OAUTHBEARER", required=True),
                 Arg("user", Kind.USER, "user name", required=True)),
                (PASSWORD_ENV, Option("--token-env", "read the OAuth bearer token from this environment variable",
                                      "NAME", Kind.ENVNAME), NO_IR, TIMEOUT), secret=True,
                handler="handlers.auth:auth"),
    # envelope -----------------------------------------------------------------------------
    CommandSpec("mail", "start a transaction: the envelope sender", "envelope", "smtp.mail(sender, options)",
                "MAIL FROM:<sender> [params]", "RFC 5321 §4.1.1.2",
                (Arg("sender", Kind.ADDRESS, "the reverse-path; <> for a bounce", required=True),
                 Arg("params", Kind.MAIL_PARAM, "ESMTP parameters, e.g. SIZE=1024 BODY=8BITMIME", many=True)),
                (VERBATIM, TIMEOUT), handler="handlers.envelope:mail"),
    CommandSpec("rcpt", "add a recipient to the envelope", "envelope", "smtp.rcpt(recipient, options)",
                "RCPT TO:<recipient> [params]", "RFC 5321 §4.1.1.3",
                (Arg("recipient", Kind.ADDRESS, "the forward-path", required=True),
                 Arg("params", Kind.RCPT_PARAM, "ESMTP parameters, e.g. NOTIFY=SUCCESS,FAILURE", many=True)),
                (VERBATIM, TIMEOUT), handler="handlers.envelope:rcpt"),
    CommandSpec("data", "send the message: lines follow, ended by a line with a single '.'", "envelope",
                "smtp.data(msg)", "DATA, then the dot-stuffed message, then '.'", "RFC 5321 §4.1.1.4",
                (Arg("file", Kind.FILE, "@FILE: send this file instead of typed lines (streamed from disk)"),),
                (_MAX_BODY, _OVER_SIZE, TIMEOUT), body=True, handler="handlers.envelope:data"),
    CommandSpec("bdat", "send the message in BDAT chunks (RFC 3030 CHUNKING; no dot-stuffing, binary-safe)", "envelope",
                "", "BDAT <size> [LAST] + the chunk's bytes, per chunk", "RFC 3030",
                (Arg("file", Kind.FILE, "@FILE: send this file's bytes (otherwise typed lines follow)"),),
                (Option("--chunk", "bytes per chunk (default 65536)", "N", Kind.NUMBER),
                 Option("--declare", "announce this size for the first chunk (a deliberately wrong count)", "N", Kind.NUMBER),
                 Option("--no-last", "do not mark the final chunk LAST"), _MAX_BODY, _OVER_SIZE, TIMEOUT), body=True,
                handler="extensions:bdat"),
    CommandSpec("sendmail", "a whole transaction: MAIL, RCPT for each, DATA", "envelope",
                "smtp.sendmail(from_addr, to_addrs, msg, mail_options, rcpt_options)", "MAIL, RCPT..., DATA", "RFC 5321 §3.3",
                (Arg("from_addr", Kind.ADDRESS, "envelope sender", required=True),
                 Arg("to_addrs", Kind.ADDRESSES, "recipients, comma-separated", required=True),
                 Arg("file", Kind.FILE, "@FILE: the message (otherwise typed lines follow)")),
                (Option("--mail-option", "a MAIL FROM parameter", "PARAM", Kind.MAIL_PARAM, many=True),
                 Option("--rcpt-option", "a RCPT TO parameter", "PARAM", Kind.RCPT_PARAM, many=True), _MAX_BODY, TIMEOUT),
                body=True, handler="handlers.envelope:sendmail"),
    CommandSpec("send_message", "send an RFC 5322 message file; envelope taken from its headers", "envelope",
                "smtp.send_message(msg, from_addr, to_addrs, mail_options, rcpt_options)", "MAIL, RCPT..., DATA", "RFC 5322",
                (Arg("file", Kind.FILE, "@FILE: the message (otherwise typed lines follow)"),),
                (Option("--from", "envelope sender (default: Sender/From header)", "ADDRESS", Kind.ADDRESS),
                 Option("--to", "a recipient (default: To/Cc/Bcc headers)", "ADDRESS", Kind.ADDRESS, many=True),
                 Option("--mail-option", "a MAIL FROM parameter", "PARAM", Kind.MAIL_PARAM, many=True),
                 Option("--rcpt-option", "a RCPT TO parameter", "PARAM", Kind.RCPT_PARAM, many=True), TIMEOUT),
                body=True, handler="handlers.envelope:send_message"),
    CommandSpec("rset", "abandon the current transaction", "envelope", "smtp.rset()", "RSET", "RFC 5321 §4.1.1.5", options=(TIMEOUT,),
                handler="handlers.envelope:rset"),
    CommandSpec("noop", "do nothing; the server says 250", "envelope", "smtp.noop()", "NOOP", "RFC 5321 §4.1.1.9", options=(TIMEOUT,),
                handler="handlers.envelope:noop"),
    # queries ------------------------------------------------------------------------------
    CommandSpec("verify", "ask whether an address is a valid mailbox", "query", "smtp.verify(address)",
                "VRFY <address>", "RFC 5321 §4.1.1.6", (_ADDRESS,), (TIMEOUT,), aliases=("vrfy",),
                handler="handlers.envelope:verify"),
    CommandSpec("expn", "ask the server to expand a mailing list", "query", "smtp.expn(address)",
                "EXPN <address>", "RFC 5321 §4.1.1.7", (_ADDRESS,), (TIMEOUT,), handler="handlers.envelope:expn"),
    CommandSpec("help", "ask the server for help (SMTP HELP)", "query", "smtp.help(args)", "HELP [topic]", "RFC 5321 §4.1.1.8",
                (Arg("topic", Kind.TEXT, "a command name", rest=True),), (TIMEOUT,),
                handler="handlers.envelope:help_"),
    # raw protocol ------------------------------------------------------------------------
    CommandSpec("docmd", "send any command and read its reply", "raw", "smtp.docmd(cmd, args)", "<VERB> <args>",
                "RFC 5321 §4.1", (Arg("verb", Kind.DOCMD_VERB, "the command verb, e.g. ETRN", required=True),
                                  Arg("args", Kind.TEXT, "arguments, sent verbatim", rest=True)), (TIMEOUT,),
                handler="handlers.raw:docmd"),
    CommandSpec("raw", "send bytes verbatim (escapes \\r \\n \\t \\\\ \\xNN; CRLF added unless --no-crlf), then read replies",
                "raw", "smtp.send(data); smtp.getreply()", "exactly what you type",
                args=(Arg("data", Kind.RAW, "text with escapes", required=True, rest=True),),
                options=(Option("--replies", "how many replies to read (default 1)", "N", Kind.NUMBER),
                         Option("--no-crlf", "do not append CRLF"), TIMEOUT), handler="handlers.raw:raw"),
    CommandSpec("pipeline", "send several commands in one write (RFC 2920), then pair the replies",
                "raw", "", "<CMD1>\\r\\n<CMD2>\\r\\n... in one write", "RFC 2920",
                (Arg("commands", Kind.RAW, "commands separated by ';', e.g. MAIL FROM:<a@b>; RCPT TO:<c@d>; DATA", required=True, rest=True),),
                (TIMEOUT,), handler="handlers.raw:pipeline"),
    CommandSpec("xclient", "tell a Postfix server who the real client is (XCLIENT; the server greets again)", "raw",
                "", "XCLIENT NAME=... ADDR=... (split to fit the line limit)", "Postfix XCLIENT_README",
                (Arg("attributes", Kind.XCLIENT_ATTR, "NAME=VALUE pairs, e.g. ADDR=192.0.2.7 NAME=client.example",
                     required=True, many=True),),
                (Option("--max-line", "split into commands of at most N bytes (default 512)", "N", Kind.NUMBER), TIMEOUT),
                handler="extensions:xclient"),
    CommandSpec("xforward", "pass original client attributes to a Postfix content filter (XFORWARD)", "raw",
                "", "XFORWARD NAME=... ADDR=... (split to fit the line limit)", "Postfix XFORWARD_README",
                (Arg("attributes", Kind.XFORWARD_ATTR, "NAME=VALUE pairs, e.g. ADDR=192.0.2.7 PROTO=ESMTP",
                     required=True, many=True),),
                (Option("--max-line", "split into commands of at most N bytes (default 512)", "N", Kind.NUMBER), TIMEOUT),
                handler="extensions:xforward"),
    CommandSpec("drain", "read replies nobody asked for (resynchronise)", "raw", "smtp.getreply()",
                args=(Arg("seconds", Kind.NUMBER, "how long to wait for more (default 0.5)"),), options=(TIMEOUT,),
                handler="handlers.raw:drain"),
    # tool ---------------------------------------------------------------------------------
    CommandSpec("show", "show the session state or one smtplib attribute", "tool", "getattr(smtp, name)",
                args=(Arg("attribute", Kind.ATTRIBUTE, "e.g. esmtp_features, ehlo_resp, does_esmtp"),), network=False,
                handler="handlers.tool:show"),
    CommandSpec("explain", "explain a reply code, enhanced status code, extension or command", "tool", "",
                args=(Arg("topic", Kind.TOPIC, "e.g. 550, 5.7.8, SIZE, ehlo; a code then the command it answers: 554 rcpt",
                          required=True, rest=True),), network=False,
                handler="handlers.tool:explain"),
    CommandSpec("mailbox", "list what the embedded sandbox delivered (envelope, Return-Path, Received, headers)",
                "tool", "", args=(Arg("number", Kind.NUMBER, "show message N in full, as stored"),), network=False,
                handler="handlers.mailbox:mailbox"),
    CommandSpec("save", "save the session: a replayable script, an export (text, jsonl, python, swaks, html), "
                "or the server's certificate chain (cert)", "tool", "",
                args=(Arg("format", Kind.EXPORT_FORMAT, "script, text, jsonl, python, swaks, html or cert",
                          required=True),
                      Arg("file", Kind.OUTPUT, "the file to write (created owner-only, mode 0600)", required=True)),
                aliases=("export",), network=False, handler="handlers.tool:save"),
    CommandSpec("set", "change a session setting: set plaintext-auth allow|once|deny", "tool", "",
                args=(Arg("setting", Kind.SETTING, "plaintext-auth", required=True),
                      Arg("value", Kind.SETTING_VALUE, "allow, once or deny (without: show the current value)")),
                network=False, handler="handlers.tool:set_"),
    CommandSpec("?", "list commands, or describe one", "tool", "",
                args=(Arg("command", Kind.COMMAND, "a command name"),), aliases=("commands",), network=False,
                handler="handlers.tool:commands_help"),
)

SAVE_CERT = ("cert", "the certificate chain the server sent last, as PEM (also one that failed verification)")
"""``save cert FILE``: what ``save`` writes besides the exports."""

_BY_NAME: dict[str, CommandSpec] = {}
for _spec in COMMANDS:
    _BY_NAME[_spec.name] = _spec
    for _alias in _spec.aliases:
        _BY_NAME[_alias] = _spec

ATTRIBUTES = (
    "esmtp_features", "does_esmtp", "helo_resp", "ehlo_resp", "ehlo_msg", "command_encoding", "debuglevel",
    "timeout", "local_hostname", "source_address", "default_port", "sock", "file", "_host",
)
"""smtplib.SMTP attributes ``show`` can display."""

SETTINGS: dict[str, dict[str, str]] = {
    "plaintext-auth": {
        "deny": "refuse to send AUTH credentials without TLS (the default)",
        "allow": "send AUTH credentials without TLS for the rest of this session (anyone on the path can read them)",
        "once": "allow the next AUTH exchange only without TLS",
    },
}
"""Settings ``set`` changes, with their values and what each means (completion shows the meaning)."""

MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER")
"""AUTH mechanisms smtpdbg speaks: smtplib's ``auth_plain``/``auth_login``/``auth_cram_md5``, and OAuth (RFC 7628)."""
OAUTH_MECHANISMS = ("XOAUTH2", "OAUTHBEARER")


def lookup(name: str) -> CommandSpec | None:
    """The spec for a command name or alias (case-insensitive)."""
    return _BY_NAME.get(name.lower())


def names() -> tuple[str, ...]:
    return tuple(spec.name for spec in COMMANDS)
