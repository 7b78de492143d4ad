"""Traced smtplib session objects: ``SMTP``, ``SMTP_SSL`` and ``LMTP`` that record every byte.

These are real ``smtplib`` objects (every documented method works) with the
socket I/O replaced where a debugger needs more than smtplib gives:

* ``send()`` and ``getreply()`` record each line exactly as on the wire, with
  its direction, timestamp and TLS flag; AUTH secrets are masked before they
  are recorded (see :mod:`smtpdbg.core.secrets`).
* Replies are read with one wall-clock deadline per command and bounded line
  and reply sizes (:mod:`smtpdbg.core.wire`); the socket can be shut down from
  another thread (:meth:`TraceMixin.abort`).
* ``starttls()`` works after ``connect()`` (CPython gh-70039: ``_host`` was only
  set in ``__init__``) and refuses plaintext injected after its ``220``.
* ``data()`` normalises line endings, dot-stuffs, records a bounded summary of
  the body, and for LMTP reads one reply per accepted recipient (RFC 2033 §4.2).
"""

from __future__ import annotations

import errno
import os
import select
import smtplib
import socket
import ssl
import sys
import time
from typing import Callable

from smtpdbg.core.body import BodyEncoder, BodySummary, FileBody
from smtpdbg.core.errors import CommandAborted, CommandError, CommandTimeout, LineTooLong, ServerFault, TlsInjection
from smtpdbg.core.events import Body, Direction, Info, InfoKind, Wire
from smtpdbg.core.protocol import ProtocolTracker
from smtpdbg.core.render import safe_text
from smtpdbg.core.secrets import MASK, AuthMasker
from smtpdbg.core.state import TlsInfo
from smtpdbg.core.tls import describe, is_verifying, summary
from smtpdbg.core.transcript import Transcript
from smtpdbg.core.wire import Limits, ReplyReader, prepare_body, split_head_tail

SEND = Direction.SEND
RECV = Direction.RECV
_CAPPED_KEEP = 80
"""Bytes of a line kept once the session's transcript limit is reached."""
_ONE_WRITE = 1 << 20
"""Bodies up to this size are sent together with their final dot in one write."""
_PARTIAL_KEEP = 1024
"""How much of an unterminated command line is kept to judge (AUTH?) and track it when the rest follows."""
_DRAIN_GRACE = 0.25
"""Seconds a partial unsolicited line may take to complete before a command is sent."""
_SMTP = smtplib.SMTP
"""smtplib's own class, also while :func:`smtpdbg.tracing` has put the traced ones in its place."""
_DEFAULT_TIMEOUT = socket._GLOBAL_DEFAULT_TIMEOUT


def run_bounded(call: Callable, *, deadline: float | None, aborted: Callable[[], bool], what: str):
    """Run a blocking call that cannot be interrupted (a DNS lookup) so the command still can be.

    The call runs on a helper thread; the caller waits for it, checking the
    command's deadline and the abort flag every 50 ms. A call given up on
    finishes in the background and its result is dropped.

    Raises:
        CommandTimeout / CommandAborted: the deadline passed or the user aborted first;
        whatever ``call`` raised.
    """
    import threading

    box: dict = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="smtpdbg-lookup", daemon=True).start()
    while not done.wait(0.05):
        if aborted():
            raise CommandAborted(f"aborted by the user while {what}")
        if deadline is not None and time.monotonic() >= deadline:
            raise CommandTimeout(f"timed out {what}")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _format_address(address) -> str:
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(address) or "(unnamed unix socket)"


def _has_auth(line: bytes) -> bool:
    """Whether a client line is (or, behind a bare CR, hides) an AUTH command."""
    if line.lstrip()[:4].upper() == b"AUTH":  # any ASCII blank before it (a server may skip \v or \f too)
        return True
    body = line.rstrip(b"\r\n")
    return b"\r" in body and any(p.lstrip()[:4].upper() == b"AUTH" for p in body.split(b"\r"))


