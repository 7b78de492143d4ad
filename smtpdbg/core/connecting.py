"""Connecting a traced session: sockets the deadline and an abort can interrupt, PROXY headers, TLS.

Part of the traced smtplib classes (:mod:`smtpdbg.core.traced`): the TCP
connect with one deadline shared by every address of the host, the PROXY
protocol header, implicit TLS and ``starttls()`` with a verifying context,
an injection check after the ``220`` and a plaintext reply to the ClientHello
named for what it is. ``starttls()`` works after ``connect()`` (CPython
gh-70039: ``_host`` was only set in ``__init__``).
"""

from __future__ import annotations

import errno
import os
import select
import smtplib
import socket
import ssl
import threading
import time
from typing import Callable

from smtpdbg.core.errors import CommandAborted, CommandError, CommandTimeout, ServerFault, TlsInjection
from smtpdbg.core.events import Direction, InfoKind
from smtpdbg.core.render import safe_text
from smtpdbg.core.secrets import AuthMasker

RECV = Direction.RECV
SEND = Direction.SEND
_DEFAULT_TIMEOUT = socket._GLOBAL_DEFAULT_TIMEOUT
_SMTP = smtplib.SMTP
"""smtplib's own class, also while :func:`smtpdbg.tracing` has put the traced ones in its place."""


def run_bounded(call: Callable, *, deadline: float | None, aborted: Callable[[], bool], what: str):
    """Run a blocking call that cannot be interrupted (a DNS lookup) so the command still can be.

    The call runs on a helper thread; the caller waits for it, checking the
    command's deadline and the abort flag every 50 ms. A call given up on
    finishes in the background and its result is dropped.

    Raises:
        CommandTimeout / CommandAborted: the deadline passed or the user aborted first;
        whatever ``call`` raised.
    """
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


def format_address(address) -> str:
    """``host:port`` (``[v6]:port``) of a socket address; a unix socket's path."""
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(address) or "(unnamed unix socket)"


class ConnectMixin:
    """Connecting, PROXY headers and TLS for a traced ``smtplib.SMTP`` subclass."""

    # -- connecting ----------------------------------------------------------------------
    def connect(self, host="localhost", port=0, source_address=None):
        self._host = host  # CPython gh-70039: starttls() after connect() needs it
        self.close_reason = ""
        if source_address:
            self.source_address = source_address
        shown = host if port == 0 else format_address((host, port))
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
                        raise TimeoutError(f"no answer from {format_address(address)}; trying the next address")
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
                    self._info(InfoKind.INFO, f"{format_address(address)}: {exc.strerror or exc}; trying the next address")
            finally:
                self._connecting = None
        raise last if last is not None else OSError(f"no address for {host}")

    def _remaining_connect(self, host: str, port: int) -> float:
        try:
            remaining = self._remaining()
        except CommandTimeout:
            raise CommandTimeout(f"timed out connecting to {format_address((host, port))}") from None
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
        peer = format_address(sock.getpeername())
        local = format_address(sock.getsockname())
        self._tls = False
        self.tls_info = None
        self._reader = None
        self.tracker.on_connect()
        self._masker = AuthMasker()
        self._send_partial = b""
        self._bdat_left = 0
        self._info(InfoKind.CONNECTED, f"connected to {peer} from {local}", peer=peer, local=local)

    def _handshake(self, sock: socket.socket, context: ssl.SSLContext, *, implicit: bool) -> ssl.SSLSocket:
        from smtpdbg.core.tls import describe, is_verifying, summary  # a plaintext session never needs it

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
            self._handshake_keeping_head(tls_sock)
        except ssl.SSLError as exc:
            if isinstance(exc, ssl.SSLCertVerificationError) and tls_sock is not None and not self.aborted:
                self._report_rejected_chain(exc, tls_sock, name=name, checked=verify_name or name,
                                            implicit=implicit)
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

    def _report_rejected_chain(self, exc, tls_sock, *, name, checked, implicit: bool) -> None:
        """The chain the server sent, though untrusted, in the transcript (core/peerchain.py)."""
        from smtpdbg.core.peerchain import describe_chain, rejected_chain

        try:
            peer = tls_sock.getpeername()
        except OSError:
            peer = None
        found = rejected_chain(tls_sock, None if self.proxy_header is not None else peer, implicit=implicit,
                               name=name, checked=checked, reason=getattr(exc, "verify_message", "") or str(exc),
                               cafile=self.tls_cafile, local_hostname=self.local_hostname,
                               timeout=self.timeout if isinstance(self.timeout, (int, float)) else 10.0)
        if found is not None:
            header, *lines = describe_chain(*found)
            self._info(InfoKind.INFO, header, tls_info=found[0])
            for line in lines:
                self._info(InfoKind.INFO, line)

    _tls_head = b""  # the first bytes the server answered the ClientHello with

    def _handshake_keeping_head(self, tls_sock) -> None:
        """The TLS handshake, peeking at the answer's first 5 bytes: plaintext ones (``421 4``) are lost otherwise."""
        timeout, self._tls_head = tls_sock.gettimeout(), b""
        tls_sock.settimeout(0.0)
        try:
            tls_sock.do_handshake()  # the ClientHello goes out; the server's answer cannot be there yet
            return
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            if select.select([tls_sock], [], [], timeout)[0]:  # (a reset here is the handshake's failure)
                self._tls_head = socket.socket.recv(tls_sock, 5, socket.MSG_PEEK)
        finally:
            tls_sock.settimeout(timeout)
        self._set_deadline(tls_sock)
        tls_sock.do_handshake()

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
        head = self._tls_head if self._tls_head[:3].isdigit() and self._tls_head.isascii() else b""
        line = head + rest  # with the bytes the TLS layer took (peeked before it did): the line as the server sent it
        self._record(RECV, line, note="plaintext during the TLS handshake"
                     + ("" if head else "; its first bytes were taken by the TLS layer"))
        shown = safe_text(line.decode("ascii").rstrip("\r\n")[:120])
        what = f"{shown}): an SMTP reply" if head else f"…{shown}): most likely an SMTP reply such as 421"
        return ServerFault(f"the server answered the TLS handshake in plaintext ({what}, not TLS ({exc.reason})",
                           category="tls-plaintext")

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
