"""The protocol tracker: what state the SMTP dialogue is in, learned from the wire.

Every command line sent and every reply received passes through the tracker,
whichever way it was produced (a high-level call, ``docmd``, ``raw``, a
pipelined group). It pairs each reply with the command it answers (first in,
first out, RFC 2920 §3.1), notices replies nobody asked for, and derives the
protocol stage: connected, greeted, identified, TLS, authenticated, in a
transaction, in DATA.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

GREETING = "<greeting>"
BODY_FOLLOWED = "(the body followed at once, before the 354)"
"""Argument of a DATA sent together with its body in one write: its 354 does not open DATA."""
END_OF_DATA = "<end of data>"
AUTH_RESPONSE = "<auth response>"


class Stage(str, Enum):
    """The protocol stage, in the order a session normally walks through them."""

    DISCONNECTED = "disconnected"
    CONNECTED = "connected"
    """TCP is up, the greeting has not arrived."""
    GREETED = "greeted"
    """The server sent its 220 banner; HELO/EHLO is next."""
    TLS = "tls"
    """STARTTLS succeeded; the client must EHLO again (RFC 3207 §4.2)."""
    IDENTIFIED = "identified"
    AUTHENTICATED = "authenticated"
    MAIL = "mail"
    """MAIL FROM accepted; RCPT TO is next."""
    RCPT = "rcpt"
    """At least one recipient accepted; more RCPT or DATA."""
    DATA = "data"
    """354 received; the message body is next."""


@dataclass(frozen=True, slots=True)
class RecipientResult:
    """One RCPT TO and what the server said to it (and, for LMTP, after DATA)."""

    address: str
    code: int
    text: str
    delivery_code: int | None = None
    delivery_text: str = ""

    @property
    def accepted(self) -> bool:
        return 200 <= self.code < 300

    @property
    def outcome(self) -> str:
        code = self.delivery_code if self.delivery_code is not None and self.accepted else self.code
        if 200 <= code < 300:
            return "accepted"
        if 400 <= code < 500:
            return "temporary failure"
        return "permanent failure"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A finished transaction: the envelope and the final reply (or replies, for LMTP)."""

    mail_from: str
    recipients: tuple[RecipientResult, ...]
    code: int
    text: str


@dataclass(frozen=True, slots=True)
class Pairing:
    """Which command a reply answered."""

    command: str
    """The verb (``EHLO``, ``RCPT``) or a marker such as ``<greeting>``."""
    argument: str
    unsolicited: bool = False


def _verb_and_argument(line: bytes) -> tuple[str, str]:
    text = line.rstrip(b"\r\n").decode("utf-8", "replace")
    verb, _, argument = text.partition(" ")
    return verb.upper(), argument


def _address(argument: str, keyword: str) -> str:
    """Extract the path from ``FROM:<a@b> SIZE=1`` (tolerating odd spacing)."""
    upper = argument.upper()
    if upper.startswith(keyword):
        argument = argument[len(keyword) :].lstrip()
    if argument.startswith("<"):
        end = argument.find(">")
        return argument[1:end] if end >= 0 else argument[1:]
    return argument.split(" ", 1)[0]


