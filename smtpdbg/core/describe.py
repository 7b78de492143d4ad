"""Plain-text descriptions for the line-mode frontends: ``show`` and ``explain``.

The TUI renders the same snapshot as panels; the REPL and ``smtpdbg run``
print these lines. Explanations come from the catalog
(:mod:`smtpdbg.core.catalog`) and the command table.
"""

from __future__ import annotations

import re

from smtpdbg.core.commands import lookup
from smtpdbg.core.state import SessionState


def describe_state(state: SessionState) -> list[str]:
    """The session snapshot as ``show`` prints it."""
    lines = [f"target: {state.target or '(none)'}  transport: {state.transport or '-'}  "
             f"connected: {state.connected}  stage: {state.stage.value}"]
    if state.connected:
        lines.append(f"peer: {state.peer}  local: {state.local}  local_hostname: {state.local_hostname}")
    lines.append(f"timeout: {state.timeout:g} s  command_encoding: {state.command_encoding}  debuglevel: {state.debuglevel}")
    if state.banner_code is not None:
        lines.append(f"banner: {state.banner_code} {state.banner}")
    lines.append(f"does_esmtp: {state.does_esmtp}  helo_resp: {state.helo_resp!r}")
    if state.ehlo_resp is not None:
        lines.append("ehlo_resp: " + state.ehlo_resp.replace("\n", " | "))
    if state.features.raw:
        lines.append("esmtp_features:")
        for keyword, params in state.features.raw.items():
            lines.append(f"  {keyword.upper():<22}{params}")
    if state.tls is not None:
        tls = state.tls
        lines.append(f"tls: {tls.version} {tls.cipher}  verified: {tls.verified}  server_name: {tls.server_name}")
        cert = tls.certificate
        if cert is not None:
            lines.append(f"  subject: {cert.subject}  issuer: {cert.issuer}")
            lines.append(f"  san: {', '.join(cert.san) or '-'}  valid: {cert.not_before} .. {cert.not_after} ({cert.days_left} days left)")
    elif state.insecure:
        lines.append("tls: verification OFF (--insecure)")
    if state.authenticated:
        lines.append(f"auth: {state.auth_user} via {state.auth_mechanism}")
    if state.mail_from is not None:
        lines.append(f"mail from: <{state.mail_from}>")
        for recipient in state.recipients:
            lines.append(f"  rcpt <{recipient.address}>: {recipient.code} {recipient.text}")
    lines.append("valid next: " + ", ".join(state.valid_next))
    return lines


def describe_attribute(smtp, name: str) -> str:
    """``name = repr(value)`` for one smtplib attribute."""
    if smtp is None:
        return f"{name}: no smtplib object yet (connect first)"
    value = getattr(smtp, name, None)
    if name == "esmtp_features":
        value = dict(value)
    return f"{name} = {value!r}"


_CODE = re.compile(r"^[2-5]\d\d$")
_ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


def explain_topic(topic: str) -> list[str]:
    """Explain a reply code, an enhanced status code, an EHLO keyword or a command."""
    topic = topic.strip()
    try:
        from smtpdbg.core import catalog
    except ImportError:  # pragma: no cover - the catalog ships with the package
        catalog = None
    if _CODE.match(topic) and catalog is not None:
        info = catalog.explain_reply(int(topic))
        if info is None:
            return [f"{topic}: not a standard reply code. {catalog.reply_class_meaning(int(topic))}"]
        return [f"{info.code} {info.text} ({info.rfc})", f"  {info.meaning}", f"  next: {info.client_action}",
                f"  ends the transaction: {'yes' if info.ends_transaction else 'no'}"]
    if _ENHANCED.match(topic) and catalog is not None:
        info = catalog.explain_enhanced(topic)
        if info is None:
            return [f"{topic}: not a known enhanced status code"]
        exact = "" if info.exact else " (no exact entry; meaning from class and subject)"
        return [f"{topic} {info.subject}: {info.detail}{exact} ({info.rfc})", f"  {info.meaning}",
                f"  next: {info.client_action}"]
    spec = lookup(topic)
    if spec is not None:
        lines = [f"{spec.usage} — {spec.summary}"]
        if spec.call:
            lines.append(f"  smtplib: {spec.call}")
        if spec.wire:
            lines.append(f"  wire: {spec.wire}" + (f" ({spec.rfc})" if spec.rfc else ""))
        return lines
    if catalog is not None:
        keyword, _, params = topic.partition(" ")
        info = catalog.explain_extension(keyword, params)
        if info is not None:
            lines = [f"{info.keyword}: {info.title} ({info.rfc})", f"  {info.meaning}"]
            if info.params_meaning:
                lines.append(f"  parameters: {info.params_meaning}")
            if info.template:
                lines.append(f"  try: {info.template}")
            return lines
    return [f"nothing known about {topic!r}: try a reply code (550), an enhanced code (5.1.1), "
            "an EHLO keyword (SIZE) or a command (ehlo)"]
