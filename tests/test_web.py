"""``smtpdbg web``: a lesson served with textual-serve, driven in headless Chromium (the system's, via playwright).

Chromium comes from Debian's packages (``chromium``, ``chromium-driver``): .ci/run installs them, and so does this
test where they are missing and apt-get is there; it skips, saying why, only where neither is possible.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from smtpdbg.web import is_loopback, app_command, build_parser
from tests.conftest import repo_env

CHROMIUM_NAMES = ("chromium", "chromium-browser")

# The page draws the terminal on a canvas; this keeps a reference to xterm.js's Terminal (the first object
# assigned to a `terminal` property that has loadAddon) so that the test can read the screen's text.
CAPTURE_TERMINAL = """
Object.defineProperty(Object.prototype, 'terminal', {
  configurable: true,
  set(value) {
    Object.defineProperty(this, 'terminal', {value, writable: true, configurable: true, enumerable: true});
    if (value && typeof value.loadAddon === 'function' && !window.smtpdbgTerminal) window.smtpdbgTerminal = value;
  },
});
"""
SCREEN = """() => {
  const terminal = window.smtpdbgTerminal;
  if (!terminal) return '';
  const buffer = terminal.buffer.active, rows = [];
  for (let i = 0; i < buffer.length; i++) {
    const line = buffer.getLine(i);
    rows.push(line ? line.translateToString(true) : '');
  }
  return rows.join('\\n');
}"""
SHOWS = f"(text) => ({SCREEN})().includes(text)"


def chromium() -> str:
    """The system Chromium, installed from Debian's packages if missing and apt-get is there; else the test skips."""
    found = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if found:
        return found
    if not shutil.which("apt-get"):
        reason = "no chromium on this machine and no apt-get to install it (Debian packages chromium, chromium-driver)"
        print(f"test_web: skipped: {reason}", file=sys.stderr)
        pytest.skip(reason)
    for command in (["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], ["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]):
        subprocess.run(command, check=False, capture_output=True, timeout=600)
        found = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
        if found:
            return found
    raise AssertionError("apt-get is there but could not install chromium and chromium-driver")


def wait_for(page, text: str, limit_ms: int = 20_000) -> None:
    """Wait until the screen shows ``text``; on time-out, fail with what it shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(SHOWS, arg=text, timeout=limit_ms)
    except PlaywrightTimeout:
        raise AssertionError(f"the page never showed {text!r}; it shows:\n{page.evaluate(SCREEN)}") from None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"smtpdbg web did not listen on port {port} within {limit:g} s")


@contextlib.contextmanager
def served(*options: str):
    """``smtpdbg web OPTIONS`` on a free loopback port: its address; the server and its sessions stop after."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "smtpdbg", "web", *options, "--port", str(port)], env=repo_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_listening(port, process)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and the app sessions it started
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@contextlib.contextmanager
def browser_page(url: str):
    """The page at ``url`` in headless Chromium, the app's screen readable (SCREEN), once the greeting shows."""
    executable = chromium()
    from playwright.sync_api import sync_playwright  # the test extra

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.add_init_script(CAPTURE_TERMINAL)
            page.goto(url)
            wait_for(page, "220 ")  # the embedded sandbox's greeting
            page.locator(".xterm-helper-textarea").focus()  # keys go to the app, whose prompt has the focus
            yield page
        finally:
            browser.close()


def replies(screen: str, code: str) -> list[str]:
    """The transcript's reply lines with this code."""
    return [line for line in screen.splitlines() if re.search(rf"<-\s+{code}[ -]", line)]


def test_a_lesson_step_is_completed_in_a_browser() -> None:
    with served("--lesson", "first-conversation") as url, browser_page(url) as page:
        wait_for(page, "Say who you are")  # the lesson's first step
        page.keyboard.type("helo client.example")
        page.keyboard.press("Enter")
        wait_for(page, "Start a transaction")  # the lesson advanced
        # The lesson pane and the transcript are drawn apart: wait for the reply's line as well.
        page.wait_for_function(f"() => /<-\\s+250[ -]/.test(({SCREEN})())", timeout=20_000)
        screen = page.evaluate(SCREEN)
    assert "step 2 of 5" in screen
    assert replies(screen, "250"), screen


def test_the_app_is_served_on_its_own_sandbox() -> None:
    with served() as url, browser_page(url) as page:
        page.keyboard.type("ehlo client.example")
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => /<-\\s+250[ -]/.test(({SCREEN})())", timeout=20_000)
        screen = page.evaluate(SCREEN)
    assert "embedded sandbox" in screen and replies(screen, "250"), screen


def test_the_command_line() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.lesson) == ("127.0.0.1", 8000, None)
    assert app_command("first-conversation")[-3:] == ["smtpdbg", "learn", "first-conversation"]
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")


def test_an_unknown_lesson_is_refused_before_serving(capsys) -> None:
    from smtpdbg.cli import main

    assert main(["web", "--lesson", "no-such-lesson"]) == 2
    assert "no-such-lesson" in capsys.readouterr().err
