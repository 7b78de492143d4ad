"""``smtpdbg proxy --listen HOST:PORT --upstream TARGET``: an SMTP proxy that shows both legs of each connection.

Without a terminal, or with ``--print``, every leg's transcript is printed in the
text notation (each line marked with its connection and leg) until interrupted;
``--json`` prints the endpoints as one JSON line first.
"""

from __future__ import annotations

import argparse
import json
import signal
import ssl
import sys
import tempfile
import threading
from pathlib import Path

from smtpdbg.core.render import TextRenderer, safe_output
from smtpdbg.core.target import TargetError, parse_target
from smtpdbg.proxy.intercept import Interceptor
from smtpdbg.proxy.relay import LEG_LABELS, MODES, LegEvent, ProxyConfig, Upstream


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smtpdbg proxy",
        description="An SMTP proxy between a real client and a real server: both legs of every connection, live.",
        epilog="modes: pass (the client's STARTTLS leads to the server's), terminate (smtpdbg ends the client's "
               "TLS; the server leg as --upstream says), strip (STARTTLS removed from the EHLO reply: a downgrade, "
               "for showing one)",
    )
    parser.add_argument("--listen", default="127.0.0.1:2525", metavar="HOST:PORT",
                        help="where clients connect (smtps://HOST:PORT: implicit TLS; default 127.0.0.1:2525)")
    parser.add_argument("--upstream", required=True, metavar="TARGET",
                        help="the server: host[:port], smtp://, smtps:// (implicit TLS)")
    parser.add_argument("--mode", choices=MODES, default="pass", help="how STARTTLS is handled (default pass)")
    parser.add_argument("--ca", metavar="FILE", help="CA file to verify the server's certificate with")
    parser.add_argument("--insecure", action="store_true", help="do not verify the server's certificate (shown)")
    parser.add_argument("--tls-name", metavar="NAME", help="name to verify the server's certificate for")
    parser.add_argument("--cert", metavar="FILE", help="certificate for the client leg (default: one smtpdbg makes)")
    parser.add_argument("--key", metavar="FILE", help="private key of --cert")
    parser.add_argument("--ca-out", metavar="FILE", help="write the CA of smtpdbg's certificate here")
    parser.add_argument("--capture", metavar="DIR",
                        help="save each connection as a replayable script DIR/connection-N.smtp (smtpdbg run FILE) "
                             "and both legs as DIR/connection-N.jsonl")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--print", action="store_true", help="print the transcripts, even on a terminal")
    parser.add_argument("--json", action="store_true", help="print the endpoints as one JSON line first")
    return parser


def _client_leg_context(args, workdir: Path) -> tuple[ssl.SSLContext, str | None]:
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        return context, None
    from smtpdbg.sandbox.tls import create_tls

    made = create_tls(workdir, "localhost", "127.0.0.1")
    ca_out = Path(args.ca_out) if args.ca_out else made.ca_path
    if args.ca_out:
        ca_out.write_bytes(made.ca_path.read_bytes())
    return made.server_context, str(ca_out)


def configure(args, workdir: Path) -> tuple[ProxyConfig, str, int, str | None]:
    """The proxy's configuration from parsed arguments; raises ValueError/OSError/ssl.SSLError with a message."""
    from smtpdbg.core.tls import build_context

    any_port = args.listen.endswith(":0")  # 0: any free port (printed, and in --json)
    listen = parse_target(args.listen[:-1] + "1" if any_port else args.listen)
    upstream = parse_target(args.upstream)
    if listen.unix or upstream.unix or upstream.transport == "lmtp" or upstream.mx:
        raise TargetError("the proxy relays SMTP over TCP: give host:port, smtp:// or smtps://")
    if listen.host not in ("127.0.0.1", "::1", "localhost"):
        raise TargetError(f"the proxy listens on loopback only, not {listen.host!r}")
    context = build_context(ca=args.ca, insecure=args.insecure)
    server_context, ca_out = _client_leg_context(args, workdir)
    config = ProxyConfig(
        upstream=Upstream(upstream.host, upstream.port, implicit_tls=upstream.transport == "smtps",
                          context=context, server_name=args.tls_name, timeout=args.timeout),
        server_context=server_context, implicit_tls=listen.transport == "smtps", mode=args.mode,
        interceptor=Interceptor())
    return config, listen.host, 0 if any_port else listen.port, ca_out


