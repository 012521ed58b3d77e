"""Progress on stderr: a tqdm bar on a terminal, plain lines elsewhere (CI logs, pipes, ``| tee``).

Off a terminal a line is printed when at least 10% more is done or 10 s have passed since the last line,
so a log never shows a minute of silence.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    """Counts work done out of a total; call :meth:`update` as work finishes, :meth:`close` at the end."""

    def __init__(self, total: int, desc: str, unit: str, stream: TextIO | None = None, every_seconds: float = 10.0,
                 every_fraction: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.desc, self.unit, self.total, self.n = desc, unit, total, 0
        self.every_seconds, self.every_fraction = every_seconds, every_fraction
        self.started = self.last_time = time.monotonic()
        self.last_n = 0
        self.bar: Any = None
        if self._isatty():
            from tqdm import tqdm

            tqdm.monitor_interval = 0  # no monitor thread: sweeps fork worker processes from this one
            self.bar = tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True, file=self.stream)

    def _isatty(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def reset(self, total: int) -> None:
        """Set the total (known only once the work is planned) and say it, off a terminal."""
        self.total = total
        if self.bar is not None:
            self.bar.reset(total=total)
        else:
            self._line(f"{self.desc}: {total:,} {self.unit}s to do")

    def update(self, n: int = 1) -> None:
        """Record ``n`` more units done."""
        self.n += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        step = max(1, int(self.total * self.every_fraction)) if self.total else 0
        if (step and self.n - self.last_n >= step) or now - self.last_time >= self.every_seconds:
            self.tick()

    def tick(self) -> None:
        """Print the state now (off a terminal)."""
        if self.bar is not None:
            return
        now = time.monotonic()
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        self._line(f"{self.desc}: {self.n:,}/{self.total:,} {self.unit}s{pct}, {now - self.started:.0f} s")
        self.last_n, self.last_time = self.n, now

    def say(self, text: str) -> None:
        """A free-form progress line (off a terminal; on one the bar speaks for itself)."""
        if self.bar is None:
            self._line(f"{self.desc}: {text}")
            self.last_time = time.monotonic()

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """Remove the bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Heartbeat:
    """A background line every ``seconds`` while a long step with no progress hook runs (a report, a combine)."""

    def __init__(self, progress: Progress, what: str, seconds: float = 10.0) -> None:
        import threading

        self.progress, self.what, self.seconds = progress, what, seconds
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="piracysim-heartbeat")

    def _loop(self) -> None:
        start = time.monotonic()
        while not self.stop.wait(self.seconds):
            self.progress.say(f"{self.what} ({time.monotonic() - start:.0f} s)")

    def __enter__(self) -> "Heartbeat":
        if self.progress.bar is None:
            self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=1)
