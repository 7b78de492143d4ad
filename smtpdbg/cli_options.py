"""The options every connecting subcommand takes, and turning them into a target and session options.

``smtpdbg``, ``repl``, ``run`` and ``learn`` share one option group (timeout,
TLS, CA, consent to plaintext AUTH, log, ...) and one way of resolving it:
values are checked with :mod:`smtpdbg.core.values` (the rules the connect
dialog uses too), files that will hold secrets are checked to be the user's
own before anything starts, and with no target the embedded sandbox starts.
"""

from __future__ import annotations

import argparse
import os
import sys

from smtpdbg.core import values


class Resolved:
    """A target and session options resolved from the command line (and a sandbox, if started)."""

    def __init__(self, target, options, sandbox=None) -> None:
        self.target = target
        self.options = options
        self.sandbox = sandbox

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None


_source_address = values.argparse_type(values.source_address)
_proxy_source = values.argparse_type(values.ip_source)
_host_name = values.argparse_type(values.host_name)
_tls_name = values.argparse_type(values.tls_name)
_timeout = values.argparse_type(values.timeout)
_dns = values.argparse_type(values.dns_server)


def die(message: str) -> SystemExit:
    """Print ``smtpdbg: message`` and return the exit (status 2: bad usage) for the caller to raise."""
    print(f"smtpdbg: {message}", file=sys.stderr)
    return SystemExit(2)


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by the app, the REPL and ``run``."""
    group = parser.add_argument_group("connection")
    group.add_argument("--timeout", type=_timeout, default=30.0, metavar="SECONDS",
                       help="wall-clock limit per command (default 30)")
    group.add_argument("--local-hostname", type=_host_name, metavar="NAME", help="name for HELO/EHLO (default: this machine's FQDN)")
    group.add_argument("--source-address", type=_source_address, metavar="HOST[:PORT]", help="bind to this local address")
    group.add_argument("--ca", metavar="FILE", help="trust the CAs in this PEM file instead of the system store")
    group.add_argument("--insecure", action="store_true",
                       help="do NOT verify TLS certificates (shown as unverified everywhere)")
    group.add_argument("--password-env", metavar="NAME", help="read AUTH passwords from this environment variable")
    group.add_argument("--allow-plaintext-auth", action="store_true",
                       help="allow AUTH to send credentials on a connection without TLS (refused otherwise)")
    group.add_argument("--log", metavar="FILE", help="append every event to FILE as it happens (crash-safe session log)")
    family = group.add_mutually_exclusive_group()
    family.add_argument("-4", dest="ip_version", action="store_const", const=4, help="connect over IPv4 only")
    family.add_argument("-6", dest="ip_version", action="store_const", const=6, help="connect over IPv6 only")
    tls = parser.add_argument_group("TLS")
    tls.add_argument("--tls-sni", type=_tls_name, metavar="NAME", help="name to send as SNI (and verify), instead of the host")
    tls.add_argument("--tls-verify-name", type=_tls_name, metavar="NAME", help="name the certificate must match, when it differs from SNI")
    tls.add_argument("--tls-cert", metavar="FILE", help="client certificate (PEM) to present")
    tls.add_argument("--tls-key", metavar="FILE", help="private key of --tls-cert (if not in the same file)")
    tls.add_argument("--tls-min", choices=("1.0", "1.1", "1.2", "1.3"), help="lowest TLS version to accept")
    tls.add_argument("--tls-max", choices=("1.0", "1.1", "1.2", "1.3"), help="highest TLS version to offer")
    tls.add_argument("--tls-ciphers", metavar="STRING", help="OpenSSL cipher list (TLS 1.2 and below)")
    tls.add_argument("--tls-keylog", metavar="FILE", help="write TLS secrets to FILE for Wireshark (NSS key log format)")
    proxy = parser.add_argument_group("PROXY protocol")
    proxy.add_argument("--proxy-header", choices=("v1", "v2"), help="send a PROXY protocol header before the greeting")
    proxy.add_argument("--proxy-source", type=_proxy_source, metavar="ADDR:PORT",
                       help="the client address the PROXY header claims (default 192.0.2.1:40000)")
    parser.add_argument("--dns", type=_dns, metavar="SERVER[:PORT]", help="DNS server for mx: targets (default: the system resolver)")
    profiles = parser.add_argument_group("profiles (docs/profiles.md)")
    profiles.add_argument("--profile", metavar="NAME",
                          help="target, TLS options, user and password source from this profile (options given here win)")
    profiles.add_argument("--config", metavar="FILE",
                          help="config file with the profiles (default: $SMTPDBG_CONFIG or $XDG_CONFIG_HOME/smtpdbg/config.toml)")


_SEND_TLS = {"starttls": "starttls", "tls-on-connect": "implicit", "none": None}


def apply_profile(args: argparse.Namespace, *, send: bool = False):
    """Fill what the command line left unset from ``--profile NAME`` (once); returns the profile or ``None``.

    Nothing is read unless ``--profile`` is given. A netrc or keyring password is put in the process's
    environment under :data:`~smtpdbg.core.profiles.PASSWORD_VARIABLE`, named by ``password_env``, so that it
    is masked in exports as any ``--password-env`` variable is.
    """
    if not getattr(args, "profile", None) or getattr(args, "applied_profile", None) is not None:
        return getattr(args, "applied_profile", None)
    from smtpdbg.core.options import DEFAULT_TIMEOUT
    from smtpdbg.core.profiles import ProfileError, credentials, find_profile

    try:
        profile = find_profile(args.profile, args.config)
        creds = credentials(profile) if not args.password_env else None
    except ProfileError as exc:
        raise die(str(exc)) from None
    args.applied_profile = profile
    args.ca = args.ca or profile.ca
    args.insecure = args.insecure or profile.insecure
    args.tls_verify_name = args.tls_verify_name or profile.verify_name
    args.local_hostname = args.local_hostname or profile.local_hostname
    if profile.timeout and args.timeout == DEFAULT_TIMEOUT:
        args.timeout = profile.timeout
    if creds is not None and creds.password_env:
        if creds.password is not None:
            os.environ[creds.password_env] = creds.password
        args.password_env = creds.password_env
    if send:
        if not (args.server or args.socket or args.pipe or any("@" not in word for word in args.words)):
            args.server = profile.target_text()
        args.tls = args.tls or _SEND_TLS.get(profile.tls or "none")
        args.auth_user = args.auth_user or (creds.user if creds is not None else profile.user)
        if args.auth_user and args.auth is None and profile.password_from:
            args.auth = ""  # a profile with a password source authenticates, with the best mechanism offered
    return profile


def _check_tls_files(args: argparse.Namespace) -> None:
    """A CA file, client certificate or key that TLS could not use fails now, not at STARTTLS."""
    import ssl

    if args.tls_key and not args.tls_cert:
        raise die("--tls-key needs --tls-cert: the key belongs to a client certificate")
    if args.ca:
        try:
            ssl.create_default_context(cafile=args.ca)
        except (OSError, ValueError) as exc:
            raise die(f"--ca {args.ca}: not a PEM file of CA certificates "
                      f"({getattr(exc, 'reason', None) or getattr(exc, 'strerror', None) or exc})") from None
    if args.tls_cert:
        from smtpdbg.core.tls import load_client_cert

        try:
            load_client_cert(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), args.tls_cert, args.tls_key)
        except ValueError as exc:
            raise die(f"--tls-cert {args.tls_cert}: {exc}") from None
        except OSError as exc:
            files = args.tls_cert + (f" / --tls-key {args.tls_key}" if args.tls_key else "")
            raise die(f"--tls-cert {files}: not a usable certificate and key "
                      f"({getattr(exc, 'reason', None) or exc.strerror or exc})") from None


def resolve(args: argparse.Namespace, target_text: str | None, *, start_sandbox: bool = True) -> Resolved:
    """Parse the target (or start the embedded sandbox) and build session options.

    Raises:
        SystemExit: with a clear message for a bad target or CA file.
    """
    from smtpdbg.core.session import SessionOptions
    from smtpdbg.core.target import Target

    profile = apply_profile(args)
    if profile is not None and not target_text:
        target_text = profile.target_text()
    for flag, path in (("--ca", args.ca), ("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if path and not os.path.isfile(path):
            raise die(f"{flag} {path}: no such file")
    if args.proxy_source and not args.proxy_header:
        raise die("--proxy-source needs --proxy-header v1|v2")
    if args.log and not os.path.isdir(os.path.dirname(os.path.abspath(args.log))):
        raise die(f"--log {args.log}: its directory does not exist")
    for flag, path in (("--log", args.log), ("--tls-keylog", args.tls_keylog)):
        if path:
            from smtpdbg.core.files import check_private

            try:
                check_private(path)  # created or tightened to 0600; another user's file is refused
            except OSError as exc:
                raise die(f"{flag} {path}: {exc.strerror or exc}") from None
    if args.tls_min and args.tls_max and float(args.tls_min) > float(args.tls_max):
        raise die(f"--tls-min {args.tls_min} is above --tls-max {args.tls_max}: no TLS version is left")
    _check_tls_files(args)
    if args.tls_ciphers:
        import ssl

        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).set_ciphers(args.tls_ciphers)
        except ssl.SSLError:
            raise die(f"--tls-ciphers {args.tls_ciphers!r}: OpenSSL knows no cipher in that list") from None
    options = SessionOptions(
        timeout=args.timeout,
        local_hostname=args.local_hostname,
        source_address=args.source_address,
        ca=args.ca,
        insecure=args.insecure,
        password_env=args.password_env,
        allow_plaintext_auth=args.allow_plaintext_auth,
        log=args.log,
        ip_version=args.ip_version,
        tls_name=args.tls_sni,
        tls_verify_name=args.tls_verify_name,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_min=args.tls_min,
        tls_max=args.tls_max,
        tls_ciphers=args.tls_ciphers,
        tls_keylog=args.tls_keylog,
        proxy_header=args.proxy_header,
        proxy_source=args.proxy_source,
        dns_server=args.dns,
    )
    if target_text:
        try:
            return Resolved(values.target(target_text), options)
        except ValueError as exc:
            raise die(str(exc)) from None
    if not start_sandbox:
        return Resolved(None, options)
    from dataclasses import replace

    from smtpdbg.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig())
    sandbox.start()
    host, port = sandbox.endpoints.smtp
    options = replace(options, ca=args.ca or sandbox.endpoints.ca_path, mailbox=sandbox)
    return Resolved(Target("smtp", host, port, sandbox=True), options, sandbox)
