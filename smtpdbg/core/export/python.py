"""Python export: a runnable smtplib script that reproduces the session byte for byte.

The script uses smtplib's high-level calls (``ehlo``, ``mail``, ``rcpt``,
``data``, ``starttls``, ``auth``) where they put exactly the recorded bytes
on the wire, and ``docmd`` or ``send`` where they would not (an address
smtplib's ``quoteaddr`` would rewrite, an upper-case verb typed by hand, a
pipelined group, a bare LF). Every step prints the reply and counts a code
other than the recorded one; the exit status is 1 when any differed, so the
script doubles as a regression check. Secrets come from environment
variables (``SMTP_PASSWORD`` for ``login``/``auth``, ``SMTP_AUTH_n`` for AUTH
payloads typed by hand); the server, CA file and timeout can be overridden
the same way.
"""

from __future__ import annotations

import re
import smtplib
import time

from smtpdbg.core.events import Info, InfoKind
from smtpdbg.core.export.dialogue import Exchange, Reply, Span

SKIPPED = {"show", "explain", "?", "has_extn", "set_debuglevel", "timeout", "abort", "drain", "set"}
"""Commands that put nothing on the wire (``drain`` only reads; its replies are noted)."""

_PRELUDE = '''
import os
import smtplib
import ssl
import sys

HOST = os.environ.get("SMTP_HOST", {host!r})
PORT = int(os.environ.get("SMTP_PORT", "{port}"))
SOCKET = os.environ.get("SMTP_SOCKET", {socket!r})
LOCAL_HOSTNAME = os.environ.get("SMTP_LOCAL_HOSTNAME") or {local!r}
TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", "{timeout:g}"))
CONTEXT = ssl.create_default_context(cafile=os.environ.get("SMTP_CA") or None)
{insecure}
mismatches = 0


def show(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{{code}} {{text}}".replace("\\n", "\\n    ")


def step(expected, label, call, *args, **kwargs):
    """Run one smtplib call, print its reply, count a code other than the recorded one."""
    global mismatches
    try:
        result = call(*args, **kwargs)
        code, text = result if isinstance(result, tuple) else (None, "")
    except smtplib.SMTPResponseException as exc:
        code, text = exc.smtp_code, exc.smtp_error
    except (smtplib.SMTPException, OSError) as exc:
        code, text = None, f"{{type(exc).__name__}}: {{exc}}"
    print(f"{{label}}\\n  <- {{show(code, text)}}")
    if code != expected:
        mismatches += 1
        print(f"  MISMATCH: the recorded session got {{expected}}", file=sys.stderr)
    return code, text


def send(label, data):
    """Send bytes exactly as recorded (what smtplib's high-level calls would change)."""
    print(f"{{label}}")
    try:
        smtp.send(data)
    except (smtplib.SMTPException, OSError) as exc:
        print(f"  send failed: {{type(exc).__name__}}: {{exc}}", file=sys.stderr)


def secret(name):
    value = os.environ.get(name)
    if value is None:
        sys.exit(f"set the environment variable {{name}} (secrets are never stored in this script)")
    return value

'''


def _py_bytes(data: bytes, indent: str = "    ") -> str:
    """A bytes literal, one source line per protocol line for a multi-line value."""
    lines = data.splitlines(keepends=True)
    if len(lines) <= 1:
        return repr(data)
    return "(\n" + "".join(f"{indent}{line!r}\n" for line in lines) + indent[:-4] + ")"


def _label(data: bytes) -> str:
    text = data.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
    return "-> " + "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def _docmd_args(line: bytes) -> tuple[str, str] | None:
    """``(cmd, args)`` such that ``smtp.docmd(cmd, args)`` sends exactly ``line``, else ``None``."""
    if not line.endswith(b"\r\n"):
        return None
    body = line[:-2]
    if b"\r" in body or b"\n" in body or not body.isascii() or not body:
        return None
    text = body.decode("ascii")
    if not text.isprintable():
        return None
    verb, _, args = text.partition(" ")
    rebuilt = f"{verb} {args}" if args else verb
    return (verb, args) if rebuilt == text and verb else None


_ENVELOPE = re.compile(rb"^(mail FROM|rcpt TO):(\S+)((?: \S+)*)\r\n$")


