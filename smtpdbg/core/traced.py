"""Traced smtplib session objects: ``SMTP``, ``SMTP_SSL`` and ``LMTP`` that record every byte.

These are real ``smtplib`` objects, drop-in replacements (they take smtplib's
constructors, and CPython's own ``test_smtplib`` passes with them), with the
socket I/O replaced where a debugger needs more than smtplib gives. The work
is split by job into mixins:

* :mod:`smtpdbg.core.connecting`: sockets the deadline and an abort can
  interrupt, PROXY headers, implicit TLS and ``starttls()``;
* :mod:`smtpdbg.core.sending`: every command line recorded as it goes out,
  AUTH secrets masked first (:mod:`smtpdbg.core.secrets`);
* :mod:`smtpdbg.core.receiving`: replies read under one wall-clock deadline
  with bounded sizes (:mod:`smtpdbg.core.wire`), recorded, and paired by the
  protocol tracker (:mod:`smtpdbg.core.protocol`);
* :mod:`smtpdbg.core.message`: DATA bodies (streamed from files too) and BDAT.

This module puts them together with what they share: recording, the
command's deadline, closing and aborting from another thread.
"""

from __future__ import annotations

import errno
import smtplib
import socket
import ssl
import sys
import time
from typing import Callable

from smtpdbg.core.connecting import ConnectMixin, format_address, run_bounded  # noqa: F401 - re-exported
from smtpdbg.core.errors import CommandTimeout, ServerFault
from smtpdbg.core.events import Direction, Info, InfoKind, Wire
from smtpdbg.core.message import MessageMixin
from smtpdbg.core.protocol import ProtocolTracker
from smtpdbg.core.receiving import ReceiveMixin
from smtpdbg.core.secrets import AuthMasker
from smtpdbg.core.sending import SendMixin
from smtpdbg.core.state import TlsInfo
from smtpdbg.core.transcript import Transcript
from smtpdbg.core.wire import Limits, ReplyReader

RECV = Direction.RECV
_CAPPED_KEEP = 80
"""Bytes of a line kept once the session's transcript limit is reached."""
_DEFAULT_TIMEOUT = socket._GLOBAL_DEFAULT_TIMEOUT
_SMTP = smtplib.SMTP
"""smtplib's own class, also while :func:`smtpdbg.tracing` has put the traced ones in its place."""


