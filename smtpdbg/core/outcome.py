"""How one command ended, judged from the exchanges it caused.

A command's outcome is not just its last reply: ``sendmail`` can get its
250 after the final dot while one recipient was refused at RCPT, and a
``pipeline`` group can end in 354 after a 550. :func:`judge` reads the
:class:`~smtpdbg.core.events.Reply`, :class:`~smtpdbg.core.events.Unanswered`
and :class:`~smtpdbg.core.events.LedgerChange` events the command produced
and decides: ok or not, the protocol stage that failed (which ``run`` turns
into its exit status), and whether anything was sent at all.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

from smtpdbg.core.events import Direction, Info, LedgerChange, Reply, Unanswered, Wire
from smtpdbg.core.verdict import UNKNOWN_WARNING, Fate, ReplyClass, Verdict, classify_reply, code_text

_TLS_FAILURES = frozenset({"tls-verify", "tls-error", "tls-plaintext"})
"""Categories of a failed TLS handshake (STARTTLS or implicit TLS): their stage is ``tls``."""

STAGES = ("connect", "banner", "ehlo", "tls", "auth", "mail", "rcpt", "data", "command")
"""Where a command can fail, in protocol order (``run`` maps each to an exit status)."""

_STAGE_OF_VERB = {
    "<greeting>": "banner", "EHLO": "ehlo", "HELO": "ehlo", "LHLO": "ehlo", "STARTTLS": "tls",
    "AUTH": "auth", "<auth response>": "auth", "MAIL": "mail", "RCPT": "rcpt", "DATA": "data",
    "<end of data>": "data", "BDAT": "data",
}
_STAGE_OF_COMMAND = {
    "connect": "connect", "reconnect": "connect", "ehlo": "ehlo", "helo": "ehlo", "ehlo_or_helo_if_needed": "ehlo",
    "starttls": "tls", "login": "auth", "auth": "auth", "mail": "mail", "rcpt": "rcpt", "data": "data",
    "sendmail": "data", "send_message": "data", "bdat": "data",
}
_GONE = frozenset({"not-connected", "disconnected"})
"""Categories of a command that found the connection gone."""
_REPLY_FAILURES = frozenset({"reply-4xx", "reply-5xx", "reply-violation", "garbage-reply"})
_LOCAL = {"command", "file", "not-connected", "parse", "value", "stopped", "internal", "encoding", "not-supported"}
"""Failure categories that happen on the client's side."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one command ended."""

    command: str
    ok: bool
    code: int | None = None
    text: str = ""
    category: str = ""
    """Empty on success; an error category (``timeout``, ``reply-5xx``, ``recipient-refused``...) otherwise."""
    message: str = ""
    elapsed: float = 0.0
    connected: bool = False
    """Whether the connection is usable after the command."""
    replies: tuple[tuple[int, str], ...] = ()
    """Every reply the command read (several for ``raw --replies``, ``pipeline``, LMTP DATA)."""
    stage: str = ""
    """For a failure: the protocol stage that failed (one of :data:`STAGES`), from the exchange that failed."""
    sent: bool = True
    """Whether anything went on the wire (a command smtplib refused locally sent nothing)."""
    command_id: int = 0
    """The session's number for the command (its :class:`~smtpdbg.core.events.CommandStart` ``command_id``)."""
    late: tuple[tuple[int, "Outcome"], ...] = ()
    """Failures that belong to earlier commands: replies to exchanges they sent arrived while this one ran
    (``raw`` read fewer replies than it sent). Each is ``(the sending command's id, its failure)``."""


def outcome_of_reply(command: str, reply, elapsed: float, connected: bool) -> Outcome:
    """The outcome of a command that ran to its end: ok or not by the reply it ended with (``None``: local)."""
    if reply is None:
        return Outcome(command, True, elapsed=elapsed, connected=connected)
    code, text = reply.code, reply.text
    message = text
    reply_class = classify_reply(code)
    if code < 0:
        category, ok = "garbage-reply", False
        from smtpdbg.core.render import safe_text

        message = f"the server answered with a line that has no reply code: '{safe_text(text[:80])}'"  # escaped once, not repr'd too
    elif reply_class is ReplyClass.VIOLATION:
        category, ok = "reply-violation", False
        message = f"{code_text(code)} is not a valid SMTP reply code (RFC 5321 §4.2): {text}"
    elif reply_class is ReplyClass.PERMANENT:
        category, ok = "reply-5xx", False
    elif reply_class is ReplyClass.TRANSIENT:
        category, ok = "reply-4xx", False
    else:
        category, ok = "", reply.ok
    return Outcome(command, ok, code, text, category, message if not ok else "", elapsed, connected, reply.replies)


