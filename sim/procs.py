"""Process hygiene shared by every writer: worker processes that die with their parent, and folder locks.

A worker left behind by a killed sweep holds ~150 MB and the terminal's stdout (so ``piracysim sweep | tee``
never ends); a second writer on the same folder mixes or destroys results. Both are prevented here.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path
from typing import Any

LOCK_NAME = ".piracysim.lock"
_WATCHING = False
_HELD: set[int] = set()  # lock descriptors of this process; a forked worker closes its copies


def watch_parent(interval: float = 0.25) -> None:
    """In a worker process: exit at once when the process that started it is gone.

    Polls ``os.getppid()`` from a daemon thread (an orphan is re-parented, so its parent id changes). This works
    for every start method and every way the parent can die, SIGKILL included, unlike ``PR_SET_PDEATHSIG``,
    which is tied to the thread that forked. Safe to call more than once.
    """
    global _WATCHING
    for fd in list(_HELD):  # a forked worker must not keep its parent's folder lock alive after the parent died
        try:
            os.close(fd)
        except OSError:
            pass
        _HELD.discard(fd)
    if _WATCHING:
        return
    _WATCHING = True
    parent = os.getppid()

    def loop() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)  # no cleanup: the parent that would collect our results is gone

    threading.Thread(target=loop, name="piracysim-parent-watch", daemon=True).start()


def worker_init() -> None:
    """Initializer of local worker processes: watch the parent, and leave Ctrl-C to it.

    Ctrl-C reaches the whole process group; the parent stops the sweep and shuts the pool down, so a worker that
    also raised KeyboardInterrupt would only add a traceback per worker to the terminal.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent()


class LockError(Exception):
    """Another process is writing to the folder; shown as one line."""


class FolderLock:
    """An exclusive, non-blocking ``flock`` on ``<folder>/.piracysim.lock`` for as long as a writer runs.

    The kernel releases it when the holder dies, however it dies, so a stale lock never blocks a resume. The file
    records the holder's pid for the error message; it is left in place (removing it would race with a waiter).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.fd: int | None = None

    def __enter__(self) -> "FolderLock":
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise LockError(f"{self.folder}: another piracysim process (pid {holder}) is writing to this folder; "
                                "wait for it to finish or choose another --out") from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        _HELD.add(fd)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            _HELD.discard(self.fd)
            os.close(self.fd)  # closing the last descriptor releases the flock
            self.fd = None