class TraceMixin(ConnectMixin, SendMixin, ReceiveMixin, MessageMixin):
    """Recording and bounded I/O for an ``smtplib.SMTP`` subclass."""

    _implicit_tls = False
    transport = "smtp"
    """``smtp``, ``smtps`` or ``lmtp``: shown with the connecting event."""

    def _trace_init(
        self,
        transcript: Transcript | None = None,
        *,
        limits: Limits | None = None,
        tls_context: ssl.SSLContext | Callable[[], ssl.SSLContext] | None = None,
        tls_name: str | None = None,
        verify_name: str | None = None,
        proxy_header: tuple[str, tuple[str, int]] | None = None,
        family: int = socket.AF_UNSPEC,
        debug_to_stderr: bool = True,
    ) -> None:
        self.transcript = transcript if transcript is not None else Transcript()
        self.limits = limits or Limits()
        self.tls_context = tls_context
        """Context for ``starttls()`` and implicit TLS (or a function building it on first use);
        without it (and without a ``context`` argument) smtplib's default is used, which does not verify."""
        self.tls_name = tls_name
        """Name for SNI and certificate checks when it differs from the host connected to."""
        self.verify_name = verify_name
        """Name the certificate must match, when it differs from the SNI name."""
        self.proxy_header = proxy_header
        """``(version, (host, port))`` to send a PROXY protocol header before the greeting."""
        self.family = family
        """``socket.AF_INET``/``AF_INET6`` to force IPv4/IPv6; ``AF_UNSPEC`` for either."""
        self.debug_to_stderr = debug_to_stderr
        """Print ``set_debuglevel`` output to stderr as smtplib does (it is recorded either way)."""
        self.tls_info: TlsInfo | None = None
        self.tls_cafile: str | None = None
        """The CA file verification uses (for the would-a-verifying-client-accept verdict)."""
        self.tracker = ProtocolTracker(lmtp=isinstance(self, smtplib.LMTP), transcript=self.transcript)
        self.deadline: float | None = None
        """Wall-clock (monotonic) deadline of the running command, set by the session."""
        self.aborted = False
        self.close_reason = ""
        self.banner: tuple[int, bytes] | None = None
        self.last_reply: tuple[int, bytes] | None = None
        self.data_replies: list[tuple[int, bytes]] = []
        """Replies after the final dot: one for SMTP, one per accepted recipient for LMTP (and PRDR's)."""
        self.last_pairing = None
        """The :class:`~smtpdbg.core.events.Reply` event of the last reply: which exchange it answered."""
        self._reader: ReplyReader | None = None
        self._masker = AuthMasker()
        self._send_partial = b""
        self._bdat_left = 0
        """The start of a command line sent without its line ending (``raw --no-crlf``)."""
        self._send_continuation = False
        self._connecting: socket.socket | None = None
        self._tls = False

    @property
    def masker(self) -> AuthMasker:
        """The AUTH exchange as the wire shows it: what is masked, the secrets sent, the last challenge."""
        return self._masker

    @property
    def auth_open(self) -> bool:
        """An AUTH exchange is under way (the server's 334 waits for an answer): what is sent now is masked."""
        return self._masker.active

    @property
    def in_tls(self) -> bool:
        """The connection is inside TLS now (STARTTLS done, or implicit TLS)."""
        return self._tls

    @property
    def partial_line(self) -> bytes:
        """The start of a command line sent without its line ending (``raw --no-crlf``), up to 1 KiB."""
        return self._send_partial

    def adopt(self, sock: socket.socket, shown: str, peer: str) -> tuple[int, bytes]:
        """Take a connected socket that is not TCP (a unix socket, a child process) and read its greeting."""
        self.sock = sock
        self.file = None
        self._tls = False
        self.tls_info = None
        self._reader = None
        self.tracker.on_connect()
        self._masker = AuthMasker()
        self._send_partial = b""
        self._bdat_left = 0
        self._info(InfoKind.CONNECTED, f"connected to {shown}", peer=peer, local="")
        code, message = self.getreply()
        if self.debuglevel > 0:
            self._print_debug("connect:", message)
        self.banner = (code, message)
        return code, message

    def has_unread(self) -> bool:
        """Whether the server sent something not read yet (a late or unsolicited reply)."""
        reader = self._reader
        return self.sock is not None and reader is not None and reader.available()

    def _tls_context_now(self) -> ssl.SSLContext:
        context = self.tls_context
        if callable(context):
            context = self.tls_context = context()
        return context or ssl._create_stdlib_context()  # smtplib's default

    # -- recording ---------------------------------------------------------------------
    def _record(self, direction: Direction, data: bytes, **extra) -> None:
        if direction is RECV and self._masker.known:  # a server quoting a secret sent on this connection
            data = self._masker.scrub_reply(data)
        transcript = self.transcript
        size = len(data)
        transcript.wire_bytes += size
        if size > _CAPPED_KEEP and transcript.wire_bytes > self.limits.max_session_bytes:
            if not transcript.capped:
                transcript.capped = True
                self._warn(f"this session's transcript passed {self.limits.max_session_bytes:,} bytes: from now on "
                           f"each line keeps its first {_CAPPED_KEEP} bytes (a --log file keeps everything)")
            note = f"{size:,} bytes; the start is kept (transcript limit)"
            extra["note"] = f"{extra['note']}; {note}" if extra.get("note") else note
            data = data[:_CAPPED_KEEP]
        return transcript.add(Wire, direction=direction, data=data, tls=self._tls, **extra)

    def _info(self, kind: InfoKind, text: str, **extra) -> None:
        self.transcript.add(Info, kind=kind, text=text, **extra)

    def _print_debug(self, *args) -> None:
        """smtplib's ``set_debuglevel`` output: recorded, and printed to stderr as smtplib does.

        ``send:``/``reply:`` lines are not recorded (the wire lines are, with AUTH masked).
        """
        if not str(args[0] if args else "").startswith(("send:", "reply:")):
            self._info(InfoKind.DEBUG, "smtplib: " + " ".join(str(a) for a in args))
        if self.debug_to_stderr:
            super()._print_debug(*args)

    def _set_deadline(self, sock) -> None:
        """Bound the next socket operation by the command's deadline; without one (library use)
        the socket keeps smtplib's per-operation ``timeout``."""
        if self.deadline is not None:
            sock.settimeout(self._remaining())

    def _remaining(self) -> float | None:
        if self.deadline is None:
            return None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CommandTimeout("timed out before the command could finish")
        return remaining


    # -- closing and aborting --------------------------------------------------------------
    def _fail(self, fault: ServerFault):
        self.close_reason = str(fault)
        self.close()
        raise fault

    def close(self):
        sock = self.sock
        reason = self.close_reason or "closed by the client"
        try:
            super().close()
        finally:
            self._reader = None
            if sock is not None:
                self.tracker.on_close(self._close_cause(reason))
                self._tls = False
                self._info(InfoKind.CLOSED, f"connection closed: {reason}")
            self.close_reason = ""

    def _close_cause(self, reason: str) -> str:
        """How an exchange still waiting for its reply ended, for :class:`~smtpdbg.core.events.Unanswered`."""
        if self.aborted or reason.startswith("aborted"):
            return "aborted"
        if "timed out" in reason:
            return "timed out"
        if reason in ("closed by the client", "QUIT", "reconnecting", "the session ended") or reason.startswith("the server sent 421"):
            return "closed by the client"
        return "connection lost"

    def quit(self):
        result = self.docmd("quit")
        # smtplib's quit(): a new EHLO is required after reconnecting
        self.ehlo_resp = self.helo_resp = None
        self.esmtp_features = {}
        self.does_esmtp = False
        self.close_reason = "QUIT"
        self.close()
        return result

    def abort(self) -> bool:
        """Interrupt a blocked command from another thread by shutting the socket down."""
        self.aborted = True
        reader = self._reader
        if reader is not None:
            reader.aborted = True
        sock = self._connecting or self.sock
        if sock is None:
            return False
        try:
            # The plain socket's shutdown even for a TLS socket: SSLSocket.shutdown() would also
            # drop its SSL object under the thread that is using it.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass
        return True


