"""What a reply code means where it comes: the table behind :mod:`.context`.

RFC 5321 gives each code one text, but the same code says different things in
answer to different commands: 554 as the greeting is "no SMTP service here", at
RCPT the refusal of one recipient by policy (Postfix's ``554 5.7.1 Relay access
denied``; the transaction goes on), to DATA "no valid recipients", after the
final dot the refusal of the whole message. Each :class:`Situation` below is one
such meaning: the codes, where they come (see :data:`PLACES`), optionally the
enhanced codes and protocol stages it needs, and what it means there and what a
client does next. The first situation that matches wins, so specific ones come
before general ones. Where no situation matches, :mod:`.context` falls back on
the code's general entry in :mod:`.replies`.

Vendor notes (:data:`VENDOR_NOTES`) say where big providers use an enhanced code
differently from the IANA registry; they are marked as such wherever shown.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PLACES", "Situation", "SITUATIONS", "VendorNote", "VENDOR_NOTES"]

PLACES = {
    "greeting": "as the greeting",
    "ehlo": "to EHLO",
    "helo": "to HELO",
    "starttls": "to STARTTLS",
    "auth": "to AUTH",
    "mail": "at MAIL",
    "rcpt": "at RCPT",
    "data": "to DATA",
    "chunk": "to a BDAT chunk",
    "end": "after the final dot",
    "rset": "to RSET",
    "quit": "to QUIT",
    "verify": "to VRFY/EXPN",
    "noop": "to NOOP",
    "help": "to HELP",
    "unsolicited": "unsolicited",
    "other": "",
}
"""Where a reply can come, and how to say it (``other`` is worded from the command itself)."""


@dataclass(frozen=True, slots=True)
class Situation:
    """One meaning of some codes at one place in the dialogue."""

    codes: tuple[int, ...]
    """The codes it is about; empty: any code."""
    places: tuple[str, ...]
    """Keys of :data:`PLACES`; empty: anywhere."""
    title: str
    """A few words, e.g. ``recipient refused by policy``."""
    meaning: str
    next_step: str
    enhanced: tuple[str, ...] = ()
    """Enhanced-code prefixes it needs (``"4.7."``, ``"5.2.2"``); empty: any or none."""
    stages: tuple[str, ...] = ()
    """Protocol stages (``Stage`` values) the command was sent in; empty: any."""
    rfc: str = ""


def _s(codes, places, title, meaning, next_step, *, enhanced=(), stages=(), rfc="") -> Situation:
    codes = (codes,) if isinstance(codes, int) else tuple(codes)
    places = (places,) if isinstance(places, str) else tuple(places)
    return Situation(codes, places, title, meaning, next_step, tuple(enhanced), tuple(stages), rfc)


_TRANSACTION = ("mail", "rcpt", "data")
_PERMANENT = tuple(range(500, 600))
_FAILED = tuple(range(400, 600))
_RELAY = ("Don't resend to this recipient here unchanged. To relay through your own server, authenticate first "
          "(`login USER`, usually on the submission port 587); mail for other domains goes to their own MX.")

SITUATIONS: tuple[Situation, ...] = (
    # -- anywhere, before everything else -------------------------------------------------------------
    _s(421, (), "closing the connection",
       "The server is ending the session (shutting down, a rate limit, a timeout, too many errors) and closes the "
       "connection (RFC 5321 §3.8). Whatever was under way is abandoned; a reply sent unasked like this usually "
       "means an idle timeout.",
       "`reconnect` (after a pause) to go on. A message that did not get 250 after its final dot was not "
       "accepted and must be sent again.", rfc="RFC 5321 §3.8, §4.2.2"),
    # -- the greeting ----------------------------------------------------------------------------------
    _s(220, "greeting", "service ready", "The server is ready to talk SMTP on this connection.",
       "Send EHLO (`ehlo`); HELO only to a server that refuses EHLO.", rfc="RFC 5321 §3.1"),
    _s(554, "greeting", "no SMTP service here",
       "The server will not take mail from this client on this connection, often because the client's address is "
       "on a blocklist, or the host takes no mail. RFC 5321 §3.1: it waits for QUIT and answers 503 to anything else.",
       "Send QUIT (`quit`) and try another of the domain's mail servers; the text often says why you are refused.",
       rfc="RFC 5321 §3.1"),
    _s(521, "greeting", "host does not accept mail",
       "This host never accepts mail (RFC 7504), for example the target of a null MX.",
       "Give up on this host (`quit`); if the domain has other MX hosts, use those.", rfc="RFC 7504"),
    # -- EHLO / HELO ---------------------------------------------------------------------------------------
    _s(250, "ehlo", "identified, extensions listed",
       "The server accepted EHLO. Every line but the first names an extension it offers in this session "
       "(`explain KEYWORD` says what each means).",
       "Go on as the extensions allow: STARTTLS, AUTH, then MAIL.", rfc="RFC 5321 §4.1.1.1"),
    _s(250, "helo", "identified (no extensions)",
       "The server accepted HELO: plain SMTP, without the extensions EHLO would have listed.",
       "Go on with MAIL; STARTTLS, AUTH, SIZE and the like need EHLO.", rfc="RFC 5321 §4.1.1.1"),
    _s((500, 502), "ehlo", "EHLO not supported",
       "The server does not know EHLO: an old server without ESMTP extensions.",
       "Send HELO instead (`helo`); `ehlo_or_helo_if_needed` and smtplib's sendmail fall back the same way. "
       "Without EHLO no extension (STARTTLS, AUTH, SIZE...) can be used.", rfc="RFC 5321 §4.1.1.1, §4.2.4"),
    _s(501, ("ehlo", "helo"), "greeting name refused as malformed",
       "The name given with EHLO/HELO is not a valid domain or address literal.",
       "Give your fully qualified host name or an address literal such as [192.0.2.1] (`ehlo NAME`); or try "
       "`helo`.", rfc="RFC 5321 §4.1.1.1"),
    _s(_PERMANENT, "ehlo", "EHLO refused",
       "The server refuses this greeting, usually because of the name given (not fully qualified, not resolving, "
       "or claiming to be the server itself): the text says which.",
       "Send HELO instead (`helo`), or EHLO again with your real fully qualified host name (`ehlo NAME`).",
       rfc="RFC 5321 §4.1.1.1"),
    # -- STARTTLS ------------------------------------------------------------------------------------------
    _s(220, "starttls", "ready to start TLS",
       "The server agrees to switch this connection to TLS: the TLS handshake must begin at once (RFC 3207 §4). "
       "This 220 does not mean \"service ready\".",
       "Do the TLS handshake now (`starttls` does it), then send EHLO again (`ehlo`): everything the server said "
       "before TLS must be forgotten (RFC 3207 §4.2).", rfc="RFC 3207 §4"),
    _s(454, "starttls", "TLS not available now",
       "The server cannot start TLS at the moment (no certificate loaded, a temporary fault).",
       "Retry later (`reconnect`); do not send passwords or private mail in the clear instead.", rfc="RFC 3207 §4"),
    _s(501, "starttls", "STARTTLS takes no parameter", "STARTTLS was sent with an argument.",
       "Send plain STARTTLS.", rfc="RFC 3207 §4"),
    _s(503, "starttls", "STARTTLS before EHLO", "The server wants EHLO before STARTTLS.",
       "Send `ehlo` first, then `starttls`.", stages=("connected", "greeted"), rfc="RFC 3207 §4"),
    _s(503, "starttls", "TLS already active",
       "This connection is already encrypted: RFC 3207 §4.2 allows one handshake, and after it EHLO no longer "
       "offers STARTTLS.",
       "Carry on under TLS (`ehlo` if you have not since the handshake); never send STARTTLS twice. For a "
       "fresh start, `reconnect`.", rfc="RFC 3207 §4.2"),
    _s((500, 502), "starttls", "no STARTTLS here",
       "This server offers no STARTTLS on this port.",
       "Use implicit TLS if the server has it (`connect smtps://HOST:465`), or another server; do not send "
       "credentials in the clear.", rfc="RFC 3207"),
    # -- AUTH ----------------------------------------------------------------------------------------------
    _s(235, "auth", "authenticated", "The credentials were accepted: the session is authenticated.",
       "Go on with MAIL (`mail`). Do not send AUTH again in this session.", rfc="RFC 4954 §4"),
    _s(535, "auth", "credentials refused", "The user name, password or token was refused (5.7.8).",
       "Check the user name and password (an app password, if the provider requires one). Do not retry the same "
       "ones in a loop: servers lock accounts and block addresses after repeated failures.", rfc="RFC 4954 §6"),
    _s(503, "auth", "AUTH inside a transaction", "RFC 4954 §4 forbids AUTH while a mail transaction is open.",
       "`rset`, authenticate, then start the transaction again.", stages=_TRANSACTION, rfc="RFC 4954 §4"),
    _s(503, "auth", "already authenticated", "A session authenticates once (RFC 4954 §4).",
       "Go on with MAIL; `reconnect` to log in as someone else.", stages=("authenticated",), rfc="RFC 4954 §4"),
    _s(503, "auth", "AUTH at the wrong moment",
       "AUTH needs EHLO first (not HELO), and may not come twice or inside a transaction (RFC 4954 §4).",
       "Send `ehlo`, then authenticate.", rfc="RFC 4954 §4"),
    _s((500, 502), "auth", "AUTH not offered",
       "The server offers no authentication here: perhaps only after STARTTLS, or only on the submission port 587.",
       "`starttls`, then `ehlo`, and look for AUTH; otherwise connect to the submission port.", rfc="RFC 4954"),
    _s(504, "auth", "mechanism not offered", "The server does not offer this SASL mechanism.",
       "Use one of the mechanisms on the EHLO AUTH line (`explain AUTH`).", rfc="RFC 4954 §4"),
    _s((530, 538), "auth", "TLS required before AUTH",
       "The server only takes credentials over an encrypted connection (\"530 5.7.0 Must issue a STARTTLS command "
       "first\", or 538 5.7.11).", "`starttls`, then `ehlo`, then authenticate again.", rfc="RFC 4954 §6; RFC 3207"),
    # -- MAIL ----------------------------------------------------------------------------------------------
    _s(250, "mail", "sender accepted", "The envelope sender is accepted: a mail transaction has begun.",
       "Name the recipients with RCPT (`rcpt ADDRESS`), one per command.", rfc="RFC 5321 §4.1.1.2"),
    _s(503, "mail", "a transaction is already open", "MAIL came while a transaction was open (RFC 5321 §3.3).",
       "`rset` first, or go on with the open transaction.", stages=_TRANSACTION, rfc="RFC 5321 §3.3"),
    _s(503, "mail", "MAIL at the wrong moment",
       "The server wants something before MAIL: EHLO/HELO, or STARTTLS and AUTH.",
       "Send `ehlo` (and authenticate if the server requires it), then MAIL again.", rfc="RFC 5321 §3.3"),
    _s(530, ("mail", "rcpt", "data"), "authentication required",
       "The server takes mail here only from authenticated users (a submission server), or only over TLS.",
       "`starttls`, `ehlo`, `login USER` (or `auth`), then MAIL again.", rfc="RFC 4954 §6"),
    _s(552, "mail", "message too big (declared SIZE=)",
       "The size declared with SIZE= is over this server's fixed limit (RFC 1870): the message would be refused.",
       "Don't send this message here as it is: shrink it under the SIZE limit from EHLO (`explain SIZE`).",
       rfc="RFC 1870 §6"),
    _s(452, "mail", "insufficient storage now",
       "The server is short of space (Postfix: \"452 4.3.1 Insufficient system storage\" when its queue disk is "
       "full), or cannot take a message of the declared SIZE= right now (RFC 1870).",
       "Retry later: this is temporary.", rfc="RFC 5321 §4.2.2; RFC 1870"),
    _s((450, 451), "mail", "sender deferred by policy",
       "A policy check on the sender deferred it: a rate limit, greylisting, or a DNS failure while checking SPF.",
       "Retry later.", enhanced=("4.7.",), rfc="RFC 3463 §3.8"),
    _s(451, "mail", "temporary error checking the sender",
       "A local error, often a DNS lookup of the sender's domain that failed for now (4.1.8, 4.3.0, 4.4.3).",
       "Retry later; if it persists, check the sender domain's DNS.", rfc="RFC 5321 §4.2.2"),
    _s((555, 455), ("mail", "rcpt"), "parameter not accepted",
       "A MAIL/RCPT parameter (SIZE=, BODY=, NOTIFY=, SMTPUTF8...) is unknown to the server (555), or it cannot "
       "honour it now (455). Only parameters of extensions the server advertised may be used.",
       "Send the command again without it (`show esmtp_features` lists what was advertised).",
       rfc="RFC 5321 §4.1.1.11, §4.2.2"),
    _s((550, 553, 554), "mail", "sender refused",
       "The server will not take mail from this sender: its domain does not resolve (5.1.8), this client may not "
       "use it (553 5.7.1 ... not owned by user), or policy (a blocklist, SPF) refuses it. The enhanced code and "
       "the text say which.",
       "Use a sender address you may use (your own, in a domain with working DNS), or fix what the text names.",
       rfc="RFC 5321 §4.2.2"),
    # -- RCPT ----------------------------------------------------------------------------------------------
    _s((250, 251), "rcpt", "recipient accepted",
       "The server will take the message for this recipient (251: and forward it to the address given).",
       "Add more recipients with RCPT, or send the message with DATA (`data`).", rfc="RFC 5321 §4.1.1.3"),
    _s(554, "rcpt", "recipient refused by policy",
       "The server refuses this recipient by policy, most often relaying denied: it is not the destination for "
       "that domain and you are not authenticated (Postfix: \"554 5.7.1 <x>: Relay access denied\"; RFC 5321 "
       "§3.6.2 says 550 for this). A blocklist or an access rule gives the same reply. It refuses this recipient "
       "only.", _RELAY, rfc="RFC 5321 §3.6.2; Postfix"),
    _s(550, "rcpt", "no such recipient",
       "The address is not valid at the destination: no such mailbox (5.1.1), no such domain (5.1.2), or bad "
       "syntax (5.1.3).", "Check the address for typos, then drop or fix this recipient; the others are unaffected.",
       enhanced=("5.1.",), rfc="RFC 3463 §3.2"),
    _s(550, "rcpt", "recipient refused by policy",
       "Policy refuses this recipient: relaying denied (RFC 5321 §3.6.2; Exim: \"550 relay not permitted\"), a "
       "blocklist, or a rule for this sender and recipient.", _RELAY, enhanced=("5.7.",), rfc="RFC 5321 §3.6.2"),
    _s(550, "rcpt", "recipient refused",
       "This recipient is refused for good: no such mailbox, or a policy refusal (relaying, blocklists). The "
       "enhanced code and the text say which.", "Drop or fix this recipient; the others are unaffected.",
       rfc="RFC 5321 §4.2.2"),
    _s(553, "rcpt", "recipient address not allowed",
       "The address itself is not acceptable here: bad syntax, or a form the server will not take.",
       "Fix the address; the other recipients are unaffected.", rfc="RFC 5321 §4.2.2"),
    _s(552, "rcpt", "mailbox full (treat as temporary)",
       "The recipient's mailbox is over quota. RFC 3463 calls a full mailbox transient, and RFC 5321 §4.5.3.1.10 "
       "tells clients to treat a 552 at RCPT as temporary.",
       "Keep this recipient and retry it later; send the message to the others now.",
       enhanced=("5.2.2",), rfc="RFC 5321 §4.5.3.1.10; RFC 3463 §3.3"),
    _s(552, "rcpt", "too many recipients (treat as temporary)",
       "RFC 821 listed 552 for \"too many recipients\"; RFC 5321 §4.5.3.1.10 corrected that to 452 and tells "
       "clients to treat a 552 at RCPT as temporary, not as a refusal.",
       "Send the message now to the recipients already accepted, then the others in a new transaction.",
       rfc="RFC 5321 §4.5.3.1.10"),
    _s(452, "rcpt", "mailbox full", "The recipient's mailbox is over quota for now.",
       "Keep this recipient and retry it later; the others are unaffected.", enhanced=("4.2.2",),
       rfc="RFC 3463 §3.3"),
    _s(452, "rcpt", "server out of storage", "The receiving system is short of storage for now.",
       "Retry this recipient later.", enhanced=("4.3.1",), rfc="RFC 3463 §3.4"),
    _s(452, "rcpt", "too many recipients",
       "This server takes no more recipients in this transaction (RFC 5321 §4.5.3.1.10; 4.5.3). The recipients "
       "accepted so far stay accepted. (Without 4.5.3 it can also mean the server is short of storage; either "
       "way it is temporary.)",
       "Don't repeat RCPT in this transaction: send the message now (`data`) to the recipients already accepted, "
       "then send it to the remaining ones in a new transaction.", rfc="RFC 5321 §4.5.3.1.10"),
    _s((450, 451), "rcpt", "deferred by policy: greylisting or a rate limit",
       "A policy deferral, not a fault: greylisting (the server refuses the first attempt from an unknown "
       "sender, client and recipient, e.g. \"451 4.7.1 Greylisted, try again later\") or a rate limit.",
       "Keep this recipient and retry later: a greylisting server accepts the same attempt after a few minutes. "
       "Go on with the other recipients now.", enhanced=("4.7.",), rfc="RFC 3463 §3.8; RFC 6647"),
    _s(450, "rcpt", "recipient unavailable for now",
       "The recipient cannot be accepted now: the mailbox is busy or locked, its domain could not be checked "
       "(Postfix: \"450 4.1.2 ... Domain not found\"), or a policy deferral such as greylisting (postgrey: "
       "\"450 4.2.0 ... Greylisted\").", "Keep this recipient and retry it later; the others are unaffected.",
       rfc="RFC 5321 §4.2.2"),
    _s(451, "rcpt", "temporary error checking the recipient",
       "A local error while checking the recipient: a directory or DNS lookup that failed, or a recipient "
       "verification that could not complete.", "Retry this recipient later; the others are unaffected.",
       rfc="RFC 5321 §4.2.2"),
    _s(503, "rcpt", "RCPT before MAIL", "RCPT needs an accepted MAIL first (RFC 5321 §3.3).",
       "Send `mail ADDRESS` and get 250 first.", rfc="RFC 5321 §3.3"),
    # -- DATA ----------------------------------------------------------------------------------------------
    _s(354, "data", "go ahead: send the message",
       "DATA is accepted: the server now reads the message text until a line holding a single dot.",
       "Send the headers, an empty line and the body (dot-stuffed), then the final dot; then wait for the reply "
       "that decides the message.", rfc="RFC 5321 §4.1.1.4"),
    _s(554, "data", "no valid recipients",
       "RFC 5321 §3.3: every RCPT was refused (or none was sent), so there is no one to deliver the message to.",
       "`rset`, then start again with at least one recipient that gets 250.", rfc="RFC 5321 §3.3"),
    _s(503, "data", "DATA out of sequence",
       "DATA needs MAIL and at least one accepted RCPT first (RFC 5321 §3.3); after BDAT, DATA is not allowed in "
       "the same transaction (RFC 3030 §2).", "Add a recipient that gets 250, then `data`.", rfc="RFC 5321 §3.3"),
    _s(250, "data", "DATA answered 250 instead of 354",
       "A protocol violation: only 354 lets the client send the message (RFC 5321 §4.3.2). No message was sent.",
       "`rset`; the server is broken or confused about the dialogue.", rfc="RFC 5321 §4.3.2"),
    # -- the end of the message: the final dot, BDAT LAST -----------------------------------------------
    _s(250, "end", "message accepted",
       "The server has taken responsibility for delivering the message (RFC 5321 §4.1.1.4): it will deliver it "
       "or send a bounce.",
       "Nothing to resend: sending it again would deliver a duplicate. Send MAIL for another message, or `quit`.",
       rfc="RFC 5321 §4.1.1.4"),
    _s((550, 554), "end", "message refused",
       "The server read the message and refused it: a content, spam or virus filter, or a policy check on the "
       "message (DKIM, DMARC, 5.7.x). Nothing was delivered.",
       "Don't send it again unchanged: the text and the enhanced code say what was objected to.",
       rfc="RFC 5321 §4.1.1.4"),
    _s(552, "end", "message too big",
       "The message is over the server's size limit or the mailbox's quota (5.3.4, 5.2.3, 5.2.2).",
       "Send a smaller message (a link instead of an attachment); compare its size with SIZE from EHLO.",
       rfc="RFC 5321 §4.2.2"),
    _s((450, 451, 452), "end", "message not accepted, for now",
       "Something failed on the server while it took the message (a filter, the disk, a quota): it was not "
       "accepted.", "Keep the message and send the whole of it again later.", rfc="RFC 5321 §4.1.1.4"),
    _s(353, "end", "PRDR: one reply per recipient follows",
       "draft-hall-prdr: the server will now answer once for each accepted recipient, then once for the message.",
       "Read one reply per accepted recipient, then the final one.", rfc="draft-hall-prdr"),
    # -- a BDAT chunk that is not the last -----------------------------------------------------------------
    _s(250, "chunk", "chunk received", "The server has the chunk; the message is not complete yet.",
       "Send the next chunk; the last one with LAST (`bdat`).", rfc="RFC 3030 §2"),
    _s(_FAILED, "chunk", "chunk refused, transaction failed",
       "RFC 3030 §2: a refused BDAT chunk fails the whole transaction.",
       "Send no more chunks: `rset`, fix what the text names, then start again.", rfc="RFC 3030 §2"),
    # -- others ------------------------------------------------------------------------------------------------
    _s(250, "rset", "transaction cleared", "The server forgot the sender and recipients given so far.",
       "Start a new transaction with MAIL when ready.", rfc="RFC 5321 §4.1.1.5"),
    _s(221, "quit", "goodbye", "The server acknowledges QUIT and closes the connection.",
       "Nothing more: `reconnect` to start another session.", rfc="RFC 5321 §4.1.1.10"),
    _s(250, "noop", "nothing done, still connected", "NOOP does nothing; the 250 shows the session is alive.",
       "Carry on.", rfc="RFC 5321 §4.1.1.9"),
    _s((), "unsolicited", "a reply nothing was waiting for",
       "The server sent a reply no command asked for: it spoke out of turn, or answered a command whose reply "
       "was not read (`raw` reading fewer replies than it sent, pipelining). Replies may now be out of step "
       "with commands.",
       "`drain` reads whatever else is waiting; a `noop` then shows whether replies are back in step.",
       rfc="RFC 5321 §4.3.1"),
)
"""Every situation, most specific first."""


@dataclass(frozen=True, slots=True)
class VendorNote:
    """How one provider uses an enhanced code, where it differs from the registry's words."""

    enhanced: tuple[str, ...]
    places: tuple[str, ...]
    vendor: str
    text: str


VENDOR_NOTES: tuple[VendorNote, ...] = (
    VendorNote(("5.4.1",), ("rcpt", "", "other"), "Microsoft Exchange Online",
               "\"550 5.4.1 Recipient address rejected: Access denied\" means the recipient does not exist in the "
               "receiving tenant (Directory-Based Edge Blocking), not the network problem RFC 3463's X.4.1 names: "
               "check the address."),
    VendorNote(("5.7.26",), (), "Gmail",
               "\"550-5.7.26 This mail has been blocked because the sender is unauthenticated\" (or \"... is not "
               "accepted due to domain's DMARC policy\"): the message passed neither SPF nor DKIM for its From: "
               "domain. Publish SPF, sign with DKIM, and align both with the From: domain (DMARC)."),
    VendorNote(("4.7.28", "5.7.28"), (), "Gmail",
               "4.7.28/5.7.28 means an unusual rate of unsolicited mail from your IP address or domain (a "
               "reputation limit, not RFC's \"mail flood\" of one recipient): slow down and check what is sent; a "
               "4.7.28 is deferred, retry later."),
)
"""Vendor usage that differs from the registry; shown marked ``vendor note (VENDOR)``."""
