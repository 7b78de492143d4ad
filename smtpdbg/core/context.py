"""What a command handler is given, and what a frontend must collect before a command runs.

The one contract between :class:`smtpdbg.core.session.Session` and the
handlers (:mod:`smtpdbg.core.handlers`): a typed, public context, so handlers
never reach into the session's private state.
"""

from __future__ import annotations

from dataclasses import dataclass

from smtpdbg.core.events import Info, InfoKind
from smtpdbg.core.parser import ParseError, Parsed
from smtpdbg.core.stages import AUTH_RESPONSE, END_OF_DATA, GREETING


@dataclass(frozen=True, slots=True)
class Needs:
    """What a frontend must collect before submitting a parsed command."""

    body: bool = False
    """Message lines ended by a lone ``.``."""
    secret: bool = False
    """A password, asked with a masked prompt."""
    consent: bool = False
    """With ``secret``: consent to send it in cleartext, which the user has not given
    (:func:`smtpdbg.core.consent.cleartext_allowed`). Without it the session refuses the command before anything
    is sent, so a frontend that does not ask for the consent (``set plaintext-auth once`` queued first) asks for
    no password either: it submits the command as it is, and the session says why and how to allow it."""
    offline: bool = False
    """With ``secret``: not connected now, so the command cannot be sent; the session refuses it ("not connected:
    use reconnect") before it needs the password, so a frontend asks for none. ``secret`` stays set: once
    connected again the command needs its password (a script that reconnects first asks for it then)."""

    @property
    def ask_password(self) -> bool:
        """Whether a frontend asks for the password now: one is needed, and the session would send the command."""
        return self.secret and not self.consent and not self.offline


class HandlerContext:
    """What a command handler may use: the session, the running job, its time limit and the transcript.

    Handlers run on the session thread. They read ``session.smtp`` (the traced
    smtplib object), ``session.options``, ``session.environ``; the message body
    and the password collected by the frontend; and they write notes to the
    transcript with :meth:`info` and :meth:`warn`.
    """

    def __init__(self, session, job, timeout: float, start: float) -> None:
        self.session = session
        self.job = job
        self.timeout = timeout
        self.start = start

    @property
    def body(self) -> bytes | None:
        return self.job.body

    @property
    def secret(self) -> str | None:
        return self.job.secret

    def info(self, text: str, kind: InfoKind = InfoKind.INFO) -> None:
        self.session.transcript.add(Info, kind=kind, text=text)

    def warn(self, text: str) -> None:
        self.info(text, InfoKind.WARNING)


def shown_line(session, parsed: Parsed, shown: str, secret: str | None) -> str:
    """The command line as the transcript shows it: a hand-typed AUTH line's payload masked, and any secret the
    session knows (learnt now from this command's password or variables) masked wherever it was typed."""
    smtp = session.smtp
    if smtp is not None and parsed.name in ("raw", "docmd", "pipeline") and sends_auth_data(smtp, parsed):
        from smtpdbg.core.history import mask_payload

        shown = mask_payload(shown)
    session.secrets.learn_command(parsed, secret, session.environ, session.options.password_env)
    return session.secrets.mask_text(shown)


def sends_auth_data(smtp, parsed: Parsed) -> bool:
    """Whether a raw/docmd/pipeline line carries AUTH data the wire will mask, so its echo must be masked too.

    It does while an AUTH exchange is under way (it answers a 334), and when it
    completes an AUTH line whose start went out without a line ending.
    """
    if smtp.auth_open:
        return True
    partial = smtp.partial_line
    if parsed.name != "raw" or not partial:
        return False
    from smtpdbg.core.parser import unescape

    try:
        data = unescape(parsed.arg("data") or "")
    except ParseError:
        return False
    return (partial + data).lstrip()[:4].upper() == b"AUTH"


_DURING = {END_OF_DATA: "the wait for the reply to the message (after the final dot)", AUTH_RESPONSE: "AUTH",
           GREETING: "the greeting"}


def during_of(parsed: Parsed, smtp=None) -> str:
    """How an error message names the step that failed: ``the greeting``, ``EHLO``, ``DATA``...: the exchange
    the connection ended in when the tracker of ``smtp`` knows it (``sendmail`` is not always at MAIL)."""
    if parsed.name in ("connect", "reconnect"):
        return "connect/greeting"
    lost = getattr(getattr(smtp, "tracker", None), "lost_during", "")
    if lost:
        return _DURING.get(lost, lost)
    word = parsed.spec.wire.split(" ", 1)[0].rstrip(",")
    return word if word.isalpha() and word.isupper() else parsed.name
