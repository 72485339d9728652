"""One `dozor run` per data folder: a lock file holding the running process's pid.

`RunLock(data_dir).acquire()` takes an exclusive `flock` on `<data_dir>/dozor.lock`
and writes our pid into it. The kernel drops the lock when its process ends,
however it ends, so a lock file left by a dead process is simply taken over.
A second run gets `AlreadyRunning`: "another dozor run is running (pid N)",
which the command line prints as one line with exit code 2.
"""
from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from bot.datadir import make_private_dir
from bot.errors import DozorError

log = logging.getLogger(__name__)
LOCK_NAME = "dozor.lock"


class AlreadyRunning(DozorError):
    def __init__(self, pid: int | None, path: Path):
        super().__init__(f"another dozor run is running (pid {pid if pid is not None else 'unknown'})")
        self.pid = pid
        self.path = path


class RunLock:
    def __init__(self, data_dir: Path | str):
        self.path = Path(data_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        make_private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(holder, self.path) from None
        stale = _read_pid(fd)
        if stale is not None and stale != os.getpid():
            log.info("taking over the lock %s left by process %s, which is no longer running", self.path, stale)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip())
    except (ValueError, OSError):
        return None
