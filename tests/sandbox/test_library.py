"""The library API: README's example runs as written against the sandbox; tracing() patches and restores smtplib."""

from __future__ import annotations

import json
import re
import smtplib
import subprocess
import sys

import pytest

import smtpdbg
from smtpdbg.core.events import Info, InfoKind
from tests.sandbox.conftest import REPO_ROOT, TIMEOUT

SETTINGS = ("HOST", "PORT", "USER", "PASSWORD", "CA_FILE")


def readme_example() -> str:
    """The first Python block of README's "Use the tracer in your own code" section."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Use the tracer in your own code\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the section has no python example"
    return match.group(1)


def test_readme_example_runs_against_the_sandbox(ep, sandbox, child_env, tmp_path):
    code = readme_example()
    values = {"HOST": ep.smtp[0], "PORT": ep.smtp[1], "USER": ep.user, "PASSWORD": ep.password, "CA_FILE": ep.ca_path}
    for name in SETTINGS:  # the example's settings, pointed at the sandbox; nothing else changes
        code, count = re.subn(rf"^{name} = .*$", f"{name} = {values[name]!r}", code, count=1, flags=re.M)
        assert count == 1, f"the README example no longer sets {name}"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=child_env, capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr

    received = sandbox.wait_for_messages(2)
    assert [(m.rcpt_tos, m.tls, m.auth_user) for m in received] == [
        (("bob@example.org",), True, ep.user), (("carol@example.org",), True, ep.user)]
    # two transcripts printed: the example's own session and the one traced in legacy_send()
    out = result.stdout
    assert out.count("transcript of smtp://") == 2 and out.count("TLS established") == 2, out
    assert out.count("<~  250 2.0.0 OK: message accepted") == 2
    jsonl = (tmp_path / "session.jsonl").read_text(encoding="utf-8")
    records = [json.loads(line) for line in jsonl.splitlines()]
    assert records[0]["type"] == "header" and records[0]["target"] == f"smtp://{ep.smtp[0]}:{ep.smtp[1]}"
    assert any(r["type"] == "wire" and r.get("text", "").startswith("rcpt") for r in records)
    assert ep.password not in out + jsonl + result.stderr


def test_tracing_restores_smtplib_and_keeps_failed_connections(ep):
    originals = smtplib.SMTP, smtplib.SMTP_SSL, smtplib.LMTP
    with smtpdbg.tracing(debug_to_stderr=False) as sessions:
        assert smtplib.SMTP is not originals[0] and issubclass(smtplib.SMTP, smtpdbg.SMTP)
        with smtplib.SMTP_SSL(*ep.smtps, timeout=TIMEOUT, context=ep.client_ssl_context()) as smtps:
            smtps.noop()
        with pytest.raises(ConnectionRefusedError):
            smtplib.SMTP("127.0.0.1", 9, timeout=TIMEOUT)  # the discard port: nothing listens
    assert (smtplib.SMTP, smtplib.SMTP_SSL, smtplib.LMTP) == originals
    assert [type(s).__mro__[1] for s in sessions] == [smtpdbg.SMTP_SSL, smtpdbg.SMTP]
    assert "TLS established" in smtpdbg.render(sessions[0])
    kinds = [e.kind for e in sessions[1].transcript if isinstance(e, Info)]
    assert kinds == [InfoKind.CONNECTING]
    assert "transcript of smtp://127.0.0.1:9" in smtpdbg.render(sessions[1], "text")


def test_render_refuses_formats_that_need_a_session():
    with pytest.raises(ValueError, match="text, jsonl, html"):
        smtpdbg.render(smtpdbg.SMTP(), "python")
