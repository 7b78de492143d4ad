"""One full session: connect, EHLO, STARTTLS, EHLO, AUTH PLAIN, one message, QUIT.

``smtpdbg run`` of the script below against the same swaks command, both
verifying the sink's certificate with its CA (``--ca`` / ``--tls-verify
--tls-ca-path``), both printing their transcript (to /dev/null). Each is a
whole process, spawn to exit, so start-up is part of the figure: that is what
a person running either tool from a shell waits for. The same commands
through ``Session.execute`` in the benchmark's own process are timed too (in
the note): the part that is protocol, not start-up. (The first TLS handshake
in a process imports ``cryptography`` to describe the certificate; the
in-process figure pays that only once, in its warm-up.)
"""

from __future__ import annotations

import time

from benchmarks.common import (FROM, LOCAL_HOSTNAME, TO, Context, Figure, have, interleaved, median, timed_run,
                               write_message)
from benchmarks.startup import smtpdbg_run, swaks_session

SCRIPT = """\
ehlo
starttls
ehlo
auth PLAIN {user} --password-env BENCH_PASSWORD
mail {sender}
rcpt {recipient}
data @{message}
quit
"""


def in_process(ctx: Context, script_text: str) -> float:
    """The same session through ``Session.execute`` in this process: the protocol part without start-up."""
    from smtpdbg.core.session import Session, SessionOptions
    from smtpdbg.core.target import Target

    sink = ctx.sink
    session = Session(Target("smtp", sink.host, sink.port),
                      SessionOptions(local_hostname=LOCAL_HOSTNAME, ca=sink.ca),
                      environ={"BENCH_PASSWORD": sink.password})
    try:
        start = time.perf_counter()
        for line in ["connect", *script_text.splitlines()]:
            outcome = session.execute(line)
            assert outcome.ok, outcome
        return time.perf_counter() - start
    finally:
        session.shutdown()


def measure(ctx: Context) -> list[Figure]:
    reps = ctx.reps(full=15, quick=5, tiny=1)
    sink = ctx.sink
    message = write_message(ctx.workdir / "session.eml", 2_000)
    script = ctx.workdir / "session.txt"
    script.write_text(SCRIPT.format(user=sink.user, sender=FROM, recipient=TO, message=message))
    env = dict(ctx.env, BENCH_PASSWORD=sink.password)
    variants = {"smtpdbg": lambda: timed_run(smtpdbg_run(ctx, script, "--ca", sink.ca), env=env)}
    if have("swaks"):
        variants["swaks"] = lambda: timed_run(swaks_session(
            ctx, message, "-tls", "--tls-verify", "--tls-ca-path", sink.ca,
            "--auth", "PLAIN", "--auth-user", sink.user, "--auth-password", sink.password))
    text = script.read_text()
    variants["in_process"] = lambda: in_process(ctx, text)
    ctx.log(f"one session: {reps} repetitions of {', '.join(variants)}")
    samples = interleaved(variants, reps)
    ms = {name: median(values) * 1000 for name, values in samples.items()}
    figure = Figure("session.full", "one full session (STARTTLS, AUTH, 1 message), process spawn to exit",
                    ms["smtpdbg"], "ms", target="faster than swaks",
                    samples=[s * 1000 for s in samples["smtpdbg"]],
                    note=f"the session alone (Session.execute in-process, no start-up): {ms['in_process']:.0f} ms")
    if "swaks" in ms:
        figure.reference, figure.reference_name = ms["swaks"], "swaks -tls --tls-verify --auth PLAIN"
        figure.ratio, figure.ratio_kind = ms["smtpdbg"] / ms["swaks"], "slowdown"
        figure.met = figure.ratio < 1.0
    else:
        figure.note += "; swaks is not installed (benchmarks/setup.sh installs it): no reference"
    return [figure]
