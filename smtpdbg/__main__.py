"""``python -m smtpdbg``: the same entry point as the ``smtpdbg`` console script."""

from smtpdbg.cli import main

raise SystemExit(main())
