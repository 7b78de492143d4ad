"""Proposed fixes for the hot spots the benchmarks found, applied as patches, and their gains.

Nothing here changes smtpdbg on disk: each proposal is a function that patches
the imported classes in *this* process, so the gain of a fix can be measured
before it is written into ``smtpdbg/`` (and, once it is, this module shows
that the patched and unpatched figures agree). Run::

    python benchmarks/hotspots.py [--messages 1000] [--reps 5]
    python benchmarks/hotspots.py --runs [--reps 5]
    python benchmarks/hotspots.py --ingest [--reps 5]

It prints the 1,000-message figure (traced smtplib object and Session vs bare
smtplib, same process, same sink) for the code as it is and with each patch;
``--runs`` times whole ``smtpdbg run`` processes (one-line script, full
session, 100 messages) as they are and patched; ``--ingest`` times the TUI
row store's ingest of a million wire lines against the proposed version.
A patch whose target function has already changed shape is reported as
"not applicable" rather than applied blindly.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COALESCE_LIMIT = 1 << 20
"""Bodies up to this size are sent in one write with their final dot (larger ones: two writes)."""


def patch_coalesce_body() -> None:
    """``TraceMixin.send_body``: send the body and its ``.CRLF`` in one write, as smtplib does.

    Today the payload and the terminator go out in two ``sendall`` calls. With
    Nagle's algorithm on (the default: neither smtplib nor smtpdbg sets
    TCP_NODELAY) the 3-byte terminator waits until the server ACKs the body,
    and a server that has nothing to say until the final dot delays that ACK
    (Linux: 40 ms). Every ``data`` then takes ~40 ms longer than the bare call.
    """
    from smtpdbg.core import traced

    def send_body(self, body) -> None:
        head, tail, omitted, line_count = traced.split_head_tail(body.payload, self.limits)
        self._record_body(body, head, tail, omitted, line_count)
        self.tracker.on_body_sent()
        if len(body.payload) <= COALESCE_LIMIT:
            self._sendall(body.payload + body.terminator)
        else:  # no 50 MB copy: the stall is at most one delayed ACK per very large message
            self._sendall(body.payload)
            self._sendall(body.terminator)

    traced.TraceMixin.send_body = send_body


def patch_nodelay() -> None:
    """Alternative to :func:`patch_coalesce_body`: set TCP_NODELAY on every connection."""
    from smtpdbg.core import traced

    original = traced.TraceMixin._connected

    def _connected(self, sock: socket.socket) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        original(self, sock)

    traced.TraceMixin._connected = _connected


def patch_fast_state() -> None:
    """``Session._build_state``: one ``SessionState(...)`` call instead of two plus ``dataclasses.replace``.

    It runs twice per command (busy, then done). Today it builds a base
    snapshot, then ``replace()``s 20 fields (which re-runs ``__init__`` with
    all 31), calls ``getpeername()``/``getsockname()``, re-imports
    ``_format_address``, copies ``esmtp_features`` into a new mapping and
    decodes the EHLO reply every time. The patch builds the snapshot once and
    caches what only changes on connect (addresses) or on EHLO/STARTTLS
    (features, decoded replies: keyed on the ``ehlo_resp``/``helo_resp`` objects).
    """
    from types import MappingProxyType

    from smtpdbg.core import session as module
    from smtpdbg.core.protocol import Stage
    from smtpdbg.core.state import Features, SessionState
    from smtpdbg.core.traced import _format_address

    original = module.Session._build_state

    def _build_state(self, busy: bool = False, running: str = ""):
        smtp = self.smtp
        if smtp is None:
            return original(self, busy, running)
        options, target, tracker = self.options, self.target, smtp.tracker
        sock = smtp.sock
        connected = sock is not None
        cache = self.__dict__.setdefault("_bench_cache", {})
        peer = local = ""
        if connected:
            addresses = cache.get("addresses")
            if addresses is None or addresses[0] is not sock:
                try:
                    addresses = (sock, _format_address(sock.getpeername()), _format_address(sock.getsockname()))
                except OSError:
                    addresses = (sock, "", "")
                cache["addresses"] = addresses
            peer, local = addresses[1], addresses[2]
        greeting = cache.get("greeting")
        key = (smtp.ehlo_resp, smtp.helo_resp, smtp.does_esmtp, len(smtp.esmtp_features))
        if greeting is None or greeting[0] != key or greeting[0][0] is not smtp.ehlo_resp:
            greeting = (key, module._decode(smtp.helo_resp), module._decode(smtp.ehlo_resp),
                        Features(MappingProxyType(dict(smtp.esmtp_features))))
            cache["greeting"] = greeting
        banner_code, banner = smtp.banner or (None, b"")
        authenticated = tracker.authenticated
        return SessionState(
            target=str(target) if target else "",
            transport=target.transport if target else "",
            sandbox=bool(target and target.sandbox),
            timeout=options.timeout,
            source_address=module._format_source(options.source_address),
            insecure=options.insecure,
            ca=options.ca or "",
            debuglevel=self.debuglevel,
            busy=busy,
            running=running,
            commands_run=self._commands_run,
            connected=connected,
            peer=peer or (target.host if target and target.unix and connected else ""),
            local=local,
            local_hostname=smtp.local_hostname or "",
            banner=banner.decode("utf-8", "replace") if isinstance(banner, bytes) else str(banner),
            banner_code=banner_code,
            helo_resp=greeting[1],
            ehlo_resp=greeting[2],
            does_esmtp=bool(smtp.does_esmtp),
            features=greeting[3],
            command_encoding=smtp.command_encoding,
            tls=smtp.tls_info if connected else None,
            authenticated=authenticated,
            auth_user=tracker.auth_user if authenticated else None,
            auth_mechanism=tracker.auth_mechanism if authenticated else None,
            stage=tracker.stage if connected else Stage.DISCONNECTED,
            mail_from=tracker.mail_from,
            recipients=tuple(tracker.recipients),
            last_delivery=tracker.last_delivery,
            deliveries=tracker.deliveries,
        )

    module.Session._build_state = _build_state


class _LazyContext:
    """Stands in for an ``SSLContext`` until something needs it."""

    def __init__(self, build) -> None:
        self._build = build
        self._context = None

    def resolve(self):
        if self._context is None:
            self._context = self._build()
        return self._context


def patch_lazy_tls() -> None:
    """Build the TLS context on first use (STARTTLS, SMTPS), not on every ``connect``.

    ``handlers._make_smtp`` calls ``build_context()`` when a session first
    connects; ``ssl.create_default_context()`` loads the system CA store,
    ~17 ms here, which a plain session (and every ``smtpdbg run`` without
    STARTTLS) pays for nothing. The patch keeps the call where it is but
    defers the work until ``tls_context`` is read. (A real fix would still
    check that a ``--ca`` file exists at connect, so a typo fails early.)
    """
    from smtpdbg.core import tls, traced

    real = tls.build_context

    def build_context(**options):
        return _LazyContext(lambda: real(**options))

    def get(self):
        context = self.__dict__.get("_lazy_tls_context")
        return context.resolve() if isinstance(context, _LazyContext) else context

    def set_(self, value) -> None:
        self.__dict__["_lazy_tls_context"] = value

    tls.build_context = build_context
    traced.TraceMixin.tls_context = property(get, set_)


def patch_lazy_cert() -> None:
    """Upper bound of parsing the peer certificate lazily (``tls.describe``).

    Every handshake parses the peer chain with ``cryptography``, whose import
    alone takes ~25 ms here, on the first TLS session of every ``smtpdbg
    run``. The real fix: fill the transcript line's subject and issuer from
    ``getpeercert()`` (a dict, no import, when the chain was verified) and
    parse the chain only when the inspector or ``show`` asks. This patch only
    skips the parsing for verified connections, to measure what that saves.
    """
    from smtpdbg.core import tls

    tls._certificate = lambda der: (_ for _ in ()).throw(RuntimeError("benchmark: certificate parsing skipped"))


PATCHES = {
    "coalesce-body": patch_coalesce_body,
    "nodelay": patch_nodelay,
    "fast-state": patch_fast_state,
    "lazy-tls": patch_lazy_tls,
    "lazy-cert": patch_lazy_cert,
}
"""Name to patch function, in the order they are proposed."""

SETS = [
    (),
    ("coalesce-body",),
    ("nodelay",),
    ("coalesce-body", "fast-state"),
]
"""Patch combinations measured in-process (each in a fresh process)."""

RUN_SETS = [
    (),
    ("coalesce-body",),
    ("coalesce-body", "lazy-tls"),
    ("coalesce-body", "lazy-tls", "lazy-cert"),
]
"""Patch combinations measured on whole ``smtpdbg run`` processes."""


def ingest_wire_lines(store, events) -> None:
    """Proposed wire-line branch of ``RowStore.ingest`` (``smtpdbg/tui/widgets/rows.py``), for wire events only.

    Today each line costs ``bytes.endswith`` twice, ``isascii()``, a regular
    expression search for control bytes and a ``decode``. Proposed: slice
    comparisons for the line ending, ``decode("ascii")`` in a ``try`` (free in
    3.11 when it succeeds) and ``str.isprintable()``, which is False exactly
    when the ASCII text holds a C0 control or DEL, the bytes ``_UNSAFE`` matches.
    """
    from smtpdbg.core.events import Direction
    from smtpdbg.core.render import safe_text
    from smtpdbg.tui.widgets import rows as R

    send = Direction.SEND
    kinds, texts, walls = store.kinds.append, store.texts.append, store.walls.append
    width = store.width
    for event in events:
        data = event.data
        if data[-2:] == b"\r\n":
            line = data[:-2]
        elif data[-1:] == b"\n":
            line = data[:-1]
        else:
            line = data
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            text = safe_text(line)
        else:
            if not text.isprintable():
                text = safe_text(line)
        if event.direction is send:
            kind = R.SEND
        else:
            first = data[0] if data else 0
            kind = R.RECV_KINDS[first - 48] if 50 <= first <= 53 and data[1:3].isdigit() else R.RECV_BAD
        if event.tls:
            kind |= R.TLS
        if event.redacted or event.note or line is data:
            if event.redacted:
                kind |= R.MASKED
            store.add(kind, text, event.wall, safe_text(event.note) if event.note else
                      ("(no line ending)" if line is data else ""))
            continue
        kinds(kind)
        texts(text)
        walls(event.wall)
        if len(text) > width:
            width = store.width = len(text)


def ingest_table(lines: int, reps: int) -> None:
    """``RowStore.ingest`` as it is against :func:`ingest_wire_lines`, 1,000,000 wire lines in 50,000-line batches."""
    import gc
    import time

    from benchmarks.common import interleaved, median
    from benchmarks.transcript_view import BATCH, make_events
    from smtpdbg.tui.widgets.rows import RowStore

    events = make_events(lines)
    stores = {}

    def run(name, ingest):
        def timed() -> float:
            gc.collect()
            store = RowStore()
            start = time.perf_counter()
            for offset in range(0, lines, BATCH):
                ingest(store, events[offset:offset + BATCH])
            elapsed = time.perf_counter() - start
            stores[name] = store
            return elapsed
        return timed

    variants = {"as is": run("as is", RowStore.ingest), "proposed": run("proposed", ingest_wire_lines)}
    samples = interleaved(variants, reps)
    same = stores["as is"].texts == stores["proposed"].texts and stores["as is"].kinds == stores["proposed"].kinds
    print(f"{lines:,} wire lines into RowStore, median of {reps}: "
          + "  ".join(f"{name} {median(v):.3f} s" for name, v in samples.items()) + f"  (same rows: {same})")


def apply(patches) -> None:
    for name in patches:
        PATCHES[name]()


def _measure_in_child(patches: tuple[str, ...], messages: int, reps: int) -> dict:
    """Run the 1,000-message figure with ``patches`` applied, in this process; returns its samples."""
    apply(patches)
    from benchmarks.common import Sink
    from benchmarks.many import in_process

    with Sink() as sink:
        result = in_process(sink, messages, reps)
    return {name: value for name, value in result.items() if name in ("bare", "traced", "session", "counts")}


def in_process_table(messages: int, reps: int) -> None:
    import json
    import subprocess

    print(f"{messages:,} messages over one connection, median of {reps} (µs per message; ratio to bare smtplib)")
    for patches in SETS:
        out = subprocess.run([sys.executable, __file__, "--child", ",".join(patches), "--messages", str(messages),
                              "--reps", str(reps)], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"  {'+'.join(patches) or 'as is':28s} failed: {out.stderr.strip()[-300:]}")
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        bare = result["bare"]
        cells = "  ".join(f"{name} {result[name] * 1e6:7.0f} ({result[name] / bare:5.2f}×)"
                          for name in ("bare", "traced", "session"))
        short = {name: n for name, n in result["counts"].items() if n < messages}
        if short:
            cells += f"  (messages sent: {short})"
        print(f"  {'+'.join(patches) or 'as is':28s} {cells}")


def runs_table(reps: int) -> None:
    """``smtpdbg run`` processes (one-line, full session, 100 messages) as they are and with patches."""
    import tempfile

    from benchmarks.common import (FROM, LOCAL_HOSTNAME, TO, Sink, bench_env, interleaved, median, timed_run,
                                   write_message)
    from benchmarks.many import _script
    from benchmarks.session import SCRIPT

    with tempfile.TemporaryDirectory(prefix="smtpdbg-hotspots-") as tmp, Sink() as sink:
        work = Path(tmp)
        env = dict(bench_env(work), BENCH_PASSWORD=sink.password)
        message = write_message(work / "m.eml", 2_000)
        scripts = {"one-line": work / "one.txt", "session": work / "session.txt", "100 messages": work / "many.txt"}
        scripts["one-line"].write_text(f"sendmail {FROM} {TO} @{message}\n")
        scripts["session"].write_text(SCRIPT.format(user=sink.user, sender=FROM, recipient=TO, message=message))
        _script(scripts["100 messages"], message, 100)

        def command(patches, script):
            ca = ["--ca", sink.ca] if script == scripts["session"] else []  # as the benchmarks run them
            return [sys.executable, __file__, "--cli", ",".join(patches), "--", "run", "--target", sink.target,
                    *ca, "--local-hostname", LOCAL_HOSTNAME, str(script)]

        print(f"smtpdbg run processes, spawn to exit, median of {reps} (ms)")
        for label, script in scripts.items():
            variants = {"+".join(p) or "as is": (lambda p=p: timed_run(command(p, script), env=env)) for p in RUN_SETS}
            samples = interleaved(variants, reps)
            print(f"  {label:14s} " + "  ".join(f"{name} {median(v) * 1000:6.0f}" for name, v in samples.items()))


def main(argv: list[str] | None = None) -> int:
    import json

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--runs", action="store_true", help="measure whole smtpdbg run processes instead")
    parser.add_argument("--ingest", action="store_true", help="measure the transcript row store's ingest instead")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cli", metavar="PATCHES", help="run smtpdbg's command line with PATCHES applied")
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cli is not None:
        apply(p for p in args.cli.split(",") if p)
        from smtpdbg.cli import main as smtpdbg_main

        rest = args.args[1:] if args.args[:1] == ["--"] else args.args
        return smtpdbg_main(rest)
    if args.child is not None:
        patches = tuple(p for p in args.child.split(",") if p)
        print(json.dumps(_measure_in_child(patches, args.messages, args.reps)))
        return 0
    if args.runs:
        runs_table(args.reps)
    elif args.ingest:
        ingest_table(1_000_000, args.reps)
    else:
        in_process_table(args.messages, args.reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
