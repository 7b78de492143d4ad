"""Profiles: the config file's location, its checks (no password in it), password sources, and runs that use one."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

from smtpdbg.cli import main
from tests.conftest import capped_memory, repo_env
from smtpdbg.core.profiles import (
    PASSWORD_VARIABLE, Profile, ProfileError, config_path, credentials, find_profile, load_profiles,
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A temporary HOME with no config in the environment: the XDG default location is under it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_CONFIG_HOME", "SMTPDBG_CONFIG", "NETRC", PASSWORD_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def write_config(home, text: str) -> str:
    path = home / ".config" / "smtpdbg" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_the_config_is_found_at_the_xdg_locations(home, monkeypatch) -> None:
    assert config_path() == str(home / ".config" / "smtpdbg" / "config.toml")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg"))
    assert config_path() == str(home / "xdg" / "smtpdbg" / "config.toml")
    monkeypatch.setenv("SMTPDBG_CONFIG", str(home / "elsewhere.toml"))
    assert config_path() == str(home / "elsewhere.toml")
    assert config_path(str(home / "given.toml")) == str(home / "given.toml")
    assert load_profiles() == {}  # no file: no profiles, no error


def test_a_profile_is_read_with_its_tls_options(home) -> None:
    write_config(home, """
        [profiles.work]
        target = "mail.example.org:465"
        tls = "tls-on-connect"
        ca = "~/corp-ca.pem"
        verify_name = "mx.example.org"
        user = "alice"
        password_from = "env:WORK_PASSWORD"
        [profiles.lab]
        target = "127.0.0.1:2525"
        insecure = true
    """)
    work = find_profile("work")
    assert work.target_text() == "smtps://mail.example.org:465"
    assert work.ca == str(home / "corp-ca.pem") and work.verify_name == "mx.example.org"
    assert credentials(work).password_env == "WORK_PASSWORD" and credentials(work).password is None
    assert "UNVERIFIED" in find_profile("lab").summary
    assert Profile("mx", target="mx:example.org", tls="tls-on-connect").target_text() == "mx:example.org"
    assert find_profile("lab").startup("smtp") is None and work.startup("smtps") is None
    assert Profile("s", target="h", tls="starttls").startup("smtp") == ("connect", "ehlo", "starttls", "ehlo")
    with pytest.raises(ProfileError, match="no profile 'home'.*lab, work"):
        find_profile("home")


@pytest.mark.parametrize("text", [
    '[profiles.work]\ntarget = "h"\npassword = "hunter2"\n',
    '[profiles.work]\ntarget = "h"\n[profiles.work.auth]\npass = "hunter2"\n',
    'password = "hunter2"\n',
])
def test_a_config_holding_a_password_is_refused(home, capsys, text) -> None:
    write_config(home, text)
    with pytest.raises(ProfileError, match="keeps no secrets") as error:
        load_profiles()
    assert "hunter2" not in str(error.value)
    with pytest.raises(SystemExit) as exited:
        main(["run", "/dev/null", "--profile", "work"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "keeps no secrets" in err and "password_from" in err and "hunter2" not in err


@pytest.mark.parametrize("text, message", [
    ('[profiles.w]\ntls = "always"\n', "use one of starttls"),
    ('[profiles.w]\npassword_from = "file:/x"\n', "password_from"),
    ('[profiles.w]\nport = 25\n', "unknown key 'port'"),
    ('[profiles.w\n', "not valid TOML"),
])
def test_wrong_values_are_named(home, text, message) -> None:
    write_config(home, text)
    with pytest.raises(ProfileError, match=message):
        load_profiles()


def test_the_password_comes_from_a_netrc_file_in_home(home) -> None:
    netrc = home / ".netrc"
    netrc.write_text("machine mail.example.org login alice password s3cret-from-netrc\n")
    netrc.chmod(0o600)
    write_config(home, '[profiles.work]\ntarget = "mail.example.org:587"\npassword_from = "netrc"\n')
    creds = credentials(find_profile("work"))
    assert (creds.user, creds.password_env, creds.password) == ("alice", PASSWORD_VARIABLE, "s3cret-from-netrc")
    write_config(home, '[profiles.work]\ntarget = "other.example.org"\npassword_from = "netrc"\n')
    with pytest.raises(ProfileError, match="no password for machine 'other.example.org'"):
        credentials(find_profile("work"))


def test_the_password_comes_from_the_keyring_when_installed(home) -> None:
    write_config(home, '[profiles.work]\ntarget = "h"\nuser = "alice"\npassword_from = "keyring"\n')
    profile = find_profile("work")
    if importlib.util.find_spec("keyring") is None:
        with pytest.raises(ProfileError, match="needs the keyring package"):
            credentials(profile)
        pytest.skip("the optional keyring package is not installed: only its absence is checked")
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1

        def __init__(self) -> None:
            super().__init__()
            self.entries: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self.entries.get((service, username))

        def set_password(self, service, username, password):
            self.entries[service, username] = password

        def delete_password(self, service, username):
            self.entries.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        with pytest.raises(ProfileError, match="holds no password for service 'smtpdbg', user 'alice'"):
            credentials(profile)
        keyring.set_password("smtpdbg", "alice", "from-the-keyring")
        creds = credentials(profile)
        assert (creds.user, creds.password_env, creds.password) == ("alice", PASSWORD_VARIABLE, "from-the-keyring")
    finally:
        keyring.set_keyring(previous)


def sandbox_profile(home, endpoints, name: str, password_from: str, extra: str = "") -> None:
    """A profile for the test sandbox: STARTTLS with its CA, its demo user, the password from ``password_from``."""
    host, port = endpoints.smtp
    write_config(home, f'[profiles.{name}]\ntarget = "{host}:{port}"\ntls = "starttls"\nca = "{endpoints.ca_path}"\n'
                       f'user = "{endpoints.user}"\npassword_from = "{password_from}"\n{extra}')


def test_run_against_the_sandbox_with_a_profile(home, sandbox, endpoints, tmp_path) -> None:
    host = endpoints.smtp[0]
    netrc = home / ".netrc"
    netrc.write_text(f"machine {host} login {endpoints.user} password {endpoints.password}\n")
    netrc.chmod(0o600)
    sandbox_profile(home, endpoints, "sandbox", "netrc", 'local_hostname = "client.smtpdbg.test"\ntimeout = 10\n')
    script = tmp_path / "s.smtp"
    script.write_text(f"ehlo\nstarttls\nehlo\nlogin {endpoints.user}\nexpect 235\nquit\n")
    env = {**repo_env(), "HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(script), "--profile", "sandbox", "--color", "never"],
                          capture_output=True, text=True, env=env, timeout=60)
    out, err = done.stdout, done.stderr
    assert done.returncode == 0, out + err
    assert "235" in out and "ehlo client.smtpdbg.test" in out.lower()
    assert endpoints.password not in out + err


def test_send_takes_server_tls_and_auth_from_a_profile(home, capsys, sandbox, endpoints, monkeypatch) -> None:
    monkeypatch.setenv("LAB_PASSWORD", endpoints.password)
    sandbox_profile(home, endpoints, "lab", "env:LAB_PASSWORD")
    code = main(["send", "bob@example.org", "--profile", "lab", "--from", "alice@example.org", "--timeout", "10"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "STARTTLS" in out and "235" in out and endpoints.password not in out + err
    [message] = sandbox.wait_for_messages(1)
    assert message.rcpt_tos == ("bob@example.org",)


def test_no_config_is_read_without_profile(home, monkeypatch) -> None:
    write_config(home, 'password = "x"\n')  # would be refused if read
    from smtpdbg.cli_options import apply_profile
    import argparse

    assert apply_profile(argparse.Namespace(profile=None)) is None
    assert os.path.exists(config_path())


def test_a_piped_command_does_not_inherit_a_profile_password(home, capsys, monkeypatch) -> None:
    monkeypatch.setenv(PASSWORD_VARIABLE, "read-from-netrc")
    monkeypatch.setenv("OTHER_VARIABLE", "kept")
    command = (f"{sys.executable} -c \"import os, sys; sys.stdout.write('220 ' + str(sorted(set(os.environ) & "
               f"{{'{PASSWORD_VARIABLE}', 'OTHER_VARIABLE'}})) + '\\r\\n'); sys.stdout.flush(); sys.stdin.readline()\"")
    main(["send", "--pipe", command, "--quit-after", "banner", "--timeout", "10", "--color", "never"])
    out = capsys.readouterr().out
    assert "220 ['OTHER_VARIABLE']" in out, out



def test_a_device_as_the_config_file_is_refused_at_once(tmp_path):
    (tmp_path / "s.smtp").write_text("ehlo\n")
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(tmp_path / "s.smtp"), "--config", "/dev/zero",
                           "--profile", "x", "-t", "127.0.0.1:9"], env=repo_env(), capture_output=True, text=True,
                          timeout=60, preexec_fn=capped_memory)
    assert done.returncode == 2, done.stderr
    assert "config file /dev/zero: binary data" in done.stderr and "internal error" not in done.stderr
