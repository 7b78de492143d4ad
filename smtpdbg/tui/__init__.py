"""The Textual frontend: a live transcript, a command prompt with completion and a feature inspector.

Everything here only renders the core's events and state snapshots and submits
command lines to a :class:`smtpdbg.core.session.Session`; no socket work
happens on the UI thread. Import :func:`smtpdbg.tui.app.run_app` lazily: it
pulls in Textual.
"""
