"""Many messages: a 100-message ``smtpdbg run`` script against 100 swaks runs, and 1,000
messages over one connection in one process, traced against bare smtplib.

Part one is what a person scripting a load test waits for: one smtpdbg
process that sends 100 messages (EHLO once, then MAIL, RCPT, DATA @FILE each)
against 100 swaks processes sending one message each. In the quick pass only
a few swaks runs are timed and the median is multiplied by 100 (each run is
independent, so that is what 100 would take).

Part two isolates the cost of tracing. On one connection, in this process,
against the same sink: bare ``smtplib.SMTP`` calling ``mail``, ``rcpt`` and
``data``; the same calls on ``smtpdbg.core.traced.TracedSMTP`` recording into
a ``Transcript``; and the same commands through ``smtpdbg.core.Session``
(``execute("mail ...")`` etc.: a command queue, the session thread, state
snapshots and events per command). Only the message loop is timed; the three
run interleaved and the figure is the ratio of medians. The client's CPU time
per message is recorded too: it is the overhead that does not depend on how
fast the server answers. The full pass also runs the loops against the
aiosmtpd sandbox (a slower server) to show how the ratio depends on the
server.
"""

from __future__ import annotations

import smtplib
import time

from benchmarks.common import (FROM, LOCAL_HOSTNAME, TO, Context, Figure, Sink, have, interleaved, median,
                               timed_run, write_message)
from benchmarks.startup import smtpdbg_run, swaks_session

MESSAGE = (f"From: {FROM}\r\nTo: {TO}\r\nSubject: many\r\n\r\n" + "A line of a short message body.\r\n" * 8).encode()
"""The message of the in-process figure (~330 bytes)."""