class ProtocolTracker:
    """Follows the dialogue and keeps the protocol state (one per connection)."""

    def __init__(self, lmtp: bool = False) -> None:
        self.lmtp = lmtp
        self.pending: deque[tuple[str, str]] = deque()
        self.connected = False
        self.greeted = False
        self.identified = False
        self.tls = False
        self.authenticated = False
        self.auth_user: str | None = None
        self.auth_mechanism: str | None = None
        self.mail_from: str | None = None
        self.smtputf8 = False
        """The transaction's MAIL carried SMTPUTF8 (RFC 6531): non-ASCII recipients may follow."""
        self.recipients: list[RecipientResult] = []
        self.in_data = False
        self.last_delivery: Delivery | None = None
        self.deliveries = 0
        self.quitting = False
        self._lmtp_results: list[tuple[int, str]] = []

    # -- connection events -------------------------------------------------------
    def on_connect(self) -> None:
        self.__init__(self.lmtp)  # type: ignore[misc]
        self.connected = True
        self.pending.append((GREETING, ""))

    def on_close(self) -> None:
        self.connected = False
        self.pending.clear()
        self.in_data = False

    def on_tls(self) -> None:
        """STARTTLS completed: RFC 3207 §4.2, forget what was learnt before it."""
        self.tls = True
        self.identified = False
        self.authenticated = False
        self.auth_user = None
        self.auth_mechanism = None
        self._reset_transaction()

    def on_implicit_tls(self) -> None:
        self.tls = True

    # -- traffic ---------------------------------------------------------------------
    def on_send(self, line: bytes, auth_continuation: bool = False, body_follows: bool = False) -> None:
        """A command line went out (not a DATA body line).

        Args:
            body_follows: a DATA whose body went out in the same write (``raw DATA\\r\\n...\\r\\n.``).
        """
        if auth_continuation:
            self.pending.append((AUTH_RESPONSE, ""))
            return
        verb, argument = _verb_and_argument(line)
        if body_follows:
            argument = BODY_FOLLOWED
        if verb == "BDAT" and self.lmtp and " LAST" in f" {argument.upper()}":
            self.on_body_sent()  # RFC 2033 + RFC 3030: one reply per accepted recipient
            return
        self.pending.append((verb, argument))

    def on_body_sent(self) -> None:
        """The body and its final dot went out: one reply (SMTP) or one per accepted recipient (LMTP)."""
        self.in_data = False
        expected = sum(1 for r in self.recipients if r.accepted) if self.lmtp else 1
        self._lmtp_results = []
        for _ in range(max(1, expected)):
            self.pending.append((END_OF_DATA, ""))

    @property
    def expected_data_replies(self) -> int:
        if not self.lmtp:
            return 1
        return max(1, sum(1 for r in self.recipients if r.accepted))

    def on_reply(self, code: int, text: str) -> Pairing:
        """A whole reply arrived; pair it with its command and update the state."""
        if not self.pending:
            if code == 421:
                self.quitting = True
            return Pairing("", "", unsolicited=True)
        verb, argument = self.pending.popleft()
        positive = 200 <= code < 300
        if code == 421:
            self.quitting = True
        if verb == GREETING:
            self.greeted = positive
        elif verb in ("EHLO", "HELO", "LHLO"):
            if positive:
                self.identified = True
                self._reset_transaction()
        elif verb == "AUTH" or verb == AUTH_RESPONSE:
            if code == 235:
                self.authenticated = True
        elif verb == "MAIL":
            if positive:
                self._reset_transaction()
                self.mail_from = _address(argument, "FROM:")
                self.smtputf8 = "SMTPUTF8" in argument.upper().split()
        elif verb == "RCPT":
            self.recipients.append(RecipientResult(_address(argument, "TO:"), code, text))
        elif verb == "DATA":
            if code == 354 and argument != BODY_FOLLOWED:
                self.in_data = True
        elif verb == "BDAT":
            if not positive:
                self._reset_transaction()
            elif " LAST" in f" {argument.upper()}":
                self._finish(code, text)
        elif verb == END_OF_DATA:
            self._lmtp_results.append((code, text))
            if not any(v == END_OF_DATA for v, _ in self.pending):
                self._finish(code, text)
        elif verb == "RSET":
            if positive:
                self._reset_transaction()
        elif verb == "XCLIENT":
            if code == 220:  # Postfix: a new greeting; the session starts over
                self.identified = False
                self.authenticated = False
                self._reset_transaction()
        elif verb == "QUIT":
            self.quitting = True
        return Pairing(verb, argument)

    def note_auth(self, user: str | None, mechanism: str) -> None:
        self.auth_user = user
        self.auth_mechanism = mechanism

    def _finish(self, code: int, text: str) -> None:
        recipients = tuple(self.recipients)
        if self.lmtp and self._lmtp_results:
            accepted = iter(self._lmtp_results)
            updated = []
            for recipient in recipients:
                if recipient.accepted:
                    result = next(accepted, None)
                    if result is not None:
                        recipient = RecipientResult(recipient.address, recipient.code, recipient.text, *result)
                updated.append(recipient)
            recipients = tuple(updated)
        self.last_delivery = Delivery(self.mail_from or "", recipients, code, text)
        if 200 <= code < 300:
            self.deliveries += 1
        self._reset_transaction()

    def _reset_transaction(self) -> None:
        self.mail_from = None
        self.smtputf8 = False
        self.recipients = []
        self.in_data = False
        self._lmtp_results = []

    @property
    def stage(self) -> Stage:
        if not self.connected:
            return Stage.DISCONNECTED
        if not self.greeted:
            return Stage.CONNECTED
        if self.in_data:
            return Stage.DATA
        if any(r.accepted for r in self.recipients):
            return Stage.RCPT
        if self.mail_from is not None:
            return Stage.MAIL
        if not self.identified:
            return Stage.TLS if self.tls else Stage.GREETED
        if self.authenticated:
            return Stage.AUTHENTICATED
        return Stage.IDENTIFIED


