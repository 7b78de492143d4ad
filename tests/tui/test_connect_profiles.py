"""The connect dialog lists the config file's profiles; picking one fills the fields and names the password source."""

from __future__ import annotations

from textual.widgets import Checkbox, Input, OptionList, RadioButton, Select

from smtpdbg.core import SessionOptions, Target
from smtpdbg.core.history import History
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.screens.connect import ConnectScreen
from tests.tui.conftest import wait_for
from tests.tui.fakes import FakeSession

CONFIG = """
[profiles.lab]
target = "lab.example.test:2525"
tls = "starttls"
insecure = true
user = "alice"
password_from = "env:LAB_PASSWORD"

[profiles.submission]
target = "mail.example.test:465"
tls = "tls-on-connect"
verify_name = "mx.example.test"
"""


def app_with_config(tmp_path, monkeypatch, text: str | None) -> SmtpdbgApp:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("SMTPDBG_CONFIG", raising=False)
    if text is not None:
        path = tmp_path / "config" / "smtpdbg" / "config.toml"
        path.parent.mkdir(parents=True)
        path.write_text(text)
    return SmtpdbgApp(Target("smtp", "mx.example.test", 25), SessionOptions(local_hostname="client.smtpdbg.test"),
                      session_factory=FakeSession, latency=False, startup=("connect",),
                      history=History(tmp_path / "history"))


async def open_dialog(app, pilot) -> ConnectScreen:
    await wait_for(pilot, lambda: len(app.outcomes) >= 1, what="startup")
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(app.screen, ConnectScreen) and app.screen.query("#target"), what="dialog")
    return app.screen


async def test_the_dialog_lists_the_profiles_and_one_fills_the_fields(tmp_path, monkeypatch):
    app = app_with_config(tmp_path, monkeypatch, CONFIG)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_dialog(app, pilot)
        select = screen.query_one("#profile", Select)
        await pilot.click("#profile")  # the list opens, as a user sees it
        await wait_for(pilot, lambda: select.expanded, what="list open")
        overlay = select.query_one(OptionList)
        listed = [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)][1:]  # after the blank
        assert [text.split()[0] for text in listed] == ["lab", "submission"]
        assert "UNVERIFIED TLS" in listed[0] and "user alice (env)" in listed[0]
        await pilot.press("escape")
        select.value = "submission"
        await wait_for(pilot, lambda: screen.query_one("#target", Input).value == "smtps://mail.example.test:465",
                       what="fields filled")
        assert screen.query_one("#transport-smtps", RadioButton).value
        select.value = "lab"
        await wait_for(pilot, lambda: screen.query_one("#target", Input).value == "lab.example.test:2525", what="lab")
        assert screen.query_one("#starttls", Checkbox).value and not screen.query_one("#verify", Checkbox).value
        await pilot.click("#connect")
        await wait_for(pilot, lambda: len(app.sessions) == 2, what="new session")
        assert app.target == Target("smtp", "lab.example.test", 2525)
        assert app.options.password_env == "LAB_PASSWORD" and app.options.insecure


async def test_a_config_with_a_password_is_refused_in_the_dialog(tmp_path, monkeypatch):
    app = app_with_config(tmp_path, monkeypatch, '[profiles.lab]\ntarget = "h"\npassword = "hunter2"\n')
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_dialog(app, pilot)
        shown = str(screen.query_one("#profile-error").render())
        assert "keeps no secrets" in shown and "hunter2" not in shown
        assert not screen.query("#profile")


async def test_no_profile_row_without_a_config_file(tmp_path, monkeypatch):
    app = app_with_config(tmp_path, monkeypatch, None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_dialog(app, pilot)
        assert not screen.query("#profile") and not screen.query("#profile-error")
