"""Basic SMTP reply codes: what each three-digit code means and what to do next.

This is the table behind ``explain 550`` and the one-line annotations next to
each reply in the transcript. It covers every code RFC 5321 §4.2 lists, plus the
codes later RFCs define for extensions a debugger meets in practice: AUTH
(RFC 4954), STARTTLS (RFC 3207), ETRN (RFC 1985), ATRN (RFC 2645), CHECKPOINT
(RFC 1845) and the null-MX codes 521/556 (RFC 7504). Codes that appear only as
"associated" codes in the enhanced-status registry without an RFC defining
their text (422, 430, 523, 524, 525, 533) are deliberately left out; for those,
and for anything else unknown, :func:`reply_class_meaning` still explains the
first two digits: RFC 5321 §4.2 says a client handles a code it does not know
by its first digit alone.

An entry says what a code means wherever it comes. What it means in answer to
one command (554 at RCPT refuses one recipient, after the final dot the whole
message) is decided by :mod:`.context`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

__all__ = ["ReplyInfo", "REPLY_CODES", "explain_reply", "reply_class_meaning"]

# Markers for replies that answer something other than a command line. They are
# the same strings the protocol tracker puts in ``Pairing.command``.
GREETING = "<greeting>"
END_OF_DATA = "<end of data>"
AUTH_RESPONSE = "<auth response>"

_HELLO = ("EHLO", "HELO", "LHLO")
_ANY_COMMAND = (
    *_HELLO, "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP", "NOOP", "QUIT",
    "STARTTLS", "AUTH", "ETRN", "ATRN", "BURL",
)
"""RFC 5321 §4.3.2: 500, 501 and 421 may answer any command."""
_NEEDS_SESSION = ("MAIL", "RCPT", "DATA", "BDAT", "VRFY", "EXPN", "ETRN", "ATRN", "BURL")
"""Commands a server may refuse until STARTTLS or AUTH has happened (530)."""


@dataclass(frozen=True, slots=True)
class ReplyInfo:
    """The catalog entry for one basic reply code."""

    code: int
    """The three-digit reply code, e.g. ``550``."""
    text: str
    """The standard (recommended) reply text; servers may send other words."""
    meaning: str
    """One or two plain sentences on what the server is saying."""
    client_action: str
    """What a well-behaved client does next."""
    ends_transaction: bool
    """True when, whatever command it answers, the reply leaves no mail transaction
    open: the connection is closing, or the transaction as a whole failed."""
    rfc: str
    """Where the code is defined, e.g. ``RFC 5321 §4.2.2``."""
    commands: tuple[str, ...]
    """Commands that can produce it (RFC 5321 §4.3.2 where it applies); the
    markers ``<greeting>``, ``<end of data>`` and ``<auth response>`` stand for
    the connection greeting, the message's final dot and an AUTH continuation."""


def _r(
    code: int,
    text: str,
    meaning: str,
    action: str,
    rfc: str,
    commands: tuple[str, ...],
    ends: bool = False,
) -> ReplyInfo:
    return ReplyInfo(code, text, meaning, action, ends, rfc, commands)