class _Writer:
    def __init__(self, recording) -> None:
        self.recording = recording
        self.out: list[str] = []
        self.constants: list[str] = []
        self.esmtp = False
        """The last greeting was a high-level ``smtp.ehlo()`` answered 250 (smtplib knows the features)."""
        self.lmtp = recording.transport == "lmtp"
        self.features: dict[str, str] = {}
        self.open = False
        self.secrets: list[str] = []
        self.uses_password = False
        self.notes: list[str] = []

    def emit(self, line: str = "") -> None:
        self.out.append(line)

    def constant(self, prefix: str, value: bytes) -> str:
        name = f"{prefix}_{len(self.constants) + 1}"
        self.constants.append(f"{name} = {_py_bytes(value)}")
        return name

    # -- spans ----------------------------------------------------------------------------------
    def span(self, span: Span) -> None:
        name = span.name
        if name in SKIPPED and name != "drain":
            return
        if span.start is not None:
            self.emit(f"# smtpdbg> {span.text}")
        if name in ("connect", "reconnect"):
            self.connect(span)
            return
        if name == "close":
            if self.open:
                self.emit("smtp.close()")
                self.open = False
            return
        if name in ("login", "auth") and span.sends:
            self.auth(span)
            return
        if name == "starttls" and span.sends:
            self.starttls(span)
            return
        if name == "drain":
            for reply in span.replies:
                self.emit(f"step({reply.code}, 'a reply nobody asked for (smtpdbg drain)', smtp.getreply)")
            return
        exchanges = list(span.exchanges)
        index = 0
        while index < len(exchanges):
            exchange = exchanges[index]
            following = exchanges[index + 1] if index + 1 < len(exchanges) else None
            if self.data_call(exchange, following):
                index += 2
                continue
            self.exchange(exchange, span)
            index += 1
        for error in span.errors:
            self.emit(f"# the recorded session failed here: {error.category}: {_comment(error.message)}")

    def connect(self, span: Span) -> None:
        connected = [e for e in span.events if isinstance(e, Info) and e.kind is InfoKind.CONNECTED]
        implicit = any(e.kind is InfoKind.TLS and e.tls_info is not None and e.tls_info.implicit
                       for e in span.events if isinstance(e, Info))
        unix = any(isinstance(e, Info) and e.kind is InfoKind.CONNECTING and "unix socket" in e.text for e in span.events)
        if self.open:
            self.emit("smtp.close()")
        cls = "SMTP_SSL" if implicit else "LMTP" if (unix or self.lmtp) else "SMTP"
        self.lmtp = cls == "LMTP"
        extra = ", context=CONTEXT" if implicit else ""
        self.emit(f"smtp = smtplib.{cls}(local_hostname=LOCAL_HOSTNAME, timeout=TIMEOUT{extra})")
        if not unix:
            self.emit("smtp._host = HOST  # starttls() and SMTP_SSL need it; smtplib sets it only in __init__ (CPython gh-70039)")
        banner = span.replies[0] if span.replies else None
        expected = banner.code if banner else None
        where = "SOCKET" if unix else "HOST, PORT"
        self.emit(f"step({expected}, 'connect', smtp.connect, {where})")
        if not connected:
            self.emit("# the recorded session could not connect here")
        self.open = True
        self.esmtp = False
        self.features = {}

    def auth(self, span: Span) -> None:
        parsed = span.parsed
        first = span.sends[0].data.rstrip(b"\r\n").split()
        mechanism = first[1].decode("ascii", "replace").upper() if len(first) > 1 else "PLAIN"
        initial = len(first) > 2
        method = {"PLAIN": "auth_plain", "LOGIN": "auth_login", "CRAM-MD5": "auth_cram_md5"}.get(mechanism)
        expected = span.replies[-1].code if span.replies else None
        if method is None:
            self.emit(f"# smtplib has no AUTH {mechanism}; not reproduced")
            return
        self.uses_password = True
        user = parsed.arg("user") if parsed else ""
        self.emit(f"smtp.user, smtp.password = {user!r}, SMTP_PASSWORD")
        self.emit(f"step({expected}, '-> AUTH {mechanism} (credentials from SMTP_PASSWORD)', smtp.auth, {mechanism!r}, "
                  f"smtp.{method}, initial_response_ok={initial})")

    def starttls(self, span: Span) -> None:
        reply = span.replies[0] if span.replies else None
        expected = reply.code if reply else None
        parsed = span.parsed
        forced = bool(parsed and parsed.opt("force"))
        if self.esmtp and "STARTTLS" in self.features and not forced and not (parsed and parsed.opt("cert")):
            self.emit(f"step({expected}, '-> STARTTLS', smtp.starttls, context=CONTEXT)")
        else:
            self.emit(f"step({expected}, '-> STARTTLS', smtp.docmd, 'STARTTLS')")
            if expected == 220:
                self.emit("smtp.sock = CONTEXT.wrap_socket(smtp.sock, server_hostname=HOST)")
                self.emit("smtp.file = None")
                self.emit("smtp.helo_resp = smtp.ehlo_resp = None")
                self.emit("smtp.esmtp_features, smtp.does_esmtp = {}, False")
        self.esmtp = False
        self.features = {}

    # -- exchanges ----------------------------------------------------------------------------
    def data_call(self, exchange: Exchange, following: Exchange | None) -> bool:
        """``smtp.data(MESSAGE)`` for DATA + body when smtplib would send the same bytes."""
        if following is None or following.body is None or following.sends:
            return False
        if [w.data for w in exchange.sends] != [b"data\r\n"] or len(exchange.replies) != 1 or exchange.replies[0].code != 354:
            return False
        body = following.body
        if body.omitted or self.lmtp or len(following.replies) != 1:
            return False
        wire = b"".join(body.head + body.tail)
        message = _unstuff(wire)
        if message is None or not _smtplib_data_matches(message, wire):
            return False
        name = self.constant("MESSAGE", message)
        final = following.replies[0].code
        self.emit(f"step({final}, '-> DATA + {name} ({body.size:,} bytes)', smtp.data, {name})")
        return True

    def exchange(self, exchange: Exchange, span: Span) -> None:
        sends = exchange.sends
        replies = exchange.replies
        if exchange.body is not None:
            self.body(exchange)
        elif len(sends) == 1 and len(replies) == 1 and not sends[0].redacted:
            self.one_line(sends[0].data, replies[0])
            return
        elif sends:
            self.raw_sends(sends)
        for reply in replies:
            self.emit(f"step({reply.code}, '  (reply)', smtp.getreply)")

    def one_line(self, line: bytes, reply: Reply) -> None:
        code = reply.code
        label = _label(line)
        verb = line.split(b" ", 1)[0].rstrip(b"\r\n")
        if verb in (b"ehlo", b"lhlo", b"helo") and line.endswith(b"\r\n") and line.count(b" ") == 1:
            name = line[len(verb) + 1:-2].decode("utf-8", "replace")
            if (verb == b"lhlo") == self.lmtp or verb == b"helo":
                method = "helo" if verb == b"helo" else "ehlo"
                self.emit(f"step({code}, {label!r}, smtp.{method}, {name!r})")
                if method == "ehlo":
                    self.esmtp = 200 <= code < 300
                    self.features = reply.extensions()
                return
        match = _ENVELOPE.match(line)
        if match and (not match.group(3) or self.esmtp):
            token = match.group(2).decode("utf-8", "replace")
            options = [o.decode("utf-8", "replace") for o in match.group(3).split()]
            address = token[1:-1] if token.startswith("<") and token.endswith(">") else token
            if smtplib.quoteaddr(address) == token and all(o.lower() != "smtputf8" for o in options) and token.isascii():
                method = "mail" if line.startswith(b"mail") else "rcpt"
                extra = f", {options!r}" if options else ""
                self.emit(f"step({code}, {label!r}, smtp.{method}, {address!r}{extra})")
                return
        simple = {b"rset\r\n": "rset", b"noop\r\n": "noop"}
        if line in simple:
            self.emit(f"step({code}, {label!r}, smtp.{simple[line]})")
            return
        if line == b"quit\r\n":
            self.emit(f"step({code}, {label!r}, smtp.quit)")
            self.open = False
            return
        args = _docmd_args(line)
        if args is not None:
            verb_text, rest = args
            extra = f", {rest!r}" if rest else ""
            self.emit(f"step({code}, {label!r}, smtp.docmd, {verb_text!r}{extra})")
            return
        self.raw_sends_data([line])
        self.emit(f"step({code}, '  (reply)', smtp.getreply)")

    def raw_sends(self, sends) -> None:
        parts: list[str] = []
        for wire in sends:
            if wire.redacted:
                parts.append(self.secret_expression(wire.data))
            else:
                parts.append(repr(wire.data))
        label = " + ".join(_label(w.data) for w in sends)
        if len(sends) > 1:
            label = f"-> {len(sends)} lines in one write"
        self.emit(f"send({label!r}, {' + '.join(parts)})")

    def raw_sends_data(self, lines: list[bytes]) -> None:
        self.emit(f"send({_label(lines[0])!r}, {_py_bytes(b''.join(lines))})")

    def secret_expression(self, data: bytes) -> str:
        """``b"AUTH PLAIN " + secret(...)`` for a masked line: the payload comes from the environment."""
        name = f"SMTP_AUTH_{len(self.secrets) + 1}"
        self.secrets.append(name)
        ending = data[len(data.rstrip(b"\r\n")):]
        stripped = data.rstrip(b"\r\n")
        prefix = stripped[:-len(b"********")] if stripped.endswith(b"********") else b""
        return f"{prefix!r} + {name}.encode() + {ending!r}"

    def body(self, exchange: Exchange) -> None:
        body = exchange.body
        wire = b"".join(body.head + body.tail)
        if body.omitted:
            self.notes.append(f"a DATA body of {body.line_count:,} lines was recorded in part only; "
                              f"{body.omitted:,} lines in its middle are missing from this script")
            self.emit(f"# NOTE: {body.omitted:,} lines of this message were not recorded (large body); sending the rest")
        name = self.constant("BODY", wire)
        self.emit(f"send('-> message body ({body.size:,} bytes, dot-stuffed, with the final dot)', {name})")


