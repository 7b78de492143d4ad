"""Widgets of the app: transcript, prompt, inspector and status bar."""