_ALWAYS = ("noop", "rset", "quit", "help", "verify", "vrfy", "expn", "docmd", "raw", "drain", "close")
_NEXT: dict[Stage, tuple[str, ...]] = {
    Stage.DISCONNECTED: ("connect", "reconnect"),
    Stage.CONNECTED: ("drain", "close", "reconnect"),
    Stage.GREETED: ("ehlo", "helo", "ehlo_or_helo_if_needed", "quit"),
    Stage.TLS: ("ehlo", "helo", "ehlo_or_helo_if_needed"),
    Stage.IDENTIFIED: ("starttls", "login", "auth", "mail", "sendmail", "send_message", "verify", "expn", "noop", "rset", "quit"),
    Stage.AUTHENTICATED: ("mail", "sendmail", "send_message", "noop", "rset", "quit"),
    Stage.MAIL: ("rcpt", "rset", "noop"),
    Stage.RCPT: ("rcpt", "data", "rset", "noop"),
    Stage.DATA: ("data",),
}


def valid_next(stage: Stage, tls: bool = False, authenticated: bool = False) -> tuple[str, ...]:
    """Commands that fit the protocol stage, most natural first (RFC 5321 §4.1.4)."""
    commands = list(_NEXT[stage])
    if stage is Stage.IDENTIFIED:
        if tls:
            commands.remove("starttls")
        if authenticated:
            for verb in ("login", "auth"):
                commands.remove(verb)
    if stage not in (Stage.DISCONNECTED, Stage.CONNECTED, Stage.DATA):
        commands += [c for c in _ALWAYS if c not in commands]
    return tuple(commands)


def out_of_order(command: str, stage: Stage, *, tls: bool = False, authenticated: bool = False,
                 starttls_advertised: bool = True) -> str | None:
    """Why ``command`` breaks the protocol in ``stage`` (RFC 5321 §4.1.4, RFC 3207, RFC 4954), or ``None``.

    The command is still sent: a debugger must let you break the rules on purpose.
    """
    identified = stage in (Stage.IDENTIFIED, Stage.AUTHENTICATED, Stage.MAIL, Stage.RCPT)
    if command in ("mail", "sendmail", "send_message") and stage in (Stage.GREETED, Stage.TLS):
        return "MAIL before EHLO/HELO: RFC 5321 §4.1.4 says the client must identify itself first"
    if command == "mail" and stage in (Stage.MAIL, Stage.RCPT):
        return "MAIL inside a transaction: RFC 5321 §4.1.1.2 expects RSET (or the end of DATA) first"
    if command == "rcpt" and stage in (Stage.GREETED, Stage.TLS, Stage.IDENTIFIED, Stage.AUTHENTICATED):
        return "RCPT before MAIL: RFC 5321 §4.1.1.3 needs a MAIL FROM first; expect 503"
    if command == "data" and stage is Stage.MAIL:
        return "DATA before any recipient was accepted: RFC 5321 §4.1.1.4; expect 503 or 554"
    if command == "data" and stage in (Stage.GREETED, Stage.TLS, Stage.IDENTIFIED, Stage.AUTHENTICATED):
        return "DATA outside a transaction: RFC 5321 §4.1.1.4 needs MAIL and RCPT first; expect 503"
    if command == "starttls" and tls:
        return "STARTTLS on a connection that is already TLS: RFC 3207 §4.2 forbids it; expect 503"
    if command == "starttls" and stage in (Stage.MAIL, Stage.RCPT):
        return "STARTTLS inside a transaction: RFC 3207 §4 expects it before MAIL"
    if command in ("auth", "login") and authenticated:
        return "AUTH after a successful AUTH: RFC 4954 §4 forbids a second one; expect 503"
    if command in ("auth", "login") and stage in (Stage.MAIL, Stage.RCPT):
        return "AUTH inside a transaction: RFC 4954 §4 forbids it; expect 503"
    if command in ("auth", "login", "starttls", "rcpt", "data") and stage in (Stage.GREETED, Stage.TLS) and not identified:
        if stage is Stage.TLS:
            return "the session is back to the start after STARTTLS: RFC 3207 §4.2 says EHLO again first"
        return f"{command.upper()} before EHLO: the server has not said what it supports yet"
    return None
