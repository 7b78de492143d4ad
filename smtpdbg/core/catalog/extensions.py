"""EHLO keywords: what each service extension is, and what its parameters say.

Feeds ``explain SIZE``, the feature inspector and the completion engine. Every
keyword of the IANA "SMTP Service Extensions" registry is here, plus the vendor
keywords real servers (Postfix, Exim, Sendmail, Exchange) put in their EHLO
replies; those say so in ``rfc`` and ``title``. For each extension the entry
lists the MAIL/RCPT parameters and the verbs it adds, so completion can offer
only what the server advertised, and a template command in smtpdbg's command
language when the extension can be exercised from the prompt.

Parameter explanations are computed from the text after the keyword: SIZE in
human units, the AUTH mechanism list, LIMITS, DELIVERBY, MT-PRIORITY,
FUTURERELEASE, XCLIENT/XFORWARD attributes and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Callable, Mapping

__all__ = ["ExtensionInfo", "EXTENSIONS", "explain_extension", "AUTH_MECHANISMS"]


@dataclass(frozen=True, slots=True)
class ExtensionInfo:
    """The catalog entry for one EHLO keyword."""

    keyword: str
    """The keyword in upper case, e.g. ``SIZE``."""
    title: str
    """The extension's name; vendor extensions say whose they are."""
    meaning: str
    """What advertising it means for a client."""
    params_meaning: str
    """The EHLO parameters explained (empty when the keyword takes none)."""
    rfc: str
    """The defining document; vendor extensions start with ``Vendor extension``."""
    exercisable: bool
    """Whether smtpdbg can exercise it from its prompt (then ``template`` shows how)."""
    template: str
    """A template command in smtpdbg's command language, or ``""``."""
    mail_params: tuple[str, ...]
    """MAIL FROM parameters it adds, e.g. ``("SIZE=",)``; ``=`` marks a value."""
    rcpt_params: tuple[str, ...]
    """RCPT TO parameters it adds, e.g. ``("NOTIFY=", "ORCPT=")``."""
    verbs: tuple[str, ...]
    """Commands it adds, e.g. ``("BDAT",)``."""





# -- parameter explainers: smtpdbg.core.catalog.extension_params ------------------------------
from smtpdbg.core.catalog.extension_params import (  # noqa: E402 - the explainers, kept apart
    AUTH_MECHANISMS, XCLIENT, XFORWARD, attributes, burl, deliverby, futurerelease, limits, mechanisms, mt_priority,
    none, size, word_list,
)


# -- the table ------------------------------------------------------------------------------
_EXPLAINERS: dict[str, Callable[[str], str]] = {}
_ENTRIES: dict[str, ExtensionInfo] = {}


def _x(
    keyword: str,
    title: str,
    meaning: str,
    rfc: str,
    template: str = "",
    mail: tuple[str, ...] = (),
    rcpt: tuple[str, ...] = (),
    verbs: tuple[str, ...] = (),
    params: Callable[[str], str] = none,
) -> None:
    """Add one keyword; ``exercisable`` follows from having a template."""
    _EXPLAINERS[keyword] = params
    _ENTRIES[keyword] = ExtensionInfo(
        keyword, title, meaning, params(""), rfc, bool(template), template, mail, rcpt, verbs
    )


_M = "mail alice@example.org"
_VENDOR = "Vendor extension"

# Registered keywords (IANA "SMTP Service Extensions").
_x("SEND", "Send to terminal (obsolete)", "RFC 821's SEND put a message on a logged-in user's terminal; "
   "RFC 2821 dropped it and servers no longer implement it.", "RFC 821; deprecated by RFC 2821",
   "docmd SEND FROM:<alice@example.org>", verbs=("SEND",))
_x("SOML", "Send or mail (obsolete)", "RFC 821's SOML delivered to a terminal if the user was logged in, "
   "otherwise to the mailbox; no longer implemented.", "RFC 821; deprecated by RFC 2821",
   "docmd SOML FROM:<alice@example.org>", verbs=("SOML",))