_S = "RFC 5321 §4.2.2"
_TABLE: tuple[ReplyInfo, ...] = (
    # -- 2yz: positive completion -----------------------------------------------
    _r(211, "System status, or system help reply",
       "The server answers a request for status or help with information meant for a person.",
       "Read the text if useful and carry on; nothing needs fixing.",
       _S, ("HELP",)),
    _r(214, "Help message",
       "Help text about the server or a non-standard command; it is only for a human reader.",
       "Read it and carry on; a program should not act on its contents.",
       _S, ("HELP",)),
    _r(220, "<domain> Service ready",
       "As the greeting, the server is ready to talk SMTP. After STARTTLS it means "
       "\"ready to start TLS\" (RFC 3207).",
       "After the greeting, send EHLO. After STARTTLS, do the TLS handshake at once, "
       "then send EHLO again: everything learnt before TLS must be forgotten.",
       "RFC 5321 §4.2.2; RFC 3207 §4", (GREETING, "STARTTLS")),
    _r(221, "<domain> Service closing transmission channel",
       "The server acknowledges QUIT and is about to close the connection.",
       "Close the connection; nothing else is expected.",
       _S, ("QUIT",), ends=True),
    _r(235, "2.7.0 Authentication succeeded",
       "The AUTH exchange succeeded; the session is now authenticated.",
       "Go on with MAIL FROM. Do not send AUTH again in this session; if a SASL "
       "security layer was negotiated, discard what EHLO said and send EHLO again.",
       "RFC 4954 §4", ("AUTH", AUTH_RESPONSE)),
    _r(250, "Requested mail action okay, completed",
       "The command succeeded. After the message's final dot it means the server has "
       "taken responsibility for delivering it.",
       "Send the next command of the dialogue.",
       _S, (*_HELLO, "MAIL", "RCPT", END_OF_DATA, "BDAT", "RSET", "VRFY", "EXPN", "NOOP",
            "ETRN", "ATRN", "BURL")),
    _r(251, "User not local; will forward to <forward-path>",
       "The recipient is accepted but lives elsewhere; the server will forward the message "
       "itself. To ETRN it means there is no mail waiting for that node (RFC 1985).",
       "Carry on; you may note the new address the text gives.",
       "RFC 5321 §3.4, §4.2.2; RFC 1985", ("RCPT", "VRFY", "ETRN")),
    _r(252, "Cannot VRFY user, but will accept message and attempt delivery",
       "The server will not (or cannot) confirm the address but would take mail for it; "
       "many servers answer every VRFY this way. To ETRN it means the queue run started.",
       "Treat the address as neither valid nor invalid; send the message normally if you "
       "meant to.",
       "RFC 5321 §3.5.3, §4.2.2; RFC 1985", ("VRFY", "EXPN", "ETRN")),
    _r(253, "OK, <n> pending messages for node <x> started",
       "ETRN accepted: the server has started delivering the given number of queued "
       "messages to that node.",
       "Carry on or QUIT; the messages arrive on a separate connection.",
       "RFC 1985", ("ETRN",)),
    # -- 3yz: positive intermediate ---------------------------------------------
    _r(334, "<base64-encoded server challenge>",
       "The AUTH exchange continues: the text is a base64 challenge (LOGIN's "
       "\"Username:\"/\"Password:\" prompts, a CRAM-MD5 nonce, or empty).",
       "Send the base64 answer for your SASL mechanism on a line of its own, or a single "
       "\"*\" to cancel the exchange.",
       "RFC 4954 §4", ("AUTH", AUTH_RESPONSE)),
    _r(354, "Start mail input; end with <CRLF>.<CRLF>",
       "DATA was accepted; the server now waits for the message itself.",
       "Send the header and body (dot-stuffing lines that begin with \".\") and finish "
       "with a line holding a single dot; then wait for the final reply.",
       _S, ("DATA",)),
    _r(355, "<octet-offset> is the transaction offset",
       "CHECKPOINT: the server remembers an interrupted transaction with this TRANSID "
       "and already holds the message up to the given octet.",
       "Resume sending the message data from that offset instead of from the start.",
       "RFC 1845", ("MAIL",)),
    # -- 4yz: transient negative completion -------------------------------------
    _r(421, "<domain> Service not available, closing transmission channel",
       "The server is shutting down or refusing the session for now (overload, rate "
       "limits, a timeout) and closes the connection. It may answer any command this way.",
       "Treat the connection as gone: keep the message queued and retry the whole "
       "transaction later, preferably after a pause.",
       _S, (GREETING, *_ANY_COMMAND, END_OF_DATA), ends=True),
    _r(432, "4.7.12 A password transition is needed",
       "The account must be moved to the chosen authentication mechanism before it can "
       "be used.",
       "Authenticate once with PLAIN (over TLS); the chosen mechanism should work in "
       "later sessions.",
       "RFC 4954 §6", ("AUTH", AUTH_RESPONSE)),
    _r(450, "Requested mail action not taken: mailbox unavailable",
       "The mailbox cannot take mail right now: it is busy, or temporarily blocked for "
       "policy reasons. Greylisting answers this way or with 451 (often with 4.7.1 or 4.2.0).",
       "Keep this recipient (or message) queued and retry later; other recipients are "
       "unaffected.",
       _S, ("RCPT", END_OF_DATA, "BDAT", "ATRN")),
    _r(451, "Requested action aborted: local error in processing",
       "Something went wrong inside the server (a lookup, a filter, the disk) so it did "
       "not carry out the command. With a 4.7.x enhanced code it is a policy deferral "
       "instead: greylisting or a rate limit (\"451 4.7.1 Greylisted, try again later\").",
       "Retry later; if it answered the final dot, the message was not accepted and must "
       "be sent again.",
       _S, ("MAIL", "RCPT", END_OF_DATA, "BDAT", "ATRN")),
    _r(452, "Requested action not taken: insufficient system storage",
       "The server is short of storage. In answer to RCPT it also means \"too many "
       "recipients\" for this transaction (RFC 5321 §4.5.3.1.10).",
       "Retry later. After RCPT (too many recipients, 4.5.3): send the message now to the "
       "recipients already accepted, then the others in a new transaction.",
       _S, ("MAIL", "RCPT", END_OF_DATA, "BDAT")),
    _r(453, "You have no mail",
       "ATRN: there is no mail queued for the domains you asked about.",
       "Nothing to collect; send QUIT or try again later.",
       "RFC 2645", ("ATRN",)),
    _r(454, "TLS not available due to temporary reason",
       "STARTTLS cannot be done right now, or (after AUTH) authentication failed for a "
       "temporary reason such as an unreachable password store "
       "(\"4.7.0 Temporary authentication failure\").",
       "Retry later. Do not fall back to sending credentials or mail in the clear if "
       "your policy requires TLS.",
       "RFC 3207 §4; RFC 4954 §6", ("STARTTLS", "AUTH", AUTH_RESPONSE)),
    _r(455, "Server unable to accommodate parameters",
       "The server understands the MAIL/RCPT parameters but cannot honour them at the "
       "moment.",
       "Retry later, or retry without the parameter it cannot accommodate.",
       _S, ("MAIL", "RCPT")),
    _r(458, "Unable to queue messages for node <x>",
       "ETRN was understood but the server cannot start a queue run for that node now.",
       "Retry the ETRN later.",
       "RFC 1985", ("ETRN",)),
    _r(459, "Node <x> not allowed: <reason>",
       "ETRN was refused for that node, for the reason given in the text.",
       "Check the node name and whether this client may request it; retrying unchanged "
       "rarely helps.",
       "RFC 1985", ("ETRN",)),
    # -- 5yz: permanent negative completion -------------------------------------
    _r(500, "Syntax error, command unrecognized",
       "The server did not recognise the command, or the line was too long. After AUTH "
       "it can mean the base64 answer exceeded the server's buffer (5.5.6).",
       "Fix the command (spelling, line length under 512 octets); do not resend it as is.",
       "RFC 5321 §4.2.2; RFC 4954 §4", (*_ANY_COMMAND, AUTH_RESPONSE)),
    _r(501, "Syntax error in parameters or arguments",
       "The command is known but its arguments are malformed, e.g. an address without "
       "angle brackets or an argument given to DATA/RSET/QUIT. After AUTH it also means "
       "the base64 could not be decoded or the exchange was cancelled with \"*\".",
       "Correct the arguments and send the command again.",
       "RFC 5321 §4.2.2; RFC 4954 §4", (*_ANY_COMMAND, AUTH_RESPONSE)),
    _r(502, "Command not implemented",
       "The server recognises the command but does not implement it (often VRFY, EXPN, "
       "HELP, or EHLO on a very old server).",
       "Don't use the command with this server; after a 502 to EHLO, fall back to HELO.",
       "RFC 5321 §4.2.2, §4.2.4", (*_HELLO, "VRFY", "EXPN", "HELP", "TURN", "ETRN", "ATRN",
                                   "STARTTLS", "AUTH", "BDAT", "BURL")),
    _r(503, "Bad sequence of commands",
       "The command came at the wrong moment: RCPT before MAIL, DATA without an accepted "
       "recipient, MAIL inside a transaction, AUTH twice, and the like. The server state "
       "is unchanged.",
       "Send the missing step first (EHLO, MAIL, a successful RCPT, ...) or RSET and "
       "start the transaction again.",
       _S, ("MAIL", "RCPT", "DATA", "BDAT", "AUTH", "STARTTLS", "ETRN", "ATRN", "BURL")),
    _r(504, "Command parameter not implemented",
       "The command is implemented but not with this parameter, e.g. an AUTH mechanism "
       "the server does not offer.",
       "Use another parameter value, e.g. one of the AUTH mechanisms listed in EHLO.",
       _S, (*_HELLO, "VRFY", "EXPN", "HELP", "AUTH")),
    _r(521, "<domain> does not accept mail",
       "This host never accepts mail (it may have a null MX or not be a mail server). "
       "It may answer every command except QUIT this way.",
       "Give up on this host: send QUIT and do not retry here.",
       "RFC 7504", (GREETING, *_ANY_COMMAND), ends=True),
    _r(530, "Authentication required",
       "The server will not do this until the client has authenticated (\"5.7.0 "
       "Authentication required\", RFC 4954) or switched to TLS (\"Must issue a STARTTLS "
       "command first\", RFC 3207).",
       "Run STARTTLS and/or AUTH as the text and the EHLO list ask, then repeat the command.",
       "RFC 4954 §6; RFC 3207 §4", _NEEDS_SESSION),
    _r(534, "5.7.9 Authentication mechanism is too weak",
       "The chosen AUTH mechanism is weaker than the server's policy allows for this user.",
       "Authenticate again with a stronger mechanism from the EHLO AUTH list.",
       "RFC 4954 §6", ("AUTH", AUTH_RESPONSE)),
    _r(535, "5.7.8 Authentication credentials invalid",
       "The username, password or token was not accepted.",
       "Check the credentials before trying again; do not retry the same ones in a loop.",
       "RFC 4954 §6", ("AUTH", AUTH_RESPONSE)),
    _r(538, "5.7.11 Encryption required for requested authentication mechanism",
       "This mechanism may only be used on an encrypted connection.",
       "Run STARTTLS first, send EHLO again, then AUTH.",
       "RFC 4954 §6", ("AUTH",)),
    _r(550, "Requested action not taken: mailbox unavailable",
       "Permanent refusal: the mailbox does not exist, access is denied, or policy "
       "rejects the command (relaying, reputation, content).",
       "Give up on this recipient (or sender) as it is; read the text and any enhanced "
       "code for the reason, fix the address or policy problem, then resend.",
       _S, (*_HELLO, "MAIL", "RCPT", END_OF_DATA, "BDAT", "VRFY", "EXPN")),
    _r(551, "User not local; please try <forward-path>",
       "The recipient is not handled here; the text may name the address to use instead.",
       "Resend to the suggested address if you trust it, otherwise give up on this "
       "recipient.",
       "RFC 5321 §3.4, §4.2.2", ("RCPT", "VRFY")),
    _r(552, "Requested mail action aborted: exceeded storage allocation",
       "The message is too big for the server or for the mailbox's quota. At RCPT it is "
       "RFC 821's old code for \"too many recipients\": RFC 5321 §4.5.3.1.10 corrected that "
       "to 452 and tells clients to treat a 552 at RCPT as temporary.",
       "At MAIL or after the message: compare its size with the SIZE limit from EHLO and "
       "shrink it. At RCPT: send the message to the recipients already accepted, and the "
       "others later in a new transaction.",
       _S, ("MAIL", "RCPT", END_OF_DATA, "BDAT")),
    _r(553, "Requested action not taken: mailbox name not allowed",
       "The address itself is not acceptable: bad syntax, a form the server will not take, "
       "or a sender this client may not use (e.g. Postfix's \"553 5.7.1 Sender address "
       "rejected: not owned by user\"). Relaying denied is 550 (RFC 5321 §3.6.2) or, on "
       "Postfix, 554 5.7.1.",
       "Fix the address; for a sender, use one the account you authenticated as may use.",
       _S, ("MAIL", "RCPT", "VRFY")),
    _r(554, "Transaction failed",
       "A permanent refusal whose scope depends on what it answers: as the greeting, "
       "\"no SMTP service here\"; at MAIL or RCPT, that sender or recipient refused by "
       "policy (Postfix's \"554 5.7.1 Relay access denied\"; the transaction goes on); to "
       "DATA, \"no valid recipients\"; after the final dot, the message refused.",
       "Do not repeat it unchanged. After a 554 greeting, send QUIT and use another server; "
       "at RCPT, drop that recipient (or authenticate to relay); after the final dot, fix "
       "what the text objects to before sending the message again.",
       _S, (GREETING, "MAIL", "RCPT", "DATA", END_OF_DATA, "BDAT", "BURL")),
    _r(555, "MAIL FROM/RCPT TO parameters not recognized or not implemented",
       "A MAIL or RCPT parameter (SIZE=, BODY=, NOTIFY=, ...) is unknown to the server.",
       "Send the command again using only parameters the server advertised in EHLO.",
       _S, ("MAIL", "RCPT")),
    _r(556, "Domain does not accept mail",
       "The recipient's domain publishes that it accepts no mail (a null MX, RFC 7505).",
       "Give up on recipients at that domain; retrying cannot succeed.",
       "RFC 7504", ("RCPT",)),
)

