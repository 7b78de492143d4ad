"""Completion: a pure function of (text, cursor, state) returning candidates.

First :func:`smtpdbg.core.parser.analyze` works out *what kind of thing* is
expected at the cursor (a verb, an address, an AUTH mechanism, a MAIL
parameter, a file after ``@``); then candidates of that kind are matched
against the word typed so far. Candidates that fit the session (verbs valid in
the protocol stage, extensions the server advertised) come first and are
marked ``preferred``; the others are still offered, because a debugger must
let you break the rules on purpose.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from smtpdbg.core.commands import ATTRIBUTES, COMMANDS, MECHANISMS, SETTINGS, Kind, lookup
from smtpdbg.core.parser import analyze
from smtpdbg.core.state import SessionState

STANDARD_VERBS = {
    "HELO": "identify (plain SMTP)", "EHLO": "identify and list extensions", "MAIL": "MAIL FROM:<sender>",
    "RCPT": "RCPT TO:<recipient>", "DATA": "start the message body", "RSET": "abandon the transaction",
    "VRFY": "verify a mailbox", "EXPN": "expand a list", "HELP": "server help", "NOOP": "do nothing",
    "QUIT": "close politely", "STARTTLS": "upgrade to TLS", "AUTH": "authenticate", "LHLO": "LMTP greeting",
}

# Parameters each EHLO keyword enables (RFC 1870, 6152, 3030, 3461, 6531, 8689, 6710, 2852, 4865, 4954).
MAIL_PARAMS = {
    "SIZE": (("SIZE=", "declare the message size in bytes (RFC 1870)"),),
    "8BITMIME": (("BODY=8BITMIME", "the body has 8-bit bytes (RFC 6152)"), ("BODY=7BIT", "plain 7-bit body")),
    "BINARYMIME": (("BODY=BINARYMIME", "binary body, sent with BDAT (RFC 3030)"),),
    "SMTPUTF8": (("SMTPUTF8", "UTF-8 addresses and headers (RFC 6531)"),),
    "DSN": (("RET=FULL", "return the full message in a DSN (RFC 3461)"), ("RET=HDRS", "return headers only in a DSN"),
            ("ENVID=", "envelope id echoed in DSNs")),
    "REQUIRETLS": (("REQUIRETLS", "relay only over verified TLS (RFC 8689)"),),
    "MT-PRIORITY": (("MT-PRIORITY=", "message priority -9..9 (RFC 6710)"),),
    "DELIVERBY": (("BY=", "deliver within N seconds;R|N (RFC 2852)"),),
    "FUTURERELEASE": (("HOLDFOR=", "hold for N seconds (RFC 4865)"), ("HOLDUNTIL=", "hold until a date-time")),
    "AUTH": (("AUTH=<>", "submitter identity (RFC 4954 §5)"),),
    "PRDR": (("PRDR", "per-recipient replies after DATA (draft-hall-prdr)"),),
}
XCLIENT_ATTRIBUTES = {
    "NAME": "client host name ([UNAVAILABLE] if unknown)", "ADDR": "client IP address", "PORT": "client TCP port",
    "PROTO": "SMTP or ESMTP", "HELO": "the HELO/EHLO name", "LOGIN": "SASL login name", "DESTADDR": "server IP address",
    "DESTPORT": "server port", "IDENT": "local queue id (XFORWARD)", "SOURCE": "LOCAL or REMOTE (XFORWARD)",
}
RCPT_PARAMS = {
    "DSN": (("NOTIFY=SUCCESS,FAILURE", "DSN on success and failure (RFC 3461)"), ("NOTIFY=SUCCESS,FAILURE,DELAY", "DSN also on delay"),
            ("NOTIFY=NEVER", "never send a DSN"), ("ORCPT=rfc822;", "original recipient")),
}
EXTENSION_VERBS = {"CHUNKING": ("BDAT",), "ETRN": ("ETRN",), "ATRN": ("ATRN",), "XCLIENT": ("XCLIENT",),
                   "XFORWARD": ("XFORWARD",), "BURL": ("BURL",), "VRFY": ("VRFY",), "EXPN": ("EXPN",),
                   "TURN": ("TURN",), "STARTTLS": ("STARTTLS",), "AUTH": ("AUTH",), "HELP": ("HELP",)}
COMMON_KEYWORDS = ("STARTTLS", "AUTH", "SIZE", "8BITMIME", "PIPELINING", "SMTPUTF8", "DSN", "CHUNKING",
                   "ENHANCEDSTATUSCODES", "HELP", "VRFY", "ETRN")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One completion: the text replacing the word, what to show, and what it means."""

    text: str
    display: str
    meaning: str = ""
    preferred: bool = False
    """Fits the current session (valid next command, advertised extension)."""


@dataclass(frozen=True, slots=True)
class Completions:
    start: int
    """Index in the text where the word being completed starts."""
    word: str
    candidates: tuple[Candidate, ...]
    hint: str = ""
    """What is still expected after the cursor, e.g. ``USER``."""
    kind: Kind | None = None