_x("SAML", "Send and mail (obsolete)", "RFC 821's SAML delivered to both the terminal and the mailbox; "
   "no longer implemented.", "RFC 821; deprecated by RFC 2821",
   "docmd SAML FROM:<alice@example.org>", verbs=("SAML",))
_x("VRFY", "Verify a mailbox", "The server answers VRFY, confirming whether a user or mailbox exists. "
   "Many servers disable it or answer 252 to everything, to stop address harvesting.",
   "RFC 5321 §3.5", "verify alice", verbs=("VRFY",))
_x("EXPN", "Expand a mailing list", "The server answers EXPN with the members of a mailing list; usually "
   "disabled for privacy.", "RFC 5321 §3.5", "docmd EXPN staff", verbs=("EXPN",))
_x("HELP", "Help", "The server answers HELP with text for a human (214), optionally about one command.",
   "RFC 5321 §4.1.1.8", "docmd HELP", verbs=("HELP",))
_x("TURN", "Turn (obsolete)", "Asks the server to swap roles and send its queued mail back over this "
   "connection. Unauthenticated and unsafe; ATRN replaced it.", "RFC 821; deprecated by RFC 2821",
   verbs=("TURN",))
_x("8BITMIME", "8-bit MIME transport", "The server accepts message bodies with 8-bit bytes (lines still "
   "under 1000 octets) when MAIL FROM says BODY=8BITMIME.", "RFC 6152",
   f"{_M} BODY=8BITMIME", mail=("BODY=8BITMIME",))
_x("SIZE", "Message size declaration", "The client may declare the message size in MAIL FROM, and the "
   "server may announce its maximum; an oversized message is refused before it is sent.",
   "RFC 1870", f"{_M} SIZE=1024", mail=("SIZE=",), params=size)
_x("VERB", "Verbose (Sendmail)", "Sendmail's VERB makes the server report delivery progress over the "
   "connection. Listed in the registry without an RFC.", "IANA registry (Sendmail, no RFC)",
   "docmd VERB", verbs=("VERB",))
_x("ONEX", "One message transaction only (Sendmail)", "Sendmail's ONEX tells the server only one "
   "transaction will follow. Listed in the registry without an RFC.", "IANA registry (Sendmail, no RFC)",
   "docmd ONEX", verbs=("ONEX",))
_x("CHUNKING", "Chunking (BDAT)", "The message may be sent in counted chunks with BDAT instead of DATA, "
   "so no dot-stuffing is needed; the last chunk carries LAST.", "RFC 3030",
   "docmd BDAT 0 LAST", verbs=("BDAT",))
_x("BINARYMIME", "Binary MIME", "With BODY=BINARYMIME the message may contain binary MIME parts; it must "
   "then be sent with BDAT (CHUNKING), not DATA.", "RFC 3030",
   f"{_M} BODY=BINARYMIME", mail=("BODY=BINARYMIME",))
_x("CHECKPOINT", "Checkpoint/restart", "With a TRANSID on MAIL FROM, an interrupted transfer can be resumed "
   "where it stopped (the server answers 355 with the offset).", "RFC 1845",
   f"{_M} TRANSID=<1@client.example.org>", mail=("TRANSID=",))
_x("DELIVERBY", "Deliver by", "The client may set a time limit for delivery with BY=seconds;R (return "
   "the message if late) or ;N (notify only).", "RFC 2852",
   f"{_M} BY=3600;R", mail=("BY=",), params=deliverby)
_x("PIPELINING", "Command pipelining", "The client may send groups of commands (e.g. MAIL, RCPTs, DATA) "
   "without waiting for each reply; replies come back in order.", "RFC 2920")
_x("DSN", "Delivery status notifications", "The client chooses when to get delivery reports (NOTIFY), "
   "how much of the message comes back (RET) and tracking ids (ENVID, ORCPT).", "RFC 3461",
   "rcpt bob@example.org NOTIFY=SUCCESS,FAILURE",
   mail=("RET=FULL", "RET=HDRS", "ENVID="), rcpt=("NOTIFY=", "ORCPT="))
