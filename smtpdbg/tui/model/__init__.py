"""What the app shows, decided without a UI: the transcript's rows, what a line means, the stage strip's stages.

Everything here reads the core's events and state (replies already paired and
judged, the ledger, the protocol stage) and turns them into plain data; the
widgets in :mod:`smtpdbg.tui.widgets` only draw it. Nothing here imports
Textual or Rich, so it is tested without an app.
"""
