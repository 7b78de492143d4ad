"""The guided lessons that ship with smtpdbg, as TOML data files (format: docs/lessons.md)."""
