"""A tiny authoritative DNS server on loopback (UDP), for MX-target tests: the sandbox's own (:mod:`smtpdbg.sandbox.dns`)."""

from smtpdbg.sandbox.dns import DnsServer

__all__ = ["DnsServer"]
