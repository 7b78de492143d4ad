"""Start-up: ``smtpdbg --version`` and a one-line ``smtpdbg run`` against swaks, and what ``run`` imports.

Each process is timed from spawn to exit (output discarded), interleaved with
its swaks counterpart. The one-line script is ``sendmail FROM TO @FILE``
(connect, EHLO, MAIL, RCPT, DATA); the swaks session sends the same file to
the same sink. ``python -c pass`` with the same interpreter is measured too:
it is the floor any Python command starts from.

The import check runs ``python -X importtime -m smtpdbg run --target ...`` and
lists every top-level package imported; Textual, prompt-toolkit and aiosmtpd
must not be among them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from benchmarks.common import (FROM, LOCAL_HOSTNAME, PYTHON, SMTPDBG, TO, Context, Figure, have, interleaved,
                               median, timed_run, write_message)

FORBIDDEN = ("textual", "prompt_toolkit", "aiosmtpd")
"""Packages ``smtpdbg run --target`` must never import."""
WATCHED = FORBIDDEN + ("rich", "trustme", "cryptography")
"""Heavy packages reported when imported."""


def swaks_session(ctx: Context, message: Path, *extra: str) -> list[str]:
    sink = ctx.sink
    return ["swaks", "--server", sink.host, "--port", str(sink.port), "--from", FROM, "--to", TO,
            "--helo", LOCAL_HOSTNAME, "--data", f"@{message}", *extra]


def smtpdbg_run(ctx: Context, script: Path, *extra: str) -> list[str]:
    return [SMTPDBG, "run", "--target", ctx.sink.target, "--local-hostname", LOCAL_HOSTNAME, *extra, str(script)]


def imports_of_run(ctx: Context, script: Path, env: dict) -> tuple[dict[str, float], float]:
    """Top-level packages ``smtpdbg run`` imports (name to cumulative ms) and the total import time."""
    argv = [PYTHON, "-X", "importtime", "-m", "smtpdbg", "run", "--target", ctx.sink.target,
            "--local-hostname", LOCAL_HOSTNAME, str(script)]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"smtpdbg run exited {result.returncode}: {result.stderr[-1000:]}")
    packages: dict[str, float] = {}
    total = 0.0
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if not cumulative.strip().isdigit():
            continue  # the header line
        depth = len(name) - len(name.lstrip(" "))
        name = name.strip()
        top = name.split(".", 1)[0]
        if depth <= 1:
            total += int(cumulative) / 1000
            packages[top] = packages.get(top, 0.0) + int(cumulative) / 1000
        else:
            packages.setdefault(top, 0.0)
    return packages, total


def measure(ctx: Context) -> list[Figure]:
    reps = ctx.reps(full=15, quick=5, tiny=1)
    env = ctx.env
    message = write_message(ctx.workdir / "startup.eml", 2_000)
    script = ctx.workdir / "one-line.txt"
    script.write_text(f"sendmail {FROM} {TO} @{message}\n")
    swaks = have("swaks")
    no_swaks = "swaks is not installed (benchmarks/setup.sh installs it): no reference"

    variants = {
        "floor": lambda: timed_run([PYTHON, "-c", "pass"], env=env),
        "version": lambda: timed_run([SMTPDBG, "--version"], env=env),
        "run": lambda: timed_run(smtpdbg_run(ctx, script), env=env),
    }
    if swaks:
        variants["swaks_version"] = lambda: timed_run(["swaks", "--version"])
        variants["swaks_session"] = lambda: timed_run(swaks_session(ctx, message))
    ctx.log(f"start-up: {reps} repetitions of {', '.join(variants)}")
    samples = interleaved(variants, reps)
    ms = {name: median(values) * 1000 for name, values in samples.items()}

    figures = [Figure("startup.floor", "python -c pass (interpreter floor)", ms["floor"], "ms",
                      samples=[s * 1000 for s in samples["floor"]],
                      note="same interpreter and site-packages as smtpdbg")]
    version = Figure("startup.version", "smtpdbg --version", ms["version"], "ms", target="≤ 1.5× swaks --version",
                     samples=[s * 1000 for s in samples["version"]])
    run = Figure("startup.run", "smtpdbg run (one-line script: sendmail)", ms["run"], "ms",
                 samples=[s * 1000 for s in samples["run"]], note="connect, EHLO, MAIL, RCPT, DATA; no QUIT")
    if swaks:
        version.reference, version.reference_name = ms["swaks_version"], "swaks --version"
        version.ratio, version.ratio_kind = ms["version"] / ms["swaks_version"], "slowdown"
        version.met = version.ratio <= 1.5
        run.reference, run.reference_name = ms["swaks_session"], "swaks, same message"
        run.ratio, run.ratio_kind = ms["run"] / ms["swaks_session"], "slowdown"
    else:
        version.note = run.note = no_swaks
    figures += [version, run]

    packages, total = imports_of_run(ctx, script, env)
    forbidden = [name for name in FORBIDDEN if name in packages]
    heavy = [name for name in WATCHED if name in packages]
    top = sorted(((ms_, name) for name, ms_ in packages.items() if ms_ > 0), reverse=True)[:5]
    figures.append(Figure(
        "startup.run_imports", "smtpdbg run --target: UI/server packages imported", float(len(forbidden)), "packages",
        target="none of textual, prompt_toolkit, aiosmtpd", met=not forbidden,
        note=(f"imported: {', '.join(heavy) or 'none of ' + ', '.join(WATCHED)}; "
              f"imports {total:.0f} ms under -X importtime; heaviest: "
              + ", ".join(f"{name} {value:.0f} ms" for value, name in top)),
    ))
    ctx.log(f"start-up: smtpdbg run imported {len(packages)} top-level modules; watched: {heavy or 'none'}")
    return figures
