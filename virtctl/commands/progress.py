"""Progress for people: a spinner on a terminal, silence when piped.

Owns the one way virtctl shows that it is waiting: `with Spinner("Waiting for ..."):` draws a
spinner and the elapsed seconds on stderr when stderr is a terminal, and clears its line when
done; when stderr is not a terminal it prints nothing at all, so scripts and logs stay clean.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from typing import TextIO

FRAMES = "|/-\\"
INTERVAL = 0.1


class Spinner:
    def __init__(self, message: str, stream: TextIO | None = None) -> None:
        self.message = message
        self.stream = stream or sys.stderr
        self.active = self.stream.isatty()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Spinner:
        if self.active:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _spin(self) -> None:
        start = time.monotonic()
        for frame in itertools.cycle(FRAMES):
            self.stream.write(f"\r{frame} {self.message} ({time.monotonic() - start:.0f}s)\033[K")
            self.stream.flush()
            if self._stop.wait(INTERVAL):
                return
