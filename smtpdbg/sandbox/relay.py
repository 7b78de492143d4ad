"""The relay rule of a mail server, for the sandbox: mail for its own domains from anyone, mail for
other domains only from clients that authenticated; a server that relays for anyone is an open relay.

With ``SandboxConfig(relay=True)`` a RCPT to an address outside the local
domains (the sandbox's hostname and ``example.test``, with their subdomains)
from a client that has not authenticated is refused as Postfix refuses it
(``reject_unauth_destination``; RFC 5321 §3.6.2 asks for 550 when a server declines to relay)::

    554 5.7.1 <friend@elsewhere.test>: Relay access denied

After a successful AUTH the same RCPT is accepted: the server now knows who
will be responsible for the message (a submission client, RFC 6409). Off by
default: the sandbox otherwise takes mail for any domain.
"""

from __future__ import annotations

from smtpdbg.sandbox.dns import ZONE_DOMAIN


def domain_of(address: str) -> str:
    """The lower-cased domain of an address (empty for a bare local part)."""
    return address.rpartition("@")[2].strip(" <>").rstrip(".").lower() if "@" in address else ""


def is_local(address: str, hostname: str) -> bool:
    """Whether the sandbox takes mail for ``address`` from anyone: its own domains and their subdomains."""
    domain = domain_of(address)
    return not domain or any(domain == d or domain.endswith("." + d) for d in (hostname.lower(), ZONE_DOMAIN))


def relay_reply(address: str, hostname: str, authenticated: bool) -> str | None:
    """``554 5.7.1 ... Relay access denied`` for another domain's recipient without AUTH, else None."""
    if authenticated or is_local(address, hostname):
        return None
    return f"554 5.7.1 <{address}>: Relay access denied"
