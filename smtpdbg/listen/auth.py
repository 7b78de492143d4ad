"""The server side of AUTH PLAIN and LOGIN for ``listen --auth``: any user name and password are accepted.

Nothing secret is kept: the transcript gets a masked stand-in of each line
and a note naming the user (never the password).
"""

from __future__ import annotations

import base64
import binascii

USERNAME = "334 VXNlcm5hbWU6"
"""``Username:`` in base64, as servers prompt for LOGIN."""
PASSWORD = "334 UGFzc3dvcmQ6"
OK = "235 2.7.0 Authentication successful"


def _decode(data: str) -> bytes | None:
    try:
        return base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _plain(data: str) -> tuple[str, str]:
    parts = (_decode(data) or b"").split(b"\0")
    if len(parts) != 3:
        return "501 5.5.2 Cannot decode the PLAIN response", "PLAIN response (malformed)"
    return OK, f"PLAIN user={parts[1].decode('utf-8', 'replace')!r} password=<hidden>"


def start(enabled: bool, mechanism: str, initial: str | None) -> tuple[str, str, str]:
    """``(default reply, next step, note)`` for ``AUTH mechanism [initial]``; the step is ``""`` when done."""
    mechanism = mechanism.upper()
    if not enabled:
        return "502 5.5.1 AUTH not offered (listen --auth offers it)", "", ""
    if mechanism == "PLAIN":
        if initial is None:
            return "334 ", "plain", ""
        reply, note = _plain(initial)
        return reply, "", note
    if mechanism == "LOGIN":
        if initial is None:
            return USERNAME, "login-user", ""
        return PASSWORD, "login-password", f"LOGIN user={(_decode(initial) or b'?').decode('utf-8', 'replace')!r}"
    return "504 5.5.4 Unrecognized authentication type", "", ""


def step(current: str, data: str) -> tuple[str, str, str]:
    """``(default reply, next step, note)`` for a client's response line at step ``current``."""
    if data.strip() == "*":
        return "501 5.0.0 Authentication cancelled", "", "cancelled"
    if current == "plain":
        reply, note = _plain(data)
        return reply, "", note
    if current == "login-user":
        return PASSWORD, "login-password", f"LOGIN user={(_decode(data) or b'?').decode('utf-8', 'replace')!r}"
    return OK, "", "password=<hidden>"
