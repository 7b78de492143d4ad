"""Regenerate ``screenshots/listen.svg``: the listen app playing the server for a real smtplib client.

Run ``python -m smtpdbg.listen.screenshot [DIRECTORY]`` (default ``screenshots``).
"""

from __future__ import annotations

import asyncio
import smtplib
import sys
import threading

from smtpdbg.listen.app import ListenApp
from smtpdbg.listen.rules import RuleBook
from smtpdbg.listen.server import ListenConfig

RULES = "[[rule]]\nname = 'blocked'\nstage = 'rcpt'\naddress = '*@blocked.test'\nreply = '550 5.7.1 recipient blocked'\n"


async def shoot(directory: str) -> str:
    app = ListenApp(ListenConfig(port=0, hold=True, tls=False), RuleBook(text=RULES))
    async with app.run_test(size=(120, 34)) as pilot:
        host, _, port = app.server.endpoints["smtp"].rpartition(":")

        def client() -> None:
            try:
                with smtplib.SMTP(host, int(port), local_hostname="app.example", timeout=30) as smtp:
                    smtp.sendmail("app@example.org", ["who@blocked.test", "bob@example.org"],
                                  "Subject: hi\r\n\r\nhello\r\n")
            except smtplib.SMTPException:
                pass

        threading.Thread(target=client, daemon=True).start()
        prompt = app.query_one("#prompt")
        for answer, stage in (("default", "connect"), ("default", "helo"), ("default", "mail"), ("default", "rcpt"),
                              ("reply 354 go ahead", "data")):
            while not any(h.stage == stage for h in app.server.held.values()):
                await pilot.pause(0.02)
            prompt.value = answer
            await pilot.press("enter")
        while not any(h.stage == "message" for h in app.server.held.values()):
            await pilot.pause(0.02)
        prompt.value = "reply 451 4.7.1 greylisted"
        await pilot.pause(0.3)
        path = app.save_screenshot("listen.svg", directory)
        prompt.value = "drop"
        await pilot.press("enter")
    return path


if __name__ == "__main__":
    print(asyncio.run(shoot(sys.argv[1] if len(sys.argv) > 1 else "screenshots")))
