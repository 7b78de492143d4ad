"""Python export: a runnable smtplib script that reproduces the session byte for byte.

The script uses smtplib's high-level calls (``ehlo``, ``mail``, ``rcpt``,
``starttls``, ``auth``) where they put exactly the recorded bytes on the
wire, and ``docmd`` or ``send`` where they would not (an address smtplib's
``quoteaddr`` would rewrite, an upper-case verb typed by hand, a pipelined
group, a bare LF). A message goes out as recorded: ``DATA``, then the
message bytes exactly as they were sent (dot-stuffed, with the final dot),
only once the server said 354, then the reply after the final dot (one per
recipient over LMTP); BDAT chunks the same way.

Every step prints the reply and compares it with the recorded one. A reply
that differs (another code, or no reply where there was one) prints a
``MISMATCH`` line naming the command, the recorded code and this run's; a
message sent without a reply after it (the connection dropped, or the
server was too slow) prints ``UNKNOWN``: it may have been delivered. Exit
status: 0 every reply as recorded; 1 some reply differed; 2 none differed
but a message's outcome is unknown (as it was in the recorded session). So
the script doubles as a regression check. Secrets come from environment
variables (``SMTP_PASSWORD`` for ``login``/``auth``, ``SMTP_AUTH_n`` for AUTH
payloads typed by hand); the server, CA file and timeout can be overridden
the same way.
"""

from __future__ import annotations

import re
import smtplib
import time

from smtpdbg.core.events import Info, InfoKind, Unanswered
from smtpdbg.core.export.dialogue import Exchange, Reply, Span
from smtpdbg.core.export.python_prelude import PRELUDE

SKIPPED = {"show", "explain", "?", "has_extn", "set_debuglevel", "timeout", "abort", "drain", "set"}
"""Commands that put nothing on the wire (``drain`` only reads; its replies are noted)."""



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
        unanswered = _unanswered(span)
        previous: Exchange | None = None
        for index, exchange in enumerate(span.exchanges):
            self.exchange(exchange, previous, unanswered.get(index, []))
            previous = exchange
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
    def exchange(self, exchange: Exchange, previous: Exchange | None, unanswered: list[Unanswered]) -> None:
        """Its lines, then one step per reply it got and per reply that never came (expected ``None``)."""
        sends, replies = exchange.sends, exchange.replies
        expected: list[int | None] = [r.code for r in replies] + [None] * len(unanswered)
        if exchange.body is not None:
            bdat = previous.sends[-1].data.rstrip(b"\r\n").upper().split() if previous and previous.sends else []
            chunk = bdat[:1] == [b"BDAT"]
            last = chunk and bdat[-1:] == [b"LAST"]
            self.body(exchange, chunk)
            name = self.constants[-1].split(" ", 1)[0]
            label = (f"<- reply to BDAT LAST ({name})" if last else f"<- reply to the BDAT chunk ({name})") if chunk \
                else f"<- reply after the final dot ({name})"
            for index, code in enumerate(expected):
                event = replies[index].event if index < len(replies) else None
                whose = f" for <{event.recipient}>" if event is not None and event.recipient else ""
                flag = ", after_dot=True" if last or not chunk else ""
                self.emit(f"step({code}, {label + whose!r}, smtp.getreply{flag})")
            return
        if len(sends) == 1 and len(expected) == 1 and not sends[0].redacted:
            self.one_line(sends[0].data, expected[0], replies[0] if replies else None)
            return
        if sends:
            self.raw_sends(sends)
        label = f"<- reply to {_label(sends[0].data)}" if len(sends) == 1 else \
            f"<- reply to the {len(sends)} lines sent in one write" if sends else "<- a reply"
        for index, code in enumerate(expected):
            numbered = f"{label} ({index + 1} of {len(expected)})" if len(expected) > 1 else label
            self.emit(f"step({code}, {numbered!r}, smtp.getreply)")

    def one_line(self, line: bytes, code: int | None, reply: Reply | None) -> None:
        label = _label(line)
        verb = line.split(b" ", 1)[0].rstrip(b"\r\n")
        if verb in (b"ehlo", b"lhlo", b"helo") and line.endswith(b"\r\n") and line.count(b" ") == 1:
            name = line[len(verb) + 1:-2].decode("utf-8", "replace")
            if (verb == b"lhlo") == self.lmtp or verb == b"helo":
                method = "helo" if verb == b"helo" else "ehlo"
                self.emit(f"step({code}, {label!r}, smtp.{method}, {name!r})")
                if method == "ehlo":
                    self.esmtp = code is not None and 200 <= code < 300
                    self.features = reply.extensions() if reply is not None else {}
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
        self.emit(f"step({code}, {'<- reply to ' + label!r}, smtp.getreply)")

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

    def body(self, exchange: Exchange, chunk: bool) -> None:
        body = exchange.body
        wire = b"".join(body.head + body.tail)
        if body.omitted:
            self.notes.append(f"a message of {body.line_count:,} lines was recorded in part only; "
                              f"{body.omitted:,} lines in its middle are missing from this script")
            self.emit(f"# NOTE: {body.omitted:,} lines of this message were not recorded (large body); sending the rest")
        name = self.constant("CHUNK" if chunk else "MESSAGE", wire)
        if chunk:
            self.emit(f"message('-> {name}: the BDAT chunk ({body.size:,} bytes)', {name}, after_data=False)")
        else:
            self.emit(f"message('-> {name}: the message as sent ({body.size:,} bytes, dot-stuffed, "
                      f"ending with the final dot)', {name})")


def _unanswered(span: Span) -> dict[int, list[Unanswered]]:
    """The span's replies that never came, by the index of the exchange they belong to."""
    starts = []
    for exchange in span.exchanges:
        seqs = [w.seq for w in exchange.sends] + [line.seq for r in exchange.replies for line in r.lines]
        starts.append(min(seqs + ([exchange.body.seq] if exchange.body is not None else []), default=0))
    out: dict[int, list[Unanswered]] = {}
    for event in span.events:
        if isinstance(event, Unanswered):
            owners = [i for i, start in enumerate(starts) if start < event.seq]
            if owners:
                out.setdefault(owners[-1], []).append(event)
    return out


def _comment(text: str) -> str:
    return text.replace("\n", " ")[:200]


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
    doc += ["", "Each step prints the server's reply. A reply other than the recorded one is reported",
            "as a MISMATCH (the command, the recorded code, this run's); a message sent without a",
            "reply after it as UNKNOWN (it may have been delivered). Exit status: 0 every reply as",
            "recorded; 1 a reply differed; 2 none differed but a message's outcome is unknown."]
    for note in writer.notes:
        doc.append(f"NOTE: {note}.")
    doc.append('"""')
    prelude = PRELUDE.format(host=host, port=port, socket=socket, local=recording.local_hostname or None,
                              timeout=recording.timeout, insecure=insecure)
    parts = ["#!/usr/bin/env python3", *doc, prelude.rstrip("\n"), ""]
    names = (["SMTP_PASSWORD"] if writer.uses_password else []) + writer.secrets
    if names:
        parts += ["", *(f"{name} = secret({name!r})" for name in names), ""]
    if writer.constants:
        parts += ["", *writer.constants, ""]
    parts += ["", *writer.out, "", "sys.exit(1 if mismatches else 2 if unknown else 0)", ""]
    text = "\n".join(parts)
    return text
