"""The benchmarks still run: the runner's tiny mode, end to end, produces its JSON.

Only the shape of the output is checked. Tests never assert on time: the
figures themselves are measured on demand (``python benchmarks/run.py``) and
recorded in benchmarks/README.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIGURE_KEYS = {"id", "name", "value", "unit", "reference", "reference_name", "ratio", "ratio_kind", "target", "met",
               "note", "samples"}
EXPECTED_IDS = {
    "startup.floor", "startup.version", "startup.run", "startup.run_imports", "session.full", "many.run100",
    "many.traced", "many.session", "big.traced_time", "big.session_time", "big.traced_rss", "big.session_rss",
    "big.traced_kept", "big.session_kept", "view.append", "view.rss", "view.scroll", "view.search", "tui.first_frame",
}


def test_tiny_pass_writes_every_figure_as_json(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--tiny", "--json", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    document = json.loads(out.read_text(encoding="utf-8"))
    assert set(document) == {"meta", "figures", "errors"}
    assert document["errors"] == {}
    assert document["meta"]["mode"] == "tiny"
    assert {"date", "cpu", "cores", "python", "smtpdbg", "duration_s", "server"} <= set(document["meta"])
    for figure in document["figures"]:
        assert set(figure) == FIGURE_KEYS, figure["id"]
    ids = {figure["id"] for figure in document["figures"]}
    assert EXPECTED_IDS <= ids, EXPECTED_IDS - ids
    assert "| figure | smtpdbg | reference | ratio | target | met |" in result.stdout
