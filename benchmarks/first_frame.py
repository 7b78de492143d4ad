"""TUI first frame: process start to the app's first full frame in a real terminal (tmux).

A private tmux server (its own socket, no configuration file) is started
once. Each repetition spawns ``smtpdbg TARGET`` in a new 120×40 session
(``tmux new-session -d -x 120 -y 40 ...``) and polls ``tmux capture-pane -p``
until the app's chrome is on screen: the transcript's border title and the
footer's ``Quit`` key. The time is from just before the ``tmux new-session``
call (the spawn) to the first capture that shows the chrome, so it includes
the tmux client's own start (a few ms) and the polling interval (one
``capture-pane`` call, reported as the resolution). The first repetition is
a warm-up (bytecode cache, page cache); the figure is the median of the rest.

The target is the sink (the app connects at start); a second, informational
figure opens the embedded sandbox (no TARGET), which also starts aiosmtpd
and makes a CA and certificates with trustme.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time

from benchmarks.common import LOCAL_HOSTNAME, SMTPDBG, Context, Figure, have, median

WIDTH, HEIGHT = 120, 40
TIMEOUT = 15.0
"""Seconds to wait for the chrome before giving up on a repetition."""


def chrome_visible(screen: str) -> bool:
    """Whether a captured screen shows the app's frame: transcript border and footer."""
    return "transcript" in screen and "Quit" in screen


class Tmux:
    """A private tmux server, ended (only it) when closed."""

    def __init__(self) -> None:
        self.socket = f"smtpdbg-bench-{os.getpid()}"
        self._run("-f", "/dev/null", "new-session", "-d", "-s", "keeper", "-x", str(WIDTH), "-y", str(HEIGHT),
                  "sleep 3600")

    def _run(self, *args: str, capture: bool = False) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        if result.returncode != 0 and not capture:
            raise RuntimeError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def spawn(self, name: str, command: str) -> None:
        self._run("new-session", "-d", "-s", name, "-x", str(WIDTH), "-y", str(HEIGHT), command)

    def capture(self, name: str) -> str:
        return self._run("capture-pane", "-p", "-t", name, capture=True)

    def kill(self, name: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-session", "-t", name], capture_output=True, timeout=30)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def first_frame(tmux: Tmux, name: str, command: str) -> tuple[float, float, int]:
    """(seconds from spawn to the chrome, median seconds per capture, captures made)."""
    start = time.perf_counter()
    tmux.spawn(name, command)
    polls: list[float] = []
    try:
        while True:
            before = time.perf_counter()
            screen = tmux.capture(name)
            now = time.perf_counter()
            polls.append(now - before)
            if chrome_visible(screen):
                return now - start, median(polls), len(polls)
            if now - start > TIMEOUT:
                raise RuntimeError(f"no frame after {TIMEOUT:.0f} s; the screen showed:\n{screen[-1500:]}")
    finally:
        tmux.kill(name)


def _command(ctx: Context, *args: str) -> str:
    env = ["env", "-u", "PYTHONDONTWRITEBYTECODE", f"PYTHONPYCACHEPREFIX={ctx.env.get('PYTHONPYCACHEPREFIX', '')}"]
    return shlex.join(env + [SMTPDBG, *args])


def measure(ctx: Context) -> list[Figure]:
    if not have("tmux"):
        return [Figure("tui.first_frame", "TUI first frame in tmux (spawn to chrome)", None, "ms",
                       target="≤ 350 ms",
                       note="not measured: tmux is not installed (benchmarks/setup.sh installs it)")]
    try:
        import smtpdbg.tui.app  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - the TUI may not exist yet
        return [Figure("tui.first_frame", "TUI first frame in tmux (spawn to chrome)", None, "ms",
                       target="≤ 350 ms", note=f"not measured yet: smtpdbg.tui.app does not import ({exc!r})")]
    reps = ctx.reps(full=11, quick=5, tiny=1)
    sandbox_reps = ctx.reps(full=5, quick=2, tiny=0)
    sink = ctx.sink
    target = _command(ctx, sink.target, "--ca", sink.ca, "--local-hostname", LOCAL_HOSTNAME)
    sandbox = _command(ctx, "--local-hostname", LOCAL_HOSTNAME)
    ctx.log(f"first frame: {reps} + {sandbox_reps} repetitions in tmux")
    tmux = Tmux()
    try:
        results: dict[str, list[tuple[float, float, int]]] = {"target": [], "sandbox": []}
        warm = 0 if ctx.tiny else 1
        for rep in range(warm + max(reps, sandbox_reps)):
            for kind, command, wanted in (("target", target, reps), ("sandbox", sandbox, sandbox_reps)):
                if rep >= warm + wanted:
                    continue
                result = first_frame(tmux, f"{kind}{rep}", command)
                time.sleep(0.3)  # let the app exit before the next spawn
                if rep >= warm:
                    results[kind].append(result)
    finally:
        tmux.close()
    figures = []
    for kind, label, runs in (("target", "TUI first frame in tmux, smtpdbg HOST:PORT (spawn to chrome)",
                               results["target"]),
                              ("sandbox", "TUI first frame in tmux, smtpdbg with the embedded sandbox",
                               results["sandbox"])):
        if not runs:
            continue
        value = median([r[0] for r in runs]) * 1000
        resolution = median([r[1] for r in runs]) * 1000
        figure = Figure(f"tui.first_frame{'' if kind == 'target' else '_sandbox'}", label, value, "ms",
                        samples=[r[0] * 1000 for r in runs],
                        note=f"{len(runs)} runs; polling resolution {resolution:.1f} ms per capture-pane")
        if kind == "target":
            figure.target, figure.met = "≤ 350 ms", value <= 350
        figures.append(figure)
    return figures