def _send(smtp, count: int) -> tuple[float, float]:
    """``count`` messages on a connected, greeted smtplib object; returns wall and CPU seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        smtp.mail(FROM)
        smtp.rcpt(TO)
        code, _ = smtp.data(MESSAGE)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert code == 250, code
    smtp.quit()
    return elapsed, cpu


def _loop_bare(sink: Sink, count: int) -> tuple[float, float]:
    smtp = smtplib.SMTP(sink.host, sink.port, local_hostname=LOCAL_HOSTNAME, timeout=30)
    smtp.ehlo()
    return _send(smtp, count)


def _loop_traced(sink: Sink, count: int) -> tuple[float, float]:
    from smtpdbg.core.traced import TracedSMTP
    from smtpdbg.core.transcript import Transcript

    smtp = TracedSMTP(local_hostname=LOCAL_HOSTNAME, timeout=30, transcript=Transcript())
    smtp.connect(sink.host, sink.port)
    smtp.ehlo()
    return _send(smtp, count)


def _loop_session(sink: Sink, count: int) -> tuple[float, float]:
    from smtpdbg.core.session import Session, SessionOptions
    from smtpdbg.core.target import Target

    session = Session(Target("smtp", sink.host, sink.port), SessionOptions(local_hostname=LOCAL_HOSTNAME))
    try:
        for command in ("connect", "ehlo"):
            outcome = session.execute(command)
            assert outcome.ok, outcome
        mail, rcpt = f"mail {FROM}", f"rcpt {TO}"
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            session.execute(mail)
            session.execute(rcpt)
            outcome = session.execute("data", body=MESSAGE)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert outcome.ok, outcome
        session.execute("quit")
    finally:
        session.shutdown()
    return elapsed, cpu


LOOPS = {"bare": _loop_bare, "traced": _loop_traced, "session": _loop_session}


def in_process(sink: Sink, count: int, reps: int, budget: float = 3.0) -> dict:
    """The three loops, interleaved; returns median seconds *per message* (and ``*_cpu``) per loop.

    A short pilot run of each loop (also the warm-up) sets how many messages
    it sends: ``count``, or fewer when ``count`` would take longer than
    ``budget`` seconds (a loop that stalls on every message still gets a
    figure, from fewer messages; ``counts`` says how many).
    """
    counts: dict[str, int] = {}
    for name, loop in LOOPS.items():
        pilot = min(count, 20)
        elapsed, _ = loop(sink, pilot)
        counts[name] = max(pilot, min(count, int(budget / max(elapsed / pilot, 1e-9))))
    cpu: dict[str, list[float]] = {name: [] for name in LOOPS}

    def runner(name):
        def run() -> float:
            elapsed, used = LOOPS[name](sink, counts[name])
            cpu[name].append(used / counts[name])
            return elapsed / counts[name]
        return run

    samples = interleaved({name: runner(name) for name in LOOPS}, reps, warmup=0)
    result: dict = {name: median(values) for name, values in samples.items()}
    result.update({f"{name}_cpu": median(values) for name, values in cpu.items()})
    result["samples"] = samples
    result["counts"] = counts
    return result


def _script(path, message, count: int) -> None:
    lines = ["ehlo"]
    for _ in range(count):
        lines += [f"mail {FROM}", f"rcpt {TO}", f"data @{message}"]
    lines.append("quit")
    path.write_text("\n".join(lines) + "\n")


def measure(ctx: Context) -> list[Figure]:
    figures = []
    messages = 3 if ctx.tiny else 100
    message = write_message(ctx.workdir / "many.eml", 2_000)
    script = ctx.workdir / "many.txt"
    _script(script, message, messages)
    run_reps = ctx.reps(full=5, quick=3, tiny=1)
    swaks_runs = messages if not (ctx.quick or ctx.tiny) else ctx.reps(full=messages, quick=10, tiny=1)

    ctx.log(f"many: smtpdbg run with {messages} messages x{run_reps}"
            + (f", swaks x{swaks_runs}" if have("swaks") else ""))
    samples = interleaved({"run": lambda: timed_run(smtpdbg_run(ctx, script), env=ctx.env)}, run_reps)
    run_s = median(samples["run"])
    figure = Figure("many.run100", f"{messages} messages: one smtpdbg run script", run_s, "s",
                    target=f"≥ 20× faster than {messages} swaks runs", samples=samples["run"])
    if have("swaks"):
        command = swaks_session(ctx, message)
        timed_run(command)  # warm-up
        if swaks_runs == messages:
            totals = []
            for _ in range(ctx.reps(full=3, quick=1, tiny=1)):
                start = time.perf_counter()
                for _ in range(messages):
                    timed_run(command)
                totals.append(time.perf_counter() - start)
            swaks_s = median(totals)
            figure.note = f"swaks: {len(totals)} × {messages} runs timed"
        else:
            each = [timed_run(command) for _ in range(swaks_runs)]
            swaks_s = median(each) * messages
            figure.note = f"swaks: median of {swaks_runs} runs × {messages}"
        figure.reference, figure.reference_name = swaks_s, f"{messages} swaks runs"
        figure.ratio, figure.ratio_kind = swaks_s / run_s, "speedup"
        figure.met = figure.ratio >= 20
    else:
        figure.note = "swaks is not installed (benchmarks/setup.sh installs it): no reference"
    figures.append(figure)

    count = 5 if ctx.tiny else 1000
    reps = ctx.reps(full=7, quick=3, tiny=1)
    ctx.log(f"many: {count} messages in-process (bare, traced, session) x{reps}")
    result = in_process(ctx.sink, count, reps, budget=1.5 if ctx.quick or ctx.tiny else 4.0)
    bare = result["bare"]
    for name, label in (("traced", "TracedSMTP + Transcript"), ("session", "Session.execute (mail/rcpt/data)")):
        value = result[name]
        sent = result["counts"][name]
        note = (f"client CPU {result[name + '_cpu'] * 1e6:.0f} µs/msg vs bare {result['bare_cpu'] * 1e6:.0f}; "
                f"overhead {(value - bare) * 1e6:.0f} µs/msg wall")
        if sent < count:
            note += f"; only {sent:,} messages sent per run (a run of {count:,} would take {value * count:.0f} s)"
        figures.append(Figure(
            f"many.{name}", f"{count:,} messages, one connection: {label}", value * 1e6, "µs/msg",
            reference=bare * 1e6, reference_name="bare smtplib.SMTP", ratio=value / bare, ratio_kind="slowdown",
            target="≤ 1.05× bare smtplib", met=value / bare <= 1.05,
            samples=[s * 1e6 for s in result["samples"][name]], note=note,
        ))
    if not (ctx.quick or ctx.tiny):
        figures += _against_sandbox(ctx, count, reps)
    return figures


def _against_sandbox(ctx: Context, count: int, reps: int) -> list[Figure]:
    """The same loops against smtpdbg's aiosmtpd sandbox: a slower server dilutes the client's overhead."""
    ctx.log(f"many: {count} messages in-process against the sandbox (aiosmtpd, separate process) x{reps}")
    with Sink(sandbox=True, env=ctx.env) as sandbox:
        result = in_process(sandbox, count, reps, budget=4.0)
    bare = result["bare"]
    figures = []
    for name in ("traced", "session"):
        value = result[name]
        figures.append(Figure(
            f"many.{name}_sandbox", f"{count:,} messages, one connection, aiosmtpd sandbox server: {name}",
            value * 1e6, "µs/msg", reference=bare * 1e6, reference_name="bare smtplib.SMTP", ratio=value / bare,
            ratio_kind="slowdown", samples=[s * 1e6 for s in result["samples"][name]],
            note="informational: the same client against a slower server (python -m smtpdbg.sandbox)"
                 + (f"; only {result['counts'][name]:,} messages per run" if result["counts"][name] < count else ""),
        ))
    return figures