def _comment(text: str) -> str:
    return text.replace("\n", " ")[:200]


def _unstuff(wire: bytes) -> bytes | None:
    if not wire.endswith(b".\r\n"):
        return None
    lines = wire[:-3].splitlines(keepends=True)
    return b"".join(line[1:] if line.startswith(b".") else line for line in lines)


def _smtplib_data_matches(message: bytes, wire: bytes) -> bool:
    """Whether ``smtp.data(message)`` sends exactly ``wire`` (smtplib's own quoting, CPython 3.11)."""
    quoted = re.sub(rb"(?m)^\.", b"..", message)
    if quoted[-2:] != b"\r\n":
        quoted += b"\r\n"
    return quoted + b".\r\n" == wire


def render_python(recording) -> str:
    """The script (see the module docstring)."""
    writer = _Writer(recording)
    for span in recording.dialogue.spans:
        if span.start is None:
            continue
        writer.span(span)
    if writer.open:
        writer.emit("smtp.close()")
    host, port, socket = "localhost", 25, ""
    target = recording.target
    match = re.match(r"^(?:\w+)://(?:\[(.*)\]|([^:/]*)):(\d+)$", target)
    if match:
        host, port = match.group(1) or match.group(2), int(match.group(3))
    elif target.startswith("lmtp:///") or target.startswith("lmtp://") and "/" in target[7:]:
        socket = target[len("lmtp://"):]
    insecure = ""
    if recording.insecure:
        insecure = ("# The recorded session ran with --insecure: certificates are NOT verified.\n"
                    "CONTEXT.check_hostname = False\nCONTEXT.verify_mode = ssl.CERT_NONE\n")
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(recording.created))
    env = ["SMTP_HOST, SMTP_PORT   the server (default: the recorded one)",
           "SMTP_SOCKET            the LMTP unix socket (default: the recorded one)",
           "SMTP_CA                PEM file of CAs to trust for TLS (default: the system store)",
           "SMTP_TIMEOUT           seconds per command"]
    if writer.uses_password:
        env.append("SMTP_PASSWORD          the AUTH password (never stored in this file)")
    for name in writer.secrets:
        env.append(f"{name:<22} an AUTH payload typed by hand in the session (base64), not stored here")
    doc = [f'"""Reproduces an smtpdbg session with {target or "(unknown target)"}, recorded {when}.', "",
           f"Generated by {recording.generator}. Run it with python3; environment variables:", ""]
    doc += ["    " + line for line in env]
    doc += ["", "Each step prints the server's reply; a code other than the recorded one is", "reported as a MISMATCH and makes the exit status 1."]
    for note in writer.notes:
        doc.append(f"NOTE: {note}.")
    doc.append('"""')
    prelude = _PRELUDE.format(host=host, port=port, socket=socket, local=recording.local_hostname or None,
                              timeout=recording.timeout, insecure=insecure)
    parts = ["#!/usr/bin/env python3", *doc, prelude.rstrip("\n"), ""]
    names = (["SMTP_PASSWORD"] if writer.uses_password else []) + writer.secrets
    if names:
        parts += ["", *(f"{name} = secret({name!r})" for name in names), ""]
    if writer.constants:
        parts += ["", *writer.constants, ""]
    parts += ["", *writer.out, "", "sys.exit(1 if mismatches else 0)", ""]
    text = "\n".join(parts)
    return text
