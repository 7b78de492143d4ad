"""The rules example in docs/listen.md is a valid rules file."""

from __future__ import annotations

import re
from pathlib import Path

from smtpdbg.listen.rules import parse_rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "listen.md"


def test_the_documented_example_parses() -> None:
    (example,) = re.findall(r"```toml\n(.*?)```", DOC.read_text(), re.S)
    rules, seed = parse_rules(example)
    assert seed == 42 and len(rules) == 6
    assert [rule.stage for rule in rules] == ["rcpt", "mail", "message", "connect", "data", "rcpt"]
