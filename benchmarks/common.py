"""Shared pieces of the benchmarks: the sink process, timing, figures, subprocess helpers.

Every figure module exposes ``measure(ctx) -> list[Figure]``; :mod:`benchmarks.run`
calls them and prints the table and the JSON. Timings are medians over
several repetitions, and every ratio compares two things measured in the same
run, interleaved (A B A B ...), so a noisy neighbour slows both alike.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
"""The repository."""
BENCH = Path(__file__).resolve().parent
PYTHON = sys.executable
SMTPDBG = str(Path(PYTHON).with_name("smtpdbg"))
"""The console script next to this interpreter (the installed entry point)."""
LOCAL_HOSTNAME = "bench.smtpdbg.test"
"""Name both clients send in EHLO (so neither looks up this machine's FQDN)."""
FROM, TO = "alice@example.org", "bob@example.org"


@dataclass
class Figure:
    """One row of the results table."""

    id: str
    """Stable key, e.g. ``startup.version``."""
    name: str
    value: float | None
    """smtpdbg's figure (``None``: not measured, see ``note``)."""
    unit: str
    reference: float | None = None
    """The same thing measured for swaks or bare smtplib in the same run."""
    reference_name: str = ""
    ratio: float | None = None
    """``value / reference`` (for a speed-up figure, ``reference / value``; see ``ratio_kind``)."""
    ratio_kind: str = ""
    """``slowdown`` (smtpdbg ÷ reference) or ``speedup`` (reference ÷ smtpdbg)."""
    target: str = ""
    met: bool | None = None
    """Whether the target was met (``None``: no target, or not measured)."""
    note: str = ""
    samples: list[float] = field(default_factory=list)
    """Every repetition, for whoever wants to look at the spread."""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Context:
    """What a figure module may use."""

    quick: bool
    tiny: bool
    sink: "Sink"
    workdir: Path
    log: Callable[[str], None]
    env: dict = field(default_factory=dict)
    """Environment for the smtpdbg processes under test (bytecode cache on, see :func:`bench_env`)."""

    def reps(self, full: int, quick: int, tiny: int = 1) -> int:
        return tiny if self.tiny else quick if self.quick else full


class Sink:
    """The sink server (:mod:`benchmarks.sink`) in a subprocess.

    Args:
        sandbox: run smtpdbg's own sandbox (``python -m smtpdbg.sandbox --json``,
            aiosmtpd) instead, to show how the figures depend on the server's speed.
    """

    def __init__(self, *, sandbox: bool = False, env: dict | None = None) -> None:
        argv = [PYTHON, "-m", "smtpdbg.sandbox", "--json", "--no-lmtp"] if sandbox else [PYTHON, str(BENCH / "sink.py")]
        self.kind = "sandbox" if sandbox else "sink"
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL if sandbox else None, text=True, env=env)
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(5)
            raise RuntimeError(f"the {self.kind} server did not start")
        info = json.loads(line)
        if sandbox:
            host, _, port = info["smtp"].rpartition(":")
            info.update(host=host, port=int(port))
        self.host: str = info["host"]
        self.port: int = info["port"]
        self.ca: str = info["ca"]
        self.user: str = info["user"]
        self.password: str = info["password"]

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def timed_run(argv: list[str], *, env: dict | None = None, check: bool = True, timeout: float = 300) -> float:
    """Run a process to completion (output discarded); returns its wall-clock seconds."""
    start = time.perf_counter()
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env, timeout=timeout)
    elapsed = time.perf_counter() - start
    if check and result.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {result.returncode}: {result.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def interleaved(variants: dict[str, Callable[[], float]], reps: int, warmup: int = 1) -> dict[str, list[float]]:
    """Run each variant ``reps`` times, alternating between them; returns the samples per variant."""
    for _ in range(warmup):
        for run in variants.values():
            run()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for rep in range(reps):
        names = list(variants)
        if rep % 2:
            names.reverse()  # ABBA: neither always goes first
        for name in names:
            samples[name].append(variants[name]())
    return samples


def median(values: list[float]) -> float:
    return statistics.median(values)


def bench_env(workdir: Path) -> dict:
    """The environment for processes under test: bytecode cached as after any install.

    ``PYTHONDONTWRITEBYTECODE=1`` (set in some sandboxes and CI images) makes
    every start recompile smtpdbg from source; a user's install has ``.pyc``
    files. The cache goes to ``PYTHONPYCACHEPREFIX`` under the benchmark's
    work directory, so nothing is written into the source tree.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("NO_COLOR", None)
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    return env


def have(program: str) -> bool:
    return shutil.which(program) is not None


def write_message(path: Path, size: int) -> Path:
    """A plain-text message of about ``size`` bytes (76-character lines, CRLF)."""
    header = (f"From: {FROM}\r\nTo: {TO}\r\nSubject: benchmark\r\nMessage-ID: <bench@smtpdbg.test>\r\n\r\n").encode()
    line = b"The quick brown fox jumps over the lazy dog while smtpdbg traces every byte.\r\n"
    count = max(1, (size - len(header)) // len(line))
    path.write_bytes(header + line * count)
    return path


def rss_now_mb() -> float:
    """Resident set size of this process now, in MiB."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB.

    ``VmHWM`` from ``/proc/self/status`` where there is one: Linux keeps
    ``ru_maxrss`` across ``execve``, so a child forked from a large parent
    (the benchmark runner, holding a million events) would report the
    parent's size. ``VmHWM`` belongs to the new program's address space.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    """Where the figures were measured."""
    import platform

    cpu = ""
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
            memory = f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    swaks = ""
    if have("swaks"):
        out = subprocess.run(["swaks", "--version"], capture_output=True, text=True).stdout
        swaks = out.split("\n", 1)[0].strip()
    versions = {}
    for name in ("textual", "prompt_toolkit", "aiosmtpd"):
        try:
            from importlib.metadata import version

            versions[name] = version(name.replace("_", "-"))
        except Exception:  # noqa: BLE001 - informational only
            pass
    from smtpdbg import __version__

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "smtpdbg": __version__,
        "swaks": swaks,
        **versions,
    }
