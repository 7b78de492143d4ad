"""Big message: a 50 MB DATA, traced and through the session, against bare smtplib.

Each variant runs in its own process (``python benchmarks/big.py --worker
VARIANT ...``) so peak RSS (``VmHWM``, see :func:`benchmarks.common.peak_rss_mb`)
is comparable: the worker imports, connects, says EHLO, MAIL and RCPT, notes
its RSS, then the timed part reads the message file and sends it with DATA
until the server's 250:

* ``bare``: ``smtplib.SMTP.data(open(path).read())``
* ``traced``: ``TracedSMTP.data(...)`` recording into a ``Transcript``
* ``session``: ``Session.execute("data @path")`` (the command a person types)

Peak RSS beyond the start RSS, minus the payload itself, is the memory the
client needed to send it (copies made while preparing the body). What the
transcript keeps is counted from its events after the command: the bytes of
every wire line and of the body's kept head and tail lines, plus the event
objects themselves (``sys.getsizeof``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (FROM, LOCAL_HOSTNAME, PYTHON, TO, Context, Figure, interleaved, median, peak_rss_mb,
                               rss_now_mb, write_message)

VARIANTS = ("bare", "traced", "session")


def transcript_kept(events) -> tuple[int, int]:
    """(bytes of wire data and body lines the events keep, bytes including the objects themselves)."""
    from smtpdbg.core.events import Body, Wire

    data = objects = 0
    for event in events:
        objects += sys.getsizeof(event)
        if isinstance(event, Wire):
            data += len(event.data)
            objects += sys.getsizeof(event.data)
        elif isinstance(event, Body):
            for line in event.head + event.tail:
                data += len(line)
                objects += sys.getsizeof(line)
            objects += sys.getsizeof(event.head) + sys.getsizeof(event.tail)
    return data, objects


def worker(variant: str, host: str, port: int, path: str) -> dict:
    """Send the file at ``path`` once with ``variant``; returns the figures of this process."""
    import smtplib

    transcript = None
    if variant == "session":
        from smtpdbg.core.session import Session, SessionOptions
        from smtpdbg.core.target import Target

        session = Session(Target("smtp", host, int(port)), SessionOptions(local_hostname=LOCAL_HOSTNAME, timeout=300))
        for command in ("connect", "ehlo", f"mail {FROM}", f"rcpt {TO}"):
            assert session.execute(command).ok, command
        start_rss = rss_now_mb()
        start = time.perf_counter()
        outcome = session.execute(f"data @{path}")
        elapsed = time.perf_counter() - start
        assert outcome.ok and outcome.code == 250, outcome
        session.execute("quit")
        session.shutdown()
        transcript = session.transcript
    else:
        if variant == "bare":
            smtp = smtplib.SMTP(host, int(port), local_hostname=LOCAL_HOSTNAME, timeout=300)
        else:
            from smtpdbg.core.traced import TracedSMTP
            from smtpdbg.core.transcript import Transcript

            transcript = Transcript()
            smtp = TracedSMTP(local_hostname=LOCAL_HOSTNAME, timeout=300, transcript=transcript)
            smtp.connect(host, int(port))
        smtp.ehlo()
        smtp.mail(FROM)
        smtp.rcpt(TO)
        start_rss = rss_now_mb()
        start = time.perf_counter()
        with open(path, "rb") as handle:
            message = handle.read()
        code, _ = smtp.data(message)
        elapsed = time.perf_counter() - start
        assert code == 250, code
        del message
        smtp.quit()
    result = {"seconds": elapsed, "start_rss_mb": start_rss, "peak_rss_mb": peak_rss_mb()}
    if transcript is not None:
        events = transcript.snapshot()
        result["kept_bytes"], result["kept_with_objects"] = transcript_kept(events)
        result["events"] = len(events)
    return result


def run_worker(ctx: Context, variant: str, path: Path) -> dict:
    argv = [PYTHON, str(Path(__file__).resolve()), "--worker", variant, ctx.sink.host, str(ctx.sink.port), str(path)]
    out = subprocess.run(argv, capture_output=True, text=True, env=ctx.env, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"big-message worker {variant} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(ctx: Context) -> list[Figure]:
    size_mb = 1 if ctx.tiny else 50
    reps = ctx.reps(full=5, quick=3, tiny=1)
    path = write_message(ctx.workdir / "big.eml", size_mb * 2**20)
    payload_mb = path.stat().st_size / 2**20
    ctx.log(f"big message: {payload_mb:.0f} MB x{reps} per variant, one process each")
    runs: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}

    def runner(variant):
        def run() -> float:
            result = run_worker(ctx, variant, path)
            runs[variant].append(result)
            return result["seconds"]
        return run

    samples = interleaved({variant: runner(variant) for variant in VARIANTS}, reps, warmup=0 if ctx.tiny else 1)
    seconds = {variant: median(values) for variant, values in samples.items()}
    last = {variant: results[-1] for variant, results in runs.items()}
    peak = {variant: median([r["peak_rss_mb"] for r in results[-reps:]]) for variant, results in runs.items()}
    extra = {variant: median([r["peak_rss_mb"] - r["start_rss_mb"] - payload_mb for r in results[-reps:]])
             for variant, results in runs.items()}
    figures = []
    for variant, label in (("traced", "TracedSMTP.data"), ("session", "Session: data @FILE")):
        ratio = seconds[variant] / seconds["bare"]
        figures.append(Figure(
            f"big.{variant}_time", f"{payload_mb:.0f} MB DATA: {label}", seconds[variant], "s",
            reference=seconds["bare"], reference_name="bare smtplib.SMTP.data", ratio=ratio, ratio_kind="slowdown",
            target="≤ 1.1× bare smtplib", met=ratio <= 1.1, samples=samples[variant],
            note=f"{payload_mb / seconds[variant]:.0f} MB/s vs bare {payload_mb / seconds['bare']:.0f} MB/s",
        ))
    for variant in ("traced", "session"):
        figures.append(Figure(
            f"big.{variant}_rss", f"{payload_mb:.0f} MB DATA: peak RSS, {variant}", peak[variant], "MB",
            reference=peak["bare"], reference_name="bare smtplib", ratio=peak[variant] / peak["bare"],
            ratio_kind="slowdown",
            note=(f"beyond start RSS + payload: {round(extra[variant]):d} MB ({variant}) "
                  f"vs {round(extra['bare']):d} MB (bare)"),
        ))
    for variant in ("traced", "session"):
        kept = last[variant]["kept_with_objects"] / 2**20
        figures.append(Figure(
            f"big.{variant}_kept", f"{payload_mb:.0f} MB DATA: memory the transcript keeps ({variant})", kept, "MB",
            target="≤ 8 MB beyond the payload", met=kept <= 8,
            note=(f"{last[variant]['events']} events; wire and body-line bytes "
                  f"{last[variant]['kept_bytes'] / 2**10:.0f} KiB"),
        ))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="big-message worker (see benchmarks/run.py)")
    parser.add_argument("--worker", choices=VARIANTS, required=True)
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("path")
    args = parser.parse_args(argv)
    print(json.dumps(worker(args.worker, args.host, args.port, args.path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
