"""The replicated caches: EU -> JAO with rsync, weblogs expanded and served, NGAS at JAO."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from drwlab.actors.replicated_cache import ReplicatedCache, weblog_uid
from drwlab.bus import MessageBus
from drwlab.cachefiles import copy_into_cache
from drwlab.ngas import Ngas
from drwlab.products import ProductsTree
from drwlab.store import Store
from tests.actors.conftest import UID, make_products, wait_dead, wait_done, wait_until


@pytest.fixture
def eu_tree(tmp_path: Path) -> ProductsTree:
    """A pipeline run's products, copied into the EU cache as the driver does."""
    tree = make_products(tmp_path / "work")
    (tmp_path / "eu").mkdir(exist_ok=True)
    copy_into_cache(tree.path, tmp_path / "eu")
    copy_into_cache(tree.weblog_path, tmp_path / "eu")
    return tree


@pytest.fixture
def caches(bus: MessageBus, store: Store, tmp_path: Path) -> Iterator[dict[str, ReplicatedCache]]:
    rsync = shutil.which("rsync")
    assert rsync, "rsync must be installed for these tests"
    eu = ReplicatedCache(bus, store, executive="EU", cache_dir=tmp_path / "eu", rsync=rsync)
    jao = ReplicatedCache(
        bus,
        store,
        executive="JAO",
        cache_dir=tmp_path / "jao",
        remotes={"EU": str(tmp_path / "eu")},
        rsync=rsync,
    )
    started = {"EU": eu.start(), "JAO": jao.start()}
    yield started
    for cache in started.values():
        cache.stop()
    assert not eu.server.running and not jao.server.running


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode("utf-8"))


def test_products_and_weblog_cached_at_eu_reach_jao_expanded_served_and_archived(
    caches: dict[str, ReplicatedCache],
    eu_tree: ProductsTree,
    bus: MessageBus,
    store: Store,
    tmp_path: Path,
) -> None:
    weblog = eu_tree.weblog_path.name
    ids = [
        bus.send(
            "cached.JAO",
            {"fileType": "productsdir", "cachedAt": "EU", "name": eu_tree.products_dir},
        ),
        bus.send("cached.JAO", {"fileType": "weblog", "cachedAt": "EU", "name": weblog}),
        bus.send("cached.EU", {"fileType": "weblog", "cachedAt": "EU", "name": weblog}),
    ]
    for message_id in ids:
        wait_done(store, message_id)
    jao_tree = ProductsTree(tmp_path / "jao", eu_tree.prog_id, UID, eu_tree.timestamp)
    jao_tree.check()  # replicated: report, five products, weblog
    for executive, cache in caches.items():
        page = fetch(cache.weblog_url(weblog))
        assert UID in page, executive
        assert cache.weblog_url(weblog).startswith(cache.url)
    assert Ngas(store).file_ids() == [weblog]
    assert Ngas(store).get(weblog) == eu_tree.weblog_path.read_bytes()


@pytest.mark.parametrize(
    "body",
    [
        {"fileType": "weblog", "cachedAt": "EU", "name": "../../etc/passwd.zip"},
        {"fileType": "productsdir", "cachedAt": "EU", "name": "/etc"},
        {"fileType": "productsdir", "cachedAt": "EU", "name": ".."},
        {"fileType": "productsdir", "cachedAt": "NA", "name": "x"},
        {"fileType": "movie", "cachedAt": "EU", "name": "x"},
        {"fileType": "weblog", "cachedAt": "EU"},
        "weblog.zip",
    ],
    ids=["dotdot", "absolute", "parent", "unknown-remote", "file-type", "no-name", "not-object"],
)
def test_unsafe_or_malformed_messages_are_dead_lettered_and_the_cache_carries_on(
    caches: dict[str, ReplicatedCache],
    eu_tree: ProductsTree,
    bus: MessageBus,
    store: Store,
    tmp_path: Path,
    body: object,
) -> None:
    bad = bus.send("cached.JAO", body)
    dead = wait_dead(bus, bad)
    assert dead["error"].startswith("InvalidMessage")
    assert sorted(p.name for p in (tmp_path / "jao").iterdir()) == ["weblogs"]
    good = bus.send(
        "cached.JAO", {"fileType": "productsdir", "cachedAt": "EU", "name": eu_tree.products_dir}
    )
    wait_done(store, good)
    assert caches["JAO"].is_alive


def test_a_file_missing_at_the_source_is_retried_then_dead_lettered_with_the_reason(
    caches: dict[str, ReplicatedCache], bus: MessageBus
) -> None:
    bad = bus.send("cached.JAO", {"fileType": "weblog", "cachedAt": "EU", "name": "gone.zip"})
    dead = wait_dead(bus, bad)
    assert dead["attempts"] == 3
    assert "CacheError" in dead["error"] and "gone.zip" in dead["error"]
    assert caches["JAO"].is_alive


def test_nothing_outside_the_cache_is_served(
    caches: dict[str, ReplicatedCache], tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    url = caches["JAO"].url + "../secret.txt"
    wait_until(lambda: caches["JAO"].server.running)
    try:
        page = fetch(url)
    except urllib.error.HTTPError as error:
        assert error.code == 404
    else:
        assert "secret" not in page


def test_the_uid_is_read_off_a_weblog_name() -> None:
    assert weblog_uid("weblog-X1-X1-Xb2-2018_07_19T07_10_03.781.zip") == UID
    assert weblog_uid("other.zip") is None
