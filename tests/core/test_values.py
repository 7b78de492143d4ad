"""One option validation: the command line, the sandbox's command line and the app's connect dialog refuse the
same bad values with the same words (those of :mod:`smtpdbg.core.values`)."""

from __future__ import annotations

import pytest

from smtpdbg.core import values
from smtpdbg.core.session import SessionOptions
from smtpdbg.tui.screens.connect import build_request

BAD_TIMEOUTS = ["nan", "inf", "-inf", "1e400", "1e10", "604801", "0", "-1", "soon", ""]
BAD_HOSTS = ["two words", "tab\there", "bell\x07", ""]
BAD_TARGETS = ["two words", "mail.example.org extra:25", "bell\x07.example", "smtps://a b:465"]


def message(check, text: str, **limits) -> str:
    with pytest.raises(ValueError) as error:
        check(text, **limits)
    return str(error.value)


def cli_error(capsys, *args: str) -> str:
    from smtpdbg.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "no-such-script.smtp", *args])
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def dialog_error(target: str = "h", timeout: str = "5", local_hostname: str = "") -> str:
    with pytest.raises(ValueError) as error:
        build_request(target, "smtp", timeout, local_hostname, "", True, True, False, SessionOptions())
    return str(error.value)


@pytest.mark.parametrize("text", BAD_TIMEOUTS)
def test_a_bad_timeout(capsys, text):
    expected = message(values.timeout, text)
    assert f"argument --timeout: {expected}" in cli_error(capsys, "--target", "127.0.0.1:9", f"--timeout={text}")
    assert dialog_error(timeout=text) == f"timeout: {expected}"
    from smtpdbg.cli import main

    with pytest.raises(SystemExit):
        main(["learn", "first-conversation", f"--timeout={text}"])
    assert f"argument --timeout: {expected}" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["30", "0.5", "604800"])
def test_a_good_timeout_is_taken_by_every_frontend(text):
    assert values.timeout(text) == float(text)
    assert build_request("h", "smtp", text, "", "", True, True, False, SessionOptions()).options.timeout == float(text)


@pytest.mark.parametrize("text", BAD_HOSTS[:-1])
def test_a_bad_local_host_name(capsys, text):
    expected = message(values.host_name, text)
    assert f"argument --local-hostname: {expected}" in cli_error(capsys, "--target", "127.0.0.1:9",
                                                                 f"--local-hostname={text}")
    assert dialog_error(local_hostname=text) == f"local hostname: {expected}"


@pytest.mark.parametrize("text", BAD_TARGETS)
def test_a_bad_target(capsys, text):
    expected = message(values.target, text)
    assert f"smtpdbg: {expected}" in cli_error(capsys, "--target", text)
    shown = dialog_error(target=text)
    assert shown.startswith("target: ") and ("no spaces" in shown or "control characters" in shown)
    assert ("no spaces" in expected) == ("no spaces" in shown)


@pytest.mark.parametrize("text", ["99999", "-1", "x", "65536"])
def test_a_bad_port_in_the_sandbox_cli(capsys, text):
    from smtpdbg.sandbox.cli import main

    assert main([f"--port-smtp={text}"]) == 2
    assert f"argument --port-smtp: {message(values.port, text)}" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["nan", "inf", "3601", "-1", "x"])
def test_a_bad_delay_in_the_sandbox_cli(capsys, text):
    from smtpdbg.sandbox.cli import main

    assert main([f"--banner-delay={text}"]) == 2
    assert f"argument --banner-delay: {message(values.seconds, text, high=3600)}" in capsys.readouterr().err


def test_the_same_words_for_the_same_mistake():
    """A non-finite number is refused in the same words as a timeout, a delay or a script's sleep."""
    from smtpdbg.core.script import ScriptError, sleep_seconds

    assert message(values.timeout, "nan") == message(values.seconds, "nan", high=3600)
    with pytest.raises(ScriptError, match="from 0 to 604800"):
        sleep_seconds("nan", 1)
    assert values.target("mail.example.org:2525").port == 2525
    assert values.target("lmtp:///run/a socket").host == "/run/a socket"  # a path may hold spaces