_x("ETRN", "Remote queue starting", "A client may ask the server to start delivering mail queued for a "
   "domain (it arrives on a new connection).", "RFC 1985", "docmd ETRN example.org", verbs=("ETRN",))
_x("ENHANCEDSTATUSCODES", "Enhanced status codes", "Replies (except the greeting and HELO/EHLO) start with "
   "a class.subject.detail code such as 5.1.1 that says precisely what happened.", "RFC 2034")
_x("STARTTLS", "Secure SMTP over TLS", "The client may upgrade the connection to TLS with STARTTLS, then "
   "must send EHLO again and forget what it learnt before.", "RFC 3207", "starttls", verbs=("STARTTLS",))
_x("NO-SOLICITING", "Notification of no soliciting", "The server lists solicitation classes it refuses; "
   "senders can label a message with SOLICIT= on MAIL FROM.", "RFC 3865",
   f"{_M} SOLICIT=org.example:ADV", mail=("SOLICIT=",),
   params=word_list("no solicitation keywords listed", "solicitation keywords checked"))
_x("MTRK", "Message tracking", "Lets the sender later ask where a message went, by a secret certifier "
   "given with MTRK= (used together with DSN's ENVID).", "RFC 3885",
   f"{_M} ENVID=msg-1 MTRK=c2VjcmV0", mail=("MTRK=",))
_x("SUBMITTER", "Responsible submitter", "The client may name the party responsible for sending with "
   "SUBMITTER= (from the experimental Sender ID work).", "RFC 4405",
   f"{_M} SUBMITTER=alice@example.org", mail=("SUBMITTER=",))
_x("AUTH", "Authentication", "The client may log in with one of the SASL mechanisms listed; MAIL FROM may "
   "carry AUTH= naming the original submitter.", "RFC 4954",
   "auth PLAIN alice", mail=("AUTH=",), verbs=("AUTH",), params=mechanisms)
_x("ATRN", "Authenticated TURN (on-demand relay)", "An authenticated client may ask the server to reverse "
   "roles and deliver the mail queued for its domains over this connection.", "RFC 2645", verbs=("ATRN",))
_x("BURL", "Message submission by reference", "The client may submit content by IMAP URL (BURL) instead "
   "of sending it, e.g. a message already saved in Sent.", "RFC 4468",
   "docmd BURL imap://imap.example.org/INBOX;UID=1 LAST", verbs=("BURL",), params=burl)
_x("FUTURERELEASE", "Future message release", "The client may ask the server to hold the message until "
   "later: HOLDFOR=seconds or HOLDUNTIL=date-time.", "RFC 4865",
   f"{_M} HOLDFOR=3600", mail=("HOLDFOR=", "HOLDUNTIL="), params=futurerelease)
_x("UTF8SMTP", "Internationalized email (experimental, obsolete)", "The experimental predecessor of "
   "SMTPUTF8, with ALT-ADDRESS fallbacks; replaced by SMTPUTF8.", "RFC 5336; obsoleted by RFC 6531",
   mail=("ALT-ADDRESS=",), rcpt=("ALT-ADDRESS=",))
_x("CONPERM", "Content conversion permission", "The sender may permit intermediaries to convert content "
   "(originally for fax), per recipient.", "RFC 4141", rcpt=("CONPERM",))
_x("CONNEG", "Content conversion negotiation", "The server can report a recipient's content capabilities "
   "so content can be converted to suit them (originally for fax).", "RFC 4141", rcpt=("CONNEG",))
_x("MT-PRIORITY", "Message transfer priority", "The client may give the message a priority from -9 to 9 "
   "with MT-PRIORITY=; the parameter names the server's priority policy.", "RFC 6710",
   f"{_M} MT-PRIORITY=3", mail=("MT-PRIORITY=",), params=mt_priority)
_x("RRVS", "Require recipient valid since", "The client may ask that a recipient be refused unless the "
   "mailbox has had the same owner since a given date (RRVS= on RCPT TO).", "RFC 7293",
   "rcpt bob@example.org RRVS=2014-04-03T23:01:00Z", rcpt=("RRVS=",))
