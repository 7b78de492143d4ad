"""TLS contexts and what a handshake established.

Verification is on by default (system store, or a CA file); turning it off is
an explicit, recorded choice. The peer chain is parsed with ``cryptography``
(imported only when a handshake happens) so the inspector can show it even
when verification was off, together with what a verifying client would have
concluded about the host name.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import ipaddress
import re
import ssl
import warnings

from smtpdbg.core.state import Certificate, TlsInfo


_VERSIONS = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1, "1.2": ssl.TLSVersion.TLSv1_2,
             "1.3": ssl.TLSVersion.TLSv1_3}
TLS_VERSIONS = tuple(_VERSIONS)


class _PassPhraseWanted(Exception):
    pass


def load_client_cert(context: ssl.SSLContext, cert: str, key: str | None = None) -> None:
    """Load a client certificate (and key) without ever asking for a pass phrase.

    OpenSSL's default is to prompt on the terminal: outside any command timeout,
    and under the TUI. An encrypted key is refused with a clear message instead.

    Raises:
        ValueError: the key is encrypted. OSError / ssl.SSLError: unreadable or not PEM.
    """
    def pass_phrase():
        raise _PassPhraseWanted

    try:
        context.load_cert_chain(cert, key, password=pass_phrase)
    except _PassPhraseWanted:
        raise ValueError(f"the private key in {key or cert} is encrypted: smtpdbg does not ask for pass phrases; "
                         "use a decrypted copy (openssl pkey -in KEY -out KEY-PLAIN.pem)") from None


def build_context(
    *,
    ca: str | None = None,
    insecure: bool = False,
    cert: str | None = None,
    key: str | None = None,
    min_version: str | None = None,
    max_version: str | None = None,
    ciphers: str | None = None,
    keylog: str | None = None,
) -> ssl.SSLContext:
    """A client context: verifying unless ``insecure``.

    Args:
        ca: PEM file of CAs to trust instead of the system store.
        insecure: skip chain and host-name verification (shown in the UI).
        cert, key: a client certificate to present.
        min_version, max_version: ``"1.0"`` .. ``"1.3"``.
        ciphers: an OpenSSL cipher string (TLS 1.2 and below).
        keylog: write TLS secrets here (NSS key log format, for Wireshark).

    Raises:
        OSError / ssl.SSLError / ValueError: a file cannot be read, or a bad version or cipher string.
    """
    context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert:
        load_client_cert(context, cert, key)
    for value, attribute in ((min_version, "minimum_version"), (max_version, "maximum_version")):
        if value:
            if value not in _VERSIONS:
                raise ValueError(f"unknown TLS version {value!r} (use {', '.join(TLS_VERSIONS)})")
            setattr(context, attribute, _VERSIONS[value])
    if ciphers:
        context.set_ciphers(ciphers)
    if keylog:
        # Created or tightened owner-only first (OpenSSL would use the umask, and keep an existing
        # file's mode): the keys decrypt the whole session, AUTH exchange included.
        from smtpdbg.core.files import check_private

        check_private(keylog)
        context.keylog_filename = keylog
    return context


def is_verifying(context: ssl.SSLContext) -> bool:
    return context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def _name(name) -> str:  # cryptography x509.Name
    try:
        return name.rfc4514_string()
    except Exception:  # noqa: BLE001 - exotic attribute types must not break the inspector
        return str(name)


def _certificate(der: bytes) -> tuple[Certificate, object]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    parsed = x509.load_der_x509_certificate(der)
    try:
        ext = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        san = tuple(ext.get_values_for_type(x509.DNSName)) + tuple(str(ip) for ip in ext.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        san = ()
    public = parsed.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        key = f"RSA {public.key_size}"
    elif isinstance(public, ec.EllipticCurvePublicKey):
        key = f"EC {public.curve.name}"
    else:
        key = type(public).__name__.replace("PublicKey", "").lstrip("_")
    not_before = parsed.not_valid_before_utc
    not_after = parsed.not_valid_after_utc
    days_left = (not_after - _dt.datetime.now(_dt.timezone.utc)).days
    cert = Certificate(
        subject=_name(parsed.subject),
        issuer=_name(parsed.issuer),
        san=san,
        not_before=not_before.strftime("%Y-%m-%d %H:%M:%S UTC"),
        not_after=not_after.strftime("%Y-%m-%d %H:%M:%S UTC"),
        days_left=days_left,
        serial=format(parsed.serial_number, "x"),
        fingerprint_sha256=parsed.fingerprint(hashes.SHA256()).hex(":").upper(),
        key=key,
        der=der,
    )
    return cert, parsed


_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                         "Dec"), 1)}
_CURVES = {"2a8648ce3d030107": "secp256r1", "2b81040022": "secp384r1", "2b81040023": "secp521r1"}
_KEY_OIDS = {"2a864886f70d010101": "RSA", "2a8648ce3d0201": "EC", "2b6570": "Ed25519", "2b6571": "Ed448"}


def _der_items(data: bytes, start: int = 0, end: int | None = None):
    """(tag, content start, content end) of each DER item between start and end."""
    end = len(data) if end is None else end
    while start < end:
        tag, length, start = data[start], data[start + 1], start + 2
        if length & 0x80:
            count = length & 0x7F
            length, start = int.from_bytes(data[start:start + count], "big"), start + count
        yield tag, start, start + length
        start += length


def _key_from_der(der: bytes) -> str:
    """``RSA 2048``, ``EC secp256r1``, ``Ed25519`` from the certificate's SubjectPublicKeyInfo, without a parser."""
    _, cert_start, cert_end = next(_der_items(der))
    _, tbs_start, tbs_end = next(_der_items(der, cert_start, cert_end))
    fields = [item for item in _der_items(der, tbs_start, tbs_end) if item[0] != 0xA0]  # [0] version
    _, spki_start, spki_end = fields[5]  # serial, signature, issuer, validity, subject, SPKI
    (_, alg_start, alg_end), (_, bits_start, bits_end) = list(_der_items(der, spki_start, spki_end))[:2]
    parts = list(_der_items(der, alg_start, alg_end))
    kind = _KEY_OIDS.get(der[parts[0][1]:parts[0][2]].hex(), "unknown")
    if kind == "RSA":
        _, rsa_start, rsa_end = next(_der_items(der, bits_start + 1, bits_end))
        _, mod_start, mod_end = next(_der_items(der, rsa_start, rsa_end))
        return f"RSA {int.from_bytes(der[mod_start:mod_end], 'big').bit_length()}"
    if kind == "EC" and len(parts) > 1:
        return f"EC {_CURVES.get(der[parts[1][1]:parts[1][2]].hex(), 'unknown curve')}"
    return kind


