"""The README's pytest fixture for ``smtpdbg listen --json`` works as shown."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import repo_env

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_fixture_runs(tmp_path) -> None:
    section = README.read_text().split("### The debugging server: smtpdbg listen", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "def smtp_server" in code
    (tmp_path / "test_with_listen.py").write_text(code)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env=repo_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "Subject: welcome" in done.stdout
