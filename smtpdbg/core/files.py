"""Files only their owner can read: the log, the history, exports and the TLS key log.

Whatever existed before: a file smtpdbg creates is mode 0600, an existing one
of the user's is tightened to 0600 before anything is written to it, and one
that belongs to another user is refused with a clear error (before it is
truncated). Special files (``/dev/null``, a FIFO, a terminal) are written as
they are: their mode is not smtpdbg's to change. Directories smtpdbg creates
are mode 0700.
"""

from __future__ import annotations

import errno
import os
import stat

FILE_MODE = 0o600
DIR_MODE = 0o700


def open_private(path: str | os.PathLike, flags: int = os.O_WRONLY | os.O_APPEND, *, truncate: bool = False) -> int:
    """Open ``path`` for writing, created or tightened to owner-only; returns the descriptor.

    Args:
        flags: ``os.open`` flags (``O_CREAT`` is added; never pass ``O_TRUNC``: use ``truncate``).
        truncate: empty the file, once it is known to be the user's own.

    Raises:
        PermissionError: the file belongs to another user (``strerror`` says so and what to do),
            or the system refused access.
        OSError: anything else ``os.open`` raises.
    """
    fd = os.open(path, (flags & ~os.O_TRUNC) | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            if info.st_uid != os.geteuid():
                raise PermissionError(
                    errno.EPERM, f"{os.fspath(path)} belongs to another user (uid {info.st_uid}); smtpdbg only writes "
                                 "files you own, readable by you alone: choose another path", os.fspath(path))
            if stat.S_IMODE(info.st_mode) & 0o077:
                os.fchmod(fd, FILE_MODE)
            if truncate:
                os.ftruncate(fd, 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_private(path: str | os.PathLike) -> None:
    """Create (or tighten) ``path`` as :func:`open_private` would, and close it: a check made up front."""
    os.close(open_private(path))


def make_private_dir(path: str | os.PathLike, *, tighten: bool = False) -> None:
    """Create a directory (and its parents) with mode 0700 for the last one.

    Args:
        tighten: also take group and other access away from an existing directory
            of the user's (for a directory that is smtpdbg's own, such as ``~/.local/state/smtpdbg``).
    """
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, exist_ok=True)
    try:
        os.mkdir(path, DIR_MODE)
        return
    except FileExistsError:
        pass
    if tighten:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(path, DIR_MODE)


def write_private(path: str | os.PathLike, text: str) -> None:
    """Replace ``path``'s content with ``text`` (ASCII/UTF-8), owner-only as :func:`open_private` makes it."""
    fd = open_private(path, os.O_WRONLY, truncate=True)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
