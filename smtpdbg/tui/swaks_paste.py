"""The palette's "session: paste a swaks command…": a swaks command line becomes a session in the app.

The line is converted as ``smtpdbg send --from-swaks`` converts it (:mod:`smtpdbg.send.paste`); a new
session opens on its server and the plan's commands run through the core's script interpreter on a
worker thread, so the transcript, inspector and ledger fill in as for typed commands. A password is
asked with the app's masked dialog.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smtpdbg.tui.app import SmtpdbgApp

NOTE = ("The same line swaks would run: its server, TLS, AUTH, message and --quit-after. "
        "A password comes from --password-env NAME, $SMTPDBG_PASSWORD or a masked prompt.")


def ask_swaks(app: SmtpdbgApp) -> None:
    """Open the dialog; a line given runs in a new session."""
    from smtpdbg.tui.screens.pickers import AskScreen

    app.push_screen(AskScreen("Paste a swaks command line", "swaks ", note=NOTE), lambda text: _pasted(app, text))


def _pasted(app: SmtpdbgApp, text: str | None) -> None:
    if text and text.strip() != "swaks":
        app.run_worker(lambda: run_swaks(app, text), thread=True, group="swaks", exit_on_error=False)


def run_swaks(app: SmtpdbgApp, text: str) -> None:
    """Convert ``text``, open a session on its server and run the plan (on a worker thread)."""
    from smtpdbg.core.interp import Interpreter
    from smtpdbg.send.paste import PasteError, plan_from_swaks

    try:
        plan, options = plan_from_swaks(text)
    except PasteError as exc:
        app.call_from_thread(app.notify, f"swaks command: {exc}", severity="error", title="Not run", markup=False)
        return
    app.call_from_thread(app.start_session, plan.target, options, ())
    session = app.session
    plan.bind(session)
    try:
        Interpreter(session, keep_going=True, ask_secret=lambda label: _password(app, label),
                    on_outcome=plan.on_outcome).run(plan.commands())
    finally:
        plan.cleanup()


def _password(app: SmtpdbgApp, label: str) -> str | None:
    """Ask with the app's masked dialog from the worker thread; None when cancelled."""
    from smtpdbg.tui.screens.password import PasswordScreen

    answer: Future = Future()
    encrypted = app.session is not None and app.session.state.tls is not None
    # The interpreter asks only when the core would send the password (no consent missing: Needs.consent).
    app.call_from_thread(app.push_screen, PasswordScreen(label, encrypted=encrypted, consent=False), answer.set_result)
    return answer.result()