def stage_of_verb(verb: str) -> str:
    return _STAGE_OF_VERB.get(verb, "command")


class Senders:
    """Which command sent each exchange, for the last :data:`KEEP` commands (exchange ids only grow)."""

    KEEP = 256

    def __init__(self) -> None:
        self._firsts: deque[tuple[int, int]] = deque(maxlen=self.KEEP)

    def started(self, command_id: int, first_exchange: int) -> None:
        """Command ``command_id`` starts; the exchanges it sends are numbered from ``first_exchange``."""
        self._firsts.append((first_exchange, command_id))

    def sender(self, exchange: int) -> int:
        """The id of the command that sent ``exchange`` (0: not known any more)."""
        for first, command_id in reversed(self._firsts):
            if first <= exchange:
                return command_id
        return 0


def judge(outcome: Outcome, name: str, events: list, *, network: bool, first_exchange: int = 0,
          senders: Senders | None = None) -> Outcome:
    """Complete a command's outcome from the events it produced.

    Args:
        outcome: what the handler returned or raised, as an :class:`Outcome`.
        name: the command's name (``sendmail``, ``docmd``...).
        events: the transcript events recorded while the command ran.
        network: whether the command talks to the server.
        first_exchange: the id of the first exchange this command could send: replies to earlier ones
            (late replies) are judged for the command that sent them (see :attr:`Outcome.late`).
        senders: which command sent each earlier exchange.
    """
    if not network:
        return outcome
    if senders is not None and first_exchange > 1:
        events, earlier = _own_and_earlier(events, first_exchange, senders)
        late = tuple((command_id, failure) for command_id, theirs in earlier.items()
                     if (failure := _late_failure(theirs)) is not None)
        if late:
            if (outcome.category in _REPLY_FAILURES
                    and not any(isinstance(e, Reply) and e.verdict.failed and not e.unsolicited for e in events)):
                outcome = replace(outcome, ok=True, category="", message="")  # the failing reply was theirs (drain)
            return replace(_judge(outcome, name, events), late=late)
    return _judge(outcome, name, events)


def _own_and_earlier(events: list, first_exchange: int, senders: Senders) -> tuple[list, dict[int, list]]:
    """This command's events, and the replies (with the ledger changes they caused) to earlier commands'
    exchanges, by the id of the command that sent them."""
    own: list = []
    earlier: dict[int, list] = {}
    replied = (0, 0)
    """(exchange, its sender) of the reply just read: the ledger changes right after it are its consequences."""
    for event in events:
        sender = 0
        if isinstance(event, Reply):
            exchange = 0 if event.unsolicited else event.exchange
            sender = senders.sender(exchange) if 0 < exchange < first_exchange else 0
            replied = (exchange, sender)
        elif isinstance(event, LedgerChange):
            decided = event.transaction.recipients[event.decided[0]].exchange if event.decided else 0
            sender = replied[1] if decided and decided == replied[0] else 0
        elif not isinstance(event, Info):  # a line sent, a connection closed: what follows is not the reply's
            replied = (0, 0)
        if sender:
            earlier.setdefault(sender, []).append(event)
        else:
            own.append(event)
    return own, earlier


def _late_failure(events: list) -> Outcome | None:
    """The failure late replies mean for the command that sent their exchanges (``None``: they were fine)."""
    judged = _judge(Outcome("", True), "", events)
    if not judged.ok:
        return replace(judged, sent=True)
    failing = next((e for e in events if isinstance(e, Reply) and e.verdict.failed), None)
    if failing is None:
        return None
    category = {ReplyClass.TRANSIENT: "reply-4xx", ReplyClass.PERMANENT: "reply-5xx"}.get(failing.reply_class, "reply-violation")
    return Outcome("", False, failing.code, failing.text, category, failing.text,
                   stage=stage_of_verb(failing.command))


