"""MX targets: ``mx:example.org`` resolves the domain's mail exchangers (RFC 5321 §5.1).

Records are sorted by preference; ``mx:example.org#2`` picks the second. With
no MX record the domain itself is the implicit MX; a null MX (RFC 7505) means
the domain accepts no mail. Addresses are resolved with the same DNS server
(``--dns``), so a test or a split-horizon setup sees one consistent view.
dnspython is imported only when an ``mx:`` target is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from smtpdbg.core.errors import CommandError


@dataclass(frozen=True, slots=True)
class Exchanger:
    preference: int
    host: str
    addresses: tuple[str, ...]
    implicit: bool = False
    """No MX record: the domain's own address (RFC 5321 §5.1)."""


def _resolver(server: str | None, timeout: float):
    import dns.resolver

    if not server:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
        resolver.nameservers = [host.strip("[]")]
        if port:
            resolver.port = int(port)
    resolver.lifetime = timeout
    return resolver


def _addresses(resolver, host: str) -> tuple[str, ...]:
    import dns.exception
    import dns.resolver

    found: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            found += [r.to_text() for r in resolver.resolve(host, rdtype, search=False)]
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
            continue
        except dns.exception.Timeout:
            raise CommandError(f"DNS timed out looking up {host} {rdtype}") from None
    return tuple(found)


def resolve_exchangers(domain: str, *, server: str | None = None, timeout: float = 10.0) -> list[Exchanger]:
    """The domain's exchangers, best first, each with its addresses.

    Raises:
        CommandError: no such domain, a null MX, no address at all, or DNS failing.
    """
    try:
        import dns.exception
        import dns.resolver
    except ImportError:  # pragma: no cover - dnspython is a dependency
        raise CommandError("mx: targets need dnspython (pip install dnspython)") from None
    resolver = _resolver(server, timeout)
    try:
        answer = resolver.resolve(domain, "MX", search=False)
        records = sorted(((r.preference, r.exchange.to_text(omit_final_dot=True)) for r in answer), key=lambda r: (r[0], r[1]))
    except dns.resolver.NXDOMAIN:
        raise CommandError(f"{domain} does not exist (NXDOMAIN)") from None
    except dns.resolver.NoAnswer:
        records = []
    except dns.resolver.NoNameservers as exc:
        raise CommandError(f"no DNS server answered for {domain}: {exc}") from None
    except dns.exception.Timeout:
        raise CommandError(f"DNS timed out looking up {domain} MX") from None
    if len(records) == 1 and records[0][1] in ("", "."):
        raise CommandError(f"{domain} publishes a null MX (RFC 7505): it accepts no mail")
    if not records:
        addresses = _addresses(resolver, domain)
        if not addresses:
            raise CommandError(f"{domain} has no MX record and no address: it cannot receive mail")
        return [Exchanger(0, domain, addresses, implicit=True)]
    return [Exchanger(pref, host, _addresses(resolver, host)) for pref, host in records]
