"""Helpers of the reliability tests: hostile archives, file-tree and store snapshots, waits."""

from __future__ import annotations

import io
import stat
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drwlab.store.base import DATABASES, Doc, Store


def a_zip(
    entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None, keep_names: bool = True
) -> bytes:
    """A zip archive with ``entries`` (names kept exactly) and symbolic-link entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name)
            if keep_names:
                info.filename = name  # ZipInfo would turn a backslash into a slash on Windows
            archive.writestr(info, content)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` -> a short description (kind and content or link target)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            what = f"link -> {path.readlink()}"
        elif path.is_dir():
            what = "dir"
        else:
            what = f"file {path.read_bytes()[:64]!r}"
        found[str(path.relative_to(root))] = what
    return found


def store_snapshot(store: Store, *, skip: tuple[str, ...] = ("msgq",)) -> dict[str, list[Doc]]:
    """Every document of every database but ``skip``, revisions included."""
    return {db: store.all_docs(db) for db in DATABASES if db not in skip}


def message(store: Store, message_id: str) -> Doc:
    """The ``msgq`` document ``message_id``."""
    return store.get("msgq", message_id)


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, *, store: Store | None = None
) -> Any:
    """``condition()``'s first true value; AssertionError naming ``what`` after ``timeout`` s.

    With ``store``, waits between checks on its ``msgq`` change feed (no sleeping in a loop).
    """
    deadline = time.monotonic() + timeout
    while True:
        since = store.current_seq("msgq") if store is not None else None
        value = condition()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        if store is not None and since is not None:
            store.wait_for_change("msgq", since, min(remaining, 0.5))
        else:
            time.sleep(min(remaining, 0.05))


def wait_settled(store: Store, message_id: str, timeout: float = 30.0) -> Doc:
    """The message once it is done or dead (no longer pending or claimed)."""
    return wait_until(
        lambda: (doc := message(store, message_id))["state"] in ("done", "dead") and doc,
        timeout,
        f"message {message_id} handled or dead-lettered",
        store=store,
    )
