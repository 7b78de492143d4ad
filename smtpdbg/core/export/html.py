"""HTML export: the transcript with colours, one standalone file for teaching material.

The same lines as the text transcript (swaks notation), each in a ``<span>``
whose class says what it is (client line, reply class 2/3/4/5, inside TLS,
information, warning, error); the styles are inline in the page, so the file
needs nothing else. Server text is escaped twice over: made terminal-safe by
:func:`smtpdbg.core.render.safe_text`, then HTML-escaped.
"""

from __future__ import annotations

import html
import time

from smtpdbg.core.events import Body, Error, Info, InfoKind, Wire
from smtpdbg.core.export.summary import summary_lines
from smtpdbg.core.render import Line, TextRenderer, safe_text

_CSS = """
body { background: #1e1f22; color: #d4d4d4; font-family: ui-monospace, Menlo, Consolas, monospace; margin: 2em; }
h1 { font-size: 1.1em; font-weight: normal; color: #9cdcfe; }
pre { line-height: 1.35; white-space: pre-wrap; }
.send { color: #4fc1ff; } .r2 { color: #6a9955; } .r3 { color: #dcdcaa; } .r4 { color: #ce9178; font-weight: bold; }
.r5 { color: #f44747; font-weight: bold; } .r0 { color: #c586c0; } .tls { background: #23302a; }
.info { color: #808080; } .warning { color: #c586c0; } .error { color: #f44747; font-weight: bold; }
.note { color: #808080; font-style: italic; } .summary { color: #dcdcaa; }
.legend span { margin-right: 1.5em; }
"""


def _classes(line: Line) -> str:
    event = line.event
    if isinstance(event, Wire):  # a reply's class as the core judged it (r0: a violation), from the renderer
        base = "send" if event.is_send else "recv" if line.style == "recv" else f"r{line.style}"
        return base + (" tls" if event.tls else "")
    if isinstance(event, Body):
        return "send" + (" tls" if event.tls else "")
    if isinstance(event, Info):
        return "warning" if event.kind is InfoKind.WARNING else "info"
    if isinstance(event, Error):
        return "error"
    return "info"


def render_html(recording) -> str:
    renderer = TextRenderer(color=False, notes=False)
    rows: list[str] = []
    for line in [line for event in recording.events for line in renderer.render_lines(event)] + renderer.flush_lines():
        event = line.event
        cell = f'<span class="{_classes(line)}">{html.escape(line.text)}</span>'
        if isinstance(event, Wire) and event.note:
            cell += f'  <span class="note"># {html.escape(safe_text(event.note))}</span>'
        rows.append(cell)
    summary = summary_lines(recording.dialogue)
    if summary:
        rows.append('<span class="summary">=== summary</span>')
        rows += [f'<span class="summary">=== {html.escape(safe_text(line))}</span>' for line in summary]
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(recording.created))
    title = safe_text(f"smtpdbg transcript of {recording.target or '(no target)'}")
    legend = ('<p class="legend"><span class="send">-&gt; client</span><span class="r2">&lt;- 2xx</span>'
              '<span class="r3">3xx</span><span class="r4">4xx</span><span class="r5">5xx</span>'
              '<span class="tls">inside TLS (~&gt; &lt;~)</span><span class="info">=== info</span>'
              '<span class="warning">!!! warning</span><span class="error">*** error</span></p>')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}, started {html.escape(when)} ({html.escape(recording.generator)})</h1>\n"
        f"{legend}\n<p class=\"note\">AUTH payloads and passwords are never recorded; they show as ********.</p>\n"
        "<pre>\n" + "\n".join(rows) + "\n</pre>\n</body>\n</html>\n"
    )