_x("SMTPUTF8", "Internationalized email", "The server accepts UTF-8 addresses and header fields when MAIL "
   "FROM carries SMTPUTF8 (and UTF-8 answers to VRFY/EXPN with the same parameter).", "RFC 6531",
   f"{_M} SMTPUTF8", mail=("SMTPUTF8",))
_x("REQUIRETLS", "Require TLS", "With REQUIRETLS on MAIL FROM the message may only travel over verified "
   "TLS on every later hop, or it is returned. Only offered over TLS.", "RFC 8689",
   f"{_M} REQUIRETLS", mail=("REQUIRETLS",))
_x("LIMITS", "Server limits", "The server announces limits it will apply in this session, so the client "
   "can adapt (e.g. split recipients) instead of meeting errors.", "RFC 9422", params=limits)

# Vendor keywords seen in real EHLO replies (not registered: no RFC).
_x("XCLIENT", "Client attribute override (Postfix)", "A trusted proxy or test tool may tell Postfix the "
   "real client's address, name, HELO and login, as if it had connected directly.",
   f"{_VENDOR}: Postfix (XCLIENT_README)", "docmd XCLIENT ADDR=192.0.2.10 NAME=client.example.org",
   verbs=("XCLIENT",), params=attributes(XCLIENT))
_x("XFORWARD", "Forwarded client attributes (Postfix)", "A content filter may pass the original client's "
   "details to Postfix for logging, without changing access decisions.",
   f"{_VENDOR}: Postfix (XFORWARD_README)", "docmd XFORWARD ADDR=192.0.2.10 NAME=client.example.org",
   verbs=("XFORWARD",), params=attributes(XFORWARD))
_x("XOAUTH2", "OAuth 2.0 login (Google/Microsoft SASL mechanism)", "Normally not a keyword of its own but "
   "a mechanism in the AUTH line (AUTH LOGIN PLAIN XOAUTH2): log in with an OAuth access token instead of "
   "a password. OAUTHBEARER is the standard equivalent.", f"{_VENDOR}: Google, Microsoft")
_x("PRDR", "Per-recipient data responses (Exim)", "With PRDR on MAIL FROM the server answers the final dot "
   "once per recipient, so content filters can accept for some and refuse for others.",
   f"{_VENDOR}: Exim (draft-hall-prdr)", f"{_M} PRDR", mail=("PRDR",))
_x("XVERP", "Variable envelope return paths (Postfix, Courier)", "With XVERP on MAIL FROM each recipient's "
   "copy gets its own return path encoding the recipient, to make bounces easy to match.",
   f"{_VENDOR}: Postfix, Courier", f"{_M} XVERP", mail=("XVERP",))
_x("XOORG", "Originator organization (Exchange)", "Exchange servers pass the sender's organization with "
   "XOORG= on MAIL FROM.", f"{_VENDOR}: Microsoft Exchange",
   f"{_M} XOORG=example.org", mail=("XOORG=",))
_x("X-EXPS", "Exchange server authentication (Exchange)", "Exchange servers authenticate to each other with "
   "X-EXPS and the mechanisms listed, much like AUTH.", f"{_VENDOR}: Microsoft Exchange",
   verbs=("X-EXPS",), params=mechanisms)
_x("XEXCH50", "Exchange MAPI properties (Exchange 2000/2003)", "Exchange servers pass a binary blob of "
   "message properties after RCPT with XEXCH50.", f"{_VENDOR}: Microsoft Exchange", verbs=("XEXCH50",))
_x("X-LINK2STATE", "Link state routing (Exchange 2000/2003)", "Exchange servers exchange routing-group "
   "link-state information over SMTP.", f"{_VENDOR}: Microsoft Exchange", verbs=("X-LINK2STATE",))
_x("X-ANONYMOUSTLS", "Anonymous TLS between Exchange servers", "Exchange servers in one organization start "
   "TLS with each other without certificates being checked.", f"{_VENDOR}: Microsoft Exchange",
   verbs=("X-ANONYMOUSTLS",))
_x("XSHADOW", "Shadow redundancy (Exchange)", "Exchange keeps a shadow copy of each message until the next "
   "hop confirms delivery.", f"{_VENDOR}: Microsoft Exchange", verbs=("XSHADOW",))
