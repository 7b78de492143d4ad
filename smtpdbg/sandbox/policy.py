"""What the sandbox answers, and what it records: the aiosmtpd handler.

The replies are chosen to teach and to test, and never depend on the machine:

========================================  ==============================================
Situation                                 Reply
========================================  ==============================================
MAIL FROM accepted                        ``250 2.1.0 OK``
RCPT to a ``reject@`` local part, or to   ``550 5.1.1 <addr>: Recipient address rejected:
an address in ``config.reject``           User unknown``
RCPT to ``greylist@``, or to an address   ``451 4.7.1 Greylisted, try again later``
in ``config.greylist``
RCPT to ``full@`` (SMTP)                  ``452 4.2.2 Mailbox full``
any other RCPT                            ``250 2.1.5 OK``
DATA with header ``X-Sandbox-Reject:      ``554 5.6.0 Message rejected by sandbox policy``
yes``                                     (after the final dot)
DATA otherwise (SMTP)                     ``250 2.0.0 OK: message accepted``
DATA for a ``drop@`` recipient            none: the message is recorded, then the
                                          connection is closed (:mod:`.outcomes`)
DATA for a ``delay@`` recipient           the reply above, after ``config.reply_delay``
                                          seconds (default 10)
DATA over LMTP                            one line per accepted recipient (RFC 2033 §4.2):
                                          ``452 4.2.2 <addr> Mailbox full`` for ``full@``,
                                          else ``250 2.0.0 <addr> delivered``
VRFY of a known user                      ``250 2.1.5 Alice <alice@HOSTNAME>``
VRFY of another user at HOSTNAME (or of   ``550 5.1.1 <addr>: User unknown``
a bare local part)
VRFY of an address in another domain      ``252 2.1.5 Cannot VRFY user, but will accept
                                          message and attempt delivery``
========================================  ==============================================

The same holds for a message sent with BDAT (:mod:`.chunking`): the LAST
chunk gets the reply DATA's final dot would get.

The EHLO/LHLO reply lists aiosmtpd's keywords, then PIPELINING and
ENHANCEDSTATUSCODES (always: RFC 2033 §5 requires both of LMTP), CHUNKING and BINARYMIME
(unless turned off), XCLIENT and XFORWARD (when turned on), then
``extra_extensions``, then HELP; in the AUTH line XOAUTH2 and OAUTHBEARER come
after the other mechanisms (aiosmtpd would sort them in between).

Known users are ``alice``, ``bob``, ``carol`` and the configured demo login.
Local parts are compared case-insensitively. Over LMTP a ``full@`` recipient is
accepted at RCPT and refused at DATA, so the per-recipient replies differ.
A message is recorded once it is accepted for at least one recipient; for LMTP
only the recipients it was delivered to are listed, and the stored copy gets
``Return-Path:`` and ``Received:`` on top (:mod:`.delivery`).

Lesson settings add refusals at RCPT and after the final dot (all off by
default): relaying only after AUTH (:mod:`.relay`), recipients in a null-MX
domain (:mod:`.dns`), and the big providers' policy rejections (:mod:`.providers`).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from smtpdbg.sandbox import dsn
from smtpdbg.sandbox.limits import Greylist, client_address, message_limit_reply, recipient_limit_reply
from smtpdbg.sandbox.delivery import protocol_name, trace_lines
from smtpdbg.sandbox.model import ReceivedMessage, SandboxConfig
from smtpdbg.sandbox.oauth import OAUTH_MECHANISMS
from smtpdbg.sandbox.outcomes import reply_fault
from smtpdbg.sandbox.providers import content_reply, rcpt_checks
from smtpdbg.sandbox.smuggling import bare_lf_reply, mode_for

KNOWN_USERS: dict[str, str] = {"alice": "Alice", "bob": "Bob", "carol": "Carol"}
"""Local parts VRFY confirms, with their display names."""

REJECT_HEADER = re.compile(rb"^X-Sandbox-Reject:[ \t]*yes[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
"""The header that makes the sandbox refuse a message after the final dot."""

REPLY_MAIL_OK = "250 2.1.0 OK"
REPLY_RCPT_OK = "250 2.1.5 OK"
REPLY_GREYLISTED = "451 4.7.1 Greylisted, try again later"
REPLY_FULL = "452 4.2.2 Mailbox full"
REPLY_POLICY_REJECT = "554 5.6.0 Message rejected by sandbox policy"
REPLY_DATA_OK = "250 2.0.0 OK: message accepted"


def local_part(address: str) -> str:
    """The lower-cased part before the last ``@`` (the whole address if there is none)."""
    return address.rpartition("@")[0].lower() if "@" in address else address.lower()


def rcpt_reply(address: str, config: SandboxConfig, *, lmtp: bool = False) -> str | None:
    """The refusal for a recipient at RCPT time, or None to accept it."""
    lowered, local = address.lower(), local_part(address)
    if local == "reject" or lowered in config.reject:
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
    if local == "greylist" or lowered in config.greylist:
        return REPLY_GREYLISTED
    if local == "full" and not lmtp:
        return REPLY_FULL
    return None


def lmtp_delivery_reply(address: str) -> str:
    """The per-recipient LMTP reply after the final dot."""
    if local_part(address) == "full":
        return f"452 4.2.2 <{address}> Mailbox full"
    return f"250 2.0.0 <{address}> delivered"


def vrfy_reply(address: str, config: SandboxConfig) -> str:
    """The VRFY answer for ``address`` (see the module docstring)."""
    local, _, domain = address.rpartition("@") if "@" in address else (address, "", "")
    if domain and domain.lower() != config.hostname.lower():
        return "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery"
    known = dict(KNOWN_USERS)
    known.setdefault(local_part(config.user), config.user)
    name = known.get(local.lower())
    if name is None:
        return f"550 5.1.1 <{address}>: User unknown"
    return f"250 2.1.5 {name} <{local.lower()}@{config.hostname}>"


def is_policy_reject(content: bytes) -> bool:
    """Whether the header section of ``content`` carries ``X-Sandbox-Reject: yes``."""
    header_end = re.search(rb"\r?\n\r?\n", content)
    headers = content if header_end is None else content[: header_end.start() + 1]
    return REJECT_HEADER.search(headers) is not None


class SandboxHandler:
    """aiosmtpd handler shared by all listeners; ``server`` tells them apart."""

    def __init__(self, config: SandboxConfig, record: Callable[[ReceivedMessage], None]) -> None:
        self._config = config
        self._record = record
        self._greylist = Greylist(config.greylist_delay) if config.greylist_delay is not None else None

    async def handle_HELO(
        self, server: Any, session: Any, envelope: Any, hostname: str
    ) -> str:
        # With a HELO hook aiosmtpd leaves remembering the greeting to us, as for EHLO.
        session.host_name = hostname
        server.connection.update(helo=hostname)
        return f"250 {server.hostname}"

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        # With a 5-argument hook aiosmtpd leaves remembering the greeting to us.
        session.host_name = hostname
        server.connection.update(helo=hostname)
        responses = [_oauth_last(line) for line in responses]
        present = {line[4:].split(" ", 1)[0].upper() for line in responses[1:]}
        extra = []
        for keyword in server.advertised_extensions():
            name = keyword.split()[0].upper() if keyword.strip() else ""
            if name and name not in present:
                present.add(name)
                extra.append(f"250-{keyword}")
        return responses[:-1] + extra + responses[-1:]

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        # Limits, DSN parameters (.limits, .dsn): refused before anything is kept.
        refusal = message_limit_reply(server.connection.get("messages"), self._config.max_messages,
                                      server.hostname) or (self._config.dsn and dsn.mail_params_reply(server.pending_params))
        if refusal:
            return refusal
        envelope.mail_from = address
        envelope.mail_options = list(server.pending_params)
        # Only reached with CHUNKING on: otherwise aiosmtpd refused BODY=BINARYMIME.
        envelope.binarymime = any(p.upper() == "BODY=BINARYMIME" for p in server.pending_params)
        return REPLY_MAIL_OK

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        config = self._config
        refusal = rcpt_reply(address, config, lmtp=server.listener == "lmtp")
        if refusal == REPLY_GREYLISTED and self._greylist is not None and self._greylist.passes(
                client_address(session.peer), envelope.mail_from or "", address):
            refusal = None
        refusal = (refusal or rcpt_checks(config, envelope.mail_from or "", address, client_address(session.peer),
                                          bool(session.authenticated), server.hostname)
                   or (config.dsn and dsn.rcpt_params_reply(server.pending_params))
                   or recipient_limit_reply(len(envelope.rcpt_tos), config.max_recipients))
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(tuple(server.pending_params))
        return REPLY_RCPT_OK

    async def handle_VRFY(self, server: Any, session: Any, envelope: Any, address: str) -> str:
        return vrfy_reply(address, self._config)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.content
        rejected = is_policy_reject(content)
        recipients = list(zip(envelope.rcpt_tos, envelope.rcpt_options))
        # The whole message is in: a drop@/delay@ recipient spoils the reply (see .outcomes).
        fault = server.reply_fault = reply_fault(envelope.rcpt_tos)
        if server.listener != "lmtp":
            mode = mode_for(self._config.bare_lf, envelope.rcpt_tos, server.hostname)
            refusal = REPLY_POLICY_REJECT if rejected else (
                self._config.provider_policy and content_reply(content)) or bare_lf_reply(
                mode, content, bool(getattr(envelope, "chunks", ())))
            if refusal:
                return refusal
            return REPLY_DATA_OK + self._deliver(server, session, envelope, recipients, fault)
        # RFC 2033 §4.2: one reply per accepted recipient, in RCPT order. aiosmtpd
        # pushes our string as one write, so CRLF-joined lines become separate replies.
        replies = [
            REPLY_POLICY_REJECT if rejected else lmtp_delivery_reply(address)
            for address, _ in recipients
        ]
        delivered = [pair for pair, reply in zip(recipients, replies) if reply.startswith("250")]
        if delivered:
            self._record_message(server, session, envelope, delivered, fault)
        return "\r\n".join(replies)

    def _deliver(self, server: Any, session: Any, envelope: Any, recipients: list[tuple[str, Any]],
                 fault: Any) -> str:
        """Record the message for the recipients it reaches; with DSN on, report to the sender (.dsn).

        Returns what to add to the 250 (with DSN on: whether a report goes to the sender)."""
        if not self._config.dsn:
            self._record_message(server, session, envelope, recipients, fault)
            return ""
        reached = [pair for pair in recipients if dsn.reaches(pair[0])]
        if reached:
            self._record_message(server, session, envelope, reached, fault)
        sender = "" if envelope.mail_from == "<>" else envelope.mail_from
        content = dsn.report(server.hostname, sender, envelope.mail_options, recipients, bytes(envelope.content))
        if content is None:
            return "; no delivery report" + (" (the sender is <>)" if not sender else "")
        self._record(ReceivedMessage(
            listener=server.listener, mail_from="", mail_options=(), rcpt_tos=(sender,), rcpt_options=((),),
            content=content, peer=None, tls=False, auth_user=None, helo=server.hostname,
            connection_id=server.connection.id, transaction=server.transaction_number,
        ))
        return f"; a delivery status report goes to <{sender}>"

    def _record_message(
        self, server: Any, session: Any, envelope: Any, recipients: list[tuple[str, Any]],
        fault: Any = None,
    ) -> None:
        connection = server.connection
        connection.update(messages=connection.get("messages") + 1)
        authenticated = bool(session.authenticated)
        mail_from = "" if envelope.mail_from == "<>" else envelope.mail_from
        rcpt_tos = tuple(address for address, _ in recipients)
        protocol = protocol_name(
            lmtp=server.listener == "lmtp", extended=bool(session.extended_smtp),
            tls=server.tls_active, authenticated=authenticated,
        )
        trace = trace_lines(
            mail_from=mail_from, rcpt_tos=rcpt_tos, helo=session.host_name, peer=session.peer,
            hostname=self._config.hostname, protocol=protocol,
            message_id=f"{connection.id}.{server.transaction_number}",
        )
        self._record(
            ReceivedMessage(
                listener=server.listener,
                # aiosmtpd keeps the null reverse-path as the literal "<>".
                mail_from=mail_from,
                mail_options=tuple(envelope.mail_options),
                rcpt_tos=rcpt_tos,
                rcpt_options=tuple(tuple(options) for _, options in recipients),
                content=bytes(envelope.content),
                peer=session.peer,
                tls=server.tls_active,
                auth_user=session.auth_data if authenticated else None,
                helo=session.host_name,
                chunks=tuple(getattr(envelope, "chunks", ())),
                auth_mechanism=getattr(session, "auth_mechanism", None) if authenticated else None,
                xclient=tuple(server.xclient_attributes.items()),
                xforward=tuple(getattr(envelope, "xforward", {}).items()),
                proxy=connection.get("proxy"),
                sni=connection.get("sni"),
                client_cert=connection.get("client_cert"),
                connection_id=connection.id,
                transaction=server.transaction_number,
                fault=fault,
                trace=trace,
            )
        )


def _oauth_last(line: str) -> str:
    """The EHLO AUTH line with XOAUTH2 and OAUTHBEARER moved after the others."""
    if not line.startswith("250-AUTH "):
        return line
    mechanisms = line[len("250-AUTH "):].split()
    oauth = [m for m in OAUTH_MECHANISMS if m in mechanisms]
    return "250-AUTH " + " ".join([m for m in mechanisms if m not in oauth] + oauth)

