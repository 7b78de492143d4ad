"""A small authoritative DNS server on loopback (UDP), and the zone the "finding the server" lesson reads.

With ``SandboxConfig(dns=True)`` the sandbox starts :class:`DnsServer` with
:func:`lesson_zone` and names its address in ``Endpoints.dns``; a session
given that address (``dns_server``, ``--dns``) resolves ``mx:`` targets
against it. The zone (RFC 5321 §5.1, RFC 7505):

==========================  ==========================================================
Name                        Records
==========================  ==========================================================
``example.test``            MX 10 ``mx1.example.test``, MX 20 ``mx2.example.test``
``mx1.example.test``        A 127.0.0.2: nothing listens there (the best MX is down)
``mx2.example.test``        A: the sandbox's own address
``implicit.example.test``   no MX, an A record: the domain is its own (implicit) MX
``nomail.example.test``     MX 0 ``.``: a null MX, the domain accepts no mail
==========================  ==========================================================

Names not in the zone get NXDOMAIN. Built on dnspython's message classes;
tests use :class:`DnsServer` with zones of their own.
"""

from __future__ import annotations

import socket
import threading
import time

from smtpdbg.sandbox.service import ThreadService

ZONE_DOMAIN = "example.test"
NULL_MX_DOMAINS = frozenset({"nomail.example.test"})
"""Domains of the lesson zone that publish a null MX (RFC 7505)."""


def lesson_zone(host: str = "127.0.0.1") -> dict[tuple[str, str], list[str]]:
    """The lesson's records, for a sandbox listening on ``host`` (an IPv4 loopback address)."""
    down = "127.0.0.3" if host == "127.0.0.2" else "127.0.0.2"
    rdtype = "AAAA" if ":" in host else "A"
    return {
        (ZONE_DOMAIN, "MX"): ["10 mx1.example.test.", "20 mx2.example.test."],
        ("mx1.example.test", "A"): [down],
        ("mx2.example.test", rdtype): [host],
        ("implicit.example.test", rdtype): [host],
        **{(domain, "MX"): ["0 ."] for domain in NULL_MX_DOMAINS},
    }


def sandbox_names(host: str = "127.0.0.1") -> list[str]:
    """The zone's host names that lead to the sandbox on ``host`` (``mx2.example.test``, ``implicit.example.test``):
    its certificate names them too, so STARTTLS after ``connect mx:example.test#2`` verifies as on the Internet."""
    return [name for (name, rdtype), values in lesson_zone(host).items() if rdtype in ("A", "AAAA") and values == [host]]


def has_null_mx(address: str) -> bool:
    """Whether the domain of ``address`` publishes a null MX in the lesson zone."""
    return address.rpartition("@")[2].strip(" <>").rstrip(".").lower() in NULL_MX_DOMAINS


class DnsServer(ThreadService):
    """Answers from ``records``: {(name, rdtype): [rdata text, ...]}; names absent entirely get NXDOMAIN.

    A context manager, or :meth:`start` and :meth:`stop`. ``address`` is ``"127.0.0.1:PORT"``.
    """

    def __init__(self, records: dict[tuple[str, str], list[str]], *, delay: float = 0.0,
                 host: str = "127.0.0.1") -> None:
        self.delay = delay
        """Seconds to hold every answer (a slow resolver)."""
        self.records = {(name.rstrip(".").lower() + ".", rdtype): values for (name, rdtype), values in records.items()}
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        bound_host, port = self.sock.getsockname()[:2]
        self.address = f"[{bound_host}]:{port}" if ":" in bound_host else f"{bound_host}:{port}"
        self.queries: list[tuple[str, str]] = []
        self.sock.settimeout(0.05)
        super().__init__(self._serve, "sandbox-dns")

    def close(self) -> None:
        self.sock.close()

    def _serve(self) -> None:
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if self.delay:
                threading.Thread(target=self._answer, args=(data, peer), daemon=True).start()
            else:
                self._answer(data, peer)

    def _answer(self, data: bytes, peer) -> None:
        import dns.exception
        import dns.flags
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        if self.delay:
            time.sleep(self.delay)
        try:
            query = dns.message.from_wire(data)
            question = query.question[0]
        except (dns.exception.DNSException, IndexError):  # not a query we can read: no answer
            return
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        name = question.name.to_text().lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        values = self.records.get((name, rdtype))
        if values:
            response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", rdtype, values))
        elif not any(key[0] == name for key in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        try:
            self.sock.sendto(response.to_wire(), peer)
        except OSError:  # stopped while a slow answer was waiting
            pass


def null_mx_rcpt_reply(address: str) -> str | None:
    """A submission server's refusal of a recipient whose domain has a null MX (RFC 7505 §4.1: 556 5.1.10)."""
    if not has_null_mx(address):
        return None
    domain = address.rpartition("@")[2].rstrip(".").lower()
    return f"556 5.1.10 <{address}>: Recipient address rejected: Domain {domain} does not accept mail (nullMX)"
