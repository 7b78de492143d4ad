"""PROXY protocol headers (HAProxy's specification, v1 text and v2 binary).

Sent before the greeting when testing a mail server behind a load balancer:
the server then believes the connection comes from ``source``.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_header(version: str, source: tuple[str, int], destination, family: int) -> bytes:
    """The header claiming ``source`` for a connection to ``destination`` (a sockname tuple).

    Raises:
        ValueError: an unknown version, or a source address that is not an IP of the connection's family.
    """
    src_host, src_port = source
    dst_host, dst_port = destination[0], destination[1]
    try:
        src_ip = ipaddress.ip_address(src_host)
    except ValueError:
        raise ValueError(f"--proxy-source {src_host!r} is not an IP address") from None
    v6 = family == socket.AF_INET6
    if (src_ip.version == 6) != v6:
        raise ValueError(f"--proxy-source {src_host} is IPv{src_ip.version} but the connection is IPv{6 if v6 else 4}")
    if version == "v1":
        proto = "TCP6" if v6 else "TCP4"
        return f"PROXY {proto} {src_ip} {dst_host} {src_port} {dst_port}\r\n".encode("ascii")
    if version == "v2":
        dst_ip = ipaddress.ip_address(dst_host)
        addresses = src_ip.packed + dst_ip.packed + struct.pack("!HH", src_port, dst_port)
        family_byte = 0x21 if v6 else 0x11  # TCP over IPv6 / IPv4
        return V2_SIGNATURE + bytes([0x21, family_byte]) + struct.pack("!H", len(addresses)) + addresses
    raise ValueError(f"unknown PROXY protocol version {version!r}: use v1 or v2")
