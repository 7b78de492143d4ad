"""A sandbox in its own process for the TUI tests, spooling what it receives.

Run as ``python tests/tui/sandbox_server.py SPOOL_DIR``: prints one JSON line
with the endpoints, writes each accepted message to ``SPOOL_DIR/N.eml`` (bytes
as received) and ``N.json`` (envelope), and exits when stdin closes. Keeping
the server out of the test process keeps ``pilot.press`` fast (FACTS.md).
"""

from __future__ import annotations

import itertools
import json
import os
import sys

from smtpdbg.sandbox import Sandbox, SandboxConfig


def main() -> None:
    spool = sys.argv[1]
    numbers = itertools.count(1)

    def on_message(message) -> None:
        number = next(numbers)
        with open(os.path.join(spool, f"{number}.eml.tmp"), "wb") as handle:
            handle.write(message.content)
        with open(os.path.join(spool, f"{number}.json"), "w") as handle:
            json.dump({"mail_from": message.mail_from, "rcpt_tos": list(message.rcpt_tos), "tls": message.tls,
                       "auth_user": message.auth_user}, handle)
        os.rename(os.path.join(spool, f"{number}.eml.tmp"), os.path.join(spool, f"{number}.eml"))

    sandbox = Sandbox(SandboxConfig(extra_extensions=("PIPELINING", "ENHANCEDSTATUSCODES", "DSN", "ETRN")),
                      on_message=on_message)
    endpoints = sandbox.start()
    print(json.dumps({"smtp": list(endpoints.smtp), "smtps": list(endpoints.smtps), "lmtp": endpoints.lmtp, "ca": endpoints.ca_path,
                      "user": endpoints.user, "password": endpoints.password}), flush=True)
    try:
        sys.stdin.read()
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
