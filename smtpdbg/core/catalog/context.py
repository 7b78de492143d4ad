"""A reply explained in its context: the code, its enhanced code, the command it answers and the stage.

This is the one function every place that explains a reply goes through: the
``explain`` command, the app's meaning panel and failure lines, the REPL's
inline meanings and ``run``. Given a :class:`smtpdbg.core.events.Reply` (which
already knows what it answers), :func:`explain_exchange` says what the reply
means *there*, what the client should do next, and whether the mail transaction
goes on; :func:`explain_in_context` does the same from the parts, and without a
command gives the general meaning with the main variants by command.

The meanings come from :mod:`.situations` (context-specific), :mod:`.replies`
(the code in general), :mod:`.enhanced` (the RFC 3463 detail) and the marked
vendor notes. Standard library only; never raises on odd input.
"""

from __future__ import annotations

from dataclasses import dataclass

from smtpdbg.core.catalog.enhanced import associated_with, explain_enhanced, parse_enhanced
from smtpdbg.core.catalog.replies import AUTH_RESPONSE, END_OF_DATA, GREETING, REPLY_CODES, reply_class_meaning
from smtpdbg.core.catalog.situations import PLACES, SITUATIONS, VENDOR_NOTES, Situation
from smtpdbg.core.verdict import ReplyClass, code_text, enhanced_code

__all__ = ["Explanation", "explain_exchange", "explain_in_context", "place_of", "vendor_notes"]

_OUTCOMES = {2: "ok", 3: "go on", 4: "temporary failure", 5: "permanent failure"}
_PLACE_OF_VERB = {
    GREETING: "greeting", "EHLO": "ehlo", "LHLO": "ehlo", "HELO": "helo", "STARTTLS": "starttls", "AUTH": "auth",
    AUTH_RESPONSE: "auth", "MAIL": "mail", "RCPT": "rcpt", "DATA": "data", END_OF_DATA: "end", "RSET": "rset",
    "QUIT": "quit", "VRFY": "verify", "EXPN": "verify", "NOOP": "noop", "HELP": "help",
}
_EXAMPLE_COMMAND = {place: verb for verb, place in reversed(_PLACE_OF_VERB.items())} | {"chunk": "BDAT"}
"""A command standing for each place, for the variants of a code explained without context."""
_VARIANT_PLACES = ("greeting", "ehlo", "helo", "starttls", "auth", "mail", "rcpt", "data", "chunk", "end")


@dataclass(frozen=True, slots=True)
class Explanation:
    """What one reply means where it came, in words a frontend prints as they are."""

    code: int | None
    enhanced: str | None
    command: str
    """What it answers (``RCPT``, ``<end of data>``); empty without context."""
    place: str
    """A key of :data:`.situations.PLACES` (``rcpt``, ``end``...); empty without context."""
    where: str
    """The place in words: ``at RCPT``, ``after the final dot``; empty without context."""
    outcome: str
    """``ok``, ``go on``, ``temporary failure``, ``permanent failure`` or ``not an SMTP reply``."""
    title: str
    """What it is here, in a few words: ``recipient refused by policy``."""
    meaning: str
    next_step: str
    transaction: str = ""
    """Whether the mail transaction goes on, as a sentence starting with a verdict word
    (``goes on —``, ``over —``, ``not started —``...); empty when no transaction is concerned."""
    goes_on: bool | None = None
    """True: the mail transaction continues; False: none is open after it; None: not about one."""
    variants: tuple[str, ...] = ()
    """Without context: how the meaning changes with the command it answers."""
    notes: tuple[str, ...] = ()
    """The enhanced code's detail, marked vendor notes, protocol violations."""
    rfc: str = ""
    standard_text: str = ""
    """The RFC's text for the code (``Transaction failed``), when there is one."""

    @property
    def head(self) -> str:
        """The codes as the server sent them: ``554 5.7.1``."""
        code = code_text(self.code)
        return f"{code} {self.enhanced}" if self.enhanced else code

    def summary(self) -> str:
        """One line: ``554 5.7.1 at RCPT → permanent failure: recipient refused by policy``."""
        where = f" {self.where}" if self.where else ""
        return f"{self.head}{where} → {self.outcome}: {self.title}"

    def lines(self) -> list[str]:
        """The explanation as printed by ``explain`` and the meaning panel: a head line, then indented lines."""
        if not self.where:
            head = f"{self.head} {self.standard_text}" if self.standard_text else f"{self.head}: {self.title}"
        else:
            head = self.summary()
        lines = [head + (f" ({self.rfc})" if self.rfc else ""), f"  {self.meaning}"]
        if self.variants:
            lines.append("  what it means depends on what it answers:")
            lines += [f"    {variant}" for variant in self.variants]
        lines.append(f"  next: {self.next_step}")
        if self.transaction:
            lines.append(f"  transaction: {self.transaction}")
        lines += [f"  {note}" for note in self.notes]
        return lines


