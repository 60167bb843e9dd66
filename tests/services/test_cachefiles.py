"""The replicated cache's file operations: rsync or copy, and weblog expansion, on bad input too."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.cachefiles import (
    check_name,
    copy_into_cache,
    expand_weblog,
    is_remote,
    remove_leftovers,
    replicate,
)
from drwlab.errors import CacheError, InvalidMessage, UnsafePath

RSYNC = shutil.which("rsync")
WEBLOG = "weblog-X1-X1-Xa1-2018_07_19T07_10_03.781.zip"


@pytest.fixture
def eu_cache(tmp_path: Path) -> Path:
    """A cache holding a products directory (with a nested file) and a weblog zip."""
    cache = tmp_path / "eu-cache"
    products = cache / "2015.1.00657.S_2018_07_19T07_10_03.781" / "SOUS" / "GOUS" / "products"
    products.mkdir(parents=True)
    (products / "product-0.data").write_text("zero")
    (products / "product-1.data").write_text("one")
    (cache / WEBLOG).write_bytes(a_zip({"index.html": b"<h1>weblog</h1>"}))
    return cache


@pytest.fixture
def jao_cache(tmp_path: Path) -> Path:
    cache = tmp_path / "jao-cache"
    cache.mkdir()
    return cache


@pytest.fixture(params=["rsync", "no-rsync"])
def rsync(request: pytest.FixtureRequest) -> str | None:
    """Each replication test runs with rsync and with the fallback copy."""
    if request.param == "rsync":
        if RSYNC is None:
            pytest.skip("rsync is not installed")
        return RSYNC
    return None


def a_zip(entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def tree_of(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


# -- names --------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "a/b", "../x", "/etc/passwd", "a\\b", "a\0b", "-rf", None, 3],
)
def test_unsafe_names_are_refused(name: object) -> None:
    with pytest.raises(UnsafePath, match="cached file name"):
        check_name(name)


def test_plain_names_pass() -> None:
    assert check_name(WEBLOG) == WEBLOG
    assert check_name("2015.1.00657.S_2018_07_19T07_10_03.781") != ""
    assert check_name("..hidden") == "..hidden"


@pytest.mark.parametrize(
    ("source", "remote"),
    [("/tmp/eu", False), ("eu", False), ("user@host:/tmp/eu", True), ("host:eu", True),
     ("rsync://host/eu", True), ("./a:b", False)],
)  # fmt: skip
def test_remote_specs_are_told_from_local_paths(source: str, remote: bool) -> None:
    assert is_remote(source) is remote
    assert is_remote(Path(source)) is False  # a Path is always local


def test_leftovers_of_a_killed_copy_are_removed_and_nothing_else(
    eu_cache: Path, jao_cache: Path
) -> None:
    copy_into_cache(eu_cache / WEBLOG, jao_cache)
    (jao_cache / f".{WEBLOG}.tmp-0a1b2c3d").write_text("half a copy")
    (jao_cache / ".2015.1.00657.S_2018.old-deadbeef").mkdir()
    (jao_cache / "weblogs").mkdir()
    (jao_cache / ".keep").write_text("not ours")
    removed = remove_leftovers(jao_cache)
    assert sorted(p.name for p in removed) == [
        ".2015.1.00657.S_2018.old-deadbeef",
        f".{WEBLOG}.tmp-0a1b2c3d",
    ]
    assert sorted(os.listdir(jao_cache)) == [".keep", WEBLOG, "weblogs"]


# -- replication ------------------------------------------------------------------
def test_a_products_directory_is_replicated_as_itself(
    eu_cache: Path, jao_cache: Path, rsync: str | None
) -> None:
    name = "2015.1.00657.S_2018_07_19T07_10_03.781"
    copied = replicate(str(eu_cache), name, jao_cache, rsync=rsync)
    assert copied == jao_cache / name
    assert tree_of(copied) == tree_of(eu_cache / name)
    assert sorted(os.listdir(jao_cache)) == [name]  # no temporary leftovers


def test_a_file_is_replicated(eu_cache: Path, jao_cache: Path, rsync: str | None) -> None:
    copied = replicate(eu_cache, WEBLOG, jao_cache, rsync=rsync)
    assert copied.read_bytes() == (eu_cache / WEBLOG).read_bytes()


def test_replicating_again_makes_the_replica_equal_the_source(
    eu_cache: Path, jao_cache: Path, rsync: str | None
) -> None:
    name = "2015.1.00657.S_2018_07_19T07_10_03.781"
    replicate(eu_cache, name, jao_cache, rsync=rsync)
    products = eu_cache / name / "SOUS" / "GOUS" / "products"
    (products / "product-0.data").unlink()
    (products / "product-2.data").write_text("two")
    replicate(eu_cache, name, jao_cache, rsync=rsync)
    assert tree_of(jao_cache / name) == tree_of(eu_cache / name)


def test_a_missing_source_is_a_clear_error(
    eu_cache: Path, jao_cache: Path, rsync: str | None
) -> None:
    with pytest.raises(CacheError, match=r"not-there\.zip: not found in cache"):
        replicate(eu_cache, "not-there.zip", jao_cache, rsync=rsync)


def test_an_unsafe_name_is_refused_before_anything_runs(
    eu_cache: Path, jao_cache: Path, rsync: str | None
) -> None:
    with pytest.raises(UnsafePath):
        replicate(eu_cache, "../eu-cache", jao_cache, rsync=rsync)
    assert list(jao_cache.iterdir()) == []


def test_a_missing_destination_is_a_clear_error(
    eu_cache: Path, tmp_path: Path, rsync: str | None
) -> None:
    with pytest.raises(CacheError, match="does not exist"):
        replicate(eu_cache, WEBLOG, tmp_path / "gone", rsync=rsync)


def test_a_destination_that_is_a_file_is_a_clear_error(
    eu_cache: Path, tmp_path: Path, rsync: str | None
) -> None:
    with pytest.raises(CacheError, match="is not a directory"):
        replicate(eu_cache, WEBLOG, eu_cache / WEBLOG, rsync=rsync)


def test_a_remote_source_without_rsync_is_a_clear_error(jao_cache: Path) -> None:
    with pytest.raises(CacheError, match="rsync is not installed"):
        replicate("user@eu-arc:/cache", WEBLOG, jao_cache, rsync=None)


@pytest.fixture
def local_rsh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make rsync's "remote shell" run the remote side locally: remote specs without ssh."""
    script = tmp_path / "local-rsh"
    script.write_text('#!/bin/sh\n[ "$1" = -l ] && shift 2\nshift\nexec "$@"\n')  # -l USER HOST
    script.chmod(0o755)
    monkeypatch.setenv("RSYNC_RSH", str(script))


