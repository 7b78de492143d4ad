"""smtpdbg: an interactive SMTP protocol debugger for the terminal.

The package is split into a UI-free protocol core (:mod:`smtpdbg.core`), an
embedded sandbox server (:mod:`smtpdbg.sandbox`) and frontends that only render
core events and send commands.
"""

__version__ = "0.1.0"
