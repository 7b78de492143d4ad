"""Transcript view: one million lines in the TUI's transcript widget, headless.

In a worker process (so its RSS is its own), the app runs under
``App.run_test(size=(120, 40))`` with no session, and its
``TranscriptView`` (:mod:`smtpdbg.tui.widgets.transcript`) receives:

* 1,000,000 wire events (alternating ``RCPT TO:<...>`` and ``250 2.1.5 ...``
  lines, as a session produces them) through ``append_events`` in batches of
  50,000, the path the event pump uses. Timed: the appends, and appends plus
  the next frame. RSS is read before (events already built) and after, so the
  figure is what the transcript's rows hold; the whole process's peak is
  reported too.
* The same million rows through ``append_lines`` (the bulk path for
  replaying a saved transcript).
* Scrolling: ``scroll_to`` the top, then the bottom, each followed by a full
  render of the screen by the compositor (what one frame costs; headless,
  nothing is written to a terminal), several times; the median per scroll.
  ``pilot.pause()`` is no timer: it sleeps at least 20 ms to detect idleness.
* Search: ``search()`` for a string that is not there (every line is read:
  the worst case) and for the first line, searched backwards from the last.

When the TUI is not importable yet, the figures say "not measured yet"; the
worker is ready to measure them as soon as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, Context, Figure, median, peak_rss_mb, rss_now_mb

BATCH = 50_000
"""Events per ``append_events`` call."""


def make_events(count: int) -> list:
    from smtpdbg.core.events import Direction, Wire

    send, recv = Direction.SEND, Direction.RECV
    return [
        Wire(seq=n + 1, mono=0.0, wall=0.0, direction=recv, data=b"250 2.1.5 OK recipient %d\r\n" % n) if n % 2 else
        Wire(seq=n + 1, mono=0.0, wall=0.0, direction=send, data=b"RCPT TO:<user%d@example.org>\r\n" % n)
        for n in range(count)
    ]


def _app():
    """The real app with no session (and no history file); a bare host app if that cannot be built."""
    from smtpdbg.tui.widgets.transcript import TranscriptView

    try:
        from smtpdbg.core.history import History
        from smtpdbg.core.session import SessionOptions
        from smtpdbg.tui.app import SmtpdbgApp

        return SmtpdbgApp(None, SessionOptions(), history=History("/dev/null", persist=False)), "SmtpdbgApp"
    except Exception as exc:  # noqa: BLE001 - the app is being built concurrently; measure the widget alone
        from textual.app import App

        class Host(App):
            def compose(self):
                yield TranscriptView(id="transcript")

        return Host(), f"TranscriptView alone (SmtpdbgApp failed: {exc!r})"


def _scroll_frame(app, view, y: float) -> float:
    """Scroll to ``y`` and render the whole screen as the compositor does for a frame; seconds."""
    from textual.geometry import Region

    start = time.perf_counter()
    view.scroll_to(y=y, animate=False, immediate=True)
    try:
        app.screen._compositor.render_update(full=True)  # private API: fall back to the widget's lines
    except Exception:  # noqa: BLE001 - Textual internals change between versions
        view.render_lines(Region(0, 0, view.size.width, view.size.height))
    return time.perf_counter() - start


def _scroll_widget(view, y: float) -> float:
    """Scroll to ``y`` (from the other end) and render only the transcript's visible lines; seconds."""
    from textual.geometry import Region

    view.scroll_to(y=view.max_scroll_y if y == 0 else 0, animate=False, immediate=True)
    view.render_lines(Region(0, 0, view.size.width, view.size.height))
    start = time.perf_counter()
    view.scroll_to(y=y, animate=False, immediate=True)
    view.render_lines(Region(0, 0, view.size.width, view.size.height))
    return time.perf_counter() - start


