"""Benchmark: append one million lines to the transcript view, headless.

Run: ``.venv/bin/python tests/tui/bench_transcript.py [LINES]``. Prints the
time to append (as wire events through the same path the session uses, and
as bulk rows), the resident memory added, and the time to scroll to the
middle and draw a screenful. Not collected by pytest; tests never assert on time.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time

from smtpdbg.core.events import Direction, Wire
from smtpdbg.core.session import SessionOptions
from smtpdbg.core.history import History
from smtpdbg.tui.app import SmtpdbgApp
from smtpdbg.tui.widgets.transcript import TranscriptView


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * 4096 / 2**20


def make_events(count: int) -> list[Wire]:
    events = []
    for n in range(count):
        if n % 2:
            events.append(Wire(seq=n, mono=0.0, wall=0.0, direction=Direction.RECV, data=b"250 2.1.5 OK recipient %d\r\n" % n))
        else:
            events.append(Wire(seq=n, mono=0.0, wall=0.0, direction=Direction.SEND, data=b"RCPT TO:<user%d@example.org>\r\n" % n))
    return events


async def main(count: int) -> None:
    app = SmtpdbgApp(None, SessionOptions(), history=History("/dev/null", persist=False), latency=False)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(TranscriptView)
        events = make_events(count)
        gc.collect()
        before = rss_mb()  # the events exist already: only the transcript's rows are measured
        start = time.perf_counter()
        for offset in range(0, count, 50_000):  # batches, as the event pump delivers them
            view.append_events(events[offset:offset + 50_000])
        elapsed_events = time.perf_counter() - start
        await pilot.pause()
        gc.collect()
        after = rss_mb()
        del events
        print(f"{count:,} wire events appended in {elapsed_events:.2f} s "
              f"({elapsed_events / count * 1e6:.2f} µs/line); transcript holds them in {after - before:.0f} MB")

        start = time.perf_counter()
        view.scroll_to(y=count // 2, animate=False, immediate=True)
        await pilot.pause()
        print(f"scroll to the middle and draw: {(time.perf_counter() - start) * 1000:.1f} ms")

        kinds = bytes([1, 2]) * (count // 2)
        texts = [f"RCPT TO:<user{n}@example.org>" for n in range(count)]
        walls = [0.0] * count
        start = time.perf_counter()
        view.append_lines(kinds, texts, walls)
        print(f"{count:,} rows appended in bulk in {time.perf_counter() - start:.3f} s")

        start = time.perf_counter()
        found = view.search("no such text", 1)  # worst case: every line is read
        print(f"search through {view.line_count:,} lines: {(time.perf_counter() - start) * 1000:.0f} ms (found: {found})")
        start = time.perf_counter()
        view.filter = "server"
        await pilot.pause()
        print(f"filter to server lines: {(time.perf_counter() - start) * 1000:.0f} ms ({view.line_count:,} lines)")
        view.filter = "all"
        await pilot.pause()
        start = time.perf_counter()
        view.annotate = True  # a meaning under each reply: the display map is rebuilt
        view.scroll_to(y=count // 2, animate=False, immediate=True)
        await pilot.pause()
        print(f"annotations on, scroll and draw: {(time.perf_counter() - start) * 1000:.0f} ms "
              f"({view.line_count:,} lines)")
        more = make_events(100_000)
        start = time.perf_counter()
        for offset in range(0, len(more), 50_000):
            view.append_events(more[offset:offset + 50_000])
        elapsed = time.perf_counter() - start
        print(f"100,000 more wire events appended while annotating: {elapsed:.2f} s ({elapsed * 10:.2f} µs/line)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
