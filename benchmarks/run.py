"""Run the benchmarks: print the figures as a table, and write them as JSON.

    python benchmarks/run.py            # the full pass (several minutes; see benchmarks/README.md)
    python benchmarks/run.py --quick    # a short pass (under a minute)
    python benchmarks/run.py --only many,big --json out.json

One sink server (:mod:`benchmarks.sink`) runs in its own process for the
whole pass. Each figure module measures smtpdbg and its reference (swaks or
bare smtplib) in the same run, interleaved, and reports medians and ratios.
``--tiny`` runs every module once with tiny sizes: it checks that the
benchmarks work (the smoke test uses it), and its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import big, first_frame, many, send, session, startup, transcript_view  # noqa: E402
from benchmarks.common import Context, Figure, Sink, bench_env, machine  # noqa: E402

MODULES = {
    "startup": startup,
    "session": session,
    "send": send,
    "many": many,
    "big": big,
    "view": transcript_view,
    "frame": first_frame,
}
"""Figure modules by the name ``--only`` takes, in the order they run."""


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "packages":
        return f"{value:.0f}"
    if value >= 100 or (unit in ("MB", "ms", "µs/msg") and value >= 10):
        return f"{value:,.0f} {unit}"
    if unit in ("MB", "ms", "µs/msg") and value >= 1:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def _ratio(figure: Figure) -> str:
    if figure.ratio is None:
        return ""
    if figure.ratio_kind == "speedup":
        return f"{figure.ratio:.1f}× faster"
    return f"{figure.ratio:.2f}×"


def table(figures: list[Figure]) -> str:
    """The figures as a Markdown table (what benchmarks/README.md quotes)."""
    rows = [("figure", "smtpdbg", "reference", "ratio", "target", "met")]
    for f in figures:
        reference = f"{_number(f.reference, f.unit)} ({f.reference_name})" if f.reference is not None else ""
        met = "—" if f.met is None else ("yes" if f.met else "**no**")
        rows.append((f.name, _number(f.value, f.unit), reference, _ratio(f), f.target, met))
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("---" for _ in rows[0]) + "|")
    notes = [f"- {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def _clean(value):
    """JSON has no NaN/inf."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="smtpdbg benchmarks: figures and ratios measured in the same run.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a short pass (fewer repetitions; under a minute)")
    mode.add_argument("--tiny", action="store_true", help="tiny sizes, one repetition: checks the benchmarks run")
    parser.add_argument("--only", metavar="NAMES", help=f"comma-separated subset of: {', '.join(MODULES)}")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON to FILE (- for stdout)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f} s] {text}", file=sys.stderr, flush=True)

    began = time.perf_counter()
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="smtpdbg-bench-") as tmp, Sink() as sink:
        workdir = Path(tmp)
        ctx = Context(quick=args.quick, tiny=args.tiny, sink=sink, workdir=workdir, log=log, env=bench_env(workdir))
        log(f"sink (benchmarks/sink.py) on {sink.target}")
        for name in names:
            try:
                figures += MODULES[name].measure(ctx)
            except Exception as exc:  # noqa: BLE001 - one broken figure must not hide the others
                errors[name] = f"{type(exc).__name__}: {exc}"
                log(f"{name} failed:\n{traceback.format_exc()}")
    duration = time.perf_counter() - began
    meta = machine()
    meta.update(mode="tiny" if args.tiny else "quick" if args.quick else "full", duration_s=round(duration, 1),
                server="benchmarks/sink.py (threaded sink, separate process)")
    document = {"meta": meta, "figures": [f.as_dict() for f in figures], "errors": errors}

    print(f"smtpdbg benchmarks, {meta['mode']} pass, {meta['date']}: {meta['cpu']}, {meta['cores']} cores, "
          f"Python {meta['python']}; {duration:.0f} s")
    print()
    print(table(figures))
    for name, error in errors.items():
        print(f"\n{name}: FAILED: {error}")
    if args.json == "-":
        print(json.dumps(_clean(document), indent=2, ensure_ascii=False))
    elif args.json:
        Path(args.json).write_text(json.dumps(_clean(document), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
