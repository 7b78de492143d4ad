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

from dataclasses import dataclass, replace

from smtpdbg.core.events import Direction, LedgerChange, Reply, Unanswered, Wire
from smtpdbg.core.verdict import UNKNOWN_WARNING, Fate, ReplyClass, Verdict, classify_reply

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


def outcome_of_reply(command: str, reply, elapsed: float, connected: bool) -> Outcome:
    """The outcome of a command that ran to its end: ok or not by the reply it ended with (``None``: local)."""
    if reply is None:
        return Outcome(command, True, elapsed=elapsed, connected=connected)
    code, text = reply.code, reply.text
    message = text
    reply_class = classify_reply(code)
    if code < 0:
        from smtpdbg.core.render import safe_text

        category, ok = "garbage-reply", False
        message = f"the server answered with a line that has no reply code: {safe_text(text[:80])!r}"
    elif reply_class is ReplyClass.VIOLATION:
        category, ok = "reply-violation", False
        message = f"{code} is not a valid SMTP reply code (RFC 5321 §4.2): {text}"
    elif reply_class is ReplyClass.PERMANENT:
        category, ok = "reply-5xx", False
    elif reply_class is ReplyClass.TRANSIENT:
        category, ok = "reply-4xx", False
    else:
        category, ok = "", reply.ok
    return Outcome(command, ok, code, text, category, message if not ok else "", elapsed, connected, reply.replies)


def stage_of_verb(verb: str) -> str:
    return _STAGE_OF_VERB.get(verb, "command")


def judge(outcome: Outcome, name: str, events: list, *, network: bool) -> Outcome:
    """Complete a command's outcome from the events it produced.

    Args:
        outcome: what the handler returned or raised, as an :class:`Outcome`.
        name: the command's name (``sendmail``, ``docmd``...).
        events: the transcript events recorded while the command ran.
        network: whether the command talks to the server.
    """
    if not network:
        return outcome
    sent = any(isinstance(e, Wire) and e.direction is Direction.SEND for e in events)
    failing = next((e for e in events if isinstance(e, Reply) and e.verdict.failed and not e.unsolicited), None)
    unanswered = next((e for e in events if isinstance(e, Unanswered)), None)
    decided = _decided(events)
    broken = next((e for e in events if isinstance(e, Reply) and e.verdict is Verdict.VIOLATION and not e.unsolicited
                   and e.code is not None and e.code >= 0), None)
    if broken is not None and (outcome.ok or outcome.category == "data-refused"):
        # A reply this command cannot get (334 to MAIL, 250 to DATA, 220 to EHLO) is neither a success
        # nor a refusal: the server broke the protocol (RFC 5321 §4.3.2).
        said = f"{broken.code} {broken.text.splitlines()[0] if broken.text else ''}".rstrip()
        return replace(outcome, ok=False, code=broken.code, category="reply-violation", sent=sent,
                       stage=stage_of_verb(broken.command), message=f"{broken.violation} (the reply: {said})")
    if not outcome.ok:
        if failing is not None and outcome.code is not None:
            stage = stage_of_verb(failing.command)
        elif outcome.category in _TLS_FAILURES:  # the handshake failed: implicit TLS's too, not the TCP connect
            stage = "tls"
        elif unanswered is not None:
            stage = "connect" if name in ("connect", "reconnect") else stage_of_verb(unanswered.command)
        else:
            stage = _STAGE_OF_COMMAND.get(name, "command")
        message = outcome.message
        local = name not in ("connect", "reconnect") and outcome.category in _LOCAL | {"not-supported", "smtp-error"}
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


__all__ = ["Outcome", "STAGES", "Verdict", "judge", "stage_of_verb"]
