"""Notice any process opening or reading files in a directory: the proof that nothing was read.

On Linux, ``inotify`` reports every open and read of a watched directory's
files (and of the directory itself, as a listing does), whoever does it. A
test watches the directory that must stay untouched, makes its requests, and
then asserts ``watcher.events() == []``. Elsewhere, access times stand in:
they are set two days back first, so the next read moves them (relatime
updates an access time older than a day).
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from pathlib import Path
from types import TracebackType

IN_ACCESS = 0x001
IN_OPEN = 0x020
IN_ISDIR = 0x40000000
_EVENT = struct.Struct("iIII")
_TWO_DAYS = 2 * 24 * 3600


class AccessWatcher:
    """Records opens and reads of ``directory`` and the files directly in it."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._fd = -1
        self._atimes: dict[Path, float] = {}

    def __enter__(self) -> AccessWatcher:
        if sys.platform.startswith("linux"):
            self._start_inotify()
        else:  # pragma: no cover - macOS
            self._start_atimes()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _start_inotify(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        path = os.fsencode(self.directory)
        if libc.inotify_add_watch(fd, path, IN_OPEN | IN_ACCESS) < 0:
            os.close(fd)
            raise OSError(ctypes.get_errno(), f"cannot watch {self.directory}")
        self._fd = fd

    def _start_atimes(self) -> None:  # pragma: no cover - macOS
        for path in [self.directory, *self.directory.iterdir()]:
            stat = path.stat()
            os.utime(path, (stat.st_atime - _TWO_DAYS, stat.st_mtime))
            self._atimes[path] = path.stat().st_atime

    def events(self) -> list[str]:
        """What was opened or read since the watch began (``"open secret.txt"``, ...)."""
        if self._fd < 0:  # pragma: no cover - macOS
            return [f"read {p.name}" for p, t in self._atimes.items() if p.stat().st_atime != t]
        found: list[str] = []
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return found
            found.extend(_parse(data))


def _parse(data: bytes) -> list[str]:
    events = []
    offset = 0
    while offset < len(data):
        _, mask, _, length = _EVENT.unpack_from(data, offset)
        offset += _EVENT.size
        name = data[offset : offset + length].rstrip(b"\0").decode(errors="replace")
        offset += length
        what = "open" if mask & IN_OPEN else "read"
        target = name or ("the directory" if mask & IN_ISDIR else "?")
        events.append(f"{what} {target}")
    return events
