"""How hard the property tests try: ``SMTPDBG_FUZZ=50`` multiplies every example count (a long fuzzing run).

CI runs the default (a few hundred examples per property, seconds in all);
``SMTPDBG_FUZZ=50 .venv/bin/python -m pytest tests -k "property or arbitrary or never"`` is the longer run.
"""

from __future__ import annotations

import os


def fuzz(examples: int) -> int:
    """``examples`` scaled by ``$SMTPDBG_FUZZ`` (default 1)."""
    try:
        factor = max(1, int(os.environ.get("SMTPDBG_FUZZ", "1")))
    except ValueError:
        factor = 1
    return examples * factor
