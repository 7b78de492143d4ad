"""What every line-mode frontend does with its output stream: colour or not, and writes that fail.

:func:`use_color` is the one answer to "colour this stream?" (``--color``,
``NO_COLOR``, a terminal). :class:`GuardedOutput` wraps the stream the
transcript is printed to: a write that fails does not raise on the session
thread (where a listener's exception would be swallowed) but is remembered,
so the run can stop: a closed pipe (``smtpdbg run ... | head -1``) ends it
quietly, any other failure (a full disk) with a message and a non-zero status.
"""

from __future__ import annotations

import errno
import os
from typing import Mapping, TextIO


def use_color(choice: str, stream, environ: Mapping[str, str] | None = None) -> bool:
    """``always``/``never``, or ``auto``: a terminal and no ``NO_COLOR`` (https://no-color.org)."""
    if choice == "always":
        return True
    if choice == "never" or (os.environ if environ is None else environ).get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class GuardedOutput:
    """A text stream whose write errors are remembered instead of raised."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.closed = False
        """The reader went away (EPIPE): nothing more can be shown."""
        self.error = ""
        """Another write error (``No space left on device``), if one happened."""

    @property
    def failed(self) -> bool:
        return self.closed or bool(self.error)

    def write(self, text: str) -> None:
        if not self.failed:
            self._guard(self.stream.write, text)

    def flush(self) -> None:
        if not self.failed:
            self._guard(self.stream.flush)

    def isatty(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError, OSError):
            return False

    def _guard(self, call, *args) -> None:
        try:
            call(*args)
        except BrokenPipeError:
            self._closed()
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                self._closed()
            else:
                self.error = exc.strerror or str(exc)
        except ValueError:  # the stream was closed under us
            self.closed = True

    def _closed(self) -> None:
        """Point the stream's descriptor at /dev/null: what Python still holds buffered is flushed harmlessly."""
        self.closed = True
        try:
            fd = self.stream.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
        except (AttributeError, ValueError, OSError):
            return
        try:
            os.dup2(null, fd)
        except OSError:
            pass
        finally:
            os.close(null)