class LinePrinter:
    """Prints each leg's events as they come, marked ``[connection leg]``."""

    def __init__(self, out=None) -> None:
        self.out = out or sys.stdout
        self._renderers: dict[tuple[int, str], TextRenderer] = {}
        self._lock = threading.Lock()

    def __call__(self, item: LegEvent) -> None:
        key = (item.connection, item.leg)
        renderer = self._renderers.setdefault(key, TextRenderer())
        prefix = f"[{item.connection} {LEG_LABELS[item.leg]}] "
        lines = renderer.render(item.event)
        with self._lock:
            for line in lines:
                self.out.write(safe_output(prefix + line) + "\n")
            self.out.flush()


def capturer(directory: Path, upstream: str):
    """A callback writing each closed connection into ``directory`` (files mode 0600): its replayable script
    ``connection-N.smtp`` and both legs, judged, as ``connection-N.jsonl``."""
    from smtpdbg.core.export import write_private
    from smtpdbg.proxy.capture import render_script
    from smtpdbg.proxy.export import save as export

    directory.mkdir(parents=True, exist_ok=True)

    def save(connection) -> None:
        stem = directory / f"connection-{connection.number}"
        try:
            write_private(f"{stem}.smtp", render_script(connection, upstream))
            export(connection, "jsonl", f"{stem}.jsonl")
        except OSError as exc:
            print(f"smtpdbg proxy: cannot save {stem}: {exc}", file=sys.stderr)
            return
        print(f"=== connection {connection.number} saved as {stem}.smtp (replay it with smtpdbg run) and "
              f"{stem}.jsonl (both legs)", file=sys.stderr, flush=True)

    return save


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="smtpdbg-proxy-") as workdir:
        try:
            config, host, port, ca_out = configure(args, Path(workdir))
        except (ValueError, OSError, ssl.SSLError) as exc:
            print(f"smtpdbg proxy: {exc}", file=sys.stderr)
            return 2
        from smtpdbg.proxy.server import Proxy

        screen = not (args.print or args.json) and sys.stdin.isatty() and sys.stdout.isatty()
        proxy = Proxy(config, host, port, listener=None if screen else LinePrinter())
        if args.capture:
            proxy.on_close.append(capturer(Path(args.capture), args.upstream))
        try:
            address = proxy.start()
        except OSError as exc:
            print(f"smtpdbg proxy: cannot listen on {args.listen}: {exc}", file=sys.stderr)
            return 2
        if screen:
            return _run_app(proxy, args, address, ca_out)
        return _serve(proxy, args, address, ca_out)


def _run_app(proxy, args, address: tuple[str, int], ca_out: str | None) -> int:
    from smtpdbg.proxy.app import ProxyApp

    heading = f"listening on {address[0]}:{address[1]} → {args.upstream} ({args.mode} mode)" + \
        (f" · client-leg CA: {ca_out}" if ca_out else "") + (" · server certificate NOT verified" if args.insecure else "")
    try:
        ProxyApp(proxy, heading).run()
    finally:
        proxy.stop()
    return 0


def _read_commands(interceptor: Interceptor) -> None:
    """Line mode: intercept commands from stdin, one a line (see :mod:`smtpdbg.proxy.intercept`)."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            said = interceptor.command(line.strip())
        except ValueError as exc:
            said = f"not done: {exc}"
        print(f"=== {said}", file=sys.stderr, flush=True)


def _serve(proxy, args, address: tuple[str, int], ca_out: str | None) -> int:
    stop = threading.Event()  # SIGTERM handled before anyone learns where to connect
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if threading.current_thread() is \
        threading.main_thread() else None
    scheme = "smtps" if proxy.config.implicit_tls else "smtp"
    if args.json:
        print(json.dumps({"listen": list(address), "url": f"{scheme}://{address[0]}:{address[1]}",
                          "upstream": args.upstream, "mode": args.mode, "ca": ca_out}), flush=True)
    else:
        print(f"=== smtpdbg proxy on {scheme}://{address[0]}:{address[1]} -> {args.upstream} ({args.mode} mode)",
              flush=True)
        if ca_out:
            print(f"=== clients trust the client leg's certificate with the CA in {ca_out}", flush=True)
        if args.insecure:
            print("=== the server's certificate is NOT verified (--insecure)", flush=True)
    threading.Thread(target=_read_commands, args=(proxy.config.interceptor,), daemon=True).start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0
