"""A deterministic stand-in for :class:`smtpdbg.core.session.Session` (snapshots and screenshots).

It speaks the same interface (``submit``/``subscribe``/``state``/``needs``/
``abort``/``shutdown``) and emits real core events into a real core
``Transcript``, but answers from a script: fixed addresses, a fixed
certificate, no sockets, no clocks on screen. Snapshots of the key screens
stay byte-identical from run to run.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import replace
from types import MappingProxyType

from smtpdbg.core.events import Body, CommandEnd, CommandStart, Direction, Info, InfoKind, StateChange, Wire
from smtpdbg.core.parser import ParseError, parse
from dataclasses import replace as _replace

from smtpdbg.core.ledger import Recipient, Transaction
from smtpdbg.core.protocol import Stage
from smtpdbg.core.verdict import Fate
from smtpdbg.core.session import Needs, Outcome, SessionOptions
from smtpdbg.core.state import Certificate, Features, SessionState, TlsInfo
from smtpdbg.core.target import Target
from smtpdbg.core.transcript import Transcript

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


class FakeSession:
    """Answers commands from a script, synchronously."""

    def __init__(self, target: Target, options: SessionOptions | None = None) -> None:
        self.target = target
        self.options = options or SessionOptions()
        self.transcript = Transcript()
        self.submitted: list[tuple[str, bytes | None, bool]] = []
        """(command, body, whether a secret was given): never the secret itself."""
        self._ids = 0
        self._state = SessionState(target=str(target), transport=target.transport, sandbox=target.sandbox,
                                   timeout=self.options.timeout, local_hostname=self.options.local_hostname or "")

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

    # -- the script ------------------------------------------------------------------------------------
    def submit(self, text: str, *, body=None, secret=None, timeout=None) -> Future:
        future: Future = Future()
        self.submitted.append((text, body, secret is not None))
        try:
            parsed = parse(text)
        except ParseError as error:
            future.set_result(Outcome(text, False, category="parse", message=str(error)))
            return future
        self._ids += 1
        add = self.transcript.add
        add(CommandStart, command_id=self._ids, text=text, call=parsed.spec.call)
        code, reply, changes = getattr(self, "_" + parsed.name, self._ok)(parsed, body)
        ok = code < 400
        add(CommandEnd, command_id=self._ids, text=text, ok=ok, elapsed=0.001, code=code, reply=reply,
            category="" if ok else f"reply-{code // 100}xx")
        self._state = replace(self._state, commands_run=self._state.commands_run + 1, **changes)
        add(StateChange, state=self._state)
        future.set_result(Outcome(text, ok, code, reply, "" if ok else f"reply-{code // 100}xx", elapsed=0.001,
                                  connected=True))
        return future

    def _line(self, direction: str, text: str, **fields) -> None:
        self.transcript.add(Wire, direction=Direction(direction), data=text.encode() + b"\r\n",
                            tls=self._state.tls is not None, **fields)

    def _reply(self, code: int, *lines: str) -> str:
        for number, line in enumerate(lines):
            self._line("recv", f"{code}{'-' if number < len(lines) - 1 else ' '}{line}")
        return "\n".join(lines)

    def _ok(self, parsed, body):
        self._line("send", parsed.spec.wire.split(" ", 1)[0] or parsed.name.upper())
        return 250, self._reply(250, "2.0.0 OK"), {}

    def _connect(self, parsed, body):
        self.transcript.add(Info, kind=InfoKind.CONNECTING, text="connecting to 192.0.2.25:25")
        self.transcript.add(Info, kind=InfoKind.CONNECTED, text="connected to 192.0.2.25:25 from 192.0.2.10:40000")
        reply = self._reply(220, BANNER)
        return 220, reply, dict(connected=True, peer="192.0.2.25:25", local="192.0.2.10:40000", banner=BANNER,
                                banner_code=220, stage=Stage.GREETED)

    def _ehlo(self, parsed, body):
        self._line("send", f"ehlo {self._state.local_hostname}")
        features = FEATURES_TLS if self._state.tls is not None else FEATURES
        lines = ["mx.example.test greets client.smtpdbg.test"] + [f"{k.upper()} {v}".strip() for k, v in features.items()]
        reply = self._reply(250, *lines)
        return 250, reply, dict(ehlo_resp=reply, does_esmtp=True, features=Features(MappingProxyType(dict(features))),
                                stage=Stage.IDENTIFIED)

    def _starttls(self, parsed, body):
        self._line("send", "STARTTLS")
        reply = self._reply(220, "2.0.0 Ready to start TLS")
        self.transcript.add(Info, kind=InfoKind.TLS, text="TLS established: TLSv1.3 TLS_AES_256_GCM_SHA384; "
                                                          "peer CN=mx.example.test issued by CN=Example Test CA; verified",
                            tls_info=TLS)
        return 220, reply, dict(tls=TLS, stage=Stage.TLS, ehlo_resp=None, does_esmtp=False, features=Features())

    def _auth(self, parsed, body):
        mechanism, user = parsed.arg("mechanism").upper(), parsed.arg("user")
        self._line("send", f"AUTH {mechanism} ********", redacted=True,
                   note=f"{mechanism} authzid='' user='{user}' password=<hidden>")
        reply = self._reply(235, "2.7.0 Authentication successful")
        return 235, reply, dict(authenticated=True, auth_user=user, auth_mechanism=mechanism, stage=Stage.AUTHENTICATED)

    def _mail(self, parsed, body):
        sender = parsed.arg("sender")
        self._line("send", f"mail FROM:<{sender}>")
        return 250, self._reply(250, "2.1.0 Sender OK"), dict(mail_from=sender, stage=Stage.MAIL,
                                                                       transaction=Transaction(1, 1, sender, 250, "2.1.0 Sender OK"))

    def _rcpt(self, parsed, body):
        address = parsed.arg("recipient")
        self._line("send", f"rcpt TO:<{address}>")
        if address.startswith("reject@"):
            text = f"5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
            code = 550
        else:
            text, code = "2.1.5 Recipient OK", 250
        self._reply(code, text)
        fate = Fate.PENDING if code < 300 else Fate.PERMANENT
        recipient = Recipient(address, code, text, fate, "" if code < 300 else "RCPT", None if code < 300 else code, text)
        transaction = self._state.transaction or Transaction(1, 1, None)
        transaction = _replace(transaction, recipients=transaction.recipients + (recipient,))
        stage = Stage.RCPT if any(r.accepted for r in transaction.recipients) else Stage.MAIL
        return code, text, dict(transaction=transaction, stage=stage)

    def _rset(self, parsed, body):
        self._line("send", "RSET")
        stage = Stage.AUTHENTICATED if self._state.authenticated else Stage.IDENTIFIED
        return 250, self._reply(250, "2.0.0 Reset state"), dict(mail_from=None, transaction=None, stage=stage)

    def _data(self, parsed, body):
        self._line("send", "data")
        self._reply(354, "End data with <CR><LF>.<CR><LF>")
        lines = tuple(line + b"\r\n" for line in (body or b"").split(b"\r\n")[:-1]) + (b".\r\n",)
        self.transcript.add(Body, size=len(body or b"") + 3, line_count=len(lines), head=lines, tls=self._state.tls is not None)
        reply = self._reply(250, "2.0.0 Ok: queued as 4XyZ1234")
        done = self._state.transaction
        if done is not None:
            done = _replace(done, closed=True, body_sent=True, method="DATA", recipients=tuple(
                _replace(r, fate=Fate.ACCEPTED, decided_at="end of data", code=250, text="2.0.0 Ok: queued as 4XyZ1234")
                if r.fate is Fate.PENDING else r for r in done.recipients))
        return 250, reply, dict(mail_from=None, transaction=None, last_transaction=done, stage=Stage.AUTHENTICATED if self._state.authenticated
                                else Stage.IDENTIFIED, deliveries=self._state.deliveries + 1)
