"""The bottom toolbar: what the line being typed still needs, and the session state.

First line: the usage and meaning of the command being typed and the
arguments it still expects (from :func:`smtpdbg.core.parser.analyze`), or a
reminder of the keys on an empty line. Second line: connection (● or ○) and
target, TLS (verified or not), authentication and protocol stage, and the
command running now, if any; the open transaction's recipients by fate so
far (or how the last one ended), from the core's ledger. During a guided lesson, a third line: the lesson, the
step and the command to try.
"""

from __future__ import annotations

from smtpdbg.core.commands import lookup
from smtpdbg.core.parser import analyze
from smtpdbg.core.state import SessionState
from smtpdbg.core.verdict import Fate

KEYS = "Tab completes · ? commands · ? CMD explains · Ctrl-R history · Ctrl-D leaves"
"""The hint on an empty line (fits 80 columns)."""

Fragments = list[tuple[str, str]]


def hint_fragments(text: str) -> Fragments:
    """What the command being typed is and what it still expects."""
    if not text.strip():
        return [("class:toolbar.keys", KEYS)]
    analysis = analyze(text)
    spec = analysis.spec or lookup(text.split(None, 1)[0])
    if spec is None:
        if analysis.error is not None and " " in text.strip():
            return [("class:toolbar.error", analysis.error.message)]
        return [("class:toolbar.keys", "a command: Tab lists those that start so")]
    out: Fragments = [("class:toolbar.usage", spec.usage), ("class:toolbar", f"  — {spec.summary}")]
    if analysis.hint:
        out.append(("class:toolbar.next", f"  next: {analysis.hint}"))
    if analysis.arg is not None:
        out.append(("class:toolbar", f"  ({getattr(analysis.arg, 'help', '')})"))
    return out


def state_fragments(state: SessionState) -> Fragments:
    """Connection and target, TLS, AUTH and stage, compact enough for 80 columns."""
    bar = ("class:toolbar", " │ ")
    out: Fragments = [("class:toolbar.ok", "● ") if state.connected else ("class:toolbar.off", "○ "),
                      ("class:toolbar.target", state.target or "(no target)")]
    if not state.connected:
        out += [bar, ("class:toolbar.off", "not connected")]
    out.append(bar)
    if state.tls is not None:
        if state.tls.verified:
            out.append(("class:toolbar.ok", f"TLS✓ {state.tls.version}"))
        else:
            out.append(("class:toolbar.warn", f"TLS {state.tls.version} NOT VERIFIED"))
    elif state.insecure:
        out.append(("class:toolbar.warn", "no TLS (verification off)"))
    else:
        out.append(("class:toolbar.off", "no TLS"))
    out.append(bar)
    if state.authenticated:  # the core's state: an authentication ends with its connection
        out.append(("class:toolbar.ok", f"{state.auth_user} ({state.auth_mechanism})"))
    else:
        out.append(("class:toolbar.off", "no auth"))
    out += [bar, ("class:toolbar.stage", state.stage.value)] + transaction_fragments(state)
    if state.busy and state.running:
        out.append(("class:toolbar.warn", f" │ running: {state.running} (Ctrl-C aborts)"))
    return out


_FATE_WORD = {Fate.PENDING: "ok", Fate.ACCEPTED: "accepted", Fate.TEMPORARY: "deferred", Fate.PERMANENT: "refused",
              Fate.UNKNOWN: "unknown", Fate.NOT_SENT: "not sent"}
"""Short words for a recipient's fate in the toolbar (``ok``: accepted at RCPT, the message not sent yet)."""
_LAST_STYLE = {"delivered": "class:toolbar.ok", "partly delivered": "class:toolbar.warn", "unknown": "class:toolbar.warn"}


def transaction_fragments(state: SessionState) -> Fragments:
    """The open transaction's recipients by fate (``2 ok, 1 refused``), else how the last one on this connection
    ended (``last: partly delivered 2/3``), from the core's ledger."""
    transaction = state.transaction
    if transaction is not None:
        if transaction.mail_code is not None and not transaction.mail_accepted:
            return [("class:toolbar", " · "), ("class:toolbar.warn", f"MAIL refused {transaction.mail_code}")]
        counts: dict[str, int] = {}
        for recipient in transaction.recipients:
            word = _FATE_WORD[recipient.fate]
            counts[word] = counts.get(word, 0) + 1
        tally = ", ".join(f"{n} {word}" for word, n in counts.items()) or "no recipient yet"
        return [("class:toolbar", " · "), ("class:toolbar.stage", tally)]
    last = state.last_transaction
    if last is None or not state.connected or not last.recipients:
        return []
    accepted = sum(1 for r in last.recipients if r.fate is Fate.ACCEPTED)
    return [("class:toolbar", " · "),
            (_LAST_STYLE.get(last.status, "class:toolbar.off"), f"last: {last.status} {accepted}/{len(last.recipients)}")]


def toolbar(text: str, state: SessionState, lesson: Fragments | None = None) -> Fragments:
    """The hint line and the state line, and a lesson line when a guided lesson runs."""
    fragments = hint_fragments(text) + [("", "\n")] + state_fragments(state)
    if lesson:
        fragments += [("", "\n")] + lesson
    return fragments