def _match(word: str, items, *, case: bool = False) -> list[Candidate]:
    folded = word if case else word.lower()
    out = []
    for item in items:
        key = item.text if case else item.text.lower()
        if key.startswith(folded) and item.text != word:
            out.append(item)
    return sorted(out, key=lambda c: (not c.preferred,))


def _commands(state: SessionState) -> list[Candidate]:
    valid = state.valid_next
    order = {name: i for i, name in enumerate(valid)}
    candidates = [Candidate(spec.name, spec.name, spec.summary, spec.name in order) for spec in COMMANDS]
    candidates.sort(key=lambda c: (not c.preferred, order.get(c.text, 0)))
    return candidates


def _mail_params(state: SessionState, given: tuple[str, ...], table) -> list[Candidate]:
    used = {g.split("=", 1)[0].upper() for g in given}
    candidates = []
    advertised = set(state.features.keywords)
    for keyword, params in table.items():
        for text, meaning in params:
            if text.split("=", 1)[0].upper() in used:
                continue
            preferred = keyword in advertised
            if keyword == "SIZE" and state.features.size:
                meaning = f"{meaning}; server maximum {state.features.size:,}"
            candidates.append(Candidate(text, text, meaning + ("" if preferred else f" — {keyword} not advertised"), preferred))
    return candidates


def _mechanisms(state: SessionState) -> list[Candidate]:
    advertised = state.features.auth_mechanisms
    if not advertised:
        note = "AUTH not advertised (yet): EHLO first to see what the server offers"
        return [Candidate(m, m, note, True) for m in MECHANISMS]
    candidates = [Candidate(m, m, "advertised" if m in advertised else "not advertised by the server", m in advertised)
                  for m in MECHANISMS]
    for mechanism in advertised:
        if mechanism not in MECHANISMS:
            candidates.append(Candidate(mechanism, mechanism, "advertised; smtpdbg has no implementation (use raw)", False))
    return candidates


def _docmd_verbs(state: SessionState) -> list[Candidate]:
    advertised = state.features.keywords
    seen: dict[str, Candidate] = {}
    for keyword in advertised:
        for verb in EXTENSION_VERBS.get(keyword, (keyword,) if keyword.startswith("X") or keyword in ("ETRN", "ATRN") else ()):
            seen[verb] = Candidate(verb, verb, f"advertised ({keyword})", True)
    for verb, meaning in STANDARD_VERBS.items():
        seen.setdefault(verb, Candidate(verb, verb, meaning, False))
    return list(seen.values())


def _extensions(state: SessionState) -> list[Candidate]:
    advertised = state.features.raw
    out = [Candidate(k.upper(), k.upper(), f"advertised {v.strip()}".strip(), True) for k, v in advertised.items()]
    known = {c.text for c in out}
    out += [Candidate(k, k, "not advertised" if advertised else "common extension", False) for k in COMMON_KEYWORDS if k not in known]
    return out


def _attributes(state: SessionState, keyword: str, given: tuple[str, ...]) -> list[Candidate]:
    """XCLIENT/XFORWARD attribute names the server advertised (else the known ones), not given yet."""
    used = {g.split("=", 1)[0].upper() for g in given}
    advertised = state.features.raw.get(keyword.lower(), "").upper().split()
    names = advertised or list(XCLIENT_ATTRIBUTES)
    return [Candidate(f"{n}=", f"{n}=", XCLIENT_ATTRIBUTES.get(n, f"advertised by {keyword}"), bool(advertised))
            for n in names if n not in used]


SANDBOX_MAILBOXES = {
    "alice@sandbox.smtpdbg.test": "sandbox mailbox (the demo user)",
    "bob@sandbox.smtpdbg.test": "sandbox mailbox",
    "reject@sandbox.smtpdbg.test": "sandbox: RCPT gets 550 5.1.1 (user unknown)",
    "greylist@sandbox.smtpdbg.test": "sandbox: RCPT gets 451 4.7.1 (greylisted)",
    "full@sandbox.smtpdbg.test": "sandbox: RCPT gets 452 4.2.2 (mailbox full)",
}


def _addresses(state: SessionState) -> list[Candidate]:
    seen: dict[str, str] = {}
    for address in ([state.mail_from] if state.mail_from else []) + [r.address for r in state.recipients]:
        seen.setdefault(address, "seen in this session")
    if state.sandbox:
        for address, meaning in SANDBOX_MAILBOXES.items():
            seen.setdefault(address, meaning)
    return [Candidate(address, address, meaning, True) for address, meaning in seen.items()]


def _files(word: str) -> list[Candidate]:
    path = word[1:] if word.startswith("@") else word
    directory, _, prefix = path.rpartition("/")
    base = os.path.expanduser(directory) if directory else "."
    if path.startswith("/") and not directory:
        base = "/"
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except (OSError, ValueError):  # ValueError: NUL or a lone surrogate in the typed path
        return []
    out = []
    for entry in entries:
        if not entry.name.startswith(prefix) or (entry.name.startswith(".") and not prefix.startswith(".")):
            continue
        is_dir = entry.is_dir()
        full = (directory + "/" if directory or path.startswith("/") else "") + entry.name + ("/" if is_dir else "")
        if path.startswith("/") and not directory:
            full = "/" + entry.name + ("/" if is_dir else "")
        out.append(Candidate("@" + full, entry.name + ("/" if is_dir else ""), "directory" if is_dir else "file", True))
        if len(out) >= 200:
            break
    return out


