"""smtpdbg: an interactive SMTP protocol debugger for the terminal.

The package is split into a UI-free protocol core (:mod:`smtpdbg.core`), an
embedded sandbox server (:mod:`smtpdbg.sandbox`) and frontends that only render
core events and send commands.

As a library (:mod:`smtpdbg.library`): ``smtpdbg.SMTP``, ``smtpdbg.SMTP_SSL``
and ``smtpdbg.LMTP`` are smtplib's classes with a wire transcript,
``smtpdbg.render(smtp, "text")`` renders it, and ``with smtpdbg.tracing() as
sessions:`` traces the smtplib sessions of code that does not know about smtpdbg.
"""

__version__ = "0.1.0"

_LIBRARY = ("SMTP", "SMTP_SSL", "LMTP", "render", "tracing")


def __getattr__(name: str):
    # Imported on first use, so that `smtpdbg --version` and the CLI stay fast.
    if name in _LIBRARY:
        from smtpdbg import library

        return getattr(library, name)
    raise AttributeError(f"module 'smtpdbg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LIBRARY])