@pytest.mark.usefixtures("local_rsh")
def test_a_remote_spec_is_pulled_with_rsync(eu_cache: Path, jao_cache: Path) -> None:
    if RSYNC is None:
        pytest.skip("rsync is not installed")
    name = "2015.1.00657.S_2018_07_19T07_10_03.781"
    for item in (name, WEBLOG):
        copied = replicate(f"drw@eu-arc:{eu_cache}", item, jao_cache, rsync=RSYNC, timeout=30)
        assert copied == jao_cache / item
    assert tree_of(jao_cache / name) == tree_of(eu_cache / name)
    assert (jao_cache / WEBLOG).read_bytes() == (eu_cache / WEBLOG).read_bytes()


@pytest.mark.usefixtures("local_rsh")
def test_a_remote_source_that_lacks_the_file_is_a_clear_error(
    eu_cache: Path, jao_cache: Path
) -> None:
    if RSYNC is None:
        pytest.skip("rsync is not installed")
    with pytest.raises(CacheError, match=r"failed \(exit \d+\): .*No such file"):
        replicate(f"eu-arc:{eu_cache}", "gone.zip", jao_cache, rsync=RSYNC, timeout=30)


def test_an_rsync_failure_carries_rsync_s_message(
    jao_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if RSYNC is None:
        pytest.skip("rsync is not installed")
    monkeypatch.setenv("RSYNC_RSH", shutil.which("false") or "false")  # the "ssh" fails at once
    with pytest.raises(CacheError, match=r"rsync of .* failed \(exit \d+\): .+"):
        replicate("eu-arc:/cache", WEBLOG, jao_cache, rsync=RSYNC, timeout=20)


def test_a_missing_rsync_binary_is_a_clear_error(eu_cache: Path, jao_cache: Path) -> None:
    with pytest.raises(CacheError, match="cannot run rsync"):
        replicate(eu_cache, WEBLOG, jao_cache, rsync="/nonexistent/rsync")


# -- unwritable destinations ---------------------------------------------------
@pytest.fixture
def unwritable_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody can write into, provoked for real.

    chmod does not stop root, so as root a read-only tmpfs is mounted (EROFS);
    where mounting is not allowed either, /sys (which refuses new files, even
    to root) stands in.
    """
    target = tmp_path / "read-only"
    target.mkdir()
    if os.geteuid() != 0:
        target.chmod(0o555)
        yield target
        target.chmod(0o755)
        return
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if mount and umount:
        done = subprocess.run(
            [mount, "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(target)],
            capture_output=True,
            check=False,
        )
        if done.returncode == 0:
            try:
                yield target
            finally:
                subprocess.run([umount, str(target)], check=True)
            return
    if Path("/sys").is_dir() and not os.access("/sys", os.W_OK):
        yield Path("/sys")
        return
    pytest.skip("cannot make an unwritable directory here")  # pragma: no cover


def test_copying_into_an_unwritable_cache_is_a_clear_error(
    eu_cache: Path, unwritable_dir: Path, rsync: str | None
) -> None:
    with pytest.raises(CacheError, match=r"cannot copy|rsync of .* failed"):
        if rsync is None:
            copy_into_cache(eu_cache / WEBLOG, unwritable_dir)
        else:
            replicate(eu_cache, WEBLOG, unwritable_dir, rsync=rsync)


def test_expanding_into_an_unwritable_cache_is_a_clear_error(
    eu_cache: Path, unwritable_dir: Path
) -> None:
    with pytest.raises(CacheError, match="cannot expand"):
        expand_weblog(eu_cache / WEBLOG, unwritable_dir / "weblogs")


# -- copy into the cache ------------------------------------------------------------
def test_the_driver_copies_a_products_dir_and_a_weblog_into_its_cache(
    eu_cache: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "driver-cache"
    cache.mkdir()
    name = "2015.1.00657.S_2018_07_19T07_10_03.781"
    for _ in range(2):  # copying again replaces the earlier copy
        assert copy_into_cache(eu_cache / name, cache) == cache / name
        assert copy_into_cache(eu_cache / WEBLOG, cache) == cache / WEBLOG
    assert tree_of(cache / name) == tree_of(eu_cache / name)
    assert sorted(os.listdir(cache)) == sorted([name, WEBLOG])


def test_copying_a_missing_source_is_a_clear_error(tmp_path: Path, jao_cache: Path) -> None:
    with pytest.raises(CacheError, match="does not exist"):
        copy_into_cache(tmp_path / "nothing", jao_cache)


def test_copying_into_a_missing_cache_is_a_clear_error(eu_cache: Path, tmp_path: Path) -> None:
    with pytest.raises(CacheError, match="does not exist"):
        copy_into_cache(eu_cache / WEBLOG, tmp_path / "no" / "cache")


# -- weblogs --------------------------------------------------------------------
def test_a_weblog_expands_into_its_own_directory(eu_cache: Path, jao_cache: Path) -> None:
    target = expand_weblog(eu_cache / WEBLOG, jao_cache / "weblogs")
    assert target == jao_cache / "weblogs" / "weblog-X1-X1-Xa1-2018_07_19T07_10_03.781"
    assert (target / "index.html").read_bytes() == b"<h1>weblog</h1>"
    assert os.listdir(jao_cache / "weblogs") == [target.name]


def test_expanding_the_same_weblog_again_is_idempotent(eu_cache: Path, jao_cache: Path) -> None:
    first = tree_of(expand_weblog(eu_cache / WEBLOG, jao_cache / "weblogs"))
    second = tree_of(expand_weblog(eu_cache / WEBLOG, jao_cache / "weblogs"))
    assert first == second
    assert len(os.listdir(jao_cache / "weblogs")) == 1


def test_nested_entries_and_directories_are_expanded(tmp_path: Path, jao_cache: Path) -> None:
    zip_path = tmp_path / WEBLOG
    zip_path.write_bytes(a_zip({"index.html": b"i", "stages/": b"", "stages/s1/t.html": b"t"}))
    target = expand_weblog(zip_path, jao_cache / "weblogs")
    assert (target / "stages" / "s1" / "t.html").read_bytes() == b"t"


@pytest.mark.parametrize(
    ("entries", "complaint"),
    [
        ({"../evil.html": b"x"}, "would escape"),
        ({"index.html": b"ok", "a/../../evil.html": b"x"}, "would escape"),
        ({"/etc/evil.html": b"x"}, "absolute path"),
        ({"C:/evil.html": b"x"}, "absolute path"),
        ({"a\\..\\..\\evil.html": b"x"}, "backslash"),
    ],
)
def test_entries_escaping_the_cache_are_refused_and_leave_nothing(
    tmp_path: Path, jao_cache: Path, entries: dict[str, bytes], complaint: str
) -> None:
    zip_path = tmp_path / WEBLOG
    zip_path.write_bytes(a_zip(entries))
    weblogs = jao_cache / "weblogs"
    with pytest.raises(UnsafePath, match=complaint):
        expand_weblog(zip_path, weblogs)
    assert os.listdir(weblogs) == []
    assert not (tmp_path / "evil.html").exists() and not (jao_cache / "evil.html").exists()


def test_a_symlink_entry_is_refused(tmp_path: Path, jao_cache: Path) -> None:
    zip_path = tmp_path / WEBLOG
    zip_path.write_bytes(a_zip({"index.html": b"ok"}, symlinks={"passwd": "/etc/passwd"}))
    with pytest.raises(UnsafePath, match="symbolic link"):
        expand_weblog(zip_path, jao_cache / "weblogs")
    assert os.listdir(jao_cache / "weblogs") == []


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a zip", a_zip({"index.html": b"x" * 1000})[:-30]],
    # named: a zip's bytes hold the time it was made, and xdist workers must agree on ids
    ids=["empty", "not-a-zip", "truncated"],
)
def test_a_corrupt_zip_is_refused_clearly(tmp_path: Path, jao_cache: Path, content: bytes) -> None:
    zip_path = tmp_path / WEBLOG
    zip_path.write_bytes(content)
    with pytest.raises(InvalidMessage, match="corrupt weblog zip"):
        expand_weblog(zip_path, jao_cache / "weblogs")
    assert os.listdir(jao_cache / "weblogs") == []


def test_a_zip_with_damaged_contents_is_refused_clearly(tmp_path: Path, jao_cache: Path) -> None:
    data = bytearray(a_zip({"index.html": b"hello weblog " * 50}))
    offset = data.index(b"hello weblog")
    data[offset : offset + 5] = b"HELLO"  # CRC no longer matches (stored, not deflated)
    zip_path = tmp_path / WEBLOG
    zip_path.write_bytes(bytes(data))
    with pytest.raises(InvalidMessage, match="corrupt weblog zip"):
        expand_weblog(zip_path, jao_cache / "weblogs")
    assert os.listdir(jao_cache / "weblogs") == []


def test_a_failed_re_expansion_keeps_the_earlier_weblog(eu_cache: Path, jao_cache: Path) -> None:
    good = expand_weblog(eu_cache / WEBLOG, jao_cache / "weblogs")
    (eu_cache / WEBLOG).write_bytes(a_zip({"../evil": b"x"}))
    with pytest.raises(UnsafePath):
        expand_weblog(eu_cache / WEBLOG, jao_cache / "weblogs")
    assert (good / "index.html").read_bytes() == b"<h1>weblog</h1>"


def test_a_missing_zip_and_a_non_zip_name_are_clear_errors(tmp_path: Path, jao_cache: Path) -> None:
    with pytest.raises(CacheError, match="does not exist"):
        expand_weblog(tmp_path / WEBLOG, jao_cache / "weblogs")
    (tmp_path / "weblog.tar").write_bytes(b"x")
    with pytest.raises(InvalidMessage, match=r"must be a \.zip"):
        expand_weblog(tmp_path / "weblog.tar", jao_cache / "weblogs")
