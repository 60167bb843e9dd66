"""The replicated cache's file operations: copy in, replicate with rsync, expand weblogs.

Names arrive in ``cached.*`` messages from other hosts, and weblog zips are
written by a pipeline: both are untrusted. Every name is checked to be a plain
file name (:func:`check_name`), and every archive entry to land inside its
target (:func:`expand_weblog`), before anything touches the disk. Copies and
expansions go to a temporary name in the destination directory and are
renamed into place, so a failed or refused operation leaves nothing behind.

Errors: UnsafePath for names and entries that would escape; InvalidMessage
for a corrupt weblog zip; CacheError for missing sources and disk errors
(missing, read-only or full destination, rsync failures, timeouts).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from drwlab.errors import CacheError, InvalidMessage, UnsafePath

log = logging.getLogger(__name__)

RSYNC_TIMEOUT = 300.0
"""Seconds an rsync run may take before it is killed."""

MAX_WEBLOG_BYTES = 1 << 30
"""Refuse weblog zips that claim to expand to more than this (zip bombs)."""

MAX_WEBLOG_ENTRIES = 10_000

_REMOTE = re.compile(r"^[^/]*:")
_LEFTOVER = re.compile(r"^\..+\.(tmp|old)-[A-Za-z0-9_]{8}$")


def check_name(name: object) -> str:
    """Return ``name`` if it is a plain file or directory name, else raise UnsafePath.

    Refused: non-strings, empty, ``.``, ``..``, anything containing ``/``,
    ``\\`` or NUL (so absolute paths too), and names starting with ``-``
    (which a command line could read as an option).
    """
    if not isinstance(name, str) or not name:
        raise UnsafePath(f"a cached file name must be a non-empty string, not {name!r}")
    if name in (".", "..") or any(c in name for c in "/\\\0"):
        raise UnsafePath(
            f"a cached file name must be a plain name (no '/', '\\\\', '..'): {name!r}"
        )
    if name.startswith("-"):
        raise UnsafePath(f"a cached file name must not start with '-': {name!r}")
    return name


def check_inside(path: Path, root: Path) -> None:
    """Raise UnsafePath if ``path`` is a symbolic link or resolves outside ``root``.

    rsync and the copies keep links as links, so a link planted in one cache
    arrives as a link in the next; following it would expand, archive or
    ingest a file from outside every cache.
    """
    path = Path(path)
    if path.is_symlink():
        raise UnsafePath(
            f"{path.name} is a symbolic link (to {os.readlink(path)!r}); "
            "a cache holds files, not links"
        )
    if not path.resolve().is_relative_to(Path(root).resolve()):
        raise UnsafePath(
            f"{path.name} resolves outside the cache {root} (a symbolic link on its way)"
        )


def is_remote(source: str | Path) -> bool:
    """True for an rsync remote spec (``user@host:dir``, ``host:dir``, ``rsync://...``).

    A ``Path`` is always local; a string follows rsync's own rule (a colon
    before the first slash means a host).
    """
    if isinstance(source, Path):
        return False
    return source.startswith("rsync://") or bool(_REMOTE.match(source))


def remove_leftovers(directory: Path) -> list[Path]:
    """Delete the temporary copies a killed process left in ``directory``; returns them.

    Only this module's own temporary names (``.NAME.tmp-<8 hex digits>``,
    ``.NAME.old-<8 hex digits>``) are touched. Call it when a cache actor starts.
    """
    try:
        found = [p for p in Path(directory).iterdir() if _LEFTOVER.match(p.name)]
    except OSError as error:
        raise CacheError(f"cannot look for leftovers in {directory}: {error}") from error
    for path in found:
        log.info("removing leftover %s", path)
        _remove(path)
    return found


# -- copying --------------------------------------------------------------------
def _check_dest_dir(dest_dir: Path) -> None:
    if not dest_dir.is_dir():
        problem = "is not a directory" if dest_dir.exists() else "does not exist"
        raise CacheError(f"cache directory {dest_dir} {problem}")


def _remove(path: Path) -> None:
    """Best-effort clean-up: it runs while another error is being reported."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as error:
        log.debug("could not remove %s: %s", path, error)


