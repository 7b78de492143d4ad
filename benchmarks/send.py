"""``smtpdbg send`` against swaks, as processes: one plaintext send and one STARTTLS + AUTH + message send.

Both tools send the same message file (``--data @FILE``) to the same sink,
print their transcript (to /dev/null) and are timed from spawn to exit,
interleaved (A B B A ...), medians. The TLS session verifies the sink's
certificate in both (``--ca`` / ``--tls-verify --tls-ca-path``); the password
reaches smtpdbg through ``$SMTPDBG_PASSWORD`` and swaks through
``--auth-password``. The targets are the issue's: within 1.3x of swaks for the
plaintext send and 1.5x for the full one. ``python -c pass`` is measured too
(the floor of any Python command on this machine), and so is the same send
done by a bare smtplib script in its own process (``BARE``: the floor of any
Python tool built on smtplib), so each figure also reads as a ratio against
bare smtplib. The note lists what ``send`` imports (``-X importtime``) among
the packages it must not load.
"""

from __future__ import annotations

import subprocess

from benchmarks.common import (FROM, LOCAL_HOSTNAME, PYTHON, SMTPDBG, TO, Context, Figure, have, interleaved,
                               median, timed_run, write_message)

WATCHED = ("textual", "prompt_toolkit", "aiosmtpd", "trustme", "rich", "cryptography", "smtpdbg.core.export",
           "smtpdbg.runner")


def send_argv(ctx: Context, message, *extra: str) -> list[str]:
    sink = ctx.sink
    return [SMTPDBG, "send", "--from", FROM, TO, sink.target, "--helo", LOCAL_HOSTNAME, "--data", f"@{message}",
            *extra]


# The same sends with nothing but smtplib: argv[1:] = host port helo from to message [ca user] (password from
# $SMTPDBG_PASSWORD). STARTTLS verifies the certificate against the CA, as both tools do.
BARE = """
import os, smtplib, ssl, sys
host, port, helo, sender, rcpt, message, *tls = sys.argv[1:]
with smtplib.SMTP(host, int(port), local_hostname=helo) as s:
    if tls:
        s.starttls(context=ssl.create_default_context(cafile=tls[0]))
        s.login(tls[1], os.environ["SMTPDBG_PASSWORD"])
    with open(message, "rb") as f:
        s.sendmail(sender, [rcpt], f.read())
"""


def bare_argv(ctx: Context, message, *extra: str) -> list[str]:
    sink = ctx.sink
    return [PYTHON, "-c", BARE, sink.host, str(sink.port), LOCAL_HOSTNAME, FROM, TO, str(message), *extra]


def swaks_argv(ctx: Context, message, *extra: str) -> list[str]:
    sink = ctx.sink
    return ["swaks", "--server", f"{sink.host}:{sink.port}", "--from", FROM, "--to", TO, "--helo", LOCAL_HOSTNAME,
            "--data", f"@{message}", *extra]


def imported(ctx: Context, argv: list[str], env: dict) -> list[str]:
    """Which of :data:`WATCHED` a ``send`` imports."""
    result = subprocess.run([PYTHON, "-X", "importtime", "-m", "smtpdbg", *argv[1:]], capture_output=True,
                            text=True, env=env, timeout=120)
    names = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    return [w for w in WATCHED if any(n == w or n.startswith(w + ".") for n in names)]


def measure(ctx: Context) -> list[Figure]:
    reps = ctx.reps(full=15, quick=7, tiny=1)
    sink = ctx.sink
    message = write_message(ctx.workdir / "send.eml", 2_000)
    env = dict(ctx.env, SMTPDBG_PASSWORD=sink.password)
    tls_ours = ("--tls", "--ca", sink.ca, "-a", "PLAIN", "-au", sink.user)
    tls_swaks = ("-tls", "--tls-verify", "--tls-ca-path", sink.ca, "--auth", "PLAIN", "--auth-user", sink.user,
                 "--auth-password", sink.password)
    variants = {
        "floor": lambda: timed_run([PYTHON, "-c", "pass"], env=env),
        "plain": lambda: timed_run(send_argv(ctx, message), env=env),
        "tls": lambda: timed_run(send_argv(ctx, message, *tls_ours), env=env),
        "bare_plain": lambda: timed_run(bare_argv(ctx, message), env=env),
        "bare_tls": lambda: timed_run(bare_argv(ctx, message, str(sink.ca), sink.user), env=env),
    }
    swaks = have("swaks")
    if swaks:
        variants["swaks_plain"] = lambda: timed_run(swaks_argv(ctx, message))
        variants["swaks_tls"] = lambda: timed_run(swaks_argv(ctx, message, *tls_swaks))
    ctx.log(f"send: {reps} repetitions of {', '.join(variants)}")
    samples = interleaved(variants, reps)
    ms = {name: median(values) * 1000 for name, values in samples.items()}
    loaded = {"plain": imported(ctx, send_argv(ctx, message), env),
              "tls": imported(ctx, send_argv(ctx, message, *tls_ours), env)}
    figures = []
    for key, name, limit, ref_name in (
            ("plain", "smtpdbg send, plaintext (EHLO, MAIL, RCPT, DATA), process spawn to exit", 1.3,
             "swaks, same message"),
            ("tls", "smtpdbg send, STARTTLS + AUTH PLAIN + message, process spawn to exit", 1.5,
             "swaks -tls --tls-verify --auth PLAIN")):
        figure = Figure(f"send.{key}", name, ms[key], "ms", target=f"≤ {limit}× swaks",
                        samples=[s * 1000 for s in samples[key]],
                        note=f"python -c pass: {ms['floor']:.0f} ms; bare smtplib script, same send: "
                             f"{ms['bare_' + key]:.0f} ms (smtpdbg {ms[key] / ms['bare_' + key]:.2f}× it"
                             + (f", it {ms['bare_' + key] / ms['swaks_' + key]:.2f}× swaks" if swaks else "")
                             + f"); watched packages imported: {', '.join(loaded[key]) or 'none'}")
        if swaks:
            figure.reference, figure.reference_name = ms[f"swaks_{key}"], ref_name
            figure.ratio, figure.ratio_kind = ms[key] / ms[f"swaks_{key}"], "slowdown"
            figure.met = figure.ratio <= limit
        else:
            figure.note += "; swaks is not installed (benchmarks/setup.sh installs it): no reference"
        figures.append(figure)
    return figures