def _dn(rdns) -> str:
    """An ``ssl`` decoded name as RFC 4514 text (most significant last, as cryptography prints it)."""
    short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
             "stateOrProvinceName": "ST", "localityName": "L", "domainComponent": "DC", "streetAddress": "STREET",
             "userId": "UID"}
    parts = []
    for rdn in reversed(rdns):
        parts.append("+".join(f"{short.get(k, k)}={_escape_dn(v)}" for k, v in rdn))
    return ",".join(parts)


def _escape_dn(value: str) -> str:
    value = re.sub(r'([,+"\\<>;])', r"\\\1", value)
    if value[:1] in ("#", " "):
        value = "\\" + value
    if value.endswith(" "):
        value = value[:-1] + "\\ "
    return value


def _when(text: str) -> _dt.datetime:
    """``ssl``'s ``notAfter`` text (``Jun  1 12:00:00 2030 GMT``) as an aware datetime."""
    month, day, clock, year = text.split()[:4]
    hour, minute, second = (int(x) for x in clock.split(":"))
    return _dt.datetime(int(year), _MONTHS[month], int(day), hour, minute, second, tzinfo=_dt.timezone.utc)


def _certificate_from_info(info: dict, der: bytes) -> Certificate:
    """A :class:`Certificate` from ``ssl``'s decoded dict of a verified peer (no ``cryptography`` import)."""
    not_before, not_after = _when(info["notBefore"]), _when(info["notAfter"])
    return Certificate(
        subject=_dn(info.get("subject", ())),
        issuer=_dn(info.get("issuer", ())),
        san=tuple(v for k, v in info.get("subjectAltName", ()) if k == "DNS")
        + tuple(str(ipaddress.ip_address(v.strip())) for k, v in info.get("subjectAltName", ()) if k == "IP Address"),
        not_before=not_before.strftime("%Y-%m-%d %H:%M:%S UTC"),
        not_after=not_after.strftime("%Y-%m-%d %H:%M:%S UTC"),
        days_left=(not_after - _dt.datetime.now(_dt.timezone.utc)).days,
        serial=info.get("serialNumber", "").lower().lstrip("0") or "0",
        fingerprint_sha256=hashlib.sha256(der).digest().hex(":").upper(),
        key=_key_from_der(der),
        der=der,
    )


def certificate(der: bytes) -> Certificate:
    """Any DER certificate, parsed with ``cryptography`` (imported on first use)."""
    return _certificate(der)[0]


def _name_matches(san: tuple[str, ...], server_name: str | None) -> bool | None:
    """RFC 6125 matching of a host name or IP against the SAN list."""
    if not server_name:
        return None
    try:
        ip = ipaddress.ip_address(server_name.strip("[]"))
    except ValueError:
        ip = None
    host = server_name.lower().rstrip(".")
    for entry in san:
        if ip is not None:
            try:
                if ipaddress.ip_address(entry) == ip:
                    return True
            except ValueError:
                continue
            continue
        entry = entry.lower().rstrip(".")
        if entry == host:
            return True
        if entry.startswith("*.") and "." in host and host.split(".", 1)[1] == entry[2:]:
            return True
    return False


