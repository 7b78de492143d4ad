"""Regenerate ``screenshots/*.svg``: the app on the embedded sandbox, driven headless.

Run ``python -m smtpdbg.tui.screenshots [DIRECTORY]`` (default ``screenshots``).
Each screen is a real session on a sandbox started in this process; the
sandbox's certificate names are random, so TLS details differ from run to run.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile

from smtpdbg.core.history import History
from smtpdbg.core.session import SessionOptions
from smtpdbg.core.target import Target

WIDE = (120, 40)
NARROW = (80, 24)


async def _wait(pilot, predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("the app did not reach the expected state")
        await pilot.pause(0.02)


async def _shoot(directory: str, endpoints, name: str, size, steps, *, notifications: bool = False,
                 lesson: str | None = None) -> str:
    from smtpdbg.core.lessons import find_lesson
    from smtpdbg.tui.app import SmtpdbgApp

    class Pinned(SmtpdbgApp):
        def message_headers(self):
            return {"date": "Mon, 01 Jan 2024 09:00:00 +0000", "message_id": "<screenshot@client.example.test>"}

    target = Target("smtp", endpoints.smtp[0], endpoints.smtp[1], sandbox=True)
    options = SessionOptions(timeout=10, local_hostname="client.example.test", ca=endpoints.ca_path)
    with tempfile.TemporaryDirectory() as home:
        app = Pinned(target, options, history=History(os.path.join(home, "history")), latency=False,
                     lesson=find_lesson(lesson) if lesson else None)
        async with app.run_test(size=size, notifications=notifications) as pilot:
            await _wait(pilot, lambda: len(app.outcomes) >= (1 if lesson else 2) and not app.state.busy)
            for step in steps:
                await step(pilot, app)
            await pilot.pause(0.2)
            path = app.save_screenshot(f"{name}.svg", directory)
    return path


def _run(*commands, **kwargs):
    async def step(pilot, app) -> None:
        for command in commands:
            count = len(app.outcomes)
            app.submit(command, **kwargs)
            await _wait(pilot, lambda: len(app.outcomes) > count and not app.state.busy)
    return step


def _enter(*commands):
    """Type each command at the prompt and press Enter (as a student does: a lesson checks these)."""
    async def step(pilot, app) -> None:
        for command in commands:
            count = len(app.outcomes)
            app.query_one("CommandPrompt").set_text(command)
            await pilot.press("enter")
            await _wait(pilot, lambda: len(app.outcomes) > count and not app.state.busy)
    return step


def _type(*keys):
    async def step(pilot, app) -> None:
        await pilot.press(*keys)
        await pilot.pause(0.1)
    return step


def _call(function):
    async def step(pilot, app) -> None:
        function(app)
        await pilot.pause(0.1)
    return step


SCREENS = (
    ("01-first-screen", WIDE, ()),
    ("02-first-screen-80x24", NARROW, ()),
    ("03-completion", WIDE, (_run("starttls", "ehlo"), _type(*"auth "))),
    ("04-composer", WIDE, (_run("mail alice@sandbox.smtpdbg.test", "rcpt bob@sandbox.smtpdbg.test"),
                           _call(lambda app: app.query_one("CommandPrompt").set_text("data")), _type("enter"))),
    ("05-tls", WIDE, (_run("starttls", "ehlo"), _call(lambda app: app.action_tls_chain()))),
    ("06-tls-inspector", WIDE, (_run("starttls", "ehlo"),)),
    ("07-error-reply", WIDE, (_run("mail alice@sandbox.smtpdbg.test", "rcpt reject@sandbox.smtpdbg.test"),)),
    ("08-palette", WIDE, (_type("ctrl+p"),)),
    ("09-lesson", WIDE, (_enter("helo client.example.test", "mail alice@sandbox.smtpdbg.test",
                                "rcpt reject@sandbox.smtpdbg.test"),)),
)
OTHER_MODES = ("listen", "trace", "proxy")
"""The other apps' screenshots (``smtpdbg.MODE.screenshot``), each shot against real clients and servers."""
LESSONS = {"09-lesson": "first-conversation"}
"""Screens that show a guided lesson (started as ``smtpdbg learn ID`` does)."""


async def generate(directory: str) -> list[str]:
    from smtpdbg.sandbox import Sandbox, SandboxConfig

    os.makedirs(directory, exist_ok=True)
    paths = []
    with Sandbox(SandboxConfig()) as sandbox:
        endpoints = sandbox.endpoints
        for name, size, steps in SCREENS:
            paths.append(await _shoot(directory, endpoints, name, size, steps, notifications=name == "07-error-reply",
                                      lesson=LESSONS.get(name)))
    from importlib import import_module

    for mode in OTHER_MODES:
        paths.append(await import_module(f"smtpdbg.{mode}.screenshot").shoot(directory))
    return paths


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m smtpdbg.tui.screenshots",
                                     description="Regenerate the README's screenshots: the app on the embedded "
                                                 "sandbox, driven headless, saved as SVG.")
    parser.add_argument("directory", nargs="?", default="screenshots", metavar="DIRECTORY",
                        help="where the SVGs go (default: screenshots, in the current directory: run it at the "
                             "repository's root)")
    directory = parser.parse_args(sys.argv[1:] if argv is None else argv).directory
    for name in ("NO_COLOR", "TEXTUAL_THEME"):
        os.environ.pop(name, None)
    for path in asyncio.run(generate(directory)):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["generate", "main"]