class TraceMixin:
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
        """The start of a command line sent without its line ending (``raw --no-crlf``)."""
        self._send_continuation = False
        self._connecting: socket.socket | None = None
        self._tls = False

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

    # -- connecting ----------------------------------------------------------------------
    def connect(self, host="localhost", port=0, source_address=None):
        self._host = host  # CPython gh-70039: starttls() after connect() needs it
        self.close_reason = ""
        if source_address:
            self.source_address = source_address
        shown = host if port == 0 else _format_address((host, port))
        self._info(InfoKind.CONNECTING, f"connecting to {shown}", peer=f"{self.transport}://{shown}")
        code, message = super().connect(host, port, source_address)
        self.banner = (code, message)
        return code, message

    def _open(self, host: str, port: int) -> socket.socket:
        """Connect a TCP socket that :meth:`abort` and the deadline can interrupt."""
        try:  # an address needs no lookup
            infos = socket.getaddrinfo(host, port, self.family, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
        except socket.gaierror:  # a name: the system resolver may block for many seconds
            infos = run_bounded(lambda: socket.getaddrinfo(host, port, self.family, socket.SOCK_STREAM),
                                deadline=self.deadline, aborted=lambda: self.aborted,
                                what=f"looking up the address of {host}")
        last: OSError | None = None
        for index, (family, kind, proto, _, address) in enumerate(infos):
            # With several addresses, one that never answers (often IPv6) must not take
            # the whole timeout: each gets its share of what is left (RFC 8305's spirit).
            left = len(infos) - index
            share = None if left == 1 else time.monotonic() + self._remaining_connect(host, port) / left
            sock = socket.socket(family, kind, proto)
            self._connecting = sock
            try:
                if self.source_address:
                    sock.bind(self.source_address)
                sock.setblocking(False)
                err = sock.connect_ex(address)
                while err != 0:
                    if err not in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, errno.EAGAIN):
                        raise OSError(err, os.strerror(err))
                    if self.aborted:
                        raise CommandAborted("aborted by the user while connecting")
                    remaining = self._remaining_connect(host, port)
                    if share is not None and time.monotonic() >= share:
                        raise TimeoutError(f"no answer from {_format_address(address)}; trying the next address")
                    _, writable, _ = select.select([], [sock], [], min(remaining, 0.1))
                    if writable:
                        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if err:
                            raise OSError(err, os.strerror(err))
                        break
                sock.setblocking(True)
                # Commands are whole lines written at once; never let one wait for an ACK.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except (CommandAborted, CommandTimeout):
                sock.close()
                raise
            except OSError as exc:
                sock.close()
                last = exc
                if index < len(infos) - 1:
                    self._info(InfoKind.INFO, f"{_format_address(address)}: {exc.strerror or exc}; trying the next address")
            finally:
                self._connecting = None
        raise last if last is not None else OSError(f"no address for {host}")

    def _remaining_connect(self, host: str, port: int) -> float:
        try:
            remaining = self._remaining()
        except CommandTimeout:
            raise CommandTimeout(f"timed out connecting to {_format_address((host, port))}") from None
        return 30.0 if remaining is None else remaining

    def _get_socket(self, host, port, timeout):
        if self.deadline is None and self.family == socket.AF_UNSPEC:
            # Library use: smtplib's own connect (its timeout semantics, debug output and errors).
            sock = _SMTP._get_socket(self, host, port, timeout)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        else:
            if timeout is not None and not timeout:
                raise ValueError("Non-blocking socket (timeout=0) is not supported")
            if self.debuglevel > 0:
                self._print_debug("connect: to", (host, port), self.source_address)
            sock = self._open_bounded(host, port, timeout)
        self._connected(sock)
        self._connecting = sock  # abort() reaches it before smtplib stores it as self.sock
        try:
            if self.proxy_header is not None:
                self._send_proxy_header(sock)
            if self._implicit_tls:
                sock = self._handshake(sock, self.context, implicit=True)
                if self.debuglevel > 0:
                    self._print_debug("connect:", (host, port))
        except BaseException as exc:  # the socket never reaches smtplib: close it here, and say so
            sock.close()
            self.tracker.on_close("aborted" if self.aborted else "connection lost")
            reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc
            self._info(InfoKind.CLOSED, f"connection closed: {'TLS handshake' if self._implicit_tls else 'setup'} "
                                        f"failed ({reason})")
            raise
        finally:
            self._connecting = None
        return sock

    def _open_bounded(self, host: str, port: int, timeout) -> socket.socket:
        """:meth:`_open` under the command's deadline, or (library use) under smtplib's ``timeout``."""
        if self.deadline is not None:
            return self._open(host, port)
        if timeout is _DEFAULT_TIMEOUT:
            timeout = socket.getdefaulttimeout()
        self.deadline = None if timeout is None else time.monotonic() + timeout
        try:
            sock = self._open(host, port)
        finally:
            self.deadline = None
        sock.settimeout(timeout)
        return sock

    def _send_proxy_header(self, sock: socket.socket) -> None:
        """PROXY protocol header before anything else (HAProxy's spec, v1 text or v2 binary)."""
        from smtpdbg.core.proxy import proxy_header

        version, source = self.proxy_header
        header = proxy_header(version, source, sock.getpeername(), sock.family)
        shown = header if version == "v1" else header[:16] + b"..."
        self._record(SEND, header if version == "v1" else shown,
                     note=f"PROXY protocol {version} header ({len(header)} bytes): the server sees the client as {source[0]}:{source[1]}")
        self._set_deadline(sock)
        sock.sendall(header)

    def _connected(self, sock: socket.socket) -> None:
        peer = _format_address(sock.getpeername())
        local = _format_address(sock.getsockname())
        self._tls = False
        self.tls_info = None
        self._reader = None
        self.tracker.on_connect()
        self._masker = AuthMasker()
        self._send_partial = b""
        self._info(InfoKind.CONNECTED, f"connected to {peer} from {local}", peer=peer, local=local)

    def _handshake(self, sock: socket.socket, context: ssl.SSLContext, *, implicit: bool) -> ssl.SSLSocket:
        name = self.tls_name or self._host
        verify_name = self.verify_name
        verifying = is_verifying(context)
        split_check = bool(verify_name and verify_name != name and context.check_hostname)
        self._connecting = sock
        tls_sock = None
        try:
            self._set_deadline(sock)
            if split_check:
                # SNI and the name to verify differ: the handshake checks the chain,
                # the name is checked afterwards (ssl only checks server_hostname).
                context.check_hostname = False
            # wrap_socket() detaches the plain socket: abort() must reach the TLS one during the handshake.
            tls_sock = context.wrap_socket(sock, server_hostname=name, do_handshake_on_connect=False)
            self._connecting = tls_sock
            if self.aborted:
                raise CommandAborted("aborted by the user during the TLS handshake")
            tls_sock.do_handshake()
        except ssl.SSLError as exc:
            plaintext = None if self.aborted else self._plaintext_after_handshake_error(exc, tls_sock)
            (tls_sock if tls_sock is not None else sock).close()
            if self.aborted:
                raise CommandAborted("aborted by the user during the TLS handshake") from None
            if plaintext is not None:
                raise plaintext from None
            raise
        except BaseException:
            (tls_sock if tls_sock is not None else sock).close()
            if self.aborted:
                raise CommandAborted("aborted by the user during the TLS handshake") from None
            raise
        finally:
            if split_check:
                context.check_hostname = True
            self._connecting = None
        checked = verify_name or name
        info = describe(tls_sock, verified=verifying, server_name=checked, implicit=implicit, sni=name,
                        cafile=self.tls_cafile)
        if verifying and verify_name and verify_name != name and info.name_matches is not True:
            tls_sock.close()
            error = ssl.SSLCertVerificationError(1, f"certificate does not match the name {verify_name!r}")
            error.verify_message = f"Hostname mismatch, certificate is not valid for {verify_name!r}"
            raise error
        self._tls = True
        self.tls_info = info
        if implicit:
            self.tracker.on_implicit_tls()
        else:
            self.tracker.on_tls()
        self._info(InfoKind.TLS, summary(self.tls_info), tls_info=self.tls_info)
        return tls_sock

    def _plaintext_after_handshake_error(self, exc: ssl.SSLError, tls_sock) -> ServerFault | None:
        """A server that answers the ClientHello in plaintext (``421 4.7.0 TLS not available``) makes the TLS
        layer report only WRONG_VERSION_NUMBER: read what is left of its line and name it for what it is.

        The TLS layer took the first bytes (a record header, 5 bytes); the rest is still on the socket.
        """
        if tls_sock is None or getattr(exc, "reason", "") not in (
                "WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                "HTTP_REQUEST", "UNEXPECTED_RECORD", "RECORD_TOO_LARGE"):
            return None
        try:
            tls_sock.settimeout(0.3)
            rest = socket.socket.recv(tls_sock, 4096)
        except OSError:
            rest = b""
        if not rest or not rest.rstrip(b"\r\n").isascii() or not rest.endswith(b"\n"):
            return None
        self._record(RECV, rest, note="plaintext during the TLS handshake; its first bytes were taken by the TLS layer")
        shown = safe_text(rest.decode("ascii").rstrip("\r\n")[:120])
        return ServerFault(
            f"the server answered the TLS handshake in plaintext (…{shown}): most likely an SMTP reply such as "
            f"421, not TLS ({exc.reason})", category="tls-plaintext")

    def starttls(self, keyfile=None, certfile=None, context=None, *, force: bool = False):
        """smtplib's ``starttls()`` with a verifying default context and an injection check.

        Args:
            force: send STARTTLS even when the server did not advertise it.
        """
        self.ehlo_or_helo_if_needed()
        if not force and not self.has_extn("starttls"):
            raise smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server.")
        if context is None:  # before STARTTLS is sent: a bad TLS setting must not strand the connection
            context = self._tls_context_now()
            if keyfile and not certfile:
                raise CommandError("--key needs --cert: the key belongs to a client certificate")
            if certfile:
                from smtpdbg.core.tls import load_client_cert

                try:
                    load_client_cert(context, certfile, keyfile)  # kept for the rest of the session
                except ValueError as exc:
                    raise CommandError(str(exc)) from None
                except OSError as exc:  # FileNotFoundError names no file; ssl.SSLError says "PEM lib"
                    files = certfile + (f" (key {keyfile})" if keyfile else "")
                    reason = exc.strerror or getattr(exc, "reason", None) or str(exc)
                    raise CommandError(f"cannot load the client certificate {files}: {reason}") from None
        code, reply = self.docmd("STARTTLS")
        if code != 220:
            raise smtplib.SMTPResponseException(code, reply)
        reader = self._reader
        if reader is not None and reader.available():
            leftover = bytes(reader.buffer)
            reader.buffer.clear()
            try:
                leftover += self.sock.recv(4096) if not leftover else b""
            except OSError:
                pass
            if leftover:
                self._record(RECV, leftover, note="plaintext after 220, before the TLS handshake")
            self._fail(
                TlsInjection(
                    f"the server sent {len(leftover):,} byte(s) of plaintext after its 220 reply to STARTTLS, "
                    "before the TLS handshake (STARTTLS command injection, CVE-2011-0411 class). "
                    "smtpdbg refuses to continue on this connection"
                )
            )
        try:
            self.sock = self._handshake(self.sock, context, implicit=False)
        except BaseException as exc:  # the plain socket is gone with the failed handshake: say so
            reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc
            self.close_reason = f"the TLS handshake after STARTTLS failed ({reason})"
            self.close()
            raise
        self.file = None
        self._reader = None
        # RFC 3207 §4.2: discard knowledge obtained before TLS.
        self.helo_resp = None
        self.ehlo_resp = None
        self.esmtp_features = {}
        self.does_esmtp = False
        return code, reply

    # -- sending ---------------------------------------------------------------------------
    def send(self, s):
        """Record and send a command (or raw bytes); smtplib's ``send()`` contract."""
        if self.debuglevel > 0:
            self._print_debug("send:", repr(s))
        if not self.sock:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        if isinstance(s, str):
            s = s.encode(self.command_encoding)
        if self._reader is not None and not self.tracker.pending and self._reader.available():
            self.drain(0)
            if not self.sock:
                raise smtplib.SMTPServerDisconnected("Server not connected")
        sys.audit("smtplib.send", self, s)
        self._record_lines(s)
        self._sendall(s)

    def _record_lines(self, data: bytes, pipelined: bool = False) -> None:
        tracker = self.tracker
        masker = self._masker
        start = 0
        end = len(data)
        blind_body = False  # a DATA line went out with more lines behind it: those are its body
        while start < end:
            stop = data.find(b"\n", start)
            stop = end if stop < 0 else stop + 1
            line = data[start:stop]
            start = stop
            if tracker.in_data or blind_body:
                self._record(SEND, line, pipelined=pipelined)
                if line in (b".\r\n", b".\n"):
                    tracker.on_body_sent()
                    blind_body = False
                continue
            # A command line can go out in pieces (raw --no-crlf): judge and track the whole line so far.
            partial = self._send_partial
            full = partial + line if partial else line
            complete = full.endswith(b"\n")
            if not partial:
                self._send_continuation = masker.active
            continuation = self._send_continuation
            self._send_partial = b"" if complete else full[:_PARTIAL_KEEP]
            if masker.active or _has_auth(full):
                shown, redacted, note = masker.on_send(full)
                if continuation and not masker.active:  # a command pipelined behind AUTH's initial response
                    self._record(SEND, line, pipelined=pipelined)
                    if complete:
                        tracker.on_send(full)
                    continue
                if partial and redacted:  # the line's start is on record already: mask this whole piece
                    shown = MASK + line[len(line.rstrip(b"\r\n")):]
                self._record(SEND, shown, redacted=redacted, note=note, pipelined=pipelined)
                if complete:
                    tracker.on_send(full, auth_continuation=continuation, redacted=redacted)
                if masker.user:
                    tracker.note_auth(masker.user, masker.mechanism)
                continue
            self._record(SEND, line, pipelined=pipelined)
            if complete:
                blind_body = start < end and not pipelined and full.rstrip(b"\r\n").upper() == b"DATA"
                tracker.on_send(full, body_follows=blind_body)

    def _sendall(self, data: bytes) -> None:
        sock = self.sock
        try:
            self._set_deadline(sock)
            sock.sendall(data)
        except (socket.timeout, TimeoutError):
            self._fail(CommandTimeout("timed out sending to the server (it stopped reading)"))
        except OSError as exc:
            if self.aborted:
                self._fail(CommandAborted("aborted by the user; the connection was shut down"))
            self.close_reason = f"send failed: {exc.strerror or exc}"
            self.close()
            raise smtplib.SMTPServerDisconnected("Server not connected") from exc

    def send_pipelined(self, lines: list[bytes]) -> None:
        """Send several command lines in one write (RFC 2920); replies are read by the caller."""
        if not self.sock:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        data = b"".join(lines)
        self._record_lines(data, pipelined=True)
        self._sendall(data)

    # -- DATA -----------------------------------------------------------------------------
    def data(self, msg):
        """Send DATA and the message; for LMTP read one reply per accepted recipient."""
        self.putcmd("data")
        code, repl = self.getreply()
        if self.debuglevel > 0:
            self._print_debug("data:", (code, repl))
        if code != 354:
            raise smtplib.SMTPDataError(code, repl)
        if isinstance(msg, FileBody):
            self.send_body_stream(msg)
        else:
            self.send_body(prepare_body(msg))
        return self.read_final_replies()

    def read_final_replies(self) -> tuple[int, bytes]:
        """Read every reply the end of the message gets: one (SMTP), one per accepted recipient (LMTP),
        or PRDR's 353, per-recipient replies and the message's reply. Returns the first failure, else the last."""
        self.data_replies = [self.getreply()]
        while self.sock is not None and self.tracker.awaiting_final:
            self.data_replies.append(self.getreply())
        if self.debuglevel > 0:
            for reply in self.data_replies:
                self._print_debug("data:", reply)
        for code, repl in self.data_replies:
            if code != 250 and code != 353:
                return code, repl
        return self.data_replies[-1]

    def send_body(self, body) -> None:
        """Record a bounded summary of a prepared body and send it with its final dot."""
        head, tail, omitted, line_count = split_head_tail(body.payload, self.limits)
        self._record_body(body, head, tail, omitted, line_count)
        self.tracker.on_body_sent()
        if self.debuglevel > 0:
            self._print_debug("send:", repr(body.payload + body.terminator))
        if len(body.payload) <= _ONE_WRITE:
            # One write: a body and its final dot in two small writes would wait for
            # the server's delayed ACK (Nagle), ~40 ms per message.
            self._sendall(body.payload + body.terminator)
        else:  # large: no 50 MB copy; TCP_NODELAY (set at connect) keeps the dot from waiting
            self._sendall(body.payload)
            self._sendall(body.terminator)

    def send_body_stream(self, source: FileBody) -> None:
        """Send a message file a chunk at a time (CRLF, dot-stuffed), then the final dot.

        Memory stays bounded whatever the file's size; the command's deadline and an abort stop it
        within a chunk. If the file cannot be sent whole, the connection is closed before the final
        dot, so the server discards the partial message (and nothing else can be taken for it).
        """
        encoder = BodyEncoder()
        summary = BodySummary(self.limits)
        try:
            for chunk in source.chunks():
                if self.aborted:
                    raise CommandAborted("aborted by the user while sending the message")
                out = encoder.feed(chunk)
                summary.feed(out)
                self._sendall(out)
            out = encoder.finish()
            summary.feed(out)
            self._sendall(out)
        except BaseException as exc:
            source.close()
            self._add_body(summary, encoder, complete=False)
            self._warn(f"the message was cut off after {encoder.size:,} bytes, before the final dot: not delivered")
            if self.sock is not None:
                self.close_reason = f"the message could not be sent whole ({exc})"
                self.close()
            raise
        self._add_body(summary, encoder, complete=True)
        self.tracker.on_body_sent()
        self._sendall(b".\r\n")

    def _add_body(self, summary: BodySummary, encoder: BodyEncoder, *, complete: bool) -> None:
        if complete:
            summary.feed(b".\r\n")
        head, tail, omitted, line_count = summary.result()
        self.transcript.add(Body, size=summary.size, line_count=line_count, head=head, tail=tail, omitted=omitted,
                            tls=self._tls, stuffed=encoder.stuffed)

    def _record_body(self, body, head, tail, omitted, line_count) -> None:
        if omitted or tail:
            tail = tail + (body.terminator,)
        else:
            head = head + (body.terminator,)
        self.transcript.add(
            Body,
            size=body.size,
            line_count=line_count + 1,
            head=head,
            tail=tail,
            omitted=omitted,
            tls=self._tls,
            stuffed=body.stuffed,
        )

    # -- CHUNKING ---------------------------------------------------------------------------
    def bdat(self, message: bytes, chunk_size: int = 65536, *, declared: int | None = None, last: bool = True):
        """Send ``message`` with BDAT chunks (RFC 3030 §2), reading a reply after each.

        Args:
            chunk_size: bytes per chunk.
            declared: announce this size for the first chunk instead of its real
                size (a deliberately wrong count, to test a server).
            last: mark the final chunk ``LAST``.

        Returns:
            Every reply read; stops at the first failure.
        """
        if isinstance(message, str):
            message = message.encode("utf-8")
        if chunk_size < 1:
            raise ValueError("the chunk size must be at least 1 byte")
        chunks = [message[i : i + chunk_size] for i in range(0, len(message), chunk_size)] or [b""]
        replies: list[tuple[int, bytes]] = []
        for index, chunk in enumerate(chunks):
            final = last and index == len(chunks) - 1
            size = declared if declared is not None and index == 0 else len(chunk)
            if size != len(chunk):
                self._warn(f"BDAT announces {size:,} bytes but {len(chunk):,} follow (deliberate wrong count)")
            line = f"BDAT {size}{' LAST' if final else ''}\r\n".encode("ascii")
            self._record_lines(line)
            head, tail, omitted, line_count = split_head_tail(chunk, self.limits)
            self.transcript.add(Body, size=len(chunk), line_count=line_count, head=head, tail=tail, omitted=omitted,
                                tls=self._tls, stuffed=0)
            self._sendall(line + chunk)
            chunk_replies = [self.getreply()]
            # LMTP: BDAT LAST gets one reply per accepted recipient (RFC 2033 + RFC 3030)
            while self.sock is not None and any(p.verb == "BDAT" for p in self.tracker.pending):
                chunk_replies.append(self.getreply())
            replies += chunk_replies
            self.data_replies = chunk_replies
            if any(code >= 400 or code < 0 for code, _ in chunk_replies):
                break
        return replies

    # -- receiving -------------------------------------------------------------------------
    def getreply(self):
        """Read one reply under the command's deadline; smtplib's ``getreply()`` contract."""
        code, text, _ = self.read_reply()
        return code, text

    def _ensure_reader(self) -> ReplyReader:
        reader = self._reader
        if reader is None or reader.sock is not self.sock:
            if self.sock is None:
                raise smtplib.SMTPServerDisconnected("please run connect() first")
            reader = self._reader = ReplyReader(self.sock, self.limits)
        return reader

    def read_reply(self, deadline: float | None = None, *, quiet: bool = False,
                   late: bool = False) -> tuple[int, bytes, list[bytes]]:
        """Read one (possibly multi-line) reply, record it, and pair it with its command.

        Returns:
            ``(code, text, lines)`` where text joins the lines' texts with ``\\n``
            as smtplib does and code is -1 for a line without a valid code.
        """
        reader = self._ensure_reader()
        if deadline is None:
            deadline = self.deadline
        limits = self.limits
        texts: list[bytes] = []
        shown: list[bytes] = []
        """The texts as recorded (secrets scrubbed): what the Reply event carries."""
        lines: list[bytes] = []
        first = None
        first_seq = 0
        first_at = None
        size = 0
        errcode = -1
        while True:
            try:
                line = reader.readline(deadline)
            except LineTooLong as fault:
                self._record(RECV, fault.kept, note=f"truncated: the line was {fault.size:,} bytes")
                self._fail(fault)
            except ServerFault as fault:
                if reader.buffer:
                    fragment = bytes(reader.buffer)
                    reader.buffer.clear()
                    self._record(RECV, fragment, note="incomplete line")
                self._fail(fault)
            except OSError as exc:
                self.close_reason = f"receive failed: {exc.strerror or exc}"
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed: " + str(exc)) from exc
            if not line:
                waiting = " in the middle of a multi-line reply" if lines else ""
                self.close_reason = f"the server closed the connection{waiting}"
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            lines.append(line)
            size += len(line)
            code = line[:3]
            # RFC 5321 §4.2: three digits, then a space, a hyphen or the line's end ("2500" is no 250)
            valid = len(code) == 3 and code.isdigit() and line[3:4] in (b" ", b"-", b"\r", b"\n", b"")
            note = ""
            if valid and self._masker.active:
                note = self._masker.on_reply(int(code), line[4:].strip(b" \t\r\n")) if line[3:4] != b"-" else ""
            recorded = self._record(RECV, line, note=note)
            if first_at is None:
                first_seq, first_at = recorded.seq, recorded.mono
            if self.debuglevel > 0:
                self._print_debug("reply:", repr(line))
            # smtplib keeps line[4:]; a line without a code is kept whole, it is all there is to read
            texts.append((line[4:] if valid else line).strip(b" \t\r\n"))
            seen = recorded.data
            shown.append((seen[4:] if valid else seen).strip(b" \t\r\n"))
            if not line.endswith(b"\r\n"):
                self._warn_line_ending(line)
            if b"\r" in line[:-2 if line.endswith(b"\r\n") else -1 if line.endswith(b"\n") else len(line)]:
                self._warn("bare CR inside a reply line, kept as data (RFC 5321 §2.3.8: only CRLF ends a line)")
            if not valid:
                errcode = -1
                if not quiet:
                    self._warn(
                        f"reply line without a valid 3-digit code: {safe_text(line[:60])!r}; "
                        "the server may not be speaking SMTP here (`drain` reads whatever else it sent)"
                    )
                break
            errcode = int(code)
            if first is None:
                first = errcode
            elif errcode != first:
                self._warn(
                    f"reply code changed from {first} to {errcode} inside one multi-line reply "
                    "(RFC 5321 §4.2.1: every line must carry the same code)"
                )
            if line[3:4] != b"-":
                break
            if len(lines) >= limits.max_reply_lines or size > limits.max_reply_bytes:
                self._fail(
                    ServerFault(
                        f"the server's multi-line reply exceeded {len(lines):,} lines / {size:,} bytes "
                        f"(limits {limits.max_reply_lines:,} lines, {limits.max_reply_bytes:,} bytes); "
                        "the reply was cut off here",
                        category="reply-too-long",
                    )
                )
        text = b"\n".join(texts)
        if self.debuglevel > 0:
            self._print_debug("reply: retcode (%s); Msg: %a" % (errcode, text))
        pairing = self.tracker.on_reply(errcode, b"\n".join(shown).decode("utf-8", "replace"), first_seq=first_seq,
                                        lines=len(lines), received=first_at, late=late)
        self.last_pairing = pairing
        if pairing is not None and pairing.command == "XCLIENT" and errcode == 220:
            # Postfix answers XCLIENT with a new greeting: what EHLO said no longer holds
            # (however XCLIENT was sent: the xclient command, docmd or raw).
            self.helo_resp = self.ehlo_resp = None
            self.esmtp_features = {}
            self.does_esmtp = False
        if pairing is not None and pairing.unsolicited and not quiet and errcode != 421:
            self._warn(f"unsolicited reply {errcode}: no command was waiting for it")
        if self._masker.active and errcode != 334:
            self._masker.on_reply(errcode, b"")
        self.last_reply = (errcode, text)
        return errcode, text, lines

    def _warn_line_ending(self, line: bytes) -> None:
        if line.endswith(b"\n"):
            self._warn("bare LF line ending (RFC 5321 §2.3.8 requires CRLF)")
        elif line.endswith(b"\r"):
            self._warn("line ended by a bare CR (RFC 5321 §2.3.8 requires CRLF)")
        else:
            self._warn("the last line had no line ending before the connection closed")

    def _warn(self, text: str) -> None:
        self._info(InfoKind.WARNING, text)

    def drain(self, wait: float = 0.5, *, max_bytes: int | None = None) -> list[tuple[int, bytes]]:
        """Read replies that arrived outside their command, for up to ``wait`` seconds of quiet.

        A reply still owed to an earlier command (``raw`` read fewer than it
        sent) is paired with it and flagged as late; one no command asked for
        is flagged as unsolicited. Returns the replies read.
        """
        replies: list[tuple[int, bytes]] = []
        reader = self._ensure_reader()
        budget = max_bytes if max_bytes is not None else self.limits.max_reply_bytes
        self._drain_loop(reader, wait, budget, replies)
        return replies

    def _drain_loop(self, reader: ReplyReader, wait: float, budget: int, replies: list) -> None:
        read = 0
        unsolicited = 0
        deadline = self.deadline  # the command's: a server that never goes quiet must not keep it forever
        while self.sock is not None:
            now = time.monotonic()
            quiet_for = wait if deadline is None else min(wait, deadline - now)
            if not reader.available():
                if quiet_for <= 0 or not self._wait_readable(reader, quiet_for):
                    if wait > 0 and quiet_for < wait and replies:
                        self._warn("drain stopped at the command's time limit while replies were still arriving "
                                   "(the server does not go quiet)")
                    break
            read_by = now + max(wait, _DRAIN_GRACE)
            try:
                code, text, lines = self.read_reply(read_by if deadline is None else min(read_by, deadline), quiet=True,
                                                    late=bool(self.tracker.pending))
            except CommandTimeout:
                break
            read += sum(len(line) for line in lines)
            replies.append((code, text))
            shown = code if code >= 0 else "(no code)"
            pairing = self.last_pairing
            if pairing is not None and not pairing.unsolicited:
                self._warn(f"late reply {shown} to {pairing.command}: it arrived after that command stopped reading")
            else:
                unsolicited += 1
                if unsolicited <= 3:
                    self._warn(f"unsolicited reply {shown}: no command was waiting for it (protocol violation or desync)")
            if read > budget:
                self._fail(
                    ServerFault(
                        f"the server flooded {read:,} bytes nobody asked for (limit {budget:,}); connection closed",
                        category="flood",
                    )
                )
        if unsolicited > 3:
            self._warn(f"{unsolicited:,} unsolicited replies in all ({read:,} bytes) nobody asked for")

    def _wait_readable(self, reader: ReplyReader, wait: float) -> bool:
        try:
            readable, _, _ = select.select([reader.sock], [], [], wait)
        except (OSError, ValueError):
            return False
        return bool(readable)

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
        self.sock = sock
        self.file = None
        self._tls = False
        self.tls_info = None
        self._reader = None
        self.tracker.on_connect()
        self._masker = AuthMasker()
        self._send_partial = b""
        self._info(InfoKind.CONNECTED, f"connected to unix socket {host}", peer=host, local="")
        code, message = self.getreply()
        if self.debuglevel > 0:
            self._print_debug("connect:", message)
        self.banner = (code, message)
        return code, message
