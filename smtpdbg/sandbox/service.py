"""A small server on its own daemon thread: started, stopped (joined, then closed), usable with ``with``."""

from __future__ import annotations

import threading
from typing import Callable


class ThreadService:
    """Runs ``serve`` on a daemon thread until :meth:`stop`; subclasses close their sockets in :meth:`close`."""

    def __init__(self, serve: Callable[[], None], name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=serve, name=name, daemon=True)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        self.close()

    def close(self) -> None:
        """Release what the service holds, once its thread has ended."""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
