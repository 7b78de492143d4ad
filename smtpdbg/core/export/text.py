"""The plain-text transcript in swaks-style notation: what people paste into bug reports."""

from __future__ import annotations

import time

from smtpdbg.core.export.summary import summary_lines
from smtpdbg.core.render import TextRenderer, safe_text


def header_lines(recording) -> list[str]:
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(recording.created))
    lines = [safe_text(f"{recording.generator} transcript of {recording.target or '(no target)'}, started {when}")]
    lines.append("legend: -> client, <- server, ~> <~ inside TLS, <** <~* error replies, === info, *** errors, !!! warnings")
    lines.append("secrets: AUTH payloads and passwords are never recorded (shown as ********)")
    return lines


def transcript_lines(recording, *, timestamps: str = "", color: bool = False) -> list[str]:
    renderer = TextRenderer(color=color, timestamps=timestamps, notes=True)
    lines: list[str] = []
    for event in recording.events:
        lines.extend(renderer.render(event))
    return lines + renderer.flush()  # a reply cut short at the very end


def render_text(recording, *, timestamps: str = "") -> str:
    lines = ["=== " + line for line in header_lines(recording)]
    lines += transcript_lines(recording, timestamps=timestamps)
    summary = summary_lines(recording.dialogue)
    if summary:
        lines.append("=== summary")
        lines += ["=== " + safe_text(line) for line in summary]  # it quotes the server's replies
    return "\n".join(lines) + "\n"
