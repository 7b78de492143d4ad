"""Building the immutable :class:`~smtpdbg.core.state.SessionState` from a live session.

After every command the session publishes a new snapshot made from its
options and target, the traced smtplib object (``esmtp_features``,
``does_esmtp``, ``helo_resp``, ``ehlo_resp``, TLS) and the protocol tracker
(stage, AUTH, the ledger). Frontends read the snapshot; nothing in it refers
back to the socket.
"""

from __future__ import annotations

from types import MappingProxyType

from smtpdbg.core.protocol import Stage
from smtpdbg.core.state import Features, SessionState


def build_state(session, cache: dict, busy: bool = False, running: str = "") -> SessionState:
    """The immutable snapshot of a session now: its options and target, and what its connection says.

    Args:
        cache: kept by the session between calls: the parts of the connection that rarely change.
    """
    options = session.options
    target = session.target
    smtp = session.smtp
    fields = dict(
        target=str(target) if target else "",
        transport=target.transport if target else "",
        sandbox=bool(target and target.sandbox),
        timeout=options.timeout,
        local_hostname=options.local_hostname or "",
        source_address=_format_source(options.source_address),
        insecure=options.insecure,
        ca=options.ca or "",
        debuglevel=session.debuglevel,
        mx=session.mx,
        busy=busy,
        running=running,
        commands_run=session.commands_run,
    )
    if smtp is not None:
        fields.update(_connection_fields(smtp, target, cache))
    return SessionState(**fields)


def _connection_fields(smtp, target, cache: dict) -> dict:
    """What the smtplib object and the tracker say; parts that rarely change are cached."""
    tracker = smtp.tracker
    sock = smtp.sock
    connected = sock is not None
    key = (id(sock), smtp.helo_resp, smtp.ehlo_resp, smtp.banner, smtp.command_encoding, id(smtp.tls_info))
    if cache.get("key") != key:
        peer = local = ""
        if connected:
            try:
                from smtpdbg.core.connecting import format_address

                peer, local = format_address(sock.getpeername()), format_address(sock.getsockname())
            except OSError:
                pass
        banner_code, banner = smtp.banner or (None, b"")
        cache.clear()
        cache.update(
            key=key,
            peer=peer or (target.host if target and target.unix and connected else ""),
            local=local,
            banner=banner.decode("utf-8", "replace") if isinstance(banner, bytes) else str(banner),
            banner_code=banner_code,
            helo_resp=_decode(smtp.helo_resp),
            ehlo_resp=_decode(smtp.ehlo_resp),
            does_esmtp=bool(smtp.does_esmtp),
            features=Features(MappingProxyType(dict(smtp.esmtp_features))),
            command_encoding=smtp.command_encoding,
        )
    fields = {k: v for k, v in cache.items() if k != "key"}
    authenticated = tracker.authenticated and connected  # an authentication ends with its connection
    fields.update(
        connected=connected,
        local_hostname=smtp.local_hostname or "",
        tls=smtp.tls_info if connected else None,
        authenticated=authenticated,
        auth_user=tracker.auth_user if authenticated else None,
        auth_mechanism=tracker.auth_mechanism if authenticated else None,
        stage=tracker.stage if connected else Stage.DISCONNECTED,
        mail_from=tracker.mail_from,
        transaction=tracker.transaction,
        last_transaction=tracker.last_transaction,
        deliveries=tracker.deliveries,
    )
    return fields


def _decode(value) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _format_source(address) -> str:
    if not address:
        return ""
    host, port = address
    return f"{host}:{port}" if port else host
