"""Delivery Status Notifications for the sandbox: the DSN extension (RFC 3461) and the report (RFC 3464).

With ``SandboxConfig.dsn`` on, the sandbox advertises DSN, checks its
parameters, and after a message is accepted "delivers" it and reports back
the way a real MTA does once the 250 has been given:

* ``RET=FULL|HDRS`` and ``ENVID=<xtext>`` (at most 100 characters) on MAIL,
  ``NOTIFY=NEVER`` or ``NOTIFY=`` a list of ``SUCCESS``, ``FAILURE``,
  ``DELAY``, and ``ORCPT=<addr-type>;<xtext>`` on RCPT (RFC 3461 section 4). A
  parameter given twice or with a bad value: ``501 5.5.4``.
* A ``bounce@`` recipient is accepted at RCPT, but its delivery fails
  afterwards (its mailbox is gone): the failure can no longer be told in a
  reply, so it comes back as a report (RFC 5321 section 6.1).
* A ``later@`` recipient is accepted too, but its server does not answer:
  the message stays queued for it and a report says it is delayed (Status
  4.4.1) and until when delivery will be retried (Will-Retry-Until, five days
  on: RFC 5321 §4.5.4.1 wants at least 4-5 days), if its NOTIFY has DELAY.
* Which recipients are reported: a failed one unless its NOTIFY leaves out
  FAILURE (no NOTIFY: the sandbox acts as for ``NOTIFY=FAILURE,DELAY``; RFC
  3461 section 4.1 leaves the default to the server), a delivered one only with
  ``NOTIFY=SUCCESS``; never with ``NOTIFY=NEVER``.
* The report goes to the envelope sender, from the null sender ``<>``
  (RFC 5321 section 4.5.5, section 6.1): it is recorded like a delivered message, with
  ``mail_from=""`` and the sender as its only recipient. A message whose own
  sender is ``<>`` gets no report at all: no bounce about a bounce.
* The report is ``multipart/report; report-type=delivery-status`` (RFC 3464,
  RFC 6522): a text for people, a ``message/delivery-status`` part
  (Reporting-MTA, Original-Envelope-Id, then per recipient Original-Recipient,
  Final-Recipient, Action, Status, Diagnostic-Code), and the message itself
  (``RET=FULL``) or only its header (``RET=HDRS``, and without RET).

LMTP reports each recipient in its own reply after the final dot, so its
messages get no report.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, make_msgid
from typing import Iterable

BOUNCE = "bounce"
"""Local part of the recipient accepted at RCPT whose delivery fails afterwards."""
LATER = "later"
"""Local part of the recipient accepted at RCPT whose delivery is delayed: the message stays queued."""
RETRY_FOR = timedelta(days=5)
"""How long the sandbox says it would keep retrying a delayed recipient (Postfix's maximal_queue_lifetime)."""
NOTIFY_WORDS = frozenset({"SUCCESS", "FAILURE", "DELAY"})
_XTEXT = re.compile(r"(?:[!-*,-<>-~]|\+[0-9A-F]{2})*")
_ADDR_TYPE = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+")


def _syntax(text: str) -> str:
    return f"501 5.5.4 {text}"


def xtext_decode(value: str) -> str:
    """RFC 3461 section 4: ``+XX`` is the octet with hex value XX."""
    return re.sub(r"\+([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


def _split(params: Iterable[str]) -> tuple[dict[str, str], str | None]:
    found: dict[str, str] = {}
    for param in params:
        name, _, value = param.partition("=")
        name = name.upper()
        if name in found:
            return found, _syntax(f"{name} given twice (RFC 3461 section 4)")
        found[name] = value
    return found, None


def mail_params_reply(params: Iterable[str]) -> str | None:
    """The refusal for bad DSN parameters on MAIL (None when they are fine)."""
    found, error = _split(params)
    if error:
        return error
    if "RET" in found and found["RET"].upper() not in ("FULL", "HDRS"):
        return _syntax("RET must be FULL or HDRS (RFC 3461 section 4.3)")
    if "ENVID" in found:
        envid = found["ENVID"]
        if not envid or len(envid) > 100 or not _XTEXT.fullmatch(envid):
            return _syntax("ENVID must be 1 to 100 characters of xtext (RFC 3461 section 4.4)")
    return None


def rcpt_params_reply(params: Iterable[str]) -> str | None:
    """The refusal for bad DSN parameters on RCPT (None when they are fine)."""
    found, error = _split(params)
    if error:
        return error
    if "NOTIFY" in found:
        words = found["NOTIFY"].upper().split(",")
        if words != ["NEVER"] and (not set(words) <= NOTIFY_WORDS or len(set(words)) != len(words)):
            return _syntax("NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY (RFC 3461 section 4.1)")
    if "ORCPT" in found:
        kind, semicolon, address = found["ORCPT"].partition(";")
        if not semicolon or not _ADDR_TYPE.fullmatch(kind) or not address or not _XTEXT.fullmatch(address):
            return _syntax("ORCPT must be <addr-type>;<xtext>, e.g. rfc822;bob@example.org (RFC 3461 section 4.2)")
    return None


def notify_of(options: Iterable[str]) -> frozenset[str]:
    """What a recipient asked to be told about (no NOTIFY: FAILURE and DELAY)."""
    found, _ = _split(options)
    if "NOTIFY" not in found:
        return frozenset({"FAILURE", "DELAY"})
    words = frozenset(found["NOTIFY"].upper().split(","))
    return frozenset() if words == {"NEVER"} else words


def _local(address: str) -> str:
    return address.rpartition("@")[0].lower() if "@" in address else ""


def fails(address: str) -> bool:
    """Whether delivery to ``address`` fails after it was accepted."""
    return _local(address) == BOUNCE


def reaches(address: str) -> bool:
    """Whether the message is delivered to ``address`` (neither failed nor delayed)."""
    return _local(address) not in (BOUNCE, LATER)


def _header_of(content: bytes) -> bytes:
    end = re.search(rb"\r?\n\r?\n", content)
    return content if end is None else content[: end.start()] + b"\r\n"


def report(hostname: str, sender: str, mail_options: Iterable[str],
           recipients: Iterable[tuple[str, Iterable[str]]], content: bytes) -> bytes | None:
    """The RFC 3464 report to ``sender`` about ``recipients`` (``(address, RCPT options)``), or None
    when nobody is to be told (the sender is null, or no recipient's NOTIFY asks for it)."""
    if not sender or sender == "<>":
        return None
    blocks: list[str] = []
    failed = delivered = delayed = 0
    arrival = datetime.now(timezone.utc).replace(microsecond=0)
    now = format_datetime(arrival)
    for address, options in recipients:
        opts, _ = _split(options)
        outcome = "FAILURE" if fails(address) else "SUCCESS" if reaches(address) else "DELAY"
        if outcome not in notify_of(options):
            continue
        lines = []
        if "ORCPT" in opts:
            kind, _, original = opts["ORCPT"].partition(";")
            lines.append(f"Original-Recipient: {kind};{xtext_decode(original)}")
        lines.append(f"Final-Recipient: rfc822;{address}")
        if outcome == "FAILURE":
            failed += 1
            lines += ["Action: failed", "Status: 5.1.1",
                      f"Diagnostic-Code: smtp; 550 5.1.1 <{address}>: mailbox unavailable"]
        elif outcome == "DELAY":
            delayed += 1
            lines += ["Action: delayed", "Status: 4.4.1",
                      "Diagnostic-Code: X-Sandbox; the recipient's server did not answer",
                      f"Last-Attempt-Date: {now}", f"Will-Retry-Until: {format_datetime(arrival + RETRY_FOR)}"]
        else:
            delivered += 1
            lines += ["Action: delivered", "Status: 2.0.0"]
        blocks.append("\r\n".join(lines))
    if not blocks:
        return None
    mail, _ = _split(mail_options)
    boundary = f"sandbox-dsn-{int(time.time() * 1000)}"
    kinds = [word for word, count in (("Failure", failed), ("Delay", delayed), ("Success", delivered)) if count]
    kind = ", ".join(kinds)
    envid = [f"Original-Envelope-Id: {xtext_decode(mail['ENVID'])}"] if "ENVID" in mail else []
    per_message = "\r\n".join([f"Reporting-MTA: dns; {hostname}", *envid, f"Arrival-Date: {now}"])
    full = mail.get("RET", "").upper() == "FULL"
    returned = (b"Content-Type: message/rfc822\r\n\r\n" + content if full
                else b"Content-Type: text/rfc822-headers\r\n\r\n" + _header_of(content))
    human = (f"This is the mail system at {hostname}.\r\n\r\n"
             "Your message was accepted (250). For the recipients you asked to hear about:\r\n"
             f"  delivered: {delivered}\r\n  failed for good: {failed}\r\n"
             f"  delayed (still queued, delivery will be retried): {delayed}\r\n"
             "The details are in the delivery-status part below (RFC 3464).\r\n")
    head = "\r\n".join([
        f"Date: {now}",
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>",
        f"To: <{sender}>",
        f"Subject: Delivery Status Notification ({kind})",
        f"Message-ID: {make_msgid('dsn', hostname)}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
    ])
    parts = [
        f"Content-Type: text/plain; charset=us-ascii\r\n\r\n{human}".encode(),
        ("Content-Type: message/delivery-status\r\n\r\n" + per_message + "\r\n\r\n"
         + "\r\n\r\n".join(blocks) + "\r\n").encode(),
        returned if returned.endswith(b"\r\n") else returned + b"\r\n",
    ]
    body = b"".join(f"--{boundary}\r\n".encode() + part + b"\r\n" for part in parts)
    return head.encode() + b"\r\n\r\n" + body + f"--{boundary}--\r\n".encode()