def _move_into_place(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``, replacing whatever ``final`` was."""
    if not os.path.lexists(final) or not (tmp.is_dir() or final.is_dir()):
        os.replace(tmp, final)
        return
    old = final.with_name(f".{final.name}.old-{os.urandom(4).hex()}")
    os.replace(final, old)
    try:
        os.replace(tmp, final)
    except OSError:
        os.replace(old, final)  # put the previous copy back rather than lose it
        raise
    _remove(old)


def _copy_atomic(src: Path, dest_dir: Path) -> Path:
    """Copy file or directory ``src`` (symlinks kept as links) to ``dest_dir/src.name``."""
    final = dest_dir / src.name
    tmp = dest_dir / f".{src.name}.tmp-{os.urandom(4).hex()}"
    try:
        if src.is_dir() and not src.is_symlink():
            shutil.copytree(src, tmp, symlinks=True)
        else:
            shutil.copy2(src, tmp, follow_symlinks=False)
        _move_into_place(tmp, final)
    except (OSError, shutil.Error) as error:
        _remove(tmp)
        raise CacheError(f"cannot copy {src} into {dest_dir}: {error}") from error
    return final


def copy_into_cache(src: Path, cache_dir: Path) -> Path:
    """Copy a products directory or a weblog into ``cache_dir``; returns the copy's path.

    Raises CacheError for a missing source or a missing/unwritable cache, and
    UnsafePath if the source's name could not travel in a ``cached.*`` message.
    """
    src, cache_dir = Path(src), Path(cache_dir)
    check_name(src.name)
    if not os.path.lexists(src):
        raise CacheError(f"nothing to cache: {src} does not exist")
    _check_dest_dir(cache_dir)
    final = _copy_atomic(src, cache_dir)
    log.debug("cached %s in %s", src, cache_dir)
    return final


def replicate(
    source: str | Path,
    name: str,
    dest_dir: Path,
    *,
    rsync: str | None,
    timeout: float = RSYNC_TIMEOUT,
) -> Path:
    """Pull file or directory ``name`` from cache ``source`` into ``dest_dir``.

    ``source`` is a local directory or an rsync remote spec (``user@host:dir``).
    ``rsync`` is the rsync executable (``shutil.which("rsync")``); when it is
    None a local source is copied with shutil, a remote one cannot be reached.
    Directories are copied as themselves (``dest_dir/name``) with ``--delete``,
    so a replica equals its source. Returns ``dest_dir/name``.

    Raises:
        UnsafePath: ``name`` is not a plain name.
        CacheError: the source is missing, the destination is missing or
            unwritable, rsync failed (its stderr is in the message) or timed out,
            or a remote source without rsync.
    """
    check_name(name)
    dest_dir = Path(dest_dir)
    _check_dest_dir(dest_dir)
    if is_remote(source):
        if rsync is None:
            raise CacheError(f"rsync is not installed: cannot replicate {name} from {source}")
        _run_rsync(rsync, f"{str(source).rstrip('/')}/{name}", dest_dir, timeout, remote=True)
    else:
        src = Path(source).absolute() / name
        if not os.path.lexists(src):
            raise CacheError(f"cannot replicate {name}: not found in cache {source}")
        if rsync is None:
            _copy_atomic(src, dest_dir)
        else:
            _run_rsync(rsync, str(src), dest_dir, timeout, remote=False)
    log.debug("replicated %s from %s into %s", name, source, dest_dir)
    return dest_dir / name


def _run_rsync(rsync: str, src: str, dest_dir: Path, timeout: float, *, remote: bool) -> None:
    command = [rsync, "-a", "--delete", f"--timeout={max(1, int(timeout))}"]
    if remote:
        command.append("--protect-args")  # the remote shell must not split or expand the name
    command += ["--", src, f"{dest_dir.absolute()}/"]
    try:
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CacheError(f"rsync of {src} into {dest_dir} timed out after {timeout:g} s") from None
    except OSError as error:
        raise CacheError(f"cannot run rsync ({rsync}): {error}") from error
    if result.returncode != 0:
        stderr = result.stderr.strip()[-2000:] or "(no message)"
        raise CacheError(
            f"rsync of {src} into {dest_dir} failed (exit {result.returncode}): {stderr}"
        )


# -- weblogs --------------------------------------------------------------------
def _check_entry(info: zipfile.ZipInfo, target: Path) -> Path:
    """Where entry ``info`` would land under ``target``; UnsafePath if anywhere else."""
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UnsafePath(f"weblog zip entry {name!r} is a symbolic link")
    if "\0" in name or "\\" in name:
        raise UnsafePath(f"weblog zip entry {name!r} has a NUL or backslash in its name")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UnsafePath(f"weblog zip entry {name!r} is an absolute path")
    if ".." in parts or not parts:
        raise UnsafePath(f"weblog zip entry {name!r} would escape the weblog directory")
    dest = (target / Path(*parts)).resolve()
    if not dest.is_relative_to(target.resolve()):
        raise UnsafePath(f"weblog zip entry {name!r} resolves outside the weblog directory")
    return dest


def _weblog_dir_name(zip_path: Path) -> str:
    if zip_path.suffix.lower() != ".zip":
        raise InvalidMessage(f"a weblog must be a .zip file: {zip_path.name!r}")
    return check_name(zip_path.stem)


def _planned(archive: zipfile.ZipFile, target: Path) -> list[tuple[zipfile.ZipInfo, Path]]:
    """Every entry with where it lands under ``target``; refuses bombs and escapes."""
    infos = archive.infolist()
    if len(infos) > MAX_WEBLOG_ENTRIES:
        raise InvalidMessage(f"weblog zip has too many entries ({len(infos)})")
    if sum(i.file_size for i in infos) > MAX_WEBLOG_BYTES:
        raise InvalidMessage(f"weblog zip would expand to more than {MAX_WEBLOG_BYTES} bytes")
    return [(info, _check_entry(info, target)) for info in infos]


def _extract(archive: zipfile.ZipFile, target: Path) -> None:
    planned = _planned(archive, target)  # refuse before writing
    for info, dest in planned:
        if info.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as entry, open(dest, "wb") as out:
            shutil.copyfileobj(entry, out)


_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def check_weblog(zip_path: Path, weblogs_dir: Path) -> None:
    """Refuse, without writing anything, a weblog zip that ``expand_weblog`` would refuse.

    Lets the JAO cache archive a weblog in NGAS only once it is known to be
    safe: a hostile or corrupt archive must not reach NGAS either.

    Raises:
        UnsafePath, InvalidMessage, CacheError: as ``expand_weblog``.
    """
    zip_path = Path(zip_path)
    target = Path(weblogs_dir) / _weblog_dir_name(zip_path)
    if not zip_path.is_file():
        raise CacheError(f"weblog zip {zip_path} does not exist")
    try:
        with zipfile.ZipFile(zip_path) as archive:
            _planned(archive, target)
            bad = archive.testzip()
    except _CORRUPT as error:
        raise InvalidMessage(f"corrupt weblog zip {zip_path.name}: {error}") from None
    except OSError as error:
        raise CacheError(f"cannot read {zip_path.name}: {error}") from error
    if bad is not None:
        raise InvalidMessage(f"corrupt weblog zip {zip_path.name}: bad CRC in {bad!r}")


def expand_weblog(zip_path: Path, weblogs_dir: Path) -> Path:
    """Expand a weblog zip into ``weblogs_dir/<zip stem>/``; returns that directory.

    Every entry is checked before anything is written; the archive is expanded
    in a temporary directory inside ``weblogs_dir`` and renamed into place, so
    a refused or corrupt archive leaves nothing behind. Expanding the same
    weblog again replaces the earlier expansion (idempotent).

    Raises:
        UnsafePath: an entry is absolute, contains ``..``, is a symlink, or
            would land outside the target.
        InvalidMessage: the file is not a .zip, is corrupt, or is a zip bomb.
        CacheError: the zip is missing or the weblogs directory cannot be written.
    """
    zip_path, weblogs_dir = Path(zip_path), Path(weblogs_dir)
    final = weblogs_dir / _weblog_dir_name(zip_path)
    if not zip_path.is_file():
        raise CacheError(f"weblog zip {zip_path} does not exist")
    try:
        weblogs_dir.mkdir(exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=weblogs_dir))
    except OSError as error:
        raise CacheError(f"cannot expand weblogs into {weblogs_dir}: {error}") from error
    try:
        with zipfile.ZipFile(zip_path) as archive:
            _extract(archive, tmp)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the weblog is served
        _move_into_place(tmp, final)
    except _CORRUPT as error:
        _remove(tmp)
        raise InvalidMessage(f"corrupt weblog zip {zip_path.name}: {error}") from None
    except OSError as error:
        _remove(tmp)
        raise CacheError(f"cannot expand {zip_path.name} into {weblogs_dir}: {error}") from error
    except BaseException:
        _remove(tmp)
        raise
    log.debug("expanded weblog %s into %s", zip_path.name, final)
    return final
