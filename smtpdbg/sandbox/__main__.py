"""``python -m smtpdbg.sandbox``: the same as ``smtpdbg sandbox``."""

from smtpdbg.sandbox.cli import main

raise SystemExit(main())
