"""The REPL's completer (an adapter over the core engine), toolbar and history, without a terminal."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from smtpdbg.core.history import History
from smtpdbg.core.protocol import Stage
from smtpdbg.core.state import Features, SessionState
from smtpdbg.repl.completer import OTHER_STYLE, SessionCompleter
from smtpdbg.repl.history import NoHistory, SessionHistory
from smtpdbg.repl.toolbar import KEYS, hint_fragments, state_fragments

IDENTIFIED = SessionState(
    target="smtp://127.0.0.1:2525", connected=True, stage=Stage.IDENTIFIED, sandbox=True,
    features=Features(MappingProxyType({"auth": "PLAIN LOGIN", "size": "1000", "starttls": "", "pipelining": ""})),
)


def completions(text: str, state: SessionState = IDENTIFIED, cursor: int | None = None):
    document = Document(text, len(text) if cursor is None else cursor)
    return list(SessionCompleter(lambda: state).get_completions(document, CompleteEvent(completion_requested=True)))


@pytest.mark.parametrize(("text", "expected", "start"), [
    ("eh", ["ehlo", "ehlo_or_helo_if_needed"], -2),
    ("auth ", ["PLAIN", "LOGIN", "CRAM-MD5"], 0),
    ("auth PL", ["PLAIN"], -2),
    ("mail a@b SI", ["SIZE="], -2),
    ("save ", ["script", "text", "jsonl", "python", "swaks", "html"], 0),
    ("export js", ["jsonl"], -2),
    ("has_extn PIPE", ["PIPELINING"], -4),
    ("ehlo --ti", ["--timeout"], -4),
])
def test_candidates_replace_the_word_at_the_cursor(text, expected, start):
    found = completions(text)
    assert [c.text for c in found][:len(expected)] == expected or set(expected) <= {c.text for c in found}
    assert all(c.start_position == start for c in found)


def test_meaning_is_the_menu_meta_and_display_is_kept():
    found = {c.text: c for c in completions("auth ")}
    assert found["PLAIN"].display_meta_text == "advertised"
    option = completions("starttls --ce")[0]
    assert option.display_text == "--cert FILE" and "client certificate" in option.display_meta_text


def test_candidates_that_do_not_fit_the_session_are_dimmed_not_hidden():
    found = {c.text: c for c in completions("auth ")}
    assert found["CRAM-MD5"].style == OTHER_STYLE and found["PLAIN"].style == ""
    verbs = {c.text: c for c in completions("")}
    assert verbs["mail"].style == "" and verbs["data"].style == OTHER_STYLE


def test_completion_in_the_middle_of_a_line_uses_the_text_before_the_cursor():
    found = completions("auth PL alice", cursor=7)
    assert [c.text for c in found] == ["PLAIN"] and found[0].start_position == -2


def test_toolbar_shows_usage_what_is_next_and_the_state():
    assert hint_fragments("") == [("class:toolbar.keys", KEYS)]
    hint = "".join(text for _, text in hint_fragments("auth PLAIN "))
    assert "auth [--password-env NAME]" in hint and "next: USER" in hint
    unknown = "".join(text for _, text in hint_fragments("frobnicate x"))
    assert "unknown command" in unknown
    state = "".join(text for _, text in state_fragments(IDENTIFIED))
    assert "smtp://127.0.0.1:2525" in state and "no TLS" in state and "no auth" in state and "identified" in state
    assert len(state) <= 80  # the whole line survives an 80-column terminal
    assert len(KEYS) <= 80


def test_the_state_line_of_a_busy_session_fits_80_columns():
    from dataclasses import replace

    from smtpdbg.core.state import TlsInfo

    tls = TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, True, "mx.example.test", False, (), True)
    state = replace(IDENTIFIED, target="smtp://mail.example.org:587", tls=tls, authenticated=True, auth_user="alice",
                    auth_mechanism="PLAIN", stage=Stage.AUTHENTICATED)
    line = "".join(text for _, text in state_fragments(state))
    assert line == "● smtp://mail.example.org:587 │ TLS✓ TLSv1.3 │ alice (PLAIN) │ authenticated"
    assert len(line) <= 80


def test_the_lesson_line_names_the_command_before_the_step_title():
    from smtpdbg.core.lessons import find_lesson
    from smtpdbg.repl.lesson import LessonCoach

    line = "".join(text for _, text in LessonCoach(find_lesson("starttls")).toolbar())
    assert line.startswith("lesson starttls 1/4 │ try: ehlo client.example │ ")


def test_history_adapter_scrubs_and_persists_owner_only(tmp_path):
    path = tmp_path / "history"
    core = History(path)
    history = SessionHistory(core)
    history.append_string("ehlo")
    history.append_string("raw AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")
    assert list(history.get_strings())[-1] == "raw AUTH PLAIN ********"
    assert "AGFsaWNl" not in path.read_text() and (path.stat().st_mode & 0o777) == 0o600
    reloaded = SessionHistory(History(path))
    assert list(reloaded.load_history_strings()) == ["raw AUTH PLAIN ********", "ehlo"]
    nothing = NoHistory()
    nothing.append_string("wonderland")
    assert list(nothing.get_strings()) == []
