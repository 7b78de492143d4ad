"""Files owner-only whatever existed before: key log, history, log, exports; directories 0700.

Each file is tried three ways: created new (under a permissive umask), an
existing world-readable one of the user's (tightened to 0600 before anything
is written), and one that belongs to another user (refused with a clear
error, and not truncated).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from smtpdbg.core import Session, SessionOptions, Target
from smtpdbg.core.export import Recording, export
from smtpdbg.core.files import check_private, open_private
from smtpdbg.core.history import History
from smtpdbg.core.log import SessionLog
from smtpdbg.core.tls import build_context

from tests.conftest import repo_env

OTHER_UID = 54321


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def foreign(tmp_path, monkeypatch):
    """A file that belongs to another user: really (as root), or as smtpdbg sees it (its owner check)."""
    path = tmp_path / "someone-elses"
    path.write_text("their data\n")
    os.chmod(path, 0o666)
    if os.geteuid() == 0:
        os.chown(path, OTHER_UID, OTHER_UID)
    else:
        uid = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: uid + 1)
    return path


def world_readable(path) -> str:
    path.write_text("old contents\n")
    os.chmod(path, 0o644)
    return str(path)


# -- the primitive ------------------------------------------------------------------------------------------
def test_open_private_creates_tightens_and_refuses(tmp_path, foreign):
    fresh = tmp_path / "fresh"
    os.close(open_private(fresh))
    assert mode(fresh) == 0o600
    old = world_readable(tmp_path / "old")
    os.close(open_private(old))
    assert mode(old) == 0o600 and open(old).read() == "old contents\n"
    with pytest.raises(PermissionError, match="belongs to another user"):
        open_private(foreign, os.O_WRONLY, truncate=True)
    assert foreign.read_text() == "their data\n"  # refused before anything was truncated


def test_special_files_keep_their_mode():
    before = mode("/dev/null")
    os.close(open_private("/dev/null"))
    assert mode("/dev/null") == before


# -- TLS key log ------------------------------------------------------------------------------------------
def test_an_existing_world_readable_keylog_is_tightened(tmp_path, endpoints):
    keylog = world_readable(tmp_path / "keys.log")
    build_context(keylog=keylog)
    assert mode(keylog) == 0o600
    host, port = endpoints.smtp
    options = SessionOptions(timeout=5, ca=endpoints.ca_path, tls_keylog=keylog, local_hostname="client.test")
    with Session(Target("smtp", host, port, sandbox=True), options) as session:
        session.execute("connect")
        assert session.execute("starttls").ok
    assert "CLIENT_" in open(keylog).read() or "SERVER_" in open(keylog).read()
    assert mode(keylog) == 0o600


def test_a_keylog_of_another_user_is_refused(foreign):
    with pytest.raises(PermissionError, match="belongs to another user"):
        build_context(keylog=str(foreign))


# -- history ----------------------------------------------------------------------------------------------
def test_history_file_and_directory(tmp_path, foreign):
    path = tmp_path / "new" / "dir" / "history"
    History(path).append("noop")
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    old = tmp_path / "old-history"
    world_readable(old)
    History(old).append("noop")
    assert mode(old) == 0o600 and old.read_text() == "old contents\nnoop\n"
    history = History(foreign)
    history.append("rset")
    assert history.persist is False and foreign.read_text() == "their data\n"


def test_the_default_history_directory_is_tightened(tmp_path, monkeypatch):
    monkeypatch.delenv("SMTPDBG_HISTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    (tmp_path / "smtpdbg").mkdir(mode=0o755)
    os.chmod(tmp_path / "smtpdbg", 0o755)  # made by an older smtpdbg
    os.chmod(tmp_path, 0o755)
    History().append("noop")
    assert mode(tmp_path / "smtpdbg") == 0o700 and mode(tmp_path / "smtpdbg" / "history") == 0o600
    assert mode(tmp_path) == 0o755  # the state directory above is the user's: left alone


# -- the session log -----------------------------------------------------------------------------------------
def test_an_existing_world_readable_log_is_tightened(tmp_path, foreign):
    log = world_readable(tmp_path / "session.log")
    SessionLog(log).close()
    assert mode(log) == 0o600 and open(log).read() == "old contents\n"
    with pytest.raises(PermissionError, match="belongs to another user"):
        SessionLog(str(foreign))


@pytest.mark.parametrize("flag", ["--log", "--tls-keylog"])
def test_the_cli_refuses_another_users_file_and_tightens_ones_own(tmp_path, flag):
    own = world_readable(tmp_path / "own.txt")
    script = tmp_path / "script.txt"
    script.write_text("noop\n")
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(script), "--target", "127.0.0.1:9", flag, own,
                           "--timeout", "2"], capture_output=True, text=True, env=repo_env(), timeout=60)
    assert "Traceback" not in done.stderr
    assert mode(own) == 0o600
    if os.geteuid() != 0:
        return  # making a file another user's takes root
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("x")
    os.chown(theirs, OTHER_UID, OTHER_UID)
    done = subprocess.run([sys.executable, "-m", "smtpdbg", "run", str(script), "--target", "127.0.0.1:9", flag,
                           str(theirs)], capture_output=True, text=True, env=repo_env(), timeout=60)
    assert done.returncode == 2 and "belongs to another user" in done.stderr and "Traceback" not in done.stderr


# -- exports -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "jsonl", "python", "swaks", "html", "script"])
def test_exports_replace_and_tighten_an_existing_file(tmp_path, session, fmt, foreign):
    session.execute("ehlo")
    recording = Recording.from_session(session)
    path = world_readable(tmp_path / f"export.{fmt}")
    export(fmt, recording, path)
    assert mode(path) == 0o600 and "old contents" not in open(path).read()
    with pytest.raises(PermissionError, match="belongs to another user"):
        export(fmt, recording, str(foreign))
    assert foreign.read_text() == "their data\n"


def test_save_reports_another_users_file_cleanly(session, foreign):
    outcome = session.execute(f"save text {foreign}")
    assert outcome.category == "command" and "belongs to another user" in outcome.message
    assert foreign.read_text() == "their data\n"


def test_check_private_is_what_the_cli_uses(tmp_path):
    path = world_readable(tmp_path / "x")
    check_private(path)
    assert mode(path) == 0o600
