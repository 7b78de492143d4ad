"""Enhanced mail system status codes (``5.1.1``): parsing and explanation.

Servers that advertise ENHANCEDSTATUSCODES (RFC 2034) start the text of their
2xx/4xx/5xx replies with a code ``class.subject.detail`` (RFC 3463): the class
says success (2), persistent transient failure (4) or permanent failure (5), the
subject says what area the problem is in, and the detail narrows it down.

The table holds every code of RFC 3463 and every later entry of the IANA "SMTP
Enhanced Status Codes" registry (RFC 5248 and the RFCs it points to), keyed
class-agnostically as ``X.subject.detail``. :func:`explain_enhanced` adds the
class: the same ``X.2.2`` means "retry later" as ``4.2.2`` and "give up" as
``5.2.2``. Unknown details fall back to what the class and subject say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Mapping

__all__ = ["EnhancedInfo", "ENHANCED_CODES", "associated_with", "explain_enhanced", "parse_enhanced"]


@dataclass(frozen=True, slots=True)
class EnhancedInfo:
    """The catalog entry for one enhanced status code."""

    code: str
    """The code looked up, e.g. ``5.1.1`` (``X.1.1`` in :data:`ENHANCED_CODES`)."""
    subject: str
    """The subject's name, e.g. ``Addressing status``."""
    detail: str
    """The registry's sample text for the detail, e.g. ``Bad destination mailbox address``."""
    meaning: str
    """What the server is telling you, in plain words."""
    client_action: str
    """What to do next; depends on the class (2 success, 4 retry later, 5 permanent)."""
    basic_codes: tuple[int, ...]
    """Basic reply codes the IANA registry associates with it (empty when it names none)."""
    rfc: str
    """Where the code is defined."""
    exact: bool
    """False when the detail is unknown and only class and subject were explained."""


# RFC 3463 §2 (class) and §3.1-§3.8 (subjects), and the registry's sub-code tables.
_CLASSES = {
    "2": ("Success", "The action was carried out; the detail may report a change made on the way."),
    "4": (
        "Persistent transient failure",
        "The message is valid but a temporary condition persists; sending it again later may succeed.",
    ),
    "5": (
        "Permanent failure",
        "Sending the same message again will fail; something about it or its destination must change.",
    ),
}
_SUBJECTS = {
    0: ("Other or undefined status", "No subject information is available beyond the class.",
        "read the reply text for the reason"),
    1: ("Addressing status", "The problem is a sender or recipient address: its syntax or validity; "
        "the sender can usually correct it.", "check the sender and recipient addresses"),
    2: ("Mailbox status", "The recipient's mailbox exists, but something about it is the problem.",
        "check the recipient's mailbox situation; the text should say more"),
    3: ("Mail system status", "The destination mail system, which normally accepts mail, is the problem.",
        "the fault is on the receiving system; read the text"),
    4: ("Network and routing status", "The problem lies in the network or in routing (DNS, connections, "
        "loops) between here and the destination.", "check DNS and connectivity"),
    5: ("Mail delivery protocol status", "The problem is in the SMTP dialogue itself: commands, their "
        "order or their arguments.", "check the command, its arguments and where it came in the dialogue"),
    6: ("Message content or media status", "The problem is the message content or its media type "
        "(conversions, encodings, character sets).", "check the message content and its encoding"),
    7: ("Security or policy status", "The problem is security or policy: authentication, authorisation, "
        "signatures or encryption.", "check authentication, TLS and the sender domain's SPF/DKIM/DMARC"),
}

_R = "RFC 3463"


_Row = tuple[str, str, str, str, tuple[int, ...], str, str, str, str]


def _e(
    key: str,
    detail: str,
    meaning: str,
    remedy: str,
    basic: tuple[int, ...] = (),
    rfc: str = _R,
    success: str = "",
    transient: str = "",
    permanent: str = "",
) -> _Row:
    """One table row: ``key`` is ``subject.detail``; ``remedy`` is lower-case advice;
    ``success`` replaces the class-2 advice where the code is a warning, ``transient`` and
    ``permanent`` the class-4 and class-5 advice where the generic words would mislead."""
    return key, detail, meaning, remedy, basic, rfc, success, transient, permanent


