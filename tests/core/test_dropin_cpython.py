"""The traced classes are drop-ins for smtplib's: CPython's own test_smtplib passes with them substituted."""

from __future__ import annotations

import inspect
import json
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest

from smtpdbg.core.events import Info, InfoKind, Wire
from smtpdbg.core.traced import TracedLMTP, TracedSMTP, TracedSMTP_SSL
from smtpdbg.core.transcript import Transcript
from tests.conftest import repo_env

RUNNER = Path(__file__).with_name("smtplib_dropin.py")


def _run(*args: str) -> dict:
    result = subprocess.run([sys.executable, str(RUNNER), *args], capture_output=True, text=True, env=repo_env(),
                            stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cpython_test_smtplib_passes_with_the_traced_classes():
    pytest.importorskip("test.test_smtplib", reason="this interpreter ships without its test package")
    stock = _run("--stock")
    traced = _run()
    assert traced["clients"] == ["smtpdbg.core.traced.TracedSMTP", "smtpdbg.core.traced.TracedLMTP"]
    problems = "\n\n".join(f"{name}\n{text}" for name, text in traced["failures"] + traced["errors"])
    assert not traced["failures"] and not traced["errors"], problems
    assert not traced["unexpected_successes"]
    assert traced["run"] == stock["run"] > 50
    # skipped only where CPython skips its own classes on this machine
    assert traced["skipped"] == stock["skipped"]
    # the tests really built traced objects (one or more per test that connects)
    assert traced["traced_objects"] >= traced["run"] - 10


def _positional(cls) -> list[tuple[str, object]]:
    """The constructor's parameters other than the keyword-only ones, with their defaults."""
    return [(p.name, p.default) for p in inspect.signature(cls).parameters.values()
            if p.kind is not inspect.Parameter.KEYWORD_ONLY]


@pytest.mark.parametrize(("ours", "theirs"), [(TracedSMTP, smtplib.SMTP), (TracedSMTP_SSL, smtplib.SMTP_SSL),
                                              (TracedLMTP, smtplib.LMTP)])
def test_constructors_take_smtplibs_signature(ours, theirs):
    assert _positional(ours) == _positional(theirs)
    theirs_keyword = {name for name, p in inspect.signature(theirs).parameters.items()
                      if p.kind is inspect.Parameter.KEYWORD_ONLY}
    extras = {name for name, p in inspect.signature(ours).parameters.items()
              if p.kind is inspect.Parameter.KEYWORD_ONLY} - theirs_keyword
    assert extras == {"transcript", "limits", "tls_context", "tls_name", "verify_name", "proxy_header", "family",
                      "debug_to_stderr"}


def test_without_a_transcript_each_object_gets_its_own():
    first, second = TracedSMTP(), TracedSMTP()
    assert isinstance(first.transcript, Transcript) and first.transcript is not second.transcript
    assert first.timeout is second.timeout is smtplib.SMTP().timeout  # the socket default, as smtplib's


def test_debug_output_goes_to_stderr_and_the_transcript(sandbox, capfd):
    host, port = sandbox.endpoints.smtp
    with TracedSMTP(local_hostname="client.test") as smtp:
        smtp.set_debuglevel(1)
        smtp.connect(host, port)
        smtp.noop()
    stderr = capfd.readouterr().err
    assert "connect: " in stderr and "send: 'noop\\r\\n'" in stderr and "reply: retcode (250)" in stderr
    debug = [e.text for e in smtp.transcript if isinstance(e, Info) and e.kind is InfoKind.DEBUG]
    assert any(text.startswith("smtplib: connect: ") for text in debug)
    sent = [e.data for e in smtp.transcript if isinstance(e, Wire)]
    assert b"noop\r\n" in sent


def test_debug_output_can_stay_in_the_transcript(sandbox, capfd):
    host, port = sandbox.endpoints.smtp
    with TracedSMTP(local_hostname="client.test", debug_to_stderr=False) as smtp:
        smtp.set_debuglevel(2)
        smtp.connect(host, port)
        smtp.noop()
    assert capfd.readouterr().err == ""
    debug = [e.text for e in smtp.transcript if isinstance(e, Info) and e.kind is InfoKind.DEBUG]
    assert debug and all(text.startswith("smtplib: connect:") for text in debug)


def test_a_timeout_is_per_operation_as_in_smtplib(sandbox):
    host, port = sandbox.endpoints.smtp
    with TracedSMTP(host, port, local_hostname="client.test", timeout=7) as smtp:
        assert smtp.sock.gettimeout() == 7
        smtp.noop()
        assert smtp.sock.gettimeout() == 7
