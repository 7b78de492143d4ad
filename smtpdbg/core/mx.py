"""MX targets: ``mx:example.org`` resolves the domain's mail exchangers (RFC 5321 §5.1).

Records are sorted by preference; ``mx:example.org#2`` picks the second. With
no MX record the domain itself is the implicit MX; a null MX (RFC 7505) means
the domain accepts no mail. Addresses are resolved with the same DNS server
(``--dns``), so a test or a split-horizon setup sees one consistent view.
dnspython is imported only when an ``mx:`` target is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from smtpdbg.core.errors import CommandError, CommandTimeout


@dataclass(frozen=True, slots=True)
class Exchanger:
    preference: int
    host: str
    addresses: tuple[str, ...]
    implicit: bool = False
    """No MX record: the domain's own address (RFC 5321 §5.1)."""


class _Lookups:
    """One resolver and one deadline for all the lookups of a target (MX, then each exchanger's A/AAAA)."""

    def __init__(self, resolver, deadline: float, domain: str) -> None:
        self.resolver = resolver
        self.deadline = deadline
        self.domain = domain

    def resolve(self, name: str, rdtype: str):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CommandTimeout(f"timed out looking up the mail exchangers of {self.domain} (DNS): "
                                 f"the lookups took longer than the command's time limit")
        self.resolver.lifetime = remaining
        return self.resolver.resolve(name, rdtype, search=False)


def parse_dns_server(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``v6addr`` or ``[v6addr]:port`` -> ``(host, port or None)``.

    Raises:
        ValueError: no host, or a port that is not a number from 1 to 65535.
    """
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"--dns {text!r}: write SERVER, SERVER:PORT or [IPv6]:PORT")
        port = rest[1:] or None
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, None
    if not host:
        raise ValueError(f"--dns {text!r}: no server")
    if port is not None:
        if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            raise ValueError(f"--dns {text!r}: the port must be a number from 1 to 65535")
        return host, int(port)
    return host, None


def _resolver(server: str | None, timeout: float):
    import dns.resolver

    if not server:
        resolver = dns.resolver.Resolver()
    else:
        try:
            host, port = parse_dns_server(server)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        if port:
            resolver.port = port
    resolver.lifetime = timeout
    return resolver


def _addresses(lookups: _Lookups, host: str) -> tuple[str, ...]:
    import dns.exception
    import dns.resolver

    found: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            found += [r.to_text() for r in lookups.resolve(host, rdtype)]
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
            continue
        except dns.exception.Timeout:
            raise CommandTimeout(f"DNS timed out looking up {host} {rdtype}") from None
    return tuple(found)


def resolve_exchangers(domain: str, *, server: str | None = None, timeout: float = 10.0,
                       deadline: float | None = None) -> list[Exchanger]:
    """The domain's exchangers, best first, each with its addresses.

    Args:
        timeout: seconds for all the lookups together (when no ``deadline`` is given).
        deadline: a ``time.monotonic()`` moment by which every lookup must be done.

    Raises:
        CommandError: no such domain, a null MX, no address at all, or DNS failing.
        CommandTimeout: the lookups together took longer than allowed.
    """
    try:
        import dns.exception
        import dns.resolver
    except ImportError:  # pragma: no cover - dnspython is a dependency
        raise CommandError("mx: targets need dnspython (pip install dnspython)") from None
    lookups = _Lookups(_resolver(server, timeout), deadline if deadline is not None else time.monotonic() + timeout,
                       domain)
    try:
        answer = lookups.resolve(domain, "MX")
        records = sorted(((r.preference, r.exchange.to_text(omit_final_dot=True)) for r in answer), key=lambda r: (r[0], r[1]))
    except dns.resolver.NXDOMAIN:
        raise CommandError(f"{domain} does not exist (NXDOMAIN)") from None
    except dns.resolver.NoAnswer:
        records = []
    except dns.resolver.NoNameservers as exc:
        raise CommandError(f"no DNS server answered for {domain}: {exc}") from None
    except dns.exception.Timeout:
        raise CommandTimeout(f"DNS timed out looking up {domain} MX") from None
    if len(records) == 1 and records[0][1] in ("", "."):
        raise CommandError(f"{domain} publishes a null MX (RFC 7505): it accepts no mail")
    if not records:
        addresses = _addresses(lookups, domain)
        if not addresses:
            raise CommandError(f"{domain} has no MX record and no address: it cannot receive mail")
        return [Exchanger(0, domain, addresses, implicit=True)]
    return [Exchanger(pref, host, _addresses(lookups, host)) for pref, host in records]