REPLY_CODES: Mapping[int, ReplyInfo] = MappingProxyType({info.code: info for info in _TABLE})
"""Every catalogued reply code, read-only."""

_FIRST_DIGIT = {
    2: "2xx positive completion: the requested action was carried out; a new command may follow",
    3: "3xx positive intermediate: accepted so far, the server is waiting for more "
       "(the message data, an AUTH response)",
    4: "4xx transient negative completion: not done this time, but the same request may "
       "succeed if repeated later",
    5: "5xx permanent negative completion: not done, and repeating the same request "
       "unchanged will fail again",
}
_SECOND_DIGIT = {
    0: "x0x syntax: syntax errors, unimplemented or superfluous commands, and replies "
       "that fit no other category",
    1: "x1x information: replies to requests for information such as status or help",
    2: "x2x connections: replies about the transmission channel",
    3: "x3x unspecified by RFC 5321 (used by extensions such as AUTH)",
    4: "x4x unspecified by RFC 5321 (used by extensions)",
    5: "x5x mail system: the state of the receiving mail system for the requested action",
}


def _as_code(code: object) -> int | None:
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str):
        text = code.strip()
        if text.isascii() and text.isdigit():
            return int(text)
    return None


def explain_reply(code: int) -> ReplyInfo | None:
    """Look up one exact reply code.

    Args:
        code: The three-digit code, e.g. ``550`` (a string of digits is accepted too).

    Returns:
        The catalog entry, or None for a code no RFC in the catalog defines; use
        :func:`reply_class_meaning` for those.
    """
    number = _as_code(code)
    return REPLY_CODES.get(number) if number is not None else None


def reply_class_meaning(code: int) -> str:
    """Explain what the first and second digits of a reply code say (RFC 5321 §4.2.1).

    This is what a client must fall back on for codes it does not know.

    Returns:
        A sentence such as ``"5xx permanent ...; x5x mail system: ..."``, or an
        explanation of why the value is not a valid reply code. Never raises.
    """
    number = _as_code(code)
    if number is None or not 0 <= number <= 999:
        return f"{code!r} is not an SMTP reply code: a reply code is three digits, the first 2 to 5"
    first, second = number // 100, number // 10 % 10
    if first not in _FIRST_DIGIT:
        return (
            f"{number:03d} is outside SMTP's range: RFC 5321 §4.2 says servers MUST NOT send a first digit "
            "other than 2, 3, 4 or 5 (unless an extension negotiated with the client allows it), and a "
            "client that receives one SHOULD normally treat it as a fatal error and end the mail transaction"
        )
    category = _SECOND_DIGIT.get(second, f"x{second}x not defined by RFC 5321 (the second digit runs 0 to 5)")
    return f"{_FIRST_DIGIT[first]}; {category}"
