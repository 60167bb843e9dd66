"""The replicated cache of one executive: pulls files cached elsewhere, expands weblogs, serves.

It listens on ``cached.<EXEC>`` for ``{"fileType", "cachedAt", "name"}``
("pull this file or directory to yourself"). A file cached at another
executive is replicated from that executive's cache (``remotes``: a local
directory or an rsync ``user@host:dir``, the original's ``-euc`` options);
one cached here is already local. Weblogs are expanded into
``cache_dir/weblogs/<stem>/``, and at JAO the zipped weblog is also archived in
NGAS. The whole cache is served over HTTP, as the original's embedded server.

A message delivered again (its handler finished but a crash came before the
acknowledgement) whose file is here already is a duplicate: acknowledged,
logged, nothing redone. Names come from other hosts: unsafe ones are refused
(dead-lettered at once), as are unknown executives and corrupt weblogs; disk
and rsync errors are left to the bus's retries, and the error is kept on the
message.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drwlab.actors.base import Actor, body_dict, is_redelivery, text_field
from drwlab.actors.xtss import check_executive
from drwlab.bus import MessageBus
from drwlab.cachefiles import check_inside, check_name, check_weblog, expand_weblog, replicate
from drwlab.errors import InvalidMessage, UnsafePath
from drwlab.fileserver import FileServer
from drwlab.ngas import Ngas
from drwlab.store.base import Doc, Store

logger = logging.getLogger(__name__)

WEBLOG = "weblog"
PRODUCTS_DIR = "productsdir"
FILE_TYPES = (WEBLOG, PRODUCTS_DIR)
WEBLOGS = "weblogs"
"""The subdirectory of a cache holding the expanded weblogs."""

FIND_RSYNC = "auto"
"""Default of ``rsync``: look the program up on PATH when the cache is built."""

_WEBLOG_UID = re.compile(r"^weblog-([A-Za-z0-9]+)-([A-Za-z0-9]+)-([A-Za-z0-9]+)-")


@dataclass(frozen=True)
class CachedFile:
    """A validated ``cached.*`` body."""

    file_type: str
    cached_at: str
    name: str

    @classmethod
    def from_body(cls, body: Any) -> CachedFile:
        """Validate ``body``; InvalidMessage names what is wrong (unsafe names too)."""
        fields = body_dict(body, "cached message", ("fileType", "cachedAt", "name"))
        file_type = text_field(fields, "fileType", "cached message")
        if file_type not in FILE_TYPES:
            raise InvalidMessage(f"unknown fileType {file_type!r}; one of {', '.join(FILE_TYPES)}")
        cached_at = check_executive(fields.get("cachedAt"))
        try:
            name = check_name(fields.get("name"))
        except UnsafePath as error:
            raise InvalidMessage(f"UnsafePath: {error}") from None
        if file_type == WEBLOG and not name.endswith(".zip"):
            raise InvalidMessage(f"a weblog must be a .zip file, not {name!r}")
        return cls(file_type, cached_at, name)


def weblog_uid(name: str) -> str | None:
    """The OUS uid in a weblog's file name (``weblog-X1-X1-Xa1-...zip``), if it has one."""
    match = _WEBLOG_UID.match(name)
    return "uid://" + "/".join(match.groups()) if match else None