_TABLE: tuple[_Row, ...] = (
    _e("0.0", "Other undefined Status", "Only the class is known: the server gives no further reason.",
       "read the reply text for the actual reason", rfc=f"{_R} §3.1"),
    # -- X.1: addressing (RFC 3463 §3.2) --------------------------------------------
    _e("1.0", "Other address status", "Something about an envelope address caused this, with no more detail.",
       "check the sender and recipient addresses", rfc=f"{_R} §3.2"),
    _e("1.1", "Bad destination mailbox address",
       "The recipient's mailbox (the part left of the @) does not exist at the destination.",
       "check the recipient address for typos; the user may not exist (any more)", (451, 550), f"{_R} §3.2"),
    _e("1.2", "Bad destination system address",
       "The recipient's domain (the part right of the @) does not exist or cannot take mail.",
       "check the recipient's domain name", rfc=f"{_R} §3.2"),
    _e("1.3", "Bad destination mailbox address syntax", "The recipient address is syntactically invalid.",
       "correct the address syntax (angle brackets, one @, no stray characters)", (501,), f"{_R} §3.2"),
    _e("1.4", "Destination mailbox address ambiguous",
       "The address matches more than one mailbox at the destination (e.g. fuzzy name matching).",
       "use a more precise address", rfc=f"{_R} §3.2"),
    _e("1.5", "Destination address valid", "The recipient address is valid; used in positive replies.",
       "nothing to change", (250,), f"{_R} §3.2"),
    _e("1.6", "Destination mailbox has moved, No forwarding address",
       "The address used to be valid but no longer takes mail, and no new address is known.",
       "remove or update the address; ask the recipient for a new one", rfc=f"{_R} §3.2"),
    _e("1.7", "Bad sender's mailbox address syntax",
       "The sender (MAIL FROM) address is syntactically invalid.",
       "fix the MAIL FROM address syntax", rfc=f"{_R} §3.2"),
    _e("1.8", "Bad sender's system address",
       "The sender's domain does not exist or cannot receive mail, so bounces could not be returned.",
       "use a sender address whose domain resolves and receives mail", (451, 501), f"{_R} §3.2"),
    _e("1.9", "Message relayed to non-compliant mailer",
       "The address was valid, but the message went on to a system that does not report status; "
       "no more news will come.", "nothing more can be learnt about delivery", rfc="RFC 3886",
       success="Delivered as far as this system can tell; no further reports will come."),
    _e("1.10", "Recipient address has null MX",
       "The recipient's domain publishes a null MX: it accepts no mail at all.",
       "give up on this address; the domain does not receive email", (556,), "RFC 7505; RFC 7504"),
    # -- X.2: mailbox (RFC 3463 §3.3) -------------------------------------------------
    _e("2.0", "Other or undefined mailbox status",
       "The mailbox exists, but something about it caused this report.",
       "read the reply text for the reason", rfc=f"{_R} §3.3"),
    _e("2.1", "Mailbox disabled, not accepting messages",
       "The mailbox exists but does not accept messages, for a while or for good.",
       "reach the recipient another way", rfc=f"{_R} §3.3"),
    _e("2.2", "Mailbox full",
       "The recipient is over quota. RFC 3463 §3.3 says this should be reported as a transient failure "
       "(4.2.2): the owner can delete mail to make room.",
       "the recipient has to free space before mail can arrive", (552,), f"{_R} §3.3",
       permanent="Reported as permanent, although RFC 3463 §3.3 wants a full mailbox reported as transient "
                 "(4.2.2): many senders keep the message and retry for a while (a day or so) before "
                 "bouncing it. The recipient has to free space."),
    _e("2.3", "Message length exceeds administrative limit",
       "The message is larger than this mailbox's own size limit.",
       "send a smaller message (e.g. a link instead of an attachment)", (552,), f"{_R} §3.3"),
    _e("2.4", "Mailing list expansion problem", "The address is a mailing list and expanding it failed.",
       "tell the list owner", (450, 452), f"{_R} §3.3"),
    # -- X.3: mail system (RFC 3463 §3.4) --------------------------------------------
    _e("3.0", "Other or undefined mail system status",
       "The destination system normally accepts mail, but something about it caused this report.",
       "read the reply text for the reason", (221, 250, 421, 451, 550, 554), f"{_R} §3.4"),
    _e("3.1", "Mail system full", "The destination system as a whole is out of storage.",
       "only the receiving system's operators can fix this", (452,), f"{_R} §3.4"),
    _e("3.2", "System not accepting network messages",
       "The host is not taking messages: shutting down, overloaded, in maintenance, or never (521).",
       "use another of the domain's mail servers, or give up if the host takes no mail", (453, 521),
       f"{_R} §3.4; RFC 7504"),
    _e("3.3", "System not capable of selected features",
       "The destination cannot provide a feature the message asked for (common at gateways).",
       "send the message without the feature it cannot provide", rfc=f"{_R} §3.4"),
    _e("3.4", "Message too big for system", "The message exceeds the server's per-message size limit.",
       "make the message smaller than the SIZE the server advertised", (552, 554), f"{_R} §3.4"),
    _e("3.5", "System incorrectly configured",
       "The receiving system is set up in a way that prevents it accepting this message.",
       "tell the receiving site's postmaster", rfc=f"{_R} §3.4"),
    _e("3.6", "Requested priority was changed",
       "Accepted, but not at the requested MT-PRIORITY; the text gives the priority applied.",
       "note the priority the server applied", (250, 251), "RFC 6710",
       success="Accepted, at the priority given in the reply text rather than the one requested."),
    # -- X.4: network and routing (RFC 3463 §3.5) ------------------------------------
    _e("4.0", "Other or undefined network or routing status",
       "Something went wrong with networking, without more detail.",
       "check the text and the network path", rfc=f"{_R} §3.5"),
    _e("4.1", "No answer from host", "The next-hop server did not answer a connection attempt.",
       "the next-hop server is unreachable; check its address and firewalling", (451,), f"{_R} §3.5"),
    _e("4.2", "Bad connection",
       "The connection was made but the transaction could not finish (time-out or poor link).",
       "look for network problems or a client that sends too slowly", (421,), f"{_R} §3.5"),
    _e("4.3", "Directory server failure",
       "A directory server, typically DNS, could not be reached, so the message could not be routed.",
       "check DNS for the domains involved", (451, 550), f"{_R} §3.5"),
    _e("4.4", "Unable to route",
       "No route could be worked out from the directory (e.g. a domain with no MX or address record).",
       "check the recipient domain's MX and address records", rfc=f"{_R} §3.5"),
    _e("4.5", "Mail system congestion", "The mail system was too congested to deliver.",
       "send later or more slowly", (451,), f"{_R} §3.5"),
    _e("4.6", "Routing loop detected",
       "The message was forwarded too many times, by bad routing tables or a forwarding loop.",
       "look for a forwarding loop (many Received: header fields)", rfc=f"{_R} §3.5"),
    _e("4.7", "Delivery time expired",
       "The message became too old: queued too long, or its time limit (e.g. DELIVERBY) ran out.",
       "resend if still relevant, and find out why it was delayed", rfc=f"{_R} §3.5"),
    # -- X.5: mail delivery protocol (RFC 3463 §3.6) ---------------------------------
    _e("5.0", "Other or undefined protocol status",
       "Something was wrong in the protocol exchange, without more detail.",
       "read the reply text", (220, 250, 251, 252, 253, 451, 452, 454, 458, 459, 501, 502, 503, 554),
       f"{_R} §3.6"),
    _e("5.1", "Invalid command", "A command was out of sequence or not supported.",
       "check the command and where it came in the dialogue", (430, 500, 501, 503, 530, 550, 554, 555),
       f"{_R} §3.6"),
    _e("5.2", "Syntax error", "A command could not be understood: bad syntax or an unknown command.",
       "fix the command syntax", (500, 501, 502, 550, 555), f"{_R} §3.6"),
    _e("5.3", "Too many recipients", "More recipients than the server accepts in one transaction; the "
       "ones accepted so far stay accepted.",
       "split the recipients over several transactions", (451,), f"{_R} §3.6",
       transient="Send the message now to the recipients already accepted, then the remaining ones in a new "
                 "transaction (RFC 5321 §4.5.3.1.10); repeating RCPT in this transaction will not help.",
       permanent="Send the message to the recipients already accepted, and the remaining ones in another "
                 "transaction: RFC 3463 §3.6 expects the message to be split."),
    _e("5.4", "Invalid command arguments",
       "A valid command had invalid arguments: out of range, or naming unknown features.",
       "fix or drop the offending argument or MAIL/RCPT parameter", (451, 501, 502, 503, 504, 550, 555),
       f"{_R} §3.6"),
    _e("5.5", "Wrong protocol version", "The two sides disagree on a protocol version they cannot reconcile.",
       "use a protocol variant the server supports (e.g. HELO instead of EHLO)", rfc=f"{_R} §3.6"),
    _e("5.6", "Authentication Exchange line is too long",
       "An AUTH response in base64 was longer than the server accepts for this mechanism.",
       "use shorter credentials or tokens, or another mechanism", (500,), "RFC 4954 §6"),
    # -- X.6: message content or media (RFC 3463 §3.7) -------------------------------
    _e("6.0", "Other or undefined media error", "Something in the message content made it undeliverable.",
       "check the message content", rfc=f"{_R} §3.7"),
    _e("6.1", "Media not supported",
       "The message's media type is not supported by the delivery protocol or the next system.",
       "send the content in a supported form", rfc=f"{_R} §3.7"),
    _e("6.2", "Conversion required and prohibited",
       "The content must be converted for delivery, but the sender or a policy forbids conversion.",
       "send content the recipient can take as it is, or permit conversion", rfc=f"{_R} §3.7"),
    _e("6.3", "Conversion required but not supported",
       "The content needs converting (e.g. 8-bit to 7-bit for a hop without 8BITMIME), which this "
       "server cannot do.", "send 7-bit content (quoted-printable or base64), or use a path with 8BITMIME",
       (554,), f"{_R} §3.7"),
    _e("6.4", "Conversion with loss performed",
       "Delivery needed a conversion that lost some data; a failure if the sender forbade lossy conversion.",
       "send content that needs no lossy conversion", (250,), f"{_R} §3.7",
       success="Delivered, but a conversion lost part of the content."),
    _e("6.5", "Conversion Failed", "A required conversion was tried and failed.",
       "send the content in a form that needs no conversion", rfc=f"{_R} §3.7"),
    _e("6.6", "Message content not available",
       "BURL: the server could not fetch the message content from the URL given.",
       "check the BURL URL and its URLAUTH authorisation", (554,), "RFC 4468"),
    _e("6.7", "Non-ASCII addresses not permitted for that sender/recipient",
       "An address contains non-ASCII characters that this server or mailbox does not allow.",
       "use an ASCII address, or a path that supports SMTPUTF8 (with the SMTPUTF8 MAIL parameter)",
       (553, 550), "RFC 6531"),
    _e("6.8", "UTF-8 string reply is required, but not permitted by the SMTP client",
       "The answer needs UTF-8 (e.g. VRFY of an internationalised mailbox), which the client did not allow.",
       "ask again with the SMTPUTF8 parameter on VRFY or EXPN", (252, 553, 550), "RFC 6531"),
    _e("6.9", "UTF-8 header message cannot be transferred to one or more recipients, "
       "so the message must be rejected",
       "The message has UTF-8 header fields that the path to a recipient cannot carry.",
       "send without UTF-8 header fields, or through SMTPUTF8-capable servers", (550,), "RFC 6531"),
    _e("6.10", "Duplicate of X.6.8 (deprecated)",
       "Registered by mistake as a copy of X.6.8; servers should not use it.",
       "ask again with the SMTPUTF8 parameter on VRFY or EXPN", rfc="RFC 6531"),
    # -- X.7: security or policy (RFC 3463 §3.8) -------------------------------------
    _e("7.0", "Other or undefined security status",
       "A security or policy problem, not described further (perhaps deliberately).",
       "read the text; authenticating or using TLS may help",
       (220, 235, 450, 454, 500, 501, 503, 504, 530, 535, 550), f"{_R} §3.8"),
    _e("7.1", "Delivery not authorized, message refused",
       "Policy forbids this sender sending to this destination: relay denied, a blocklist, a "
       "per-recipient rule.", "authenticate if this is your own server; otherwise read the text for "
       "the policy that refused you", (451, 454, 502, 503, 533, 550, 551), f"{_R} §3.8"),
    _e("7.2", "Mailing list expansion prohibited", "The sender may not post to this mailing list.",
       "ask the list owner for permission", (550,), f"{_R} §3.8"),
    _e("7.3", "Security conversion required but not possible",
       "Delivery needed a conversion between secure messaging formats, which was impossible.",
       "send in a security format the recipient supports", rfc=f"{_R} §3.8"),
    _e("7.4", "Security features not supported",
       "The message asked for security features the delivery protocol cannot provide.",
       "send without the unsupported security feature", (504,), f"{_R} §3.8"),
    _e("7.5", "Cryptographic failure",
       "A system entitled to check or decrypt the message lacked a valid key or similar data.",
       "check the keys and certificates involved", rfc=f"{_R} §3.8"),
    _e("7.6", "Cryptographic algorithm not supported",
       "The algorithm needed to check or decrypt the message is not supported.",
       "use an algorithm the recipient supports", rfc=f"{_R} §3.8"),
    _e("7.7", "Message integrity failure", "Validation found the message corrupted or altered.",
       "find what modifies the message on the way, then resend", rfc=f"{_R} §3.8"),
    _e("7.8", "Authentication credentials invalid", "AUTH failed: the credentials are wrong or insufficient.",
       "ask the user for the right username and password (or a fresh token)", (535, 554), "RFC 4954 §6"),
    _e("7.9", "Authentication mechanism is too weak",
       "The chosen AUTH mechanism is weaker than the server's policy allows for this user.",
       "authenticate with a stronger mechanism", (534,), "RFC 4954 §6"),
    _e("7.10", "Encryption Needed",
       "The requested authentication mechanism (or a REQUIRETLS message) needs an encrypted "
       "connection such as TLS.", "run STARTTLS first, or choose a stronger mechanism", (523,), "RFC 5248"),
    _e("7.11", "Encryption required for requested authentication mechanism",
       "This AUTH mechanism may only be used once the connection is encrypted.",
       "run STARTTLS before AUTH", (524, 538), "RFC 4954 §6"),
    _e("7.12", "A password transition is needed",
       "The account has to be moved to the chosen mechanism before it can be used.",
       "authenticate once with PLAIN over TLS; the chosen mechanism should then work", (422, 432),
       "RFC 4954 §6"),
    _e("7.13", "User Account Disabled",
       "The credentials were right but the account is disabled (unpaid, abused, compromised).",
       "the user must contact the administrator; retyping the password will not help", (525,), "RFC 5248"),
    _e("7.14", "Trust relationship required",
       "The submission server needs a configured trust with another server to fetch the content (BURL).",
       "have the administrators set up the trust (URLAUTH) between the servers", (535, 554), "RFC 5248"),
    _e("7.15", "Priority Level is too low",
       "The MT-PRIORITY is below what the server accepts now (perhaps only urgent mail is taken).",
       "raise the MT-PRIORITY if you may, or send later", (450, 550), "RFC 6710"),
    _e("7.16", "Message is too big for the specified priority",
       "At this MT-PRIORITY the server only accepts smaller messages.",
       "send a smaller message or use another priority", (552,), "RFC 6710"),
    _e("7.17", "Mailbox owner has changed",
       "RRVS: the recipient mailbox has not had the same owner since the date given.",
       "confirm the recipient's current address before sending", rfc="RFC 7293"),
    _e("7.18", "Domain owner has changed",
       "RRVS: the recipient's domain has changed hands since the date given.",
       "confirm the recipient's current address before sending", rfc="RFC 7293"),
    _e("7.19", "RRVS test cannot be completed",
       "RRVS: the server did not record the timestamp it would need to check ownership.",
       "decide whether to resend without RRVS", rfc="RFC 7293"),
    _e("7.20", "No passing DKIM signature found",
       "The message had no valid DKIM signature, and the receiver requires one.",
       "sign the message with DKIM (check the signer and the DNS key record)", (550,), "RFC 7372"),
    _e("7.21", "No acceptable DKIM signature found",
       "Valid DKIM signatures exist, but none satisfies the receiver's policy.",
       "sign with a domain and algorithm the receiver accepts", (550,), "RFC 7372"),
    _e("7.22", "No valid author-matched DKIM signature found",
       "No passing DKIM signature belongs to the domain in the From: header field.",
       "sign with a key in the author's (From:) domain", (550,), "RFC 7372"),
    _e("7.23", "SPF validation failed", "SPF returned \"fail\" for the sending host and the receiver's "
       "policy rejects that.", "send through a host the sender domain's SPF record allows, or fix the "
       "record", (550,), "RFC 7372; RFC 7208"),
    _e("7.24", "SPF validation error", "Evaluating SPF hit an error: a DNS failure or a broken record.",
       "check the sender domain's SPF record and DNS", (451, 550), "RFC 7372; RFC 7208"),
    _e("7.25", "Reverse DNS validation failed",
       "The client's IP address failed the receiver's reverse DNS check (missing or mismatched PTR).",
       "give the sending address a PTR record whose name resolves back to it", (550,), "RFC 7372"),
    _e("7.26", "Multiple authentication checks failed",
       "The message failed more than one authentication check (SPF, DKIM, ...).",
       "check SPF, DKIM and DMARC for the sender's domain", (550,), "RFC 7372"),
    _e("7.27", "Sender address has null MX",
       "The sender's domain has a null MX, so bounces could not be returned; the receiver refuses it.",
       "use a sender address in a domain that receives mail", (550,), "RFC 7505"),
    _e("7.28", "Mail flood detected",
       "The message looks like part of a flood of similar abusive messages (mail bombing).",
       "stop sending similar messages to this recipient", rfc="draft-levine-mailbomb-header (IANA registry)"),
    _e("7.29", "ARC validation failure", "The message's Authenticated Received Chain did not validate.",
       "check the intermediaries that add ARC header fields", (550,), "RFC 8617 §5.2.2"),
    _e("7.30", "REQUIRETLS support required",
       "The message demands REQUIRETLS, but the next hop does not offer it, so it cannot be relayed.",
       "send without REQUIRETLS, or to a destination whose servers support it", (550,), "RFC 8689"),
)


