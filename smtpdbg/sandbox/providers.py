"""Policy rejections as the big providers send them, for the sandbox's policy lesson.

Real servers refuse mail whose sender fails SPF, whose client has no reverse
DNS, whose address is on a blocklist or whose From: domain's DMARC policy
rejects it. The sandbox cannot check any of that on loopback, so with
``SandboxConfig(provider_policy=True)`` it decides by the sender's domain
(MAIL FROM), deterministically, and answers with the texts these providers
use. The envelope checks come at RCPT (where Postfix also reports sender
restrictions: ``smtpd_delay_reject``), DMARC after the final dot, since it
needs the From: header:

==============================  =====================================================================
Sender or From: domain          Reply
==============================  =====================================================================
MAIL FROM ``@spoofed.``         at RCPT: ``550 5.7.23 The message was rejected because of Sender
``example.test``                Policy Framework violation`` (Microsoft's text; SPF "fail", RFC 7208)
MAIL FROM ``@noptr.``           at RCPT: Gmail's multi-line ``550-5.7.25 [IP] The IP address sending
``example.test``                this message does not have a PTR record setup, ...``
MAIL FROM ``@listed.``          at RCPT: ``550 5.7.1 Unfortunately, messages from [IP] weren't sent.
``example.test``                ... on our block list (S3150)`` (Outlook.com's text)
MAIL FROM ``@nomail.``          at RCPT: ``550 5.7.27 <sender>: Sender address rejected: Domain
``example.test``                nomail.example.test does not accept mail (nullMX)`` (Postfix; RFC 7505)
``From:`` at ``bank.``          after the final dot: Gmail's multi-line ``550-5.7.26 Unauthenticated
``example.test``                email from bank.example.test is not accepted due to domain's DMARC
                                policy. ...`` (neither SPF nor DKIM passes for the From: domain)
==============================  =====================================================================

``[IP]`` is the client's address. Other senders pass.
"""

from __future__ import annotations

import email.parser
import email.utils

from smtpdbg.sandbox.dns import null_mx_rcpt_reply
from smtpdbg.sandbox.relay import domain_of, relay_reply

DMARC_REJECT_DOMAIN = "bank.example.test"


def _lines(code: str, enhanced: str, text: list[str]) -> str:
    """A multi-line reply with the enhanced code on every line, as Gmail sends them."""
    return "\r\n".join(f"{code}{'-' if i < len(text) - 1 else ' '}{enhanced} {line}" for i, line in enumerate(text))


def _spf(sender: str, client: str) -> str:
    return "550 5.7.23 The message was rejected because of Sender Policy Framework violation"


def _ptr(sender: str, client: str) -> str:
    return _lines("550", "5.7.25", [
        f"[{client}] The IP address sending this message does not have a",
        "PTR record setup, or the corresponding forward DNS entry does not",
        "point to the sending IP. As a policy, Gmail does not accept messages",
        "from IPs with missing PTR records. For more information, go to",
        "https://support.google.com/mail/answer/81126#ip-practices",
    ])


def _blocklist(sender: str, client: str) -> str:
    return (f"550 5.7.1 Unfortunately, messages from [{client}] weren't sent. Please contact your Internet service "
            "provider since part of their network is on our block list (S3150). You can also refer your provider "
            "to http://mail.live.com/mail/troubleshooting.aspx#errors.")


def _null_mx(sender: str, client: str) -> str:
    return (f"550 5.7.27 <{sender}>: Sender address rejected: Domain {domain_of(sender)} does not accept mail "
            "(nullMX)")


SENDER_CHECKS = {
    "spoofed.example.test": _spf,
    "noptr.example.test": _ptr,
    "listed.example.test": _blocklist,
    "nomail.example.test": _null_mx,
}
"""Sender domain -> the refusal its RCPTs get."""


def sender_reply(sender: str, client: str) -> str | None:
    """The refusal for every RCPT of a transaction from ``sender``, or None."""
    check = SENDER_CHECKS.get(domain_of(sender))
    return check(sender, client) if check else None


def content_reply(content: bytes) -> str | None:
    """The refusal after the final dot for a message whose From: domain's DMARC policy rejects it, or None."""
    header = email.parser.BytesHeaderParser().parsebytes(content)
    authors = [address for _, address in email.utils.getaddresses(header.get_all("From", []))]
    if not any(domain_of(a) == DMARC_REJECT_DOMAIN for a in authors):
        return None
    return _lines("550", "5.7.26", [
        f"Unauthenticated email from {DMARC_REJECT_DOMAIN} is not accepted due to",
        "domain's DMARC policy. Please contact the administrator of",
        f"{DMARC_REJECT_DOMAIN} domain if this was a legitimate mail. To learn",
        "about the DMARC initiative, go to",
        "https://support.google.com/mail/?p=DmarcRejection",
    ])


def rcpt_checks(config, sender: str, address: str, client: str, authenticated: bool, hostname: str) -> str | None:
    """The RCPT refusals the lesson settings turn on: relaying (:mod:`.relay`), a recipient domain with a
    null MX (:mod:`.dns`) and the providers' sender checks above."""
    return ((config.relay and relay_reply(address, hostname, authenticated))
            or (config.dns and null_mx_rcpt_reply(address))
            or (config.provider_policy and sender_reply(sender, client)) or None)
