"""Tests for DATA body preparation (smtpdbg.core.wire): CRLF, dot-stuffing, head/tail.

RFC 5321 §4.5.2 (transparency) and §2.3.8 (lines end in CRLF; a bare CR or
LF must not end up on the wire, or a server that accepts them can be made to
see an end of data the client never meant: SMTP smuggling).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdbg.core.wire import Limits, PreparedBody, prepare_body, split_head_tail
from tests.fuzz import fuzz


def crlf_normalised(message: bytes) -> bytes:
    """The expected normalisation, written independently: every CR, LF or CRLF is one CRLF."""
    out = re.sub(rb"\r\n|\r|\n", b"\r\n", message)
    if out and not out.endswith(b"\r\n"):
        out += b"\r\n"
    return out


def unstuff(payload: bytes) -> bytes:
    lines = payload.split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


def has_bare_cr_or_lf(payload: bytes) -> bool:
    return re.search(rb"\r(?!\n)|(?<!\r)\n", payload) is not None


def ends_data_early(payload: bytes) -> bool:
    """A line consisting of a single "." anywhere in the payload."""
    return payload.startswith(b".\r\n") or b"\r\n.\r\n" in payload


# -- normalisation and stuffing ---------------------------------------------------------------
@pytest.mark.parametrize(("message", "payload", "stuffed"), [
    (b"", b"", 0),
    (b"a", b"a\r\n", 0),
    (b"a\r\nb\r\n", b"a\r\nb\r\n", 0),
    (b"a\nb\n", b"a\r\nb\r\n", 0),
    (b"a\rb\r", b"a\r\nb\r\n", 0),
    (b"a\r\nb\nc\rd", b"a\r\nb\r\nc\r\nd\r\n", 0),
    (b"a\r\r\n", b"a\r\n\r\n", 0),
    (b"a\n\r", b"a\r\n\r\n", 0),
    (b".", b"..\r\n", 1),
    (b".leading\r\n", b"..leading\r\n", 1),
    (b"x\r\n.\r\ny\r\n", b"x\r\n..\r\ny\r\n", 1),
    (b".a\n.b\r\n..c", b"..a\r\n..b\r\n...c\r\n", 3),
    (b"a.b\r\n .c\r\n", b"a.b\r\n .c\r\n", 0),
    ("héllo\n.é".encode(), "héllo\r\n..é\r\n".encode(), 1),
    ("str body\n", b"str body\r\n", 0),
])
def test_prepare_body(message, payload: bytes, stuffed: int) -> None:
    body = prepare_body(message)
    assert body == PreparedBody(payload, b".\r\n", stuffed)
    assert body.size == len(payload) + 3


@pytest.mark.parametrize("message", [
    b"x\r.\r\nMAIL FROM:<evil@x>\r\n",  # <CR>.<CRLF>
    b"x\n.\r\nMAIL FROM:<evil@x>\r\n",  # <LF>.<CRLF>
    b"x\r\n.\rMAIL FROM:<evil@x>\r\n",  # <CRLF>.<CR>
    b"x\r\n.\nMAIL FROM:<evil@x>\r\n",  # <CRLF>.<LF>
    b"x\n.\nMAIL FROM:<evil@x>\r\n",  # <LF>.<LF>
    b"x\r.\rMAIL FROM:<evil@x>\r\n",  # <CR>.<CR>
    b"x\r\n.\r\nMAIL FROM:<evil@x>\r\n",  # a plain end of data inside the message
])
def test_smuggling_sequences_cannot_end_data_early(message: bytes) -> None:
    body = prepare_body(message)
    assert not has_bare_cr_or_lf(body.payload)
    assert not ends_data_early(body.payload)
    assert body.stuffed == 1
    assert body.payload == b"x\r\n..\r\nMAIL FROM:<evil@x>\r\n"
    # on the wire, the only end of data is the terminator
    assert (body.payload + body.terminator).count(b"\r\n.\r\n") == 1


def test_prepare_body_does_not_copy_clean_input() -> None:
    message = b"Subject: x\r\n\r\nhello\r\n"
    assert prepare_body(message).payload is message


# -- properties ------------------------------------------------------------------------------
BODIES = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b".", b"..", b"a", b" ", b"\x00", b"\xff"]), max_size=40).map(b"".join),
)


@settings(max_examples=fuzz(200), deadline=None)
@given(BODIES)
def test_unstuffing_gives_back_the_normalised_input(message: bytes) -> None:
    body = prepare_body(message)
    assert unstuff(body.payload) == crlf_normalised(message)
    # every line that starts with a dot was stuffed, and stuffed counts them
    lines = body.payload.split(b"\r\n")
    assert all(line.startswith(b"..") for line in lines if line.startswith(b"."))
    assert body.stuffed == sum(1 for line in crlf_normalised(message).split(b"\r\n")[:-1] if line.startswith(b"."))


@settings(max_examples=fuzz(200), deadline=None)
@given(BODIES)
def test_payload_is_wire_safe(message: bytes) -> None:
    body = prepare_body(message)
    assert not has_bare_cr_or_lf(body.payload)
    assert not ends_data_early(body.payload)
    assert body.payload == b"" or body.payload.endswith(b"\r\n")
    assert body.terminator == b".\r\n"


@settings(max_examples=fuzz(200), deadline=None)
@given(BODIES)
def test_prepare_body_is_idempotent_after_unstuffing(message: bytes) -> None:
    once = prepare_body(message)
    assert prepare_body(unstuff(once.payload)) == once


# -- head / tail ------------------------------------------------------------------------------
def test_small_body_is_all_head() -> None:
    payload = b"Subject: x\r\n\r\nhello\r\n"
    assert split_head_tail(payload, Limits()) == ((b"Subject: x\r\n", b"\r\n", b"hello\r\n"), (), 0, 3)


def test_empty_body() -> None:
    assert split_head_tail(b"", Limits()) == ((), (), 0, 0)


def test_big_body_head_tail_omitted() -> None:
    payload = b"".join(b"line %d\r\n" % i for i in range(10))
    head, tail, omitted, count = split_head_tail(payload, Limits(body_head_lines=3, body_tail_lines=2))
    assert head == (b"line 0\r\n", b"line 1\r\n", b"line 2\r\n")
    assert tail == (b"line 8\r\n", b"line 9\r\n")
    assert (omitted, count) == (5, 10)


def test_big_by_bytes_is_summarised() -> None:
    payload = b"".join(b"%04d " % i + b"x" * 95 + b"\r\n" for i in range(50))  # 50 lines, 5 KB
    head, tail, omitted, count = split_head_tail(payload, Limits(body_keep_bytes=1024))
    assert count == 50
    assert 0 < len(head) < 50 and 0 < len(tail)
    assert len(head) + len(tail) + omitted == count
    assert sum(map(len, head)) + sum(map(len, tail)) <= 1024 + 2 * 102
    assert head[0].startswith(b"0000 ") and tail[-1].startswith(b"0049 ")


def test_long_lines_are_cut() -> None:
    payload = b"A" * 5000 + b"\r\n" + b"".join(b"l%d\r\n" % i for i in range(30))
    head, tail, omitted, count = split_head_tail(payload, Limits(body_head_lines=2, body_tail_lines=2, max_line=100))
    assert head[0] == b"A" * 100
    assert len(head) + len(tail) + omitted == count == 31


@settings(max_examples=fuzz(200), deadline=None)
@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")), max_size=60),
       st.integers(0, 6), st.integers(0, 6), st.integers(1, 600), st.integers(1, 60))
def test_head_tail_counts_add_up(lines: list[bytes], head_lines: int, tail_lines: int, keep: int, max_line: int) -> None:
    payload = prepare_body(b"\r\n".join(lines)).payload
    limits = Limits(body_head_lines=head_lines, body_tail_lines=tail_lines, body_keep_bytes=keep, max_line=max_line)
    head, tail, omitted, count = split_head_tail(payload, limits)
    assert count == payload.count(b"\r\n")
    assert len(head) + len(tail) + omitted == count
    assert omitted >= 0
    if omitted:
        assert len(head) <= head_lines and len(tail) <= tail_lines
        assert all(len(line) <= max_line for line in head + tail)
    else:
        assert b"".join(head + tail) == payload or max_line < max((len(line) + 2 for line in lines), default=0)