def _class_action(cls: str, remedy: str, success: str, transient: str = "", permanent: str = "") -> str:
    if cls == "2":
        return success or "Success: nothing to do."
    if cls == "4" and transient:
        return transient
    if cls == "5" and permanent:
        return permanent
    if cls == "4":
        return (
            "Transient: keep the message and retry later; the same command may then succeed. "
            f"If it persists, {remedy}."
        )
    return f"Permanent: do not retry unchanged. {remedy[:1].upper()}{remedy[1:]}."


def _build() -> tuple[dict[str, EnhancedInfo], dict[str, tuple[str, str, str, str]]]:
    infos: dict[str, EnhancedInfo] = {}
    advice: dict[str, tuple[str, str, str, str]] = {}
    for key, detail, meaning, remedy, basic, rfc, success, transient, permanent in _TABLE:
        subject = _SUBJECTS[int(key.split(".")[0])][0]
        generic = (
            "Depends on the class: 2 is success, 4 means retry later, 5 means do not retry unchanged. "
            + remedy[:1].upper() + remedy[1:] + "."
        )
        infos[f"X.{key}"] = EnhancedInfo(f"X.{key}", subject, detail, meaning, generic, basic, rfc, True)
        advice[f"X.{key}"] = (remedy, success, transient, permanent)
    return infos, advice


