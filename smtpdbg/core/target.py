"""Where to connect: parsing the TARGET forms the CLI and ``connect`` accept.

``host``, ``host:port``, ``[v6]:port``, ``smtp://host:port``, ``smtps://host:port``
(implicit TLS), ``lmtp://host:port``, ``lmtp:///path``, an absolute unix
socket path (LMTP) and ``mx:domain[#N]`` (see :data:`TARGET_FORMS`).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "lmtp": 24}
SCHEMES = tuple(DEFAULT_PORTS)

TARGET_FORMS = (
    ("mail.example.org", "SMTP on port 25"),
    ("mail.example.org:587", "SMTP on that port (STARTTLS is a command: `starttls`)"),
    ("[2001:db8::25]:587", "an IPv6 address, with a port (a bare 2001:db8::25 takes port 25)"),
    ("smtp://mail.example.org:587", "SMTP, written as a URL (port 25 if left out)"),
    ("smtps://mail.example.org", "implicit TLS from the first byte (port 465 if left out)"),
    ("lmtp://127.0.0.1:24", "LMTP over TCP (port 24 if left out)"),
    ("lmtp:///run/dovecot/lmtp", "LMTP on a unix socket"),
    ("/run/dovecot/lmtp", "an absolute path: LMTP on that unix socket"),
    ("mx:example.org", "the best MX of the domain (mx:example.org#2 the next one), port 25"),
)
"""Every form :func:`parse_target` accepts, with an example (``--help`` lists them; a test parses each)."""


class TargetError(ValueError):
    """The target text cannot be understood; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed connection target."""

    transport: str
    """``smtp``, ``smtps`` or ``lmtp``."""
    host: str
    """Host name, IP address, or the unix socket path."""
    port: int | None
    """``None`` for a unix socket."""
    sandbox: bool = False
    """The embedded sandbox (its CA is trusted automatically)."""
    mx: int = 0
    """For ``mx:domain[#N]``: which exchanger (1 = the best); 0 for a plain host."""

    @property
    def unix(self) -> bool:
        return self.port is None

    def __str__(self) -> str:
        if self.mx:
            return f"mx:{self.host}" + (f"#{self.mx}" if self.mx > 1 else "")
        if self.unix:
            return f"{self.transport}://{self.host}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}://{host}:{self.port}"


def _port(text: str, original: str) -> int:
    if not (text.isascii() and text.isdigit()):  # str.isdigit() accepts "²" and "٣"
        raise TargetError(f"bad port {text!r} in {original!r}: expected a number from 1 to 65535")
    port = int(text)
    if not 1 <= port <= 65535:
        raise TargetError(f"port {port} in {original!r} is out of range (1-65535)")
    return port


def parse_target(text: str, *, default_transport: str = "smtp") -> Target:
    """Parse a TARGET.

    Raises:
        TargetError: unknown scheme, bad port, empty host.
    """
    original = text
    text = text.strip()
    if not text:
        raise TargetError("empty target: give host, host:port or scheme://host:port")
    transport = default_transport
    if text.lower().startswith("mx:"):
        domain, _, index = text[3:].partition("#")
        domain = domain.strip().rstrip(".")
        if not domain or "/" in domain or ":" in domain:
            raise TargetError(f"bad MX target {original!r}: write mx:example.org or mx:example.org#2")
        if index and not (index.isascii() and index.isdigit() and int(index) >= 1):
            raise TargetError(f"bad MX index in {original!r}: #1 is the best exchanger, #2 the next")
        return Target("smtp", domain, 25, mx=int(index or 1))
    if "://" in text:
        scheme, _, text = text.partition("://")
        scheme = scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise TargetError(f"unknown scheme {scheme!r} in {original!r}: use smtp://, smtps:// or lmtp://")
        transport = scheme
        text = text.rstrip("/") if not text.startswith("/") else text
    if text.startswith("/"):
        if transport != "lmtp" and "://" in original:
            raise TargetError(f"a unix socket path needs lmtp://, not {transport}:// ({original!r})")
        return Target("lmtp", text, None)
    if "/" in text:
        raise TargetError(f"unexpected path in {original!r}: a target is host[:port]")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise TargetError(f"unclosed [ in {original!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise TargetError(f"unexpected {rest!r} after ] in {original!r}")
        port = _port(rest[1:], original) if rest else DEFAULT_PORTS[transport]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, original)
    elif text.count(":") > 1:
        host, port = text, DEFAULT_PORTS[transport]  # a bare IPv6 address
    else:
        host, port = text, DEFAULT_PORTS[transport]
    if not host:
        raise TargetError(f"no host in {original!r}")
    return Target(transport, host, port)
