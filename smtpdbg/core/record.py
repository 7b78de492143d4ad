"""Recording: an interactive session saved as a script that replays it.

``save script FILE`` writes the commands as typed, each followed by
``expect`` lines built from the reply it got (the exact code; ``expect has
STARTTLS``/``AUTH`` on the EHLO a later command relied on), so ``smtpdbg run
FILE --target OTHER`` replays the session against another server and stops
(exit status 12) where that server answers differently. Secrets never reach
the script: ``login``/``auth`` get ``--password-env SMTP_PASSWORD``, and an
AUTH payload typed by hand becomes ``${SMTP_AUTH_n}``. Commands that only
look at the session (``show``, ``explain``, ``?``, ``has_extn``) are left out;
commands that failed locally (a missing file, not connected) are kept as
comments.
"""

from __future__ import annotations

import time

from smtpdbg.core.events import Body
from smtpdbg.core.export.dialogue import Span
from smtpdbg.core.export.redact import MASK

SKIPPED = {"show", "explain", "?", "has_extn", "abort"}
LOCAL_FAILURES = {"command", "file", "not-connected", "parse", "value", "stopped", "internal"}
PASSWORD_VARIABLE = "SMTP_PASSWORD"


def _message_lines(span: Span) -> tuple[list[str] | None, str]:
    """The message lines for a script block (un-dot-stuffed), or ``None`` and why not.

    A DATA body is recorded dot-stuffed with its final dot; BDAT records each
    chunk as it went, so the message is the chunks joined.
    """
    parts = [e for e in span.events if isinstance(e, Body)]
    if not parts:
        return None, "no message was recorded for this command"
    if any(part.omitted for part in parts):
        lines = sum(part.line_count for part in parts)
        return None, f"the message was {lines:,} lines; only its first and last lines were recorded"
    chunked = span.name == "bdat"
    wire = b"".join(line for part in parts for line in part.head + part.tail)
    if not chunked and wire.endswith(b".\r\n"):
        wire = wire[:-3]
    if wire and not wire.endswith(b"\r\n"):
        return None, "the message does not end with CRLF; save it to a file and use @FILE to send it exactly"
    try:
        text = wire.decode("utf-8")
    except UnicodeDecodeError:
        return None, "the message is not UTF-8 text; save it to a file and use @FILE"
    lines = text.split("\r\n")
    if not chunked:
        lines = [line[1:] if line.startswith(".") else line for line in lines]
    if lines and lines[-1] == "":
        lines.pop()
    if any(line == "." for line in lines):
        return None, "the message holds a line with a single '.', which a script block cannot express; use @FILE"
    if any("\r" in line or "\n" in line for line in lines):
        return None, "the message has bare CR or LF line endings; use @FILE to send it exactly"
    return lines, ""


def _expectations(span: Span, following: list[Span]) -> list[str]:
    end = span.end
    out = []
    if end is not None and end.code is not None:
        out.append(f"expect {end.code}")
    if span.name in ("ehlo", "ehlo_or_helo_if_needed") and end is not None and end.ok:
        for later in following:
            if later.name in ("ehlo", "helo", "connect", "reconnect"):
                break
            if later.name == "starttls" and not (later.parsed and later.parsed.opt("force")):
                out.append("expect has STARTTLS")
            elif later.name in ("login", "auth") and "expect has AUTH" not in out:
                out.append("expect has AUTH")
    return out


def _command_text(span: Span, first_connect: list[str], secrets: list[str]) -> str:
    parsed = span.parsed
    text = span.text
    if parsed is None:
        return text
    if parsed.name == "connect":
        # The first target becomes the replay's --target; later connects to it stay bare too.
        target = parsed.arg("target") or ""
        if not first_connect:
            first_connect.append(target)
        if target in ("", first_connect[0]):
            return "connect" + (f" --timeout {parsed.opt('timeout'):g}" if parsed.opt("timeout") else "")
        return text
    if parsed.name in ("login", "auth") and not parsed.opt("password_env"):
        return f"{text} --password-env {PASSWORD_VARIABLE}"
    if parsed.name in ("login", "auth"):
        return text
    if MASK in text:
        while MASK in text:
            name = f"SMTP_AUTH_{len(secrets) + 1}"
            secrets.append(name)
            text = text.replace(MASK, "${" + name + "}", 1)
    return text


def render_script(recording) -> str:
    """The replayable script (see the module docstring)."""
    spans = [s for s in recording.dialogue.commands if s.name not in SKIPPED]
    body: list[str] = []
    secrets: list[str] = []
    first_connect: list[str] = []
    password_variables: list[str] = []
    for index, span in enumerate(spans):
        end = span.end
        if end is not None and not end.ok and end.category in LOCAL_FAILURES and end.code is None:
            body.append(f"# failed locally in the recorded session ({end.category}): {span.text}")
            continue
        text = _command_text(span, first_connect, secrets)
        if span.name in ("login", "auth"):
            variable = text.split("--password-env", 1)[1].split()[0].lstrip("=") if "--password-env" in text else ""
            if variable and variable not in password_variables:
                password_variables.append(variable)
        parsed = span.parsed
        block: list[str] | None = None
        if parsed is not None and parsed.spec.body and parsed.arg("file") is None:
            block, why = _message_lines(span)
            if block is None:
                body.append(f"# NOTE: {why}")
                body.append(f"# {text}")
                continue
        body.append(text)
        if block is not None:
            body += block
            body.append(".")
        if end is not None and not end.ok and end.code is None:
            body.append(f"# the recorded session failed here: {end.category}")
        body += _expectations(span, spans[index + 1:])
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(recording.created))
    header = [f"# smtpdbg script recorded from {recording.target or '(unknown target)'} on {when} by {recording.generator}",
              "# replay: smtpdbg run THIS-FILE --target OTHER-SERVER",
              "# expect lines hold the replies observed; a different reply stops the run (exit status 12)"]
    needs = [f"{name} (the AUTH password)" for name in password_variables] + \
            [f"{name} (an AUTH payload typed by hand, base64)" for name in secrets]
    if needs:
        header.append("# secrets are never stored here; set: " + ", ".join(needs))
    return "\n".join(header + body) + "\n"
