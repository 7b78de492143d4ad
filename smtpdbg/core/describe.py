"""Plain-text descriptions for the line-mode frontends: ``show``, ``explain`` and inline meanings.

The TUI renders the same snapshot as panels; the REPL and ``smtpdbg run``
print these lines. Explanations come from the catalog
(:mod:`smtpdbg.core.catalog`) and the command table; a reply is explained from
its :class:`~smtpdbg.core.events.Reply` event, in the context the core recorded
(:func:`annotate_exchange`, :class:`Annotator`).
"""

from __future__ import annotations

import re

from smtpdbg.core.commands import lookup
from smtpdbg.core.state import SessionState


def describe_state(state: SessionState) -> list[str]:
    """The session snapshot as ``show`` prints it."""
    lines = [f"target: {state.target or '(none)'}  transport: {state.transport or '-'}  "
             f"connected: {state.connected}  stage: {state.stage.value}"]
    if state.mx:
        lines.append(f"mx: {state.mx}")
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
        lines.append(f"tls: {tls.version} {tls.cipher}  verified: {tls.verified}  server_name: {tls.server_name}"
                     + (f"  sni: {tls.sni}" if tls.sni else ""))
        if tls.verdict and not tls.verified:
            lines.append(f"  {tls.verdict}")
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


_CODE = re.compile(r"^\d{1,4}$")
_ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
_PLACE_WORDS = {"greeting": "<greeting>", "banner": "<greeting>", "connect": "<greeting>", "dot": "<end of data>",
                "end": "<end of data>", "eod": "<end of data>", "end-of-data": "<end of data>"}
"""Words a person may type after a code to give its context (``explain 554 rcpt``, ``explain 250 dot``)."""
_NOTHING = ("nothing known about {!r}: try a reply code (550, or 554 rcpt for its meaning at RCPT), an enhanced "
            "code (5.1.1), an EHLO keyword (SIZE) or a command (ehlo)")


def explain_topic(topic: str, state: SessionState | None = None) -> list[str]:
    """Explain a reply code, an enhanced status code, an EHLO keyword or a command.

    A code alone gives its general meaning and how it changes with the command it answers; a code followed
    by an enhanced code and/or a command (``554 5.7.1 rcpt``, ``250 dot``, ``220 starttls``) is explained
    there. A keyword that is also a command (STARTTLS, AUTH, VRFY, EXPN, HELP) gives both meanings.

    Args:
        topic: what ``explain`` was given.
        state: the session's state: an EHLO keyword is then explained with what this server announced.
    """
    from smtpdbg.core import catalog

    topic = topic.strip()
    words = topic.split()
    if words and _CODE.match(words[0]):
        return _explain_code(words)
    if _ENHANCED.match(topic):
        info = catalog.explain_enhanced(topic)
        if info is None:
            return [f"{topic}: not a known enhanced status code"]
        exact = "" if info.exact else " (no exact entry; meaning from class and subject)"
        lines = [f"{topic} {info.subject}: {info.detail}{exact} ({info.rfc})", f"  {info.meaning}",
                 f"  next: {info.client_action}"]
        return lines + [f"  {note}" for note in catalog.vendor_notes(topic)]
    keyword = explain_keyword(topic, state=state) if words else []
    spec = lookup(topic)
    if spec is not None:
        lines = [f"{spec.usage} — {spec.summary}"]
        if spec.call:
            lines.append(f"  smtplib: {spec.call}")
        if spec.wire:
            lines.append(f"  wire: {spec.wire}" + (f" ({spec.rfc})" if spec.rfc else ""))
        verb = spec.wire.split(" ", 1)[0].upper() if spec.wire else ""
        if keyword:
            return lines + ["EHLO keyword " + keyword[0]] + keyword[1:]
        needs = [info for info in catalog.EXTENSIONS.values() if verb and verb in info.verbs]
        if needs:
            lines.append(f"  needs the EHLO keyword {needs[0].keyword} ({needs[0].title}, {needs[0].rfc}): "
                         f"`explain {needs[0].keyword}`")
        return lines
    from smtpdbg.core.catalog.parameters import explain_parameter

    parameter = explain_parameter(topic) if len(words) == 1 else []
    if "=" in topic and parameter:
        return parameter
    return keyword + parameter or [_NOTHING.format(topic)]


def _explain_code(words: list[str]) -> list[str]:
    """``explain 554``, ``explain 554 5.7.1``, ``explain 554 rcpt``, ``explain 554 5.7.1 rcpt``."""
    from smtpdbg.core import catalog

    code, enhanced, command = int(words[0]), None, ""
    for word in words[1:]:
        if _ENHANCED.match(word):
            enhanced = word
        elif not command:
            command = _PLACE_WORDS.get(word.lower(), word.upper())
    argument = "LAST" if command == "BDAT" and any(w.upper() == "LAST" for w in words) else ""
    return catalog.explain_in_context(code, enhanced, command, argument=argument).lines()


def explain_keyword(topic: str, params: str = "", state: SessionState | None = None) -> list[str]:
    """An EHLO keyword's meaning (``[]`` when the catalog does not know it).

    Args:
        topic: the keyword, possibly followed by parameters (``SIZE 1000``) or in the legacy ``AUTH=`` form.
        params: parameters from an EHLO line, when not in ``topic``.
        state: the session's state; when its EHLO reply announced the keyword, its parameters are explained as
            announced (``explain SIZE`` after ``250-SIZE 33554432`` says 32 MiB).
    """
    from smtpdbg.core import catalog

    keyword, _, given = topic.strip().partition(" ")
    params = " ".join(f"{given} {params}".split())
    name = keyword.split("=", 1)[0].upper()
    announced = None
    if not params and state is not None and state.features.has(name):
        announced = state.features.raw.get(name.lower(), "")
        params = announced
    info = catalog.explain_extension(keyword, params)
    if info is None:
        return []
    lines = [f"{info.keyword}: {info.title} ({info.rfc})", f"  {info.meaning}"]
    if announced is not None:
        lines.append(f"  this server announced: {info.params_meaning or 'the keyword alone'}")
    elif params and info.params_meaning:
        lines.append(f"  parameters: {info.params_meaning}")
    elif state is not None and state.ehlo_resp is not None:
        lines.append(f"  this server did not announce {info.keyword}")
    if info.template:
        lines.append(f"  try: {info.template}")
    return lines


