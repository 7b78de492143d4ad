"""Run CPython's own ``test.test_smtplib`` with smtpdbg's traced classes standing in for smtplib's.

Usage: ``python tests/core/smtplib_dropin.py [--stock]``. With ``--stock`` the
interpreter's own classes are tested (to learn which tests CPython itself
skips here). Prints one JSON line with the result and exits 0; the test in
``test_dropin_cpython.py`` judges it.

``test_smtplib`` refers to the classes as ``smtplib.SMTP``/``smtplib.LMTP``,
partly at import time (``client = smtplib.SMTP`` in a class body), so they are
replaced in the ``smtplib`` module before the test module is imported.
"""

from __future__ import annotations

import io
import json
import smtplib
import sys
import unittest


def main() -> None:
    stock = "--stock" in sys.argv[1:]
    made = {"count": 0}
    if not stock:
        from smtpdbg.core import traced

        smtplib.SMTP, smtplib.SMTP_SSL, smtplib.LMTP = traced.TracedSMTP, traced.TracedSMTP_SSL, traced.TracedLMTP
        trace_init = traced.TraceMixin._trace_init

        def counting(self, *args, **kwargs):
            made["count"] += 1
            return trace_init(self, *args, **kwargs)

        traced.TraceMixin._trace_init = counting

    from test import test_smtplib

    clients = [test_smtplib.SMTPGeneralTests.client, test_smtplib.LMTPGeneralTests.client]
    stream = io.StringIO()
    suite = unittest.defaultTestLoader.loadTestsFromModule(test_smtplib)
    result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
    print(json.dumps({
        "clients": [f"{c.__module__}.{c.__qualname__}" for c in clients],
        "run": result.testsRun,
        "failures": [[test.id(), text] for test, text in result.failures],
        "errors": [[test.id(), text] for test, text in result.errors],
        "unexpected_successes": [test.id() for test in result.unexpectedSuccesses],
        "skipped": sorted(test.id() for test, _ in result.skipped),
        "traced_objects": made["count"],
        "log": stream.getvalue()[-20000:],
    }))


if __name__ == "__main__":
    main()
