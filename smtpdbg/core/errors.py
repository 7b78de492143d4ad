"""Exceptions the traced session raises, and the classifier that turns any
exception into a plain-words message for the transcript.

The faults subclass :class:`smtplib.SMTPServerDisconnected` so code written
against smtplib (``sendmail``, ``login``) keeps its semantics, while frontends
get a stable category and a sentence that says what the server did wrong.
"""

from __future__ import annotations

import binascii
import smtplib
import socket
import ssl
from dataclasses import dataclass


class ServerFault(smtplib.SMTPServerDisconnected):
    """The server broke the protocol badly enough that the connection was closed."""

    category = "protocol"

    def __init__(self, message: str, *, category: str | None = None) -> None:
        super().__init__(message)
        if category is not None:
            self.category = category


class CommandTimeout(ServerFault, TimeoutError):
    """A command did not finish within its wall-clock timeout."""

    category = "timeout"


class CommandAborted(ServerFault):
    """The user aborted the running command; the connection was shut down."""

    category = "aborted"


class LineTooLong(ServerFault, smtplib.SMTPResponseException):
    """A reply line exceeded the configured limit.

    Also an ``SMTPResponseException`` with code 500, which is what smtplib raises
    for a reply line over its own limit ("Line too long.").
    """

    category = "line-too-long"

    def __init__(self, message: str) -> None:
        # SMTPResponseException.__init__ takes (code, msg); ServerFault's would reach it with one argument.
        smtplib.SMTPException.__init__(self, message)
        self.smtp_code = 500
        self.smtp_error = message


class TlsInjection(ServerFault):
    """The server sent plaintext after ``220`` to STARTTLS, before the handshake."""

    category = "starttls-injection"


class CommandError(Exception):
    """A local problem with a command (bad file, missing password, bad target): nothing was sent."""

    category = "command"


@dataclass(frozen=True, slots=True)
class Classified:
    """What a frontend needs to report a failure."""

    category: str
    message: str
    exception: str
    code: int | None = None


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    return str(text).rstrip(".")


def classify(exc: BaseException, *, during: str = "") -> Classified:
    """Turn any exception raised while running a command into a category and a sentence.

    Args:
        exc: the exception.
        during: what was running, e.g. ``"EHLO"`` (used in the message).

    Returns:
        A :class:`Classified` with a stable category such as ``timeout``,
        ``disconnected``, ``tls-verify``, ``refused``, ``auth-failed``.
    """
    name = type(exc).__qualname__
    module = type(exc).__module__
    if module == "smtpdbg.core.errors":
        # our faults subclass smtplib's: name the smtplib exception code using smtplib would catch
        base = next((c for c in type(exc).__mro__ if c.__module__ == "smtplib"), None)
        name = f"{name} (smtplib.{base.__name__})" if base is not None else name
    elif module == "smtplib":
        name = f"smtplib.{name}"
    elif module != "builtins":
        name = f"{module}.{name}"
    where = f" during {during}" if during else ""

    if isinstance(exc, CommandError):
        return Classified(exc.category, str(exc), name)
    if isinstance(exc, ServerFault):
        return Classified(exc.category, str(exc), name)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in exc.recipients.items()]
        return Classified("recipients-refused", "the server refused every recipient: " + "; ".join(parts), name)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return Classified("sender-refused", f"the server refused the sender {exc.sender}: {exc.smtp_code} {_text(exc.smtp_error)}", name, exc.smtp_code)
    if isinstance(exc, smtplib.SMTPDataError) and 200 <= exc.smtp_code < 300:
        return Classified("reply-violation", f"the server answered DATA with {exc.smtp_code} {_text(exc.smtp_error)} "
                          "instead of 354 (RFC 5321 §4.3.2), so the message was not sent", name, exc.smtp_code)
    if isinstance(exc, smtplib.SMTPDataError):
        return Classified("data-refused", f"the server refused the message data: {exc.smtp_code} {_text(exc.smtp_error)}", name, exc.smtp_code)
    if isinstance(exc, smtplib.SMTPConnectError):
        return Classified("connect-refused", f"the server refused the connection: {exc.smtp_code} {_text(exc.smtp_error)}", name, exc.smtp_code)
    if isinstance(exc, smtplib.SMTPHeloError):
        return Classified("helo-refused", f"the server refused HELO/EHLO: {exc.smtp_code} {_text(exc.smtp_error)} "
                          "(EHLO was tried first, then HELO; check the name you greet with: `ehlo NAME`, `helo NAME`)",
                          name, exc.smtp_code)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Classified("auth-failed", f"authentication failed: {exc.smtp_code} {_text(exc.smtp_error)}", name, exc.smtp_code)
    if isinstance(exc, smtplib.SMTPResponseException):
        return Classified("reply-error", f"the server answered {exc.smtp_code} {_text(exc.smtp_error)}{where}", name, exc.smtp_code)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        hint = ""
        if "AUTH" in str(exc):
            hint = (" (if the server offers STARTTLS, AUTH may appear only after it: run `starttls`, then `ehlo`, "
                    "and look for AUTH)")
        return Classified("not-supported", f"not supported by the server: {exc}{hint}", name)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        text = str(exc)
        if "please run connect() first" in text or "Server not connected" in text:
            return Classified("not-connected", "not connected: use `connect` first (or `reconnect`)", name)
        return Classified("disconnected", f"the server closed the connection{where} ({text})", name)
    if isinstance(exc, smtplib.SMTPException):
        return Classified("smtp-error", f"{exc}{where}", name)
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = _reason(exc)
        advice = "Trust a private CA with --ca FILE, or skip verification explicitly with --insecure"
        if "mismatch" in reason.lower() or "not valid for" in reason:
            advice = ("The certificate was issued for other names: if the server should be checked against one of "
                      "them, say which with --tls-verify-name NAME (in the app: Ctrl+O, the connect dialog); "
                      "or trust a private CA with --ca FILE, or skip verification explicitly with --insecure")
        return Classified("tls-verify", f"TLS certificate verification failed: {reason}. {advice}", name)
    if isinstance(exc, ssl.SSLError):
        return Classified("tls-error", f"TLS failed{where}: {getattr(exc, 'reason', None) or exc}", name)
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return Classified("timeout", f"timed out{where}", name)
    if isinstance(exc, ConnectionRefusedError):
        return Classified("refused", f"connection refused{where}: nothing listens there", name)
    if isinstance(exc, socket.gaierror):
        return Classified("dns", f"cannot resolve the host name: {exc.strerror or exc}", name)
    if isinstance(exc, FileNotFoundError):
        return Classified("file", f"no such file: {exc.filename}", name)
    if isinstance(exc, (ConnectionError, OSError)):
        return Classified("network", f"network error{where}: {exc.strerror or exc}", name)
    if isinstance(exc, binascii.Error):
        return Classified("bad-base64", f"the server sent invalid base64{where}: {exc}", name)
    if isinstance(exc, UnicodeEncodeError):  # its text quotes the character and its position: maybe a secret's
        return Classified("encoding", f"the text holds characters {exc.encoding} cannot encode{where} "
                          "(MAIL ... SMTPUTF8 switches smtplib to UTF-8; raw sends UTF-8 as typed)", name)
    if isinstance(exc, UnicodeError):
        return Classified("encoding", f"text cannot be encoded or decoded{where}: {exc}", name)
    if isinstance(exc, ValueError):
        return Classified("value", f"invalid value{where}: {exc}", name)
    return Classified("internal", f"unexpected {name}{where}: {exc}", name)
