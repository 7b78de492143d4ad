"""The core's script reader and interpreter in process: streaming, bounded lines, bounded memory, the
retention of a long script's transcript, the log's write errors."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from smtpdbg.core.events import CommandStart, Error, Info, InfoKind, StateChange, Wire
from smtpdbg.core.interp import Interpreter
from smtpdbg.core.retention import ScriptTranscript
from smtpdbg.core.script import Expectation, ScriptError, ScriptReader, Step, check_script, encode_body, read_lines
from smtpdbg.core.session import Session, SessionOptions
from smtpdbg.core.target import Target


def items(text: str, environ=None) -> list:
    reader = ScriptReader(read_lines(io.BytesIO(text.encode())), environ or {})
    out = []
    while (item := reader.next()) is not None:
        out.append(item)
    return out


def test_the_reader_yields_commands_messages_expectations_and_directives():
    got = items("# c\r\n\r\nehlo\r\nexpect 250\r\ndata\r\nSubject: x\r\n\r\n.hi\r\n.\r\nsleep 0.5\r\npause now\r\nbye\r\n")
    ehlo, expect, data, sleep, pause, end = got
    assert (ehlo.text, ehlo.line) == ("ehlo", 3) and isinstance(expect, Expectation) and expect.value == "250"
    assert data.body == b"Subject: x\r\n\r\n.hi\r\n" and data.line == 5
    assert (sleep.directive, sleep.seconds) == ("sleep", 0.5) and (pause.directive, pause.text) == ("pause", "now")
    assert end.directive == "end"


def test_the_reader_reads_only_what_it_needs():
    """A live pipe: each item is returned as soon as its lines are in, nothing is read ahead."""
    consumed = []

    def lines():
        for line in ("noop\n", "expect 250\n", "rset\n"):
            consumed.append(line)
            yield line

    reader = ScriptReader(lines(), {})
    assert reader.next().text == "noop" and len(consumed) == 1
    assert isinstance(reader.next(), Expectation) and len(consumed) == 2


@pytest.mark.parametrize(("text", "line", "words"), [
    ("noop\nsleep inf\n", 2, "sleep needs a number of seconds from 0 to 604800, not 'inf'"),
    ("noop\nsleep 1e400\n", 2, "not '1e400'"),
    ("noop\nsleep -1\n", 2, "not '-1'"),
    ("noop\nsleep nan\n", 2, "not 'nan'"),
    ("noop\nsleep 1e10\n", 2, "not '1e10'"),
    ("expect 250\n", 1, "expect must follow a command"),
    ("sleep 1\nexpect 250\n", 2, "expect must follow a command"),
    ("noop\nexpect 999\n", 2, "expect takes a code"),
    ("mail ${NOPE_NOT_SET}\n", 1, "${NOPE_NOT_SET} is not set"),
    ("data\nSubject: x\n", 1, "has no ending line with a single '.'"),
    ("frobnicate\n", 1, "unknown command 'frobnicate'"),
])
def test_bad_lines_name_their_line(text, line, words):
    with pytest.raises(ScriptError) as error:
        check_script(read_lines(io.BytesIO(text.encode())), {})
    assert error.value.line == line and words in str(error.value)


def test_a_bad_line_is_consumed_and_reading_goes_on():
    reader = ScriptReader(["frobnicate\n", "expect 250\n", "noop\n"], {})
    with pytest.raises(ScriptError) as error:
        reader.next()
    assert error.value.kind == "command"
    assert isinstance(reader.next(), Expectation)  # it belongs to the bad command (the interpreter ignores it)
    assert reader.next().text == "noop"


@pytest.mark.parametrize(("data", "words"), [
    (b"noop\n" + b"\0" * 10, "line 2: holds a NUL byte"),
    (b"noop\n\xc3\x28\n", "line 2: is not UTF-8 text"),
    (b"x" * 100, "line 1: longer than 64 bytes"),
])
def test_a_stream_that_is_not_text_stops_the_reading(data, words):
    reader = ScriptReader(read_lines(io.BytesIO(data), max_line=64), {})
    with pytest.raises(ScriptError, match=words):
        while reader.next() is not None:
            pass
    assert reader.broken and reader.next() is None


def test_an_endless_line_is_refused_after_reading_at_most_the_cap():
    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = b"a" * len(buffer)
            Endless.read_bytes += len(buffer)
            return len(buffer)

    with pytest.raises(ScriptError, match="longer than 65536 bytes"):
        list(read_lines(io.BufferedReader(Endless())))
    assert Endless.read_bytes < 1024 * 1024


def test_encode_body():
    assert encode_body([]) == b""
    assert encode_body(["Subject: é", "", "hi"]) == "Subject: é\r\n\r\nhi\r\n".encode()


# -- the transcript of a long script ----------------------------------------------------------------
def test_state_snapshots_are_passed_on_but_not_kept():
    transcript = ScriptTranscript()
    seen = []
    transcript.subscribe(seen.append)
    session = Session(None, transcript=transcript)
    try:
        session.execute("has_extn STARTTLS")
    finally:
        session.shutdown()
    assert any(isinstance(event, StateChange) for event in seen)
    assert not any(isinstance(event, StateChange) for event in transcript.snapshot())
    assert [event.seq for event in seen] == sorted({event.seq for event in seen})


def test_past_the_limit_local_commands_are_shown_but_not_kept(make_session, endpoints):
    transcript = ScriptTranscript(keep_commands=3)
    host, port = endpoints.smtp
    session = Session(Target("smtp", host, port), SessionOptions(timeout=10), transcript=transcript)
    shown = []
    session.subscribe(shown.append)
    try:
        for command in ("connect", "ehlo", "has_extn SIZE", "has_extn SIZE", "noop", "has_extn SIZE",
                        "show nothing-like-this", "has_extn SIZE"):
            session.execute(command)
    finally:
        session.shutdown()
    kept = [event.text for event in transcript.snapshot() if isinstance(event, CommandStart)]
    assert kept == ["connect", "ehlo", "has_extn SIZE", "noop", "show nothing-like-this"]  # an error is kept
    assert sum(isinstance(e, CommandStart) for e in shown) == 8  # everything was shown
    notices = [e.text for e in transcript.snapshot() if isinstance(e, Info) and "not kept" in e.text]
    assert len(notices) == 1 and "over 3 commands" in notices[0]
    assert any(isinstance(e, Wire) and e.data.upper().startswith(b"NOOP") for e in transcript.snapshot())
    assert transcript.dropped_commands == 3


def test_since_gives_every_kept_event_after_a_sequence_number(endpoints):
    """Events held back with a local command and kept later stay in order: since() is a binary search over them."""
    transcript = ScriptTranscript(keep_commands=2)
    host, port = endpoints.smtp
    session = Session(Target("smtp", host, port), SessionOptions(timeout=10), transcript=transcript)
    try:
        for command in ("connect", "ehlo", "has_extn SIZE", "noop", "show nothing-like-this", "has_extn SIZE",
                        "noop", "rset"):
            session.execute(command)
    finally:
        session.shutdown()
    kept = transcript.snapshot()
    seqs = [event.seq for event in kept]
    assert seqs == sorted(seqs) and transcript.dropped_commands == 2
    for seq in range(0, seqs[-1] + 2):
        assert transcript.since(seq) == [event for event in kept if event.seq > seq], seq


class _Counted:
    """An event stand-in that counts how often its sequence number is read."""

    reads = 0

    def __init__(self, seq: int) -> None:
        self._seq = seq

    @property
    def seq(self) -> int:
        _Counted.reads += 1
        return self._seq


def test_the_events_since_a_command_started_are_found_without_a_scan_of_the_whole_run():
    """``Session`` asks for a command's events after every command: a scan of everything kept made a long
    run quadratic (30,000 NOOPs took 122 s)."""
    transcript = ScriptTranscript()
    for index in range(1, 20_001):
        transcript.add(Info, kind=InfoKind.INFO, text=f"event {index}")
    transcript._events = [_Counted(event.seq) for event in transcript._events]  # noqa: SLF001 - counts the reads
    _Counted.reads = 0
    assert [event.seq for event in transcript.since(19_997)] == [19_998, 19_999, 20_000]
    assert _Counted.reads < 100, _Counted.reads


def _growth(session: Session, count: int, checkpoints: tuple[int, int], command: str = "has_extn STARTTLS") -> float:
    """Bytes traced per command between two points of one run of ``count`` commands (local ones by default)."""
    marks = {}

    def lines():
        yield "ehlo\n"
        for index in range(count):
            if index in checkpoints:
                marks[index] = tracemalloc.get_traced_memory()[0]
            yield f"{command}\n"
            yield "# a comment\n"

    tracemalloc.start()
    try:
        result = Interpreter(session, environ={}, keep_going=True).run(lines())
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0 and result.commands == count + 2
    first, last = checkpoints
    return (marks[last] - marks[first]) / (last - first)


def test_memory_does_not_grow_with_the_number_of_commands(endpoints):
    """The interpreter keeps no step or outcome and the transcript no local command past its limit: a
    million-line script then runs in constant memory (before: ~3.8 KB a command, never released)."""
    host, port = endpoints.smtp
    session = Session(Target("smtp", host, port), SessionOptions(timeout=10),
                      transcript=ScriptTranscript(keep_commands=500))
    try:
        per_command = _growth(session, 6000, (1000, 5500))
    finally:
        session.shutdown()
    assert per_command < 50, per_command


@pytest.fixture
def small_memory(monkeypatch):
    """A transcript that keeps 400 events in memory and sends older ones to disk 200 at a time."""
    from smtpdbg.core import retention

    monkeypatch.setattr(retention, "HOT", 400)
    monkeypatch.setattr(retention, "CHUNK", 200)


def test_commands_that_go_on_the_wire_do_not_grow_memory_either(endpoints, small_memory):
    """Past the events kept in memory, a long script's events go to disk: a NOOP costs only its ledger-free
    bookkeeping (it was ~1.5-2.5 KB a command, a million NOOPs over a gigabyte)."""
    host, port = endpoints.smtp
    session = Session(Target("smtp", host, port), SessionOptions(timeout=10), transcript=ScriptTranscript())
    try:
        per_command = _growth(session, 3000, (1000, 2900), command="noop")
    finally:
        session.shutdown()
    assert per_command < 200, per_command


def test_events_sent_to_disk_come_back_whole_and_in_order(endpoints, small_memory):
    transcript = ScriptTranscript()
    host, port = endpoints.smtp
    session = Session(Target("smtp", host, port), SessionOptions(timeout=10), transcript=transcript)
    try:
        for command in ("connect", "ehlo", "mail a@example.org", "rcpt b@example.org", "rset"):
            session.execute(command)
        for _ in range(300):
            session.execute("noop")
        assert session.execute("mail a@example.org").ok and session.execute("rcpt c@example.org").ok
        assert session.execute("data", body=b"Subject: late\r\n\r\nhi\r\n").ok
    finally:
        session.shutdown()
    kept = transcript.snapshot()
    assert len(transcript) == len(kept) > 1000 and len(transcript._spill) > 0  # noqa: SLF001 - some went to disk
    seqs = [event.seq for event in kept]
    assert seqs == sorted(set(seqs))
    assert [e.data for e in kept if isinstance(e, Wire)][:2] == [e.data for e in kept[:40] if isinstance(e, Wire)][:2]
    for index in (0, 5, len(kept) // 2, -1):
        assert transcript[index] == kept[index]
    for seq in (0, seqs[10], seqs[len(seqs) // 2], seqs[-3]):
        assert transcript.since(seq) == [event for event in kept if event.seq > seq], seq
    numbers = sorted(transcript.transactions)
    assert [transcript.transactions[n].recipients[-1].fate.value for n in numbers][-1] == "accepted"


def test_the_result_lists_the_first_problems_and_counts_the_rest(endpoints):
    host, port = endpoints.smtp
    session = Session(Target("smtp", host, port), SessionOptions(timeout=10), transcript=ScriptTranscript())
    try:
        result = Interpreter(session, environ={}, keep_going=True).run(["noop\n", "expect 5xx\n"] * 150)
    finally:
        session.shutdown()
    assert result.mismatch_count == 150 and len(result.mismatches) == 100 and result.exit_code == 12


# -- the log ----------------------------------------------------------------------------------------
def test_a_log_that_cannot_be_written_says_so_once_in_the_transcript(tmp_path):
    session = Session(None, SessionOptions(log="/dev/full"))
    try:
        session.execute("has_extn SIZE")
        session.execute("has_extn SIZE")
    finally:
        session.shutdown()
    errors = [e for e in session.transcript.snapshot() if isinstance(e, Error)]
    assert [e.category for e in errors] == ["log"]
    assert errors[0].message == "--log /dev/full: cannot write (No space left on device); the log is incomplete from here"


def test_a_short_write_is_completed(tmp_path, monkeypatch):
    """A disk that takes a few bytes at a time: every byte still reaches the log, in order."""
    import os

    from smtpdbg.core import log

    written = []
    real = os.write

    def dribble(fd, data):
        written.append(bytes(data[:5]))
        return real(fd, bytes(data[:5]))

    path = tmp_path / "log"
    session_log = log.SessionLog(str(path))
    monkeypatch.setattr(log.os, "write", dribble)
    session_log(Info(seq=1, mono=0.0, wall=0.0, kind=InfoKind.INFO, text="a line longer than five bytes"))
    session_log.close()
    assert path.read_text().endswith("a line longer than five bytes\n") and len(written) > 2


def test_a_script_step_label_never_holds_a_substituted_secret():
    [step] = items("raw AUTH PLAIN ${PAYLOAD}\n", {"PAYLOAD": "AGFsaWNlAHdvbmRlcmxhbmQ="})
    assert isinstance(step, Step) and "AGFsaWNl" in step.text and "AGFsaWNl" not in step.label


def test_a_byte_order_mark_before_the_first_line_is_not_part_of_the_command():
    """Windows editors save UTF-8 with a BOM; the first command must still be ``ehlo``."""
    lines = list(read_lines(io.BytesIO(b"\xef\xbb\xbfehlo\r\nnoop\r\nquit\r\n")))
    check_script(lines, {})
    reader = ScriptReader(iter(lines), {})
    assert [reader.next().parsed.name for _ in range(3)] == ["ehlo", "noop", "quit"]
    assert list(read_lines(io.BytesIO(b"noop\n\xef\xbb\xbfehlo\n")))[1] == "\ufeffehlo\n"  # only at the start


def test_a_long_script_keeps_each_repeated_line_and_text_once(endpoints):
    """The same NOOP and its same reply, a thousand times over, are one bytes object each, not a thousand."""
    host, port = endpoints.smtp
    session = Session(Target("smtp", host, port), SessionOptions(timeout=10), transcript=ScriptTranscript())
    try:
        Interpreter(session, environ={}, batch=True).run(["ehlo\n"] + ["noop\n"] * 50)
    finally:
        session.shutdown()
    sent = [e.data for e in session.transcript.snapshot() if isinstance(e, Wire) and e.data.startswith(b"noop")]
    starts = [e.text for e in session.transcript.snapshot() if isinstance(e, CommandStart) and e.text == "noop"]
    assert len(sent) == 50 and len({id(data) for data in sent}) == 1
    assert len(starts) == 50 and len({id(text) for text in starts}) == 1