class TracedSMTP(TraceMixin, smtplib.SMTP):
    """``smtplib.SMTP`` with a wire transcript: the same constructor, plus keyword-only tracing options."""

    def __init__(self, host="", port=0, local_hostname=None, timeout=_DEFAULT_TIMEOUT, source_address=None, *,
                 transcript: Transcript | None = None, limits: Limits | None = None, tls_context=None,
                 tls_name: str | None = None, verify_name: str | None = None, proxy_header=None,
                 family: int = socket.AF_UNSPEC, debug_to_stderr: bool = True):
        self._trace_init(transcript, limits=limits, tls_context=tls_context, tls_name=tls_name,
                         verify_name=verify_name, proxy_header=proxy_header, family=family,
                         debug_to_stderr=debug_to_stderr)
        _SMTP.__init__(self, host, port, local_hostname, timeout, source_address)


class TracedSMTP_SSL(TraceMixin, smtplib.SMTP_SSL):
    """``smtplib.SMTP_SSL`` (implicit TLS) with a wire transcript.

    With neither ``context`` nor ``tls_context`` it uses smtplib's default context
    (which, like smtplib's, does not verify the server's certificate).
    """

    _implicit_tls = True
    transport = "smtps"

    if sys.version_info < (3, 12):  # smtplib still takes (deprecated) keyfile and certfile
        def __init__(self, host="", port=0, local_hostname=None, keyfile=None, certfile=None,
                     timeout=_DEFAULT_TIMEOUT, source_address=None, context=None, *,
                     transcript: Transcript | None = None, limits: Limits | None = None, tls_context=None,
                     tls_name: str | None = None, verify_name: str | None = None, proxy_header=None,
                     family: int = socket.AF_UNSPEC, debug_to_stderr: bool = True):
            if context is not None and keyfile is not None:
                raise ValueError("context and keyfile arguments are mutually exclusive")
            if context is not None and certfile is not None:
                raise ValueError("context and certfile arguments are mutually exclusive")
            if keyfile is not None or certfile is not None:
                import warnings

                warnings.warn("keyfile and certfile are deprecated, use a custom context instead",
                              DeprecationWarning, 2)
                context = ssl._create_stdlib_context(certfile=certfile, keyfile=keyfile)
            self.keyfile = keyfile
            self.certfile = certfile
            self._ssl_init(host, port, local_hostname, timeout, source_address, context, transcript,
                           limits=limits, tls_context=tls_context, tls_name=tls_name, verify_name=verify_name,
                           proxy_header=proxy_header, family=family, debug_to_stderr=debug_to_stderr)
    else:
        def __init__(self, host="", port=0, local_hostname=None, *, timeout=_DEFAULT_TIMEOUT, source_address=None,
                     context=None, transcript: Transcript | None = None, limits: Limits | None = None,
                     tls_context=None, tls_name: str | None = None, verify_name: str | None = None,
                     proxy_header=None, family: int = socket.AF_UNSPEC, debug_to_stderr: bool = True):
            self._ssl_init(host, port, local_hostname, timeout, source_address, context, transcript,
                           limits=limits, tls_context=tls_context, tls_name=tls_name, verify_name=verify_name,
                           proxy_header=proxy_header, family=family, debug_to_stderr=debug_to_stderr)

    def _ssl_init(self, host, port, local_hostname, timeout, source_address, context, transcript, **trace):
        # smtplib.SMTP_SSL.__init__ calls smtplib.SMTP.__init__ by its module-level name, which
        # smtpdbg.tracing() replaces: do its work here instead.
        self._trace_init(transcript, **trace)
        self.context = context if context is not None else self._tls_context_now()
        _SMTP.__init__(self, host, port, local_hostname, timeout, source_address)