def annotate_exchange(reply) -> str:
    """The one-line meaning of a whole reply in its context, from its :class:`~smtpdbg.core.events.Reply` event.

    ``554 5.7.1 at RCPT → permanent failure: recipient refused by policy``; for inline annotations under the
    last line of a reply (the REPL's ``--explain``, the app's meanings).
    """
    from smtpdbg.core.catalog import explain_exchange

    return explain_exchange(reply).summary()


_CLASS_WORDS = {"2": "ok", "3": "go on", "4": "temporary failure", "5": "permanent failure"}
_PLACEHOLDER = re.compile(r"^(?:[245]\.\d{1,3}\.\d{1,3} |<[^>]*> )")


def annotate_reply(line: str, *, ehlo: bool = False) -> str:
    """A one-line meaning of a reply line, for inline annotations in a transcript.

    ``550 5.1.1 <x>: unknown`` gives ``550 5.1.1 → permanent failure: bad destination mailbox address``;
    in an EHLO reply, ``250-SIZE 33554432`` gives ``SIZE → 32 MiB maximum message size``.

    Args:
        line: one reply line without its line ending.
        ehlo: the line answers EHLO/LHLO, so lines after the first name extensions.

    Returns:
        The annotation, or ``""`` when there is nothing to add (not a reply line, the
        continuation of a multi-line reply, an unknown keyword). Never raises.
    """
    if len(line) < 3 or line[0] not in "2345" or not line[:3].isdigit() or line[3:4] not in ("", " ", "-"):
        return ""
    from smtpdbg.core import catalog

    rest = line[4:]
    if ehlo and line[0] == "2" and rest:
        keyword, _, params = rest.partition(" ")
        info = catalog.explain_extension(keyword, params.strip())
        if info is not None:
            if "=" in keyword:  # the legacy form: AUTH=LOGIN PLAIN lists LOGIN too
                params = f"{keyword.split('=', 1)[1]} {params}"
            params = " ".join(params.split())
            meaning = info.params_meaning if 0 < len(info.params_meaning) <= 60 else (
                info.title + (f": {params}" if params else ""))
            return f"{info.keyword} → {meaning}"
    if line[3:4] == "-":
        return ""
    code = int(line[:3])
    enhanced = catalog.parse_enhanced(rest)
    detail = ""
    if enhanced:
        found = catalog.explain_enhanced(enhanced)
        if found is not None and found.exact and not found.detail.startswith("Other"):
            detail = found.detail
    if not detail:
        info = catalog.explain_reply(code)
        if info is not None:
            detail = _PLACEHOLDER.sub("", info.text)
            if detail.startswith("<") and detail.endswith(">") and detail.count("<") == 1:
                detail = detail[1:-1]
        else:
            detail = catalog.reply_class_meaning(code).split(":", 1)[0]
    head = f"{code} {enhanced}" if enhanced else str(code)
    if detail[1:2].islower():
        detail = detail[0].lower() + detail[1:]
    return f"{head} → {_CLASS_WORDS[line[0]]}: {detail}"


class Annotator:
    """Inline meanings for a stream of transcript events, for the line-mode frontends (``repl --explain``, ``run``).

    Feed it every event in order; :meth:`lines` returns what to print after that event: under an EHLO reply's
    line that names an extension, what the extension means; after a whole reply (its Reply event, recorded right
    after its last line), what the reply means where it came. The REPL prints each as ``↳ …``; ``run`` asks
    only for failed replies, with what to do next (``failures_only``).

    Args:
        failures_only: annotate only replies the core judged failed (4xx, 5xx, violations), and add the next
            step and whether the transaction goes on.
    """

    def __init__(self, *, failures_only: bool = False) -> None:
        self.failures_only = failures_only
        self._ehlo = False
        """The last command line sent was EHLO/LHLO."""
        self._line = 0
        """Lines of the current reply seen so far."""

    def lines(self, event) -> list[str]:
        from smtpdbg.core.catalog import EXTENSIONS, explain_exchange
        from smtpdbg.core.events import Reply, Wire

        kind = type(event)
        if kind is Wire:
            if event.is_send:
                self._ehlo, self._line = event.data[:4].upper() in (b"EHLO", b"LHLO"), 0
                return []
            self._line += 1
            if self.failures_only or not self._ehlo or self._line == 1:
                return []
            from smtpdbg.core.render import safe_text

            line = safe_text(event.data)
            keyword = line[4:].split(" ", 1)[0].split("=", 1)[0].upper()
            return [annotate_reply(line, ehlo=True)] if line[:1] == "2" and keyword in EXTENSIONS else []
        if kind is not Reply:
            return []
        self._line = 0
        if self.failures_only and not event.verdict.failed:
            return []
        if event.command in ("EHLO", "LHLO") and not event.verdict.failed:
            return []  # its extension lines said it all
        explanation = explain_exchange(event)
        if not self.failures_only:
            return [explanation.summary()]
        lines = [explanation.summary(), f"next: {explanation.next_step}"]
        return lines + ([f"transaction: {explanation.transaction}"] if explanation.transaction else [])
