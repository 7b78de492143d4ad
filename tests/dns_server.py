"""A tiny authoritative DNS server on loopback (UDP), for MX-target tests. Built on dnspython's message classes."""

from __future__ import annotations

import socket
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DnsServer:
    """Answers from ``records``: {(name, rdtype): [rdata text, ...]}; names absent entirely get NXDOMAIN."""

    def __init__(self, records: dict[tuple[str, str], list[str]], *, delay: float = 0.0) -> None:
        self.delay = delay
        """Seconds to hold every answer (a slow resolver)."""
        self.records = {(name.rstrip(".").lower() + ".", rdtype): values for (name, rdtype), values in records.items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = "%s:%d" % self.sock.getsockname()
        self.queries: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self.sock.settimeout(0.05)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
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
        if self.delay:
            time.sleep(self.delay)
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
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