_INFOS, _ADVICE = _build()
ENHANCED_CODES: Mapping[str, EnhancedInfo] = MappingProxyType(_INFOS)
"""Every registered code, keyed class-agnostically as ``X.subject.detail``; read-only."""

_STATUS = re.compile(r"([245Xx])\.([0-9]{1,3})\.([0-9]{1,3})")
# RFC 2034 §4: a reply line starts with the basic code, then the enhanced code
# (whose class must agree with the basic code's first digit), then spaces.
_LEADING = re.compile(r"\s*(?:([2-5][0-9][0-9])[ -]\s*)?([245]\.[0-9]{1,3}\.[0-9]{1,3})(?=\s|$)")


def parse_enhanced(text: str) -> str | None:
    """Extract the enhanced status code that starts a reply's text.

    Accepts the text after the basic code (``"5.1.1 <x@y>: User unknown"``) or a
    whole reply line (``"550 5.1.1 User unknown"``, ``"250-2.0.0 OK"``). The code
    must come first, have class 2, 4 or 5, be followed by white space or the end,
    and agree with the basic code's class when one is present; so ``"250 OK"`` and
    ``"550 1.2.3.4 blocked"`` (an IP address) give None.

    Returns:
        The code as written, e.g. ``"5.1.1"``, or None. Never raises.
    """
    if not isinstance(text, str):
        return None
    match = _LEADING.match(text)
    if match is None:
        return None
    basic, status = match.groups()
    if basic is not None and basic[0] != status[0]:
        return None
    return status