async def _measure(count: int, scrolls: int) -> dict:
    from smtpdbg.tui.widgets.transcript import TranscriptView

    app, host = _app()
    result: dict = {"host": host, "lines": count}
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(TranscriptView)
        await pilot.pause()
        events = make_events(count)
        gc.collect()
        before = rss_now_mb()
        start = time.perf_counter()
        for offset in range(0, count, BATCH):
            view.append_events(events[offset:offset + BATCH])
        result["append_events_s"] = time.perf_counter() - start
        await pilot.pause()
        result["append_events_frame_s"] = time.perf_counter() - start
        gc.collect()
        result["rows_mb"] = rss_now_mb() - before
        del events
        gc.collect()

        times: dict[str, list[float]] = {"top": [], "bottom": [], "top_widget": [], "bottom_widget": []}
        for _ in range(scrolls):
            for where, y in (("top", 0), ("bottom", view.max_scroll_y)):
                times[where].append(_scroll_frame(app, view, y))
                await pilot.pause()
                times[where + "_widget"].append(_scroll_widget(view, y))
                await pilot.pause()
        for key, values in times.items():
            result[f"scroll_{key}_s"] = median(values)

        start = time.perf_counter()
        found = view.search("no such text anywhere", 1)
        result["search_miss_s"] = time.perf_counter() - start
        result["search_miss_found"] = found
        view.cursor = view.line_count - 1
        start = time.perf_counter()
        found = view.search("user0@example.org", -1)  # backwards from the last line to the first: a full pass
        result["search_wrap_s"] = time.perf_counter() - start
        result["search_wrap_found"] = found

        kinds = bytes([1, 2]) * (count // 2) + bytes([1]) * (count % 2)
        texts = [f"RCPT TO:<user{n}@example.org>" for n in range(count)]
        walls = [0.0] * count
        start = time.perf_counter()
        view.append_lines(kinds, texts, walls)
        result["append_lines_s"] = time.perf_counter() - start
        await pilot.pause()
        result["line_count"] = view.line_count
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def run_worker(ctx: Context, count: int, scrolls: int) -> dict:
    argv = [PYTHON, str(Path(__file__).resolve()), "--worker", "--lines", str(count), "--scrolls", str(scrolls)]
    out = subprocess.run(argv, capture_output=True, text=True, env=ctx.env, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"transcript-view worker failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def not_measured(reason: str) -> list[Figure]:
    return [Figure(f"view.{key}", name, None, unit, target=target, note=f"not measured yet: {reason}")
            for key, name, unit, target in (
                ("append", "1,000,000 lines appended to the transcript view", "s", "≤ 0.5 s"),
                ("rss", "memory the transcript view holds for 1,000,000 lines", "MB", "≤ 150 MB"),
                ("scroll", "scroll to top/bottom and draw", "ms", "≤ 16 ms per scroll"),
                ("search", "search 1,000,000 lines (no match)", "ms", ""))]


def measure(ctx: Context) -> list[Figure]:
    try:
        import smtpdbg.tui.widgets.transcript  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - the TUI may not exist yet
        return not_measured(f"smtpdbg.tui.widgets.transcript does not import ({exc!r})")
    count = 2_000 if ctx.tiny else 1_000_000
    reps = ctx.reps(full=3, quick=1, tiny=1)
    ctx.log(f"transcript view: {count:,} lines, {reps} worker run(s)")
    runs = [run_worker(ctx, count, scrolls=3 if ctx.tiny else 7) for _ in range(reps)]

    def med(key: str) -> float:
        return median([run[key] for run in runs])

    host = runs[-1]["host"]
    lines = f"{count:,} lines"
    append = med("append_events_s")
    rows = med("rows_mb")
    scroll = max(med("scroll_top_s"), med("scroll_bottom_s")) * 1000
    widget = max(med("scroll_top_widget_s"), med("scroll_bottom_widget_s")) * 1000
    return [
        Figure("view.append", f"{lines} appended to the transcript view (wire events)", append, "s",
               target="≤ 0.5 s", met=append <= 0.5, samples=[r["append_events_s"] for r in runs],
               note=(f"with the next frame {med('append_events_frame_s'):.2f} s; bulk append_lines "
                     f"{med('append_lines_s'):.2f} s; host: {host}")),
        Figure("view.rss", f"memory the transcript view holds for {lines}", rows, "MB", target="≤ 150 MB",
               met=rows <= 150, samples=[r["rows_mb"] for r in runs],
               note=f"RSS after − before the appends; whole process peak {med('peak_rss_mb'):.0f} MB "
                    f"(with the events, then {2 * count:,} rows)"),
        Figure("view.scroll", "scroll to top/bottom and render the whole screen", scroll, "ms",
               target="≤ 16 ms per scroll", met=scroll <= 16,
               note=(f"top {med('scroll_top_s') * 1000:.1f} ms, bottom {med('scroll_bottom_s') * 1000:.1f} ms; "
                     f"the transcript widget's own lines {widget:.1f} ms")),
        Figure("view.search", f"search {lines} for a string that is absent", med("search_miss_s") * 1000, "ms",
               note=f"the first line, found searching backwards from the last: {med('search_wrap_s') * 1000:.0f} ms"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="transcript-view worker (see benchmarks/run.py)")
    parser.add_argument("--worker", action="store_true", required=True)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--scrolls", type=int, default=7)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_measure(args.lines, args.scrolls))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
