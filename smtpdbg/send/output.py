"""How ``smtpdbg send`` prints: the swaks-style transcript, its quiet levels and hide flags, and a hex view."""

from __future__ import annotations

from smtpdbg.core.events import Body, Error, Info, Reply, Wire
from smtpdbg.core.render import TextRenderer, body_summary, marker, safe_output, safe_text


class Printer:
    """Renders the session's events to a guarded output, leaving out what the flags hide.

    Args:
        silent: 0 everything; 1 errors and failed replies (and the result); 2 errors only; 3 nothing.
    """

    def __init__(self, output, *, color: bool = False, silent: int = 0, hide_send: bool = False,
                 hide_receive: bool = False, hide_info: bool = False, suppress_data: bool = False,
                 hex_view: bool = False) -> None:
        self.output = output
        self.renderer = TextRenderer(color=color)
        self.silent = silent
        self.hide_send = hide_send
        self.hide_receive = hide_receive
        self.hide_info = hide_info
        self.suppress_data = suppress_data
        self.hex_view = hex_view

    def shown(self, event) -> bool:
        if self.silent >= 3:
            return False
        if isinstance(event, Error):
            return True
        if self.silent == 2:
            return False
        if isinstance(event, Wire):
            if event.is_send:
                return not self.hide_send and not self.silent
            return not self.hide_receive  # held by the renderer until the core judges the whole reply
        if isinstance(event, Reply):
            if self.hide_receive or (self.silent and not event.verdict.failed):
                self.renderer.discard()  # -S shows a reply only when the core judged it failed
                return False
            return True
        if isinstance(event, Body):
            return not self.hide_send and not self.silent
        if isinstance(event, Info):
            return not self.hide_info and not self.silent
        return not self.silent

    def __call__(self, event) -> None:
        if not self.shown(event):
            return
        if isinstance(event, Body) and self.suppress_data:
            lines = [f"{' ~> ' if event.tls else ' -> '}[{body_summary(event)}]"]
        elif isinstance(event, Wire) and self.hex_view:
            lines = hex_lines(event)
        else:
            lines = self.renderer.render(event)
        if lines:
            self.output.write("\n".join(lines) + "\n")
            self.output.flush()

    def line(self, text: str, *, always: bool = False) -> None:
        """A line of the result (shown unless ``-S -S -S``; with ``-S -S`` only when ``always``)."""
        if self.silent >= 3 or (self.silent == 2 and not always):
            return
        self.output.write(safe_output(text) + "\n")


def hex_lines(event: Wire) -> list[str]:
    """A wire line as offset, hex bytes and the printable ASCII, 16 bytes a row, behind its marker."""
    prefix = marker(event)
    pad = " " * len(prefix)
    data = event.data
    rows = []
    for offset in range(0, max(len(data), 1), 16):
        chunk = data[offset:offset + 16]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        rows.append(f"{prefix if not offset else pad}{offset:04x}  {chunk.hex(' '):<47}  |{text}|")
    if event.note:
        rows[-1] += f"  # {safe_text(event.note)}"
    return rows