class ReplicatedCache(Actor):
    """The cache of ``executive`` in ``cache_dir``, served on ``host:port`` (module docstring).

    Parameters
    ----------
    remotes:
        Executive -> the location of its cache (a directory, or ``user@host:dir``).
    rsync:
        The rsync program (default: the one on PATH, if any); None copies local
        remotes with shutil (and cannot reach remote hosts).
    """

    def __init__(
        self,
        bus: MessageBus,
        store: Store,
        *,
        executive: str,
        cache_dir: Path,
        remotes: Mapping[str, str | Path] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rsync: str | None = FIND_RSYNC,
        name: str | None = None,
    ) -> None:
        executive = check_executive(executive)
        super().__init__(bus, store, name=name or f"replicated-cache.{executive}")
        self.executive = executive
        self.selector = f"cached.{executive}"
        self.cache_dir = Path(cache_dir)
        self.remotes = {check_executive(k): str(v) for k, v in (remotes or {}).items()}
        self.rsync = shutil.which("rsync") if rsync == FIND_RSYNC else rsync
        self.server = FileServer(self.cache_dir, host=host, port=port, name=self.name)
        self.ngas = Ngas(store)

    @property
    def weblogs_dir(self) -> Path:
        """Where expanded weblogs live: ``cache_dir/weblogs``."""
        return self.cache_dir / WEBLOGS

    @property
    def url(self) -> str:
        """The HTTP address of the cache (``http://127.0.0.1:PORT/``) once started."""
        return self.server.url

    def weblog_url(self, weblog_name: str) -> str:
        """The address of an expanded weblog's ``index.html``."""
        stem = check_name(weblog_name).removesuffix(".zip")
        return f"{self.url}{WEBLOGS}/{stem}/index.html"

    def on_start(self) -> None:
        self.weblogs_dir.mkdir(parents=True, exist_ok=True)
        self.server.start()
        self.listen(self.selector, self.handle_message, full_message=True)

    def handle_message(self, message: Doc) -> None:
        """``handle`` the body, unless ``message`` is a redelivery whose file is here already
        (a duplicate: copies land under their final name only once complete)."""
        cached = CachedFile.from_body(message.get("body"))
        if is_redelivery(message) and self._already_here(cached):
            logger.info("%s: %s is here already; duplicate message", self.name, cached.name)
            return
        self.handle(message.get("body"))

    def _already_here(self, cached: CachedFile) -> bool:
        if not (self.cache_dir / cached.name).exists():
            return False
        if cached.file_type != WEBLOG:
            return True
        expanded = (self.weblogs_dir / cached.name.removesuffix(".zip")).is_dir()
        return expanded and (self.executive != "JAO" or self.ngas.has(cached.name))

    def on_stop(self) -> None:
        self.server.stop()

    def handle(self, body: Any) -> None:
        """Bring one file or directory into this cache (and expand/archive a weblog)."""
        cached = CachedFile.from_body(body)
        path = self._fetch(cached)
        if cached.file_type == WEBLOG:
            self._refuse_links(path, replicated=cached.cached_at != self.executive)
            if self.executive == "JAO":  # archived first: an expanded weblog is in NGAS too
                check_weblog(path, self.weblogs_dir)  # but nothing hostile or corrupt
                self.ngas.put_file(path, ous_uid=weblog_uid(cached.name))
            expanded = expand_weblog(path, self.weblogs_dir)
            logger.info("%s: weblog expanded in %s", self.name, expanded)

    def _refuse_links(self, weblog: Path, *, replicated: bool) -> None:
        """InvalidMessage if ``weblog`` is a link, or leads outside the cache; a link
        this cache replicated is removed, so it is neither served nor followed later."""
        try:
            check_inside(weblog, self.cache_dir)
        except UnsafePath as error:
            if replicated and weblog.is_symlink():
                weblog.unlink()
            raise InvalidMessage(f"UnsafePath: {error}") from None

    def _fetch(self, cached: CachedFile) -> Path:
        if cached.cached_at == self.executive:
            path = self.cache_dir / cached.name
            if not path.exists():
                raise InvalidMessage(f"{cached.name} is said to be cached here but is not")
            return path
        source = self.remotes.get(cached.cached_at)
        if source is None:
            known = ", ".join(self.remotes) or "none"
            raise InvalidMessage(
                f"{self.name} has no location for the {cached.cached_at} cache "
                f"(known: {known}); cannot replicate {cached.name}"
            )
        path = replicate(source, cached.name, self.cache_dir, rsync=self.rsync)
        logger.info("%s: replicated %s from %s", self.name, cached.name, cached.cached_at)
        return path