def _judge(outcome: Outcome, name: str, events: list) -> Outcome:
    sent = any(isinstance(e, Wire) and e.direction is Direction.SEND for e in events)
    failing = next((e for e in events if isinstance(e, Reply) and e.verdict.failed and not e.unsolicited), None)
    unanswered = next((e for e in events if isinstance(e, Unanswered)), None)
    decided = _decided(events)
    broken = next((e for e in events if isinstance(e, Reply) and e.verdict is Verdict.VIOLATION and not e.unsolicited
                   and e.code is not None and e.code >= 0), None)
    if broken is not None and (outcome.ok or outcome.category in ("data-refused", "reply-4xx", "reply-5xx")):
        # A reply this command cannot get (334 to MAIL, 250 to DATA, 220 to EHLO), or whose code changed inside
        # it, is neither a success nor a refusal: the server broke the protocol (RFC 5321 §4.3.2, §4.2.1).
        lines = broken.text.split("\n")  # the code is the last line's when it changed inside the reply
        said = f"{broken.code} {lines[-1] if broken.reply_class is ReplyClass.VIOLATION else lines[0]}".rstrip()
        return replace(outcome, ok=False, code=broken.code, category="reply-violation", sent=sent,
                       stage=stage_of_verb(broken.command), message=f"{broken.violation} (the reply: {said})")
    if not outcome.ok:
        if failing is not None and (outcome.code is not None or outcome.category == "recipients-refused"):
            stage = stage_of_verb(failing.command)  # every recipient refused (sendmail): the RCPT stage
        elif outcome.category in _TLS_FAILURES:  # the handshake failed: implicit TLS's too, not the TCP connect
            stage = "tls"
        elif unanswered is not None:
            stage = "connect" if name in ("connect", "reconnect") else stage_of_verb(unanswered.command)
        elif not sent and outcome.category in _GONE and name not in ("connect", "reconnect"):
            stage = "command"  # nothing was refused: the connection had ended before it could be sent
        else:
            stage = _STAGE_OF_COMMAND.get(name, "command")
        message = outcome.message
        local = name not in ("connect", "reconnect") and outcome.category in _LOCAL | _GONE | {"not-supported", "smtp-error"}
        if local and message and not message.startswith("not sent"):
            greetings = _own_greetings(events, name)
            if not sent:
                message = f"not sent: {message}"
            elif greetings:  # starttls/sendmail after STARTTLS: smtplib greets by itself, then refuses locally
                message = f"not sent: {message} (only smtplib's own {greetings} went out first)"
        unknown = [r for r in decided if r.fate is Fate.UNKNOWN]
        if unknown:
            message += f"; the outcome for {len(unknown)} recipient(s) is unknown: {UNKNOWN_WARNING}"
        return replace(outcome, stage=stage, sent=sent, message=message)
    # A refusal is the failure of the command that got it: a recipient decided now by an earlier reply (a DATA
    # refused before, which the RSET/QUIT/MAIL ending the transaction makes final) does not fail this command.
    replied = {e.exchange for e in events if isinstance(e, Reply)}
    bad = [r for r in decided if r.fate is Fate.UNKNOWN or (r.fate in (Fate.TEMPORARY, Fate.PERMANENT)
                                                           and r.exchange in replied)]
    if not bad:
        return replace(outcome, sent=sent)
    first = bad[0]
    if first.fate is Fate.UNKNOWN:
        category = "outcome-unknown"
    else:
        category = "recipient-refused" if first.fate is Fate.PERMANENT else "recipient-deferred"
    stage = "rcpt" if first.decided_at == "RCPT" else "data"
    message = "; ".join(r.line() for r in bad)
    return replace(outcome, ok=False, category=category, message=message, stage=stage, sent=sent)


def _own_greetings(events: list, name: str) -> str:
    """``EHLO`` when the only lines a command sent were the greeting smtplib sends by itself."""
    if name in ("ehlo", "helo", "ehlo_or_helo_if_needed", "raw", "docmd", "pipeline"):
        return ""
    verbs = {e.data.split(None, 1)[0].upper().decode("ascii", "replace") for e in events
             if isinstance(e, Wire) and e.direction is Direction.SEND and e.data.strip()}
    return "/".join(sorted(verbs)) if verbs and verbs <= {"EHLO", "HELO", "LHLO"} else ""


def _decided(events: list) -> list:
    """Recipients whose fate these events decided (each in its latest form)."""
    fates: dict[tuple[int, int], object] = {}
    for event in events:
        if isinstance(event, LedgerChange):
            for index in event.decided:
                fates[(event.transaction.index, index)] = event.transaction.recipients[index]
    return list(fates.values())


__all__ = ["Outcome", "STAGES", "Senders", "Verdict", "judge", "stage_of_verb"]
