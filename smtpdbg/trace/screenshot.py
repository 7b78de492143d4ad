"""Regenerate ``screenshots/trace.svg``: the trace app on a small program that logs in to the sandbox and sends.

Run ``python -m smtpdbg.trace.screenshot [DIRECTORY]`` (default ``screenshots``).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

PROGRAM = '''
import smtplib, ssl, sys
host, port, user, password, ca = sys.argv[1:]
print("sending the welcome mail ...")
with smtplib.SMTP(host, int(port), local_hostname="app.example") as smtp:
    smtp.starttls(context=ssl.create_default_context(cafile=ca))
    smtp.login(user, password)
    smtp.sendmail("app@example.org", ["new.user@example.org"], "Subject: welcome\\r\\n\\r\\nhello\\r\\n")
print("sent")
'''


async def shoot(directory: str) -> str:
    from smtpdbg.sandbox import Sandbox, SandboxConfig
    from smtpdbg.trace.app import TraceApp

    sandbox = Sandbox(SandboxConfig())
    endpoints = sandbox.start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            program = Path(scratch) / "welcome.py"
            program.write_text(PROGRAM)
            app = TraceApp([sys.executable, str(program), endpoints.smtp[0], str(endpoints.smtp[1]), endpoints.user,
                            endpoints.password, endpoints.ca_path])
            async with app.run_test(size=(120, 34)) as pilot:
                while app.status is None:
                    await pilot.pause(0.05)
                await pilot.pause(0.3)
                return app.save_screenshot("trace.svg", directory)
    finally:
        sandbox.stop()


if __name__ == "__main__":
    print(asyncio.run(shoot(sys.argv[1] if len(sys.argv) > 1 else "screenshots")))