def place_of(command: str, argument: str = "", *, unsolicited: bool = False) -> str:
    """Where a reply to ``command`` comes: a key of :data:`.situations.PLACES`, or ``""`` without a command."""
    if unsolicited:
        return "unsolicited"
    verb = command.strip() if isinstance(command, str) else ""
    verb = verb if verb.startswith("<") else verb.upper()
    if not verb:
        return ""
    if verb == "BDAT":
        return "end" if isinstance(argument, str) and " LAST" in f" {argument.upper()}" else "chunk"
    return _PLACE_OF_VERB.get(verb, "other")


def explain_exchange(reply) -> Explanation:
    """Explain a :class:`smtpdbg.core.events.Reply` event in the context it carries.

    Uses its code, enhanced code, text, the command it answers and its argument, the stage the command was
    sent in, the recipient (LMTP/PRDR) and the violation the core found. Never raises.
    """
    return explain_in_context(
        getattr(reply, "code", None), getattr(reply, "enhanced", None), getattr(reply, "command", "") or "",
        getattr(reply, "stage", "") or "", argument=getattr(reply, "argument", "") or "",
        text=getattr(reply, "text", "") or "", recipient=getattr(reply, "recipient", "") or "",
        violation=getattr(reply, "violation", "") or "", unsolicited=bool(getattr(reply, "unsolicited", False)),
        late=bool(getattr(reply, "late", False)), broken=getattr(reply, "reply_class", None) is ReplyClass.VIOLATION)