def _roots(cafile: str | None) -> list:
    from cryptography import x509

    paths = [cafile] if cafile else [p for p in (ssl.get_default_verify_paths().cafile,
                                                  ssl.get_default_verify_paths().openssl_cafile) if p]
    for path in paths:
        try:
            with open(path, "rb") as handle, warnings.catch_warnings():
                # some system stores hold an old root with a non-positive serial number
                warnings.simplefilter("ignore")
                return x509.load_pem_x509_certificates(handle.read())
        except (OSError, ValueError):
            continue
    return []


def would_verify(ders: list[bytes], name: str | None, cafile: str | None) -> str:
    """What a verifying client would conclude about this chain and name (RFC 5280/6125)."""
    from cryptography import x509
    from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError

    roots = _roots(cafile)
    if not roots:
        return "cannot tell what a verifying client would conclude: no trust store found"
    leaf = x509.load_der_x509_certificate(ders[0])
    intermediates = [x509.load_der_x509_certificate(d) for d in ders[1:]]
    try:
        subject = x509.IPAddress(ipaddress.ip_address((name or "").strip("[]")))
    except ValueError:
        subject = x509.DNSName(name or "")
    # OpenSSL's view (what Python's ssl and most MTAs do), not the stricter Web PKI
    # profile: any extensions on the leaf, but a subjectAltName to match the name.
    leaf_policy = ExtensionPolicy.permit_all().require_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    builder = PolicyBuilder().store(Store(roots)).extension_policies(
        ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=leaf_policy)
    try:
        builder.build_server_verifier(subject).verify(leaf, intermediates)
    except (VerificationError, ValueError) as exc:
        return f"a verifying client would REJECT it: {_reason(str(exc), name)}"
    return "a verifying client would accept it"


def _reason(text: str, name: str | None) -> str:
    text = text.split(" (encountered processing", 1)[0].removeprefix("validation failed: ")
    if "no matching subjectAltName" in text:
        return f"the certificate does not cover {name}"
    if "not valid at validation time" in text:
        return "the certificate has expired or is not valid yet"
    if "candidates exhausted" in text:
        return "no chain to a trusted CA (unknown issuer, missing intermediate, or self-signed)"
    return text


def describe(sock: ssl.SSLSocket, *, verified: bool, server_name: str | None, implicit: bool,
             sni: str | None = None, cafile: str | None = None) -> TlsInfo:
    """Summarise an established TLS connection for the transcript and inspector."""
    cipher = sock.cipher() or ("", "", None)
    chain: list[Certificate] = []
    matches = None
    try:
        ders: list[bytes] = []
        infos: list[dict] = []
        get_chain = getattr(sock, "get_verified_chain", None) if verified else None
        if get_chain is not None:  # Python 3.13+: DER bytes, the server's own first
            ders = [c.public_bytes(ssl.Encoding.DER) if hasattr(c, "public_bytes") else c for c in get_chain()]
        if not ders:
            der = sock.getpeercert(binary_form=True)
            ders = [der] if der else []
        if ders and verified:
            infos = [sock.getpeercert()]  # ssl decodes the verified peer's own certificate
        for index, der in enumerate(ders):
            # a verified peer comes decoded by ssl; cryptography only for what ssl will not decode
            chain.append(_certificate_from_info(infos[index], der) if index < len(infos) and infos[index]
                         else _certificate(der)[0])
        if chain:
            matches = _name_matches(chain[0].san, server_name)
    except Exception:  # noqa: BLE001 - a certificate we cannot parse must not break the session
        chain = []
    verdict = "verified during the handshake" if verified else ""
    if not verified and chain:
        try:
            verdict = would_verify(ders, server_name, cafile)
        except Exception as exc:  # noqa: BLE001 - the verdict is advice, never a failure
            verdict = f"cannot tell what a verifying client would conclude: {exc}"
    return TlsInfo(
        version=sock.version() or "",
        cipher=cipher[0] or "",
        bits=cipher[2],
        verified=verified,
        server_name=server_name,
        implicit=implicit,
        chain=tuple(chain),
        name_matches=matches,
        sni=sni if sni != server_name else None,
        verdict=verdict,
    )


def chain_pem(info: TlsInfo) -> str:
    """The chain the server sent, as PEM (its own certificate first), for ``--tls-get-peer-cert``/``save cert``."""
    return "".join(ssl.DER_cert_to_PEM_cert(cert.der) for cert in info.chain if cert.der)


def summary(info: TlsInfo) -> str:
    """One line for the transcript."""
    parts = [f"TLS established: {info.version} {info.cipher}"]
    cert = info.certificate
    if cert is not None:
        parts.append(f"peer {cert.subject or '(empty subject)'} issued by {cert.issuer}")
    parts.append("verified" if info.verified else "NOT VERIFIED (--insecure)")
    if info.sni:
        parts.append(f"SNI {info.sni}")
    if not info.verified and info.verdict:
        parts.append(info.verdict)
    return "; ".join(parts)