class TracedLMTP(TraceMixin, smtplib.LMTP):
    """``smtplib.LMTP`` (TCP or unix socket) with a wire transcript and RFC 2033 DATA replies."""

    transport = "lmtp"

    def __init__(self, host="", port=smtplib.LMTP_PORT, local_hostname=None, source_address=None,
                 timeout=_DEFAULT_TIMEOUT, *, transcript: Transcript | None = None, limits: Limits | None = None,
                 tls_context=None, tls_name: str | None = None, verify_name: str | None = None, proxy_header=None,
                 family: int = socket.AF_UNSPEC, debug_to_stderr: bool = True):
        self._trace_init(transcript, limits=limits, tls_context=tls_context, tls_name=tls_name,
                         verify_name=verify_name, proxy_header=proxy_header, family=family,
                         debug_to_stderr=debug_to_stderr)
        _SMTP.__init__(self, host, port, local_hostname, timeout, source_address)

    def connect(self, host="localhost", port=0, source_address=None):
        if not host or host[0] != "/":
            return super().connect(host, port, source_address)
        self._host = host
        self.close_reason = ""
        if self.timeout is not None and not self.timeout:
            raise ValueError("Non-blocking socket (timeout=0) is not supported")
        self._info(InfoKind.CONNECTING, f"connecting to unix socket {host}", peer=f"lmtp://{host}")
        # smtplib.socket, as smtplib itself does (tests replace it)
        sock = smtplib.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._connecting = sock
        try:
            if self.deadline is not None:
                sock.settimeout(self._remaining())
            elif self.timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(self.timeout)
            sock.connect(host)
        except FileNotFoundError:
            sock.close()
            if self.debuglevel > 0:
                self._print_debug("connect fail:", host)
            raise FileNotFoundError(errno.ENOENT, "no unix socket at this path", host) from None
        except BaseException:
            sock.close()
            if self.debuglevel > 0:
                self._print_debug("connect fail:", host)
            raise
        finally:
            self._connecting = None
        return self.adopt(sock, f"unix socket {host}", host)