def explain_in_context(
    code: int | None,
    enhanced: str | None = None,
    command: str = "",
    stage: str = "",
    *,
    argument: str = "",
    text: str = "",
    recipient: str = "",
    violation: str = "",
    unsolicited: bool = False,
    late: bool = False,
    broken: bool = False,
) -> Explanation:
    """Explain a reply code where it came.

    Args:
        code: the basic code (``-1`` or ``None``: a reply without a code).
        enhanced: its RFC 3463 code (``5.7.1``), if the reply had one.
        command: what it answers: a verb (``RCPT``) or ``<greeting>``, ``<end of data>``, ``<auth response>``.
            Empty: no context; the general meaning is given with its variants by command.
        stage: the protocol stage the command was sent in (a ``Stage`` value: ``mail``, ``authenticated``...).
        argument: the command's argument (``BDAT 100 LAST`` tells the last chunk from the others).
        text: the reply's text; its enhanced code is read from it when ``enhanced`` is not given.
        recipient: for an LMTP/PRDR reply after the message, the recipient it decides.
        violation: why the core found the reply breaks the protocol here.
        unsolicited: nothing was waiting for the reply.
        late: it answers a command that had stopped reading (``raw`` read fewer replies than it sent).
        broken: the core classed the reply as a violation (a valid code: its code changed inside the reply).
    """
    command, stage, argument, text, recipient, violation = (
        value if isinstance(value, str) else "" for value in (command, stage, argument, text, recipient, violation))
    # one-line fields: a verb typed with docmd/raw may hold anything
    command, stage, argument, recipient = (" ".join(v.split()) for v in (command, stage, argument, recipient))
    if enhanced is not None and not (isinstance(enhanced, str) and enhanced_code(enhanced.strip()) == enhanced.strip()):
        enhanced = None  # only a real RFC 3463 code is shown
    number = code if isinstance(code, int) and not isinstance(code, bool) else None
    valid = number is not None and 200 <= number <= 599
    if not (isinstance(enhanced, str) and enhanced) and text:  # one of the basic code's class only (RFC 3463 §2)
        enhanced = parse_enhanced(f"{number} {text}" if valid else text)
    place = place_of(command, argument, unsolicited=unsolicited)
    outcome = "protocol violation" if violation and valid else _OUTCOMES[number // 100] if valid else "not an SMTP reply"
    notes = _notes(enhanced, place, violation)
    if late:
        notes = ("late: it answers a command that had stopped waiting for it (`raw` read fewer replies than it sent)",
                 *notes)
    if not place:
        return _without_context(number, enhanced, outcome, notes)
    where = _where(place, command)
    if broken and valid:
        return _mixed(number, enhanced, command, place, where, notes)
    situation = _situation(number, place, enhanced, stage) if valid else None
    info = REPLY_CODES.get(number) if number is not None else None
    if situation is not None:
        title, meaning, next_step, rfc = situation.title, situation.meaning, situation.next_step, situation.rfc
    elif violation and valid:  # the code's usual meaning (220 "service ready") is not what it means here
        title, rfc = "not a reply this command can get", info.rfc if info is not None else ""
        meaning = (f"{number} does not answer {command.upper() or 'this command'}: the server is out of step with "
                   "the commands, or does not speak SMTP as it should (the note below says how).")
        next_step = ("Treat the connection as out of step: `drain` reads what else the server sent; `reconnect` "
                     "starts over. Later replies may answer the wrong commands.")
        return Explanation(code=number, enhanced=enhanced, command=command, place=place, where=where, outcome=outcome,
                           title=title, meaning=meaning, next_step=next_step, notes=notes, rfc=rfc,
                           standard_text=info.text if info is not None else "")
    elif info is not None:
        title, meaning, next_step, rfc = _short(info.text), info.meaning, info.client_action, info.rfc
    else:
        title, meaning, next_step, rfc = _unlisted(number)
    if recipient and place == "end":
        title = f"for <{recipient}>: {title}"
    short, sentence, goes_on = _transaction(place, number, recipient)
    return Explanation(
        code=number, enhanced=enhanced, command=command, place=place, where=where, outcome=outcome, title=title,
        meaning=meaning, next_step=next_step, transaction=f"{short} — {sentence}" if short else "", goes_on=goes_on,
        notes=notes, rfc=rfc, standard_text=info.text if info is not None else "")


def _mixed(code: int, enhanced: str | None, command: str, place: str, where: str, notes: tuple) -> Explanation:
    """A reply whose code changed inside it (RFC 5321 §4.2.1): neither code is the server's verdict."""
    return Explanation(
        code=code, enhanced=enhanced, command=command, place=place, where=where, outcome="protocol violation",
        title="its lines carry different codes: no verdict",
        meaning="Every line of a reply must carry the same code (RFC 5321 §4.2.1). This reply changed its code, "
                "so it says neither yes nor no: what the server did with the command is unknown.",
        next_step="Do not count on it either way: end the transaction (`rset`) and check the server's logs; after "
                  "the final dot, a retry may deliver a duplicate.",
        transaction="in doubt — the reply is not a verdict; end the transaction (`rset`) or the session",
        goes_on=False, notes=notes, rfc="RFC 5321 §4.2.1")


# -- choosing the words ------------------------------------------------------------------------------------
def _situation(code: int, place: str, enhanced: str | None, stage: str) -> Situation | None:
    for situation in SITUATIONS:
        if situation.codes and code not in situation.codes:
            continue
        if situation.places and place not in situation.places:
            continue
        if situation.enhanced and not (enhanced and any(f"{enhanced}.".startswith(p if p.endswith(".") else p + ".")
                                                        for p in situation.enhanced)):
            continue
        if situation.stages and stage not in situation.stages:
            continue
        return situation
    return None


def _where(place: str, command: str) -> str:
    if place == "end" and command.upper() == "BDAT":
        where = "to BDAT LAST"
    elif place == "ehlo" and command.upper() == "LHLO":
        where = "to LHLO"
    else:
        where = PLACES.get(place) or f"to {command.upper()}"
    return where


def _short(text: str) -> str:
    """The RFC text as a title: placeholders and leading enhanced codes dropped, first letter lower-cased."""
    words = [w for w in text.split() if not (w.startswith("<") and w.endswith(">"))]
    if words and words[0][:1].isdigit():
        words = words[1:]
    title = " ".join(words) or text
    return title[:1].lower() + title[1:] if title[1:2].islower() else title


def _unlisted(code: int | None) -> tuple[str, str, str, str]:
    """Title, meaning, next step and reference for a code no RFC in the catalog defines."""
    if code is None or not 200 <= code <= 599:
        if code is None or code < 0:
            title = "no reply code"
            meaning = ("The server's line does not start with a three-digit code: it is not an SMTP reply "
                       "(RFC 5321 §4.2).")
        else:
            title = "code outside 2xx-5xx" if 0 <= code <= 999 else "not a three-digit code"
            meaning = reply_class_meaning(code) + "."
        return (title, meaning,
                "Treat it as a fatal error: end the transaction (`rset`) or the session; the server is broken or "
                "is not an SMTP server.", "RFC 5321 §4.2")
    meaning = (f"No RFC defines {code}; RFC 5321 §4.2 says a client must handle a code it does not know by its "
               f"first digit alone: {reply_class_meaning(code)}.")
    related = associated_with(code)
    if related:
        names = "; ".join(f"{info.code} {info.detail} ({info.rfc})" for info in related)
        meaning += f" The IANA enhanced status code registry lists it beside: {names}."
    action = {2: "Carry on, as after any 2xx.", 3: "Send what the server waits for, as after any 3xx.",
              4: "Treat it as any 4xx: not done this time; the same request may succeed later.",
              5: "Treat it as any 5xx: do not repeat the request unchanged."}[code // 100]
    return (f"unlisted code, read by its first digit ({_OUTCOMES[code // 100]})", meaning, action, "RFC 5321 §4.2")


def _notes(enhanced: str | None, place: str, violation: str) -> tuple[str, ...]:
    notes = []
    if violation:
        notes.append(f"protocol violation: {violation}")
    if enhanced:
        info = explain_enhanced(enhanced)
        if info is not None:
            unlisted = "" if info.exact else " (not in the registry; read from its class and subject)"
            detail = f" {info.detail}" if info.detail else ""
            notes.append(f"{enhanced}{detail}{unlisted}: {info.meaning} ({info.rfc})")
        notes += vendor_notes(enhanced, place)
    return tuple(notes)


def vendor_notes(enhanced: str, place: str = "") -> list[str]:
    """Marked notes on how big providers use ``enhanced`` where it differs from the registry (``place``: where
    the reply came, a key of :data:`.situations.PLACES`; empty: anywhere)."""
    return [f"vendor note ({note.vendor}): {note.text}" for note in VENDOR_NOTES
            if enhanced in note.enhanced and (not note.places or place in note.places)]


def _transaction(place: str, code: int | None, recipient: str) -> tuple[str, str, bool | None]:
    """Whether the mail transaction goes on after this reply: (verdict word, sentence, goes_on)."""
    if code is None or not 200 <= code <= 599:
        if place in ("mail", "rcpt", "data", "chunk", "end"):
            return ("in doubt", "the reply is not SMTP: RFC 5321 §4.2 says to treat it as fatal and end the "
                    "transaction", False)
        return "", "", None
    cls = code // 100
    if code == 421:
        return ("abandoned", "the connection is closing; an open transaction ends without delivery (unless the "
                "message already got 250 after its final dot)", False)
    if place == "mail":
        if cls == 2:
            return "begun", "RCPT comes next", True
        return "not started", "no transaction is open; MAIL may be sent again once the cause is fixed", False
    if place == "rcpt" and code == 503:
        return "none open", "no transaction is open: send MAIL first (RFC 5321 §3.3), then the RCPT again", False
    if place == "data" and code == 503:
        return ("none to send", "no message was sent: no MAIL, or no recipient, was accepted before DATA "
                "(RFC 5321 §3.3); MAIL and RCPT first", False)
    if place == "rcpt":
        if cls == 2:
            return "goes on", "this recipient is added; more RCPT, or DATA", True
        return ("goes on", "without this recipient; the recipients accepted so far stay, the next RCPT may still "
                "be accepted, and DATA works once at least one recipient has been accepted", True)
    if place == "data":
        if cls == 3:
            return "goes on", "the message text comes next", True
        return ("stopped", "no message was sent; the server still holds the sender and recipients: `rset` clears "
                "them (after a 4xx, DATA may also be tried again later)", False)
    if place == "chunk":
        if cls == 2:
            return "goes on", "send the next chunk", True
        return "failed", "send no more chunks; `rset` before the next transaction (RFC 3030 §2)", False
    if place == "end":
        if recipient:
            fate = {2: "delivered to this recipient", 4: "deferred for this recipient: send it to them again later",
                    5: "refused for this recipient"}.get(cls, "not decided yet")
            return "per recipient", f"this reply decides <{recipient}> only: {fate}; the other recipients get " \
                                    "their own replies", None
        if cls == 3:
            return "goes on", "the per-recipient replies follow", True
        return "over", {2: "the server took responsibility for the message; a new MAIL may follow",
                        4: "the message was not accepted; the whole transaction must be sent again later",
                        5: "the message was refused; nothing was delivered"}[cls], False
    if place == "rset" and cls == 2:
        return "cleared", "no transaction is open now", False
    if place in ("ehlo", "helo") and cls == 2:
        return "reset", "EHLO/HELO ends any open transaction (RFC 5321 §4.1.4); start again with MAIL", False
    if place == "starttls" and code == 220:
        return ("reset", "nothing carries over TLS: any transaction and everything learnt before is forgotten "
                "(RFC 3207 §4.2)", False)
    if place == "quit" and cls == 2:
        return "over", "the session ends", False
    return "", "", None


def _without_context(code: int | None, enhanced: str | None, outcome: str, notes: tuple[str, ...]) -> Explanation:
    """The general meaning of a code, with how it changes by the command it answers."""
    info = REPLY_CODES.get(code) if code is not None else None
    if info is None:
        title, meaning, next_step, rfc = _unlisted(code)
        return Explanation(code, enhanced, "", "", "", outcome, title, meaning, next_step, notes=notes, rfc=rfc)
    variants = []
    if 200 <= info.code <= 599:
        for place in _VARIANT_PLACES:
            command = _EXAMPLE_COMMAND[place]
            if not _answers(info.code, place, command):
                continue
            situation = _situation(info.code, place, None, "")
            if situation is None or not situation.places:  # the same anywhere: nothing to contrast
                continue
            short, _, _ = _transaction(place, info.code, "")
            words = {"goes on": "the transaction goes on", "over": "the transaction is over",
                     "not started": "no transaction begins", "begun": "a transaction begins",
                     "stopped": "no message sent", "failed": "the transaction failed",
                     "reset": "any transaction is reset"}.get(short, "")
            variants.append(f"{PLACES[place]}: {situation.title}" + (f" ({words})" if words else ""))
    if info.code in (221, 421, 521):
        transaction, goes_on = "over: the connection closes, so no transaction survives it", False
    else:
        transaction, goes_on = "", None
    return Explanation(info.code, enhanced, "", "", "", outcome, _short(info.text), info.meaning, info.client_action,
                       transaction, goes_on, tuple(variants), notes, info.rfc, info.text)


def _answers(code: int, place: str, command: str) -> bool:
    """Whether ``code`` is a normal answer at ``place`` (the catalog's command lists, plus BDAT's chunks)."""
    commands = REPLY_CODES[code].commands
    if place == "chunk":
        return "BDAT" in commands
    if place == "end":
        return END_OF_DATA in commands or "BDAT" in commands
    return command in commands
