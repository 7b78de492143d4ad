"""History: persisted, owner-only, deduplicated, and never holding an AUTH payload."""

from __future__ import annotations

import base64
import stat

import pytest

from smtpdbg.core.history import ExchangeScrubber, History, scrub


def test_history_persists_across_instances_with_private_permissions(tmp_path):
    path = tmp_path / "state" / "history"
    history = History(path)
    history.append("ehlo example.org")
    history.append("ehlo example.org")
    history.append("noop")
    assert History(path).entries == ["ehlo example.org", "noop"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


PAYLOAD = base64.b64encode(b"\0alice\0secret-password").decode()


@pytest.mark.parametrize(
    "line, expected",
    [
        (f"raw AUTH PLAIN {PAYLOAD}", "raw AUTH PLAIN ********"),
        (f"raw --replies 1 auth plain {PAYLOAD}", "raw --replies 1 auth plain ********"),
        (f"docmd AUTH PLAIN {PAYLOAD}", "docmd AUTH PLAIN ********"),
        (f"raw {PAYLOAD}", "raw ********"),
        ("raw AUTH LOGIN", "raw AUTH LOGIN"),
        ("auth PLAIN alice", "auth PLAIN alice"),
        ("mail alice@example.org", "mail alice@example.org"),
    ],
)
def test_scrub_masks_hand_typed_auth_payloads(line, expected):
    assert scrub(line) == expected


def test_stored_history_never_holds_the_payload(tmp_path):
    path = tmp_path / "history"
    History(path).append(f"raw AUTH PLAIN {PAYLOAD}")
    assert PAYLOAD not in path.read_text()


def test_search_newest_first(tmp_path):
    history = History(tmp_path / "h")
    for line in ("ehlo a", "noop", "ehlo b", "ehlo a"):
        history.append(line)
    assert history.search("ehlo") == ["ehlo a", "ehlo b"]


def test_unwritable_location_does_not_fail(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    history = History(blocker / "sub" / "history")
    history.append("noop")
    assert history.entries == ["noop"] and history.persist is False


@pytest.mark.parametrize(("lines", "masked"), [
    # a local command between the 334 and the hand-typed answer does not end the AUTH exchange
    (["docmd AUTH LOGIN", "show", "explain 334", "timeout 30", "docmd YWxpY2U=", "docmd d29uZGVybGFuZA=="], {4, 5}),
    # a command that talks to the server does
    (["docmd AUTH LOGIN", "noop", "docmd c2VjcmV0"], set()),
    # an AUTH line typed in three pieces
    (["raw --no-crlf --replies 0 A", "raw --no-crlf --replies 0 UT", "raw H PLAIN AGFsaWNlAHdvbmRlcmxhbmQ="], {2}),
])
def test_the_exchange_scrubber_follows_what_went_on_the_wire(lines, masked):
    scrubber = ExchangeScrubber()
    shown = [scrubber(line) for line in lines]
    assert {i for i, line in enumerate(shown) if line.endswith(" ********")} == masked, shown
