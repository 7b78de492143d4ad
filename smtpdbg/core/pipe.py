"""Local transports: SMTP over a unix socket, and SMTP (or LMTP) with a child process over its stdin/stdout.

``smtpdbg send --socket PATH`` and ``--pipe 'CMD'`` (swaks's ``--socket``/``--pipe``)
reach a server that is not on the network: an MTA's unix socket, or a
process such as ``exim -bh 192.0.2.1`` or Postfix's ``smtpd -S`` that speaks
SMTP on its standard input and output.

The pipe is a :func:`socket.socketpair`: one end becomes the child's stdin
and stdout, the other is the session's socket. Everything above it (the
traced reading and writing, the command deadline, aborting, STARTTLS, which
wraps any stream socket) is the same code a TCP connection runs; only
``connect()`` and ``close()`` differ. The child's stderr is discarded (it is
not SMTP and must not reach the terminal unescaped); when the connection
closes the child gets EOF on stdin, then SIGTERM after a second, then SIGKILL.

A target names these transports with ``port=None``: ``Target("smtp", "/path",
None)`` is SMTP over a unix socket (``lmtp`` stays :class:`TracedLMTP`'s), and
a host starting with ``|`` is a command (``Target("smtp", "|exim -bh 192.0.2.1",
None)``, or ``lmtp``). :func:`local_class` picks the traced class for one.
"""

from __future__ import annotations

import errno
import shlex
import socket
import subprocess

from smtpdbg.core.events import InfoKind

PIPE_PREFIX = "|"
_REAP_SECONDS = 1.0


def is_local(target) -> bool:
    """Whether ``target`` needs a class of this module (a command, or SMTP over a unix socket)."""
    return target.port is None and (target.host.startswith(PIPE_PREFIX) or target.transport == "smtp")


class LocalMixin:
    """``connect()``/``close()`` for a unix socket or a child process (before a traced smtplib class)."""

    child: subprocess.Popen | None = None

    def connect(self, host="localhost", port=0, source_address=None):
        if not host or host[0] not in "/" + PIPE_PREFIX:
            return super().connect(host, port, source_address)
        self._host = host
        self.close_reason = ""
        if host.startswith(PIPE_PREFIX):
            sock, peer = self._spawn(host[1:].strip()), f"process {host[1:].strip()}"
        else:
            sock, peer = self._unix(host), f"unix socket {host}"
        return self.adopt(sock, peer, host)

    def _unix(self, path: str) -> socket.socket:
        self._info(InfoKind.CONNECTING, f"connecting to unix socket {path}", peer=f"{self.transport}://{path}")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._connecting = sock
        try:
            if self.deadline is not None:
                sock.settimeout(self._remaining())
            sock.connect(path)
        except FileNotFoundError:
            sock.close()
            raise FileNotFoundError(errno.ENOENT, "no unix socket at this path", path) from None
        except BaseException:
            sock.close()
            raise
        finally:
            self._connecting = None
        return sock

    def _spawn(self, command: str) -> socket.socket:
        if not command:
            raise OSError(errno.EINVAL, "--pipe needs a command")
        self._info(InfoKind.CONNECTING, f"starting {command} (SMTP on its stdin/stdout)", peer=f"pipe:{command}")
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise OSError(errno.EINVAL, f"cannot split the command: {exc}") from None
        ours, theirs = socket.socketpair()
        try:
            self.child = subprocess.Popen(argv, stdin=theirs, stdout=theirs, stderr=subprocess.DEVNULL,
                                          close_fds=True, start_new_session=True, env=_child_environment())
        except OSError as exc:
            ours.close()
            raise OSError(exc.errno or errno.ENOENT, f"cannot start {argv[0] if argv else command!r}: "
                                                      f"{exc.strerror or exc}") from None
        finally:
            theirs.close()
        if self.deadline is not None:
            ours.settimeout(self._remaining())
        return ours

    def close(self):
        child, self.child = self.child, None
        try:
            super().close()
        finally:
            if child is not None:
                _reap(child)
                if child.returncode:
                    self._info(InfoKind.INFO, f"the process exited with status {child.returncode}")


def _child_environment() -> dict[str, str]:
    """This process's environment without the password a profile read from netrc or a keyring."""
    import os

    from smtpdbg.core.profiles import PASSWORD_VARIABLE

    return {name: value for name, value in os.environ.items() if name != PASSWORD_VARIABLE}


def _reap(child: subprocess.Popen) -> None:
    """EOF on its stdin came with the socket's close: wait a moment, then terminate, then kill."""
    for stop in (None, child.terminate, child.kill):
        if stop is not None:
            try:
                stop()
            except OSError:
                pass
        try:
            child.wait(_REAP_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


def local_class(transport: str):
    """The traced class for a local target of ``transport`` (``smtp`` or ``lmtp``)."""
    from smtpdbg.core.traced import TracedLMTP, TracedSMTP

    return _CLASSES.setdefault(transport, type(
        f"Local{'LMTP' if transport == 'lmtp' else 'SMTP'}", (LocalMixin, TracedLMTP if transport == "lmtp" else TracedSMTP),
        {"__module__": __name__}))


_CLASSES: dict[str, type] = {}