_x("XSHADOWREQUEST", "Shadow redundancy request (Exchange)", "Exchange asks the peer to keep a shadow copy "
   "of the message.", f"{_VENDOR}: Microsoft Exchange", verbs=("XSHADOWREQUEST",))
_x("XUSR", "Initial user submission (Sendmail)", "Sendmail's XUSR marks the session as an initial "
   "submission from a user agent, as port 587 would.", f"{_VENDOR}: Sendmail", "docmd XUSR", verbs=("XUSR",))
_x("PIPECONNECT", "Early pipelining (Exim)", "The client may send EHLO and the commands after it without "
   "waiting for the greeting, relying on the EHLO reply it saw from this server last time (it must have seen "
   "PIPECONNECT there). Exim 4.96 and later advertise it under this name.",
   f"{_VENDOR}: Exim 4.96+ (draft-harris-early-pipe)")
_x("PIPE_CONNECT", "Early pipelining (Exim 4.95)", "Exim 4.95's name for PIPECONNECT (the draft's name): "
   "pipelining from the first command, using a remembered EHLO reply.", f"{_VENDOR}: Exim 4.95 (draft-harris-early-pipe)")
_x("X_PIPE_CONNECT", "Early pipelining (Exim 4.92-4.94, experimental)", "The experimental name of "
   "PIPECONNECT in Exim 4.92 to 4.94: pipelining from the first command, using a remembered EHLO reply.",
   f"{_VENDOR}: Exim 4.92-4.94 (draft-harris-early-pipe)")
_x("WELLKNOWN", "Well-known resources over SMTP (Exim)", "The client may fetch a resource the server "
   "publishes (for example a policy file) with WELLKNOWN <name>; the content comes back xtext-encoded in "
   "a multi-line reply. Experimental, Exim 4.99 and later.", f"{_VENDOR}: Exim 4.99+ (experimental)",
   verbs=("WELLKNOWN",))
_x("CLIENTID", "Client identifier", "The client may identify itself with a persistent token so the server "
   "can recognise the same client across addresses.", f"{_VENDOR}: draft-storey-smtp-client-id",
   verbs=("CLIENTID",))
_x("XXXXXXXA", "STARTTLS masked by a middlebox (not an extension)", "A box on the path (Cisco's ESMTP "
   "inspection, or an attacker) rewrote the server's STARTTLS to XXXXXXXA, so the client sees no offer of TLS "
   "and an opportunistic one goes on in plaintext (RFC 3207 §6). Its STARTTLS is masked too (500 comes "
   "back); only MTA-STS or DANE make the sender refuse such a path.", "Not registered: a masked STARTTLS "
   "(RFC 3207 §6)")

EXTENSIONS: Mapping[str, ExtensionInfo] = MappingProxyType(_ENTRIES)
"""Every catalogued keyword (upper case), read-only, with parameters explained as if none were given."""


def explain_extension(keyword: str, params: str = "") -> ExtensionInfo | None:
    """Explain one EHLO keyword and its parameters.

    Args:
        keyword: The keyword, any case. A whole EHLO line (``"SIZE 1000"``) and the
            old ``AUTH=LOGIN PLAIN`` form are accepted too.
        params: The text after the keyword on its EHLO line.

    Returns:
        The entry with ``params_meaning`` filled in for these parameters, or None
        for a keyword the catalog does not know. Never raises.
    """
    if not isinstance(keyword, str):
        return None
    if not isinstance(params, str):
        params = ""
    parts = keyword.split(None, 1)
    if not parts:
        return None
    name, extra = parts[0], parts[1] if len(parts) > 1 else ""
    upper = name.upper()
    if upper not in _ENTRIES and "=" in name:
        name, _, value = name.partition("=")
        upper, extra = name.upper(), f"{value} {extra}"
    info = _ENTRIES.get(upper)
    if info is None:
        return None
    text = " ".join(f"{extra} {params}".split())
    return replace(info, params_meaning=_EXPLAINERS[upper](text))