def _targets(state: SessionState) -> list[Candidate]:
    out = [Candidate(s, s, m, False) for s, m in (("smtp://", "plain SMTP (STARTTLS possible)"),
                                                  ("smtps://", "implicit TLS (port 465)"), ("lmtp://", "LMTP"))]
    if state.target:
        out.insert(0, Candidate(state.target, state.target, "the current target", True))
    return out


def _topics(state: SessionState) -> list[Candidate]:
    out = [Candidate(k.upper(), k.upper(), "advertised extension", True) for k in state.features.raw]
    out += [Candidate(spec.name, spec.name, spec.summary, False) for spec in COMMANDS]
    return out


def _export_formats() -> list[tuple[str, str]]:
    from smtpdbg.core.commands import SAVE_CERT
    from smtpdbg.core.export import FORMATS

    return [*FORMATS.items(), SAVE_CERT]


def complete(text: str, cursor: int | None = None, state: SessionState | None = None) -> Completions:
    """Candidates for the word at ``cursor`` in ``text``, given the session ``state``."""
    state = state or SessionState()
    analysis = analyze(text, cursor)
    word, start, kind = analysis.word, analysis.word_start, analysis.kind
    hint = analysis.hint
    if analysis.option_expected and analysis.spec is not None:
        options = [Candidate(o.name, o.name + (f" {o.metavar}" if o.metavar else ""), o.help, True)
                   for o in analysis.spec.options if o.name not in analysis.used_options or o.many]
        return Completions(start, word, tuple(_match(word, options)), hint, None)
    if kind is None:
        return Completions(start, word, (), hint, None)
    if kind is Kind.COMMAND and analysis.spec is None:
        return Completions(start, word, tuple(_match(word, _commands(state))), hint, kind)
    table = {
        Kind.HOSTNAME: lambda: [Candidate(n, n, m, True) for n, m in ((state.local_hostname, "local_hostname"),
                                                                      ("localhost", ""), ("[127.0.0.1]", "address literal")) if n],
        Kind.ADDRESS: lambda: _addresses(state),
        Kind.ADDRESSES: lambda: _addresses(state),
        Kind.MAIL_PARAM: lambda: _mail_params(state, analysis.given, MAIL_PARAMS),
        Kind.RCPT_PARAM: lambda: _mail_params(state, analysis.given, RCPT_PARAMS),
        Kind.MECHANISM: lambda: _mechanisms(state),
        Kind.USER: lambda: [Candidate(u, u, "", True) for u in ((state.auth_user,) if state.auth_user else ("alice",) if state.sandbox else ())],
        Kind.EXTENSION: lambda: _extensions(state),
        Kind.XCLIENT_ATTR: lambda: _attributes(state, "XCLIENT", analysis.given),
        Kind.XFORWARD_ATTR: lambda: _attributes(state, "XFORWARD", analysis.given),
        Kind.DOCMD_VERB: lambda: _docmd_verbs(state),
        Kind.FILE: lambda: _files(word),
        Kind.TARGET: lambda: _targets(state),
        Kind.ATTRIBUTE: lambda: [Candidate(a, a, "smtplib attribute", True) for a in ATTRIBUTES],
        Kind.COMMAND: lambda: [Candidate(s.name, s.name, s.summary, True) for s in COMMANDS],
        Kind.TOPIC: lambda: _topics(state),
        Kind.ENVNAME: lambda: [Candidate(n, n, "environment variable", True) for n in sorted(os.environ) if n.isupper()][:200],
        Kind.EXPORT_FORMAT: lambda: [Candidate(n, n, m, True) for n, m in _export_formats()],
        Kind.OUTPUT: lambda: [Candidate(c.text[1:], c.display, c.meaning, c.preferred) for c in _files("@" + word)],
        Kind.SETTING: lambda: [Candidate(n, n, ", ".join(v), True) for n, v in SETTINGS.items()],
        Kind.SETTING_VALUE: lambda: [Candidate(v, v, m, True) for v, m in
                                     SETTINGS.get((text.split() + ["", ""])[1].lower(), {}).items()],
    }
    producer = table.get(kind)
    if producer is None:
        return Completions(start, word, (), hint, kind)
    case = kind in (Kind.FILE, Kind.ENVNAME, Kind.OUTPUT)
    return Completions(start, word, tuple(_match(word, producer(), case=case)), hint, kind)


def spec_hint(text: str) -> str:
    """Usage of the command typed so far, e.g. ``auth MECHANISM USER``."""
    words = text.split(None, 1)
    spec = lookup(words[0]) if words else None
    return spec.usage if spec else ""