def explain_enhanced(status: str) -> EnhancedInfo | None:
    """Explain an enhanced status code such as ``"5.7.8"``.

    Args:
        status: ``class.subject.detail``; the class may be ``X`` to get the
            class-agnostic entry of a registered code.

    Returns:
        The entry with a class-specific ``client_action``; for an unknown detail
        (or subject) an entry with ``exact=False`` built from the class and
        subject. None when the text is not an enhanced status code. Never raises.
    """
    if not isinstance(status, str):
        return None
    match = _STATUS.fullmatch(status.strip())
    if match is None:
        return None
    cls, subject, detail = match.group(1).upper(), int(match.group(2)), int(match.group(3))
    key = f"X.{subject}.{detail}"
    if cls == "X":
        return ENHANCED_CODES.get(key)
    code = f"{cls}.{subject}.{detail}"
    known = ENHANCED_CODES.get(key)
    if known is not None:
        return replace(known, code=code, client_action=_class_action(cls, *_ADVICE[key]))
    class_name, class_meaning = _CLASSES[cls]
    if subject in _SUBJECTS:
        name, description, remedy = _SUBJECTS[subject]
        return EnhancedInfo(
            code=code,
            subject=name,
            detail="Unlisted detail (not in RFC 3463 or the IANA registry)",
            meaning=f"{class_name}. {description}",
            client_action=_class_action(cls, remedy, ""),
            basic_codes=(),
            rfc=f"{_R} §3.{subject + 1}",
            exact=False,
        )
    return EnhancedInfo(
        code=code,
        subject=f"Unassigned subject {subject}",
        detail="",
        meaning=f"{class_name}. {class_meaning} The subject {subject} is not defined by RFC 3463.",
        client_action=_class_action(cls, "read the reply text for the reason", ""),
        basic_codes=(),
        rfc=f"{_R} §2",
        exact=False,
    )


def associated_with(code: int) -> tuple[EnhancedInfo, ...]:
    """Registered enhanced codes whose IANA entry lists ``code`` among its associated basic codes.

    That is all the registry says about codes such as 422, 430 or 523, which no RFC defines.
    """
    return tuple(info for info in ENHANCED_CODES.values() if code in info.basic_codes)
