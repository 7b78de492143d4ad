"""A deterministic stand-in for :class:`smtpdbg.core.session.Session` (snapshots and screenshots).

It speaks the same interface as the real session (the part frontends use:
``submit``/``subscribe``/``state``/``needs``/``abort``/``shutdown``/
``transcript``/``target``/``options``; ``test_fake_contract.py`` checks it
against :class:`Session`) and emits real core events into a real core
``Transcript``: every line it "sends" and every reply its scripted server
gives go through the core's real :class:`~smtpdbg.core.protocol.ProtocolTracker`,
so the ``Reply``, ``Unanswered`` and ``LedgerChange`` events, the protocol
stage, the ledger and each command's outcome are the core's, not the fake's.
Only the server is scripted: fixed addresses, a fixed certificate, no sockets,
no clocks on screen (every reply comes 1 ms after its command), so snapshots
of the key screens stay byte-identical from run to run.

The scripted server: ``reject@`` senders and recipients get 550, ``greylist@``
recipients 451, ``full@`` recipients 452 at RCPT over SMTP and at the end of
data over LMTP; ``docmd XCODE NNN`` is answered ``NNN`` (any code, valid or
not); a message with the header ``X-Fake-Drop: yes`` loses the connection
after its final dot (the outcome is unknown).
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import replace
from types import MappingProxyType

from smtpdbg.core.events import Body, CommandEnd, CommandStart, Direction, Error, Info, InfoKind, StateChange, Wire
from smtpdbg.core.outcome import judge
from smtpdbg.core.parser import ParseError, parse
from smtpdbg.core.protocol import ProtocolTracker, Stage
from smtpdbg.core.session import Needs, Outcome, SessionOptions
from smtpdbg.core.state import Certificate, Features, SessionState, TlsInfo
from smtpdbg.core.target import Target
from smtpdbg.core.transcript import Transcript
from smtpdbg.core.verdict import ReplyClass, classify_reply

BANNER = "mx.example.test ESMTP ready"
FEATURES = {"pipelining": "", "size": "52428800", "8bitmime": "", "enhancedstatuscodes": "", "starttls": "", "smtputf8": ""}
FEATURES_TLS = {"pipelining": "", "size": "52428800", "8bitmime": "", "enhancedstatuscodes": "",
                "auth": "PLAIN LOGIN", "smtputf8": "", "chunking": ""}
CERTIFICATE = Certificate(
    subject="CN=mx.example.test", issuer="CN=Example Test CA,O=Example", san=("DNS:mx.example.test", "DNS:example.test"),
    not_before="2026-01-01 00:00:00", not_after="2027-01-01 00:00:00", days_left=200, serial="1A2B3C",
    fingerprint_sha256="AB:CD:EF:01:23:45:67:89", key="EC secp256r1")
TLS = TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, True, "mx.example.test", False,
              (CERTIFICATE, replace(CERTIFICATE, subject="CN=Example Test CA,O=Example")), True)
LATENCY = 0.001
"""Every scripted reply comes this long after its command (and every command takes it): fixed, for snapshots."""
QUEUED = "2.0.0 Ok: queued as 4XyZ1234"


def _local(address: str) -> str:
    return address.rpartition("@")[0].lower() if "@" in address else address.lower()


def _path(argument: str) -> str:
    return argument.split("<", 1)[1].split(">", 1)[0] if "<" in argument else argument.split(":", 1)[-1].strip()


class FakeSession:
    """Answers commands from a script, synchronously, through the core's protocol tracker."""

    def __init__(self, target: Target, options: SessionOptions | None = None) -> None:
        self.target = target
        self.options = options or SessionOptions()
        self.transcript = Transcript()
        self.tracker = ProtocolTracker(lmtp=target.transport == "lmtp", transcript=self.transcript)
        self.submitted: list[tuple[str, bytes | None, bool]] = []
        """(command, body, whether a secret was given): never the secret itself."""
        self._ids = 0
        self._connected = False
        self._tls: TlsInfo | None = None
        self._server: dict = {}
        """What the scripted server said that the state shows (banner, EHLO reply, features)."""
        self._commands_run = 0
        self._state = self._build_state()

    @property
    def state(self) -> SessionState:
        return self._state

    def subscribe(self, listener, *, replay: bool = False):
        return self.transcript.subscribe(listener, replay=replay)

    def needs(self, parsed) -> Needs:
        from smtpdbg.core.handlers import needs

        return needs(self, parsed)

    def abort(self) -> bool:
        return False

    def shutdown(self, *, wait: float = 5.0) -> None:
        pass

    # -- state, built the way Session builds it ---------------------------------------------------------
    def _build_state(self) -> SessionState:
        target, tracker = self.target, self.tracker
        authenticated = tracker.authenticated
        return SessionState(
            target=str(target), transport=target.transport, sandbox=target.sandbox, timeout=self.options.timeout,
            local_hostname=self.options.local_hostname or "", connected=self._connected,
            peer="192.0.2.25:25" if self._connected else "", local="192.0.2.10:40000" if self._connected else "",
            tls=self._tls if self._connected else None, authenticated=authenticated,
            auth_user=tracker.auth_user if authenticated else None,
            auth_mechanism=tracker.auth_mechanism if authenticated else None,
            stage=tracker.stage if self._connected else Stage.DISCONNECTED, mail_from=tracker.mail_from,
            transaction=tracker.transaction, last_transaction=tracker.last_transaction, deliveries=tracker.deliveries,
            commands_run=self._commands_run, **self._server)

    # -- the script ------------------------------------------------------------------------------------
    def submit(self, text: str, *, body=None, secret=None, timeout=None) -> Future:
        future: Future = Future()
        self.submitted.append((text, body, secret is not None))
        try:
            parsed = parse(text)
        except ParseError as error:
            self.transcript.add(Error, category="parse", message=str(error), connected=self._connected)
            future.set_result(Outcome(text, False, category="parse", message=str(error)))
            return future
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._ids += 1
        add = self.transcript.add
        started = add(CommandStart, command_id=self._ids, text=text, call=parsed.spec.call)
        network = parsed.spec.network
        if network and not self._connected and parsed.name not in ("connect", "reconnect"):
            message = "not connected: use `connect` (or `reconnect`)"
            add(Error, category="not-connected", message=message)
            outcome = Outcome(text, False, category="not-connected", message=message, sent=False)
        else:
            result = getattr(self, "_" + parsed.name, self._ok)(parsed, body)
            outcome = replace(result, command=text) if isinstance(result, Outcome) else self._outcome(text, *result)
            outcome = judge(outcome, parsed.name, self.transcript.since(started.seq), network=network)
        add(CommandEnd, command_id=self._ids, text=text, ok=outcome.ok, elapsed=LATENCY, code=outcome.code,
            reply=outcome.text, category=outcome.category)
        self._commands_run += 1
        self._state = self._build_state()
        add(StateChange, state=self._state)
        future.set_result(outcome)
        return future

    def execute(self, text: str, **kwargs) -> Outcome:
        """Submit and wait for the outcome (it is ready at once)."""
        return self.submit(text, **kwargs).result()

    def _outcome(self, text: str, code: int | None, reply: str) -> Outcome:
        if code is None:
            return Outcome(text, True, elapsed=LATENCY, connected=self._connected)
        category = {ReplyClass.PERMANENT: "reply-5xx", ReplyClass.TRANSIENT: "reply-4xx",
                    ReplyClass.VIOLATION: "reply-violation"}.get(classify_reply(code), "")
        return Outcome(text, not category, code, reply, category, reply if category else "", LATENCY, self._connected)

    def _send(self, line: str, **fields) -> None:
        data = line.encode() + b"\r\n"
        self.transcript.add(Wire, direction=Direction.SEND, data=data, tls=self._tls is not None, **fields)
        self.tracker.on_send(data, redacted=fields.get("redacted", False))

    def _reply(self, code: int, *lines: str) -> str:
        """The scripted server answers: its lines on the wire, then the whole reply to the core's tracker."""
        first = 0
        for number, line in enumerate(lines):
            separator = "-" if number < len(lines) - 1 else " "
            wire = self.transcript.add(Wire, direction=Direction.RECV, data=f"{code}{separator}{line}".encode() + b"\r\n",
                                       tls=self._tls is not None)
            first = first or wire.seq
        waiting = self.tracker.pending
        self.tracker.on_reply(code, "\n".join(lines), first_seq=first, lines=len(lines),
                              received=waiting[0].sent + LATENCY if waiting else None)
        return "\n".join(lines)

    def _close(self, cause: str, reason: str) -> None:
        self.tracker.on_close(cause)
        self._connected = False
        self.transcript.add(Info, kind=InfoKind.CLOSED, text=f"connection closed: {reason}")

    def _answer(self, line: str) -> tuple[int, str]:
        """The scripted server's reply to one command line."""
        verb, _, argument = line.partition(" ")
        verb = verb.upper()
        if verb == "MAIL":
            sender = _path(argument)
            if _local(sender) == "reject":
                return 550, f"5.1.0 <{sender}>: Sender address rejected"
            return 250, "2.1.0 Sender OK"
        if verb == "RCPT":
            address = _path(argument)
            local = _local(address)
            if local == "reject":
                return 550, f"5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
            if local == "greylist":
                return 451, "4.7.1 Greylisted, try again later"
            if local == "full" and not self.tracker.lmtp:
                return 452, "4.2.2 Mailbox full"
            return 250, "2.1.5 Recipient OK"
        if verb == "DATA":
            return 354, "End data with <CR><LF>.<CR><LF>"
        if verb == "RSET":
            return 250, "2.0.0 Reset state"
        if verb == "QUIT":
            return 221, "2.0.0 Bye"
        if verb == "XCODE":
            code = argument.split(" ", 1)[0]
            return (int(code) if code.isdigit() else 250), "odd reply"
        return 250, "2.0.0 OK"

    def _exchange(self, line: str) -> tuple[int, str]:
        self._send(line)
        code, text = self._answer(line)
        return code, self._reply(code, text)

    def _ok(self, parsed, body):
        if not parsed.spec.network:
            return None, ""
        return self._exchange(parsed.spec.wire.split(" ", 1)[0] or parsed.name.upper())

    def _connect(self, parsed, body):
        self.transcript.add(Info, kind=InfoKind.CONNECTING, text="connecting to 192.0.2.25:25")
        self._connected = True
        self.tracker.on_connect()
        if self.target.transport == "smtps":  # implicit TLS: up before the greeting
            self._tls = replace(TLS, implicit=True)
            self.tracker.on_implicit_tls()
        self.transcript.add(Info, kind=InfoKind.CONNECTED, text="connected to 192.0.2.25:25 from 192.0.2.10:40000")
        reply = self._reply(220, BANNER)
        self._server = dict(banner=BANNER, banner_code=220)
        return 220, reply

    _reconnect = _connect

    def _ehlo(self, parsed, body):
        verb = "lhlo" if self.tracker.lmtp else "ehlo"
        self._send(f"{verb} {self.options.local_hostname or 'client'}")
        features = FEATURES_TLS if self._tls is not None else FEATURES
        lines = ["mx.example.test greets client.smtpdbg.test"] + [f"{k.upper()} {v}".strip() for k, v in features.items()]
        reply = self._reply(250, *lines)
        self._server.update(ehlo_resp=reply, does_esmtp=True, features=Features(MappingProxyType(dict(features))))
        return 250, reply

    def _starttls(self, parsed, body):
        self._send("STARTTLS")
        reply = self._reply(220, "2.0.0 Ready to start TLS")
        self._tls = TLS
        self.tracker.on_tls()
        self.transcript.add(Info, kind=InfoKind.TLS, text="TLS established: TLSv1.3 TLS_AES_256_GCM_SHA384; "
                                                          "peer CN=mx.example.test issued by CN=Example Test CA; verified",
                            tls_info=TLS)
        self._server.update(ehlo_resp=None, does_esmtp=False, features=Features())
        return 220, reply

    def _auth(self, parsed, body):
        mechanism, user = parsed.arg("mechanism").upper(), parsed.arg("user")
        self._send(f"AUTH {mechanism} ********", redacted=True, note=f"{mechanism} authzid='' user='{user}' password=<hidden>")
        self.tracker.note_auth(user, mechanism)
        return 235, self._reply(235, "2.7.0 Authentication successful")

    def _mail(self, parsed, body):
        return self._exchange(f"mail FROM:<{parsed.arg('sender')}>")

    def _rcpt(self, parsed, body):
        return self._exchange(f"rcpt TO:<{parsed.arg('recipient')}>")

    def _rset(self, parsed, body):
        return self._exchange("RSET")

    def _docmd(self, parsed, body):
        return self._exchange(f"{parsed.arg('verb')} {parsed.arg('args') or ''}".rstrip())

    def _raw(self, parsed, body):
        return self._exchange(parsed.arg("data"))

    def _quit(self, parsed, body):
        code, reply = self._exchange("QUIT")
        self._close("closed by the client", "QUIT")
        return code, reply

    def _data(self, parsed, body):
        code, reply = self._exchange("data")
        if code != 354:
            return code, reply
        return self._message(body or b"")

    def _sendmail(self, parsed, body):
        to = parsed.arg("to_addrs") or ""
        recipients = [a.strip() for a in (to.split(",") if isinstance(to, str) else to) if a.strip()]
        code, reply = self._exchange(f"mail FROM:<{parsed.arg('from_addr')}>")
        if code != 250:
            return code, reply
        for address in recipients:
            code, reply = self._exchange(f"rcpt TO:<{address}>")
        if not self.tracker.ledger.pending():
            return self._exchange("RSET")
        return self._data(parsed, body)

    def _message(self, body: bytes) -> tuple[int | None, str] | Outcome:
        """The message and its final dot; then one reply (SMTP) or one per accepted recipient (LMTP)."""
        lines = tuple(line + b"\r\n" for line in body.split(b"\r\n")[:-1]) + (b".\r\n",)
        self.transcript.add(Body, size=len(body) + 3, line_count=len(lines), head=lines, tls=self._tls is not None)
        pending = [r.address for r in self.tracker.ledger.pending()]
        self.tracker.on_body_sent()
        if b"X-Fake-Drop: yes" in body:
            self._close("connection lost", "the server closed the connection")
            message = "the server closed the connection after the message was sent; not connected now (use `reconnect`)"
            self.transcript.add(Error, category="disconnected", message=message, exception="SMTPServerDisconnected")
            return Outcome("", False, category="disconnected", message=message, elapsed=LATENCY)
        if not self.tracker.lmtp:
            return 250, self._reply(250, QUEUED)
        code, reply = 250, ""
        for address in pending:
            if _local(address) == "full":
                code, reply = 452, self._reply(452, f"4.2.2 <{address}> Mailbox full")
            else:
                code, reply = 250, self._reply(250, f"2.0.0 <{address}> delivered")
        return code, reply
