"""Hostile and broken files delivered through the real flows: refused, and nothing escapes.

Weblog zips reach the JAO replicated cache as in production: the zip sits in
the EU cache, ``cached.JAO`` names it, the JAO cache replicates it (rsync when
installed) and expands it. Products trees reach the product ingestor through
``ingest.JAO``. Each bad case must end dead-lettered with an error naming the
problem; no file may appear outside the weblog's own directory, no expansion
or temporary directory may be left, and NGAS and the other databases must be
as they were. After each case the actors must still handle good work.
"""

from __future__ import annotations

import base64
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drwlab.actors.product_ingestor import ProductIngestor
from drwlab.actors.replicated_cache import ReplicatedCache
from drwlab.actors.xtss import Xtss
from drwlab.bus import MessageBus
from drwlab.lifecycle import State
from drwlab.pipeline import run_pipeline
from drwlab.products import ProductsTree
from drwlab.store import Store, open_store, sqlite_url
from tests.reliability.files import a_zip, store_snapshot, tree, wait_settled

PROG = "2015.1.00657.S"
UID = "uid://X1/X1/Xa1"
RUN = "2018-07-19T07:10:03.781"
WEBLOG = "weblog-X1-X1-Xa1-2018_07_19T07_10_03.781.zip"
SECRET = b"TOP-SECRET-CONTENT"
GOOD = a_zip({"index.html": b"<h1>weblog</h1>", "stage1/t1.html": b"<p>t1</p>"})


@dataclass
class Site:
    """The JAO side (cache, ingestor, XTSS) over one store, and an EU cache directory."""

    store: Store
    bus: MessageBus
    eu: Path
    jao: Path
    outside: Path
    cache: ReplicatedCache
    ingestor: ProductIngestor
    xtss: Xtss

    def send(self, selector: str, body: object) -> dict:
        return wait_settled(self.store, self.bus.send(selector, body))

    def files(self) -> dict[str, str]:
        """Every file of the two caches and of the directory beside them."""
        return {
            f"{root.name}/{path}": what
            for root in (self.eu, self.jao, self.outside)
            for path, what in tree(root).items()
        }

    def everything(self) -> tuple[dict, dict]:
        """The databases (but msgq) and every file of the caches and beside them."""
        return store_snapshot(self.store), self.files()


@pytest.fixture
def site(tmp_path: Path, secret_dir: Path) -> Iterator[Site]:
    eu, jao = tmp_path / "eu-cache", tmp_path / "jao-cache"
    eu.mkdir()
    jao.mkdir()
    (tmp_path / "db").mkdir()
    store = open_store(sqlite_url(tmp_path / "db" / "drwlab.db"))
    bus = MessageBus(store, lease=10.0, max_attempts=2, retry_delay=0.05)
    xtss = Xtss(bus, store).start()
    cache = ReplicatedCache(bus, store, executive="JAO", cache_dir=jao, remotes={"EU": eu})
    ingestor = ProductIngestor(bus, store, cache_dir=jao, time_scale=0.0, wait_timeout=0.5)
    cache.start()
    ingestor.start()
    try:
        yield Site(store, bus, eu, jao, secret_dir, cache, ingestor, xtss)
    finally:
        for actor in (ingestor, cache, xtss):
            actor.stop()
        bus.close()
        store.close()


def assert_still_working(site: Site) -> None:
    """The cache and the ingestor are alive, and the cache expands a good weblog."""
    name = "weblog-X9-X9-X9-2018_07_19T07_10_03.781.zip"
    (site.eu / name).write_bytes(GOOD)
    done = site.send("cached.JAO", {"fileType": "weblog", "cachedAt": "EU", "name": name})
    assert done["state"] == "done", done.get("error")
    assert (site.jao / "weblogs" / name.removesuffix(".zip") / "index.html").is_file()
    assert site.cache.is_alive and site.ingestor.is_alive


# -- weblog zips ------------------------------------------------------------------------
def hostile_zips(outside: Path) -> dict[str, tuple[bytes, str]]:
    """Case -> (zip bytes, what the error must say)."""
    page = {"index.html": b"<h1>weblog</h1>"}
    return {
        "dot-dot": (a_zip({**page, "../evil.txt": b"x"}), "escape"),
        "dot-dot-deep": (a_zip({**page, "../../../outside/evil.txt": b"x"}), "escape"),
        "dot-dot-inside": (a_zip({**page, "a/../../evil.txt": b"x"}), "escape"),
        "absolute": (a_zip({**page, str(outside / "evil.txt"): b"x"}), "absolute"),
        "backslash": (a_zip({**page, "..\\..\\evil.txt": b"x"}), "backslash"),
        "symlink-file": (a_zip(page, symlinks={"s": str(outside / "secret.txt")}), "symbolic"),
        "symlink-then-write": (
            a_zip({**page, "d/evil.txt": b"x"}, symlinks={"d": str(outside)}),
            "symbolic",
        ),
        "not-a-zip": (b"this is not a zip archive at all", "corrupt"),
        "empty-file": (b"", "corrupt"),
        "truncated": (GOOD[: len(GOOD) // 2], "corrupt"),
        "bad-crc": (_bad_crc(), "corrupt"),
    }


def _bad_crc() -> bytes:
    data = bytearray(a_zip({"index.html": b"<h1>" + b"A" * 200 + b"</h1>"}))
    at = bytes(data).index(b"AAAA")
    data[at] = ord("B")  # stored (uncompressed) content changed, CRC kept
    return bytes(data)


@pytest.mark.parametrize("case", list(hostile_zips(Path("/x"))))
def test_a_hostile_or_corrupt_weblog_is_refused_and_nothing_escapes(site: Site, case: str) -> None:
    content, expected = hostile_zips(site.outside)[case]
    (site.eu / WEBLOG).write_bytes(content)
    databases, files = site.everything()

    done = site.send("cached.JAO", {"fileType": "weblog", "cachedAt": "EU", "name": WEBLOG})

    assert done["state"] == "dead", f"{case}: the weblog was accepted"
    assert expected in done["error"].lower(), done["error"]
    assert WEBLOG in done["error"] or "entry" in done["error"], done["error"]
    assert store_snapshot(site.store) == databases, "NGAS or another database changed"
    after = site.files()
    added = {path: what for path, what in after.items() if files.get(path) != what}
    assert added == {f"jao-cache/{WEBLOG}": files[f"eu-cache/{WEBLOG}"]}, (
        "only the replica of the zip itself may appear: nothing expanded, nothing outside"
    )
    assert_still_working(site)


def test_a_weblog_that_is_a_symlink_to_a_zip_outside_the_cache_is_not_expanded(
    site: Site,
) -> None:
    private = site.outside / "private.zip"
    private.write_bytes(a_zip({"index.html": SECRET}))
    (site.eu / WEBLOG).symlink_to(private)
    databases, _ = site.everything()

    done = site.send("cached.JAO", {"fileType": "weblog", "cachedAt": "EU", "name": WEBLOG})

    assert done["state"] == "dead", "a link out of the EU cache was followed"
    assert "link" in done["error"], done["error"]
    assert not (site.jao / "weblogs" / WEBLOG.removesuffix(".zip")).exists()
    assert store_snapshot(site.store) == databases
    assert all(
        SECRET.decode() not in doc.get("encodedContents", "") for doc in site.store.all_docs("ngas")
    )


# -- names in cached.* messages ----------------------------------------------------------
@pytest.mark.parametrize(
    ("file_type", "name"),
    [
        ("weblog", "../weblog-X1-X1-Xa1-x.zip"),
        ("weblog", "../../outside/secret.zip"),
        ("weblog", "/etc/passwd.zip"),
        ("weblog", "weblogs/../../x.zip"),
        ("weblog", "a/b.zip"),
        ("weblog", "..\\x.zip"),
        ("productsdir", ".."),
        ("productsdir", "."),
        ("productsdir", "../outside"),
        ("productsdir", "/etc"),
        ("productsdir", "2015.1.00657.S_2018/../../outside"),
        ("productsdir", "-rf"),
        ("productsdir", ""),
    ],
)
def test_a_name_that_is_not_a_plain_name_is_refused_before_any_copy(
    site: Site, file_type: str, name: str
) -> None:
    databases, files = site.everything()
    done = site.send("cached.JAO", {"fileType": file_type, "cachedAt": "EU", "name": name})
    assert done["state"] == "dead"
    assert done["attempts"] == 1, "an unsafe name is refused at once, not retried"
    assert "UnsafePath" in done["error"] and repr(name) in done["error"], done["error"]
    assert site.everything() == (databases, files)
    assert_still_working(site)


def test_a_products_dir_missing_from_the_source_cache_is_a_clear_error(site: Site) -> None:
    databases, files = site.everything()
    name = "2015.1.00657.S_2018_07_19T07_10_03.781"
    done = site.send("cached.JAO", {"fileType": "productsdir", "cachedAt": "EU", "name": name})
    assert done["state"] == "dead"
    assert name in done["error"] and "not found" in done["error"], done["error"]
    assert site.everything() == (databases, files)
    assert_still_working(site)


# -- products trees at the ingestor ------------------------------------------------------
def verified_for_delivery(site: Site) -> ProductsTree:
    """The OUS in DeliveryInProgress and its complete products tree in the JAO cache."""
    site.xtss.create(UID, PROG, "PipelineCalibration", "EU")
    for state in (
        State.PROCESSING,
        State.READY_FOR_REVIEW,
        State.REVIEWING,
        State.VERIFIED,
        State.DELIVERY_IN_PROGRESS,
    ):
        site.xtss.set_state(UID, state)
    return run_pipeline(PROG, UID, "EU", site.jao, time_scale=0, failure_rate=0, timestamp=RUN)


def ingest(site: Site, products: ProductsTree) -> dict:
    body = {"ousUID": UID, "timestamp": RUN, "productsDir": products.products_dir}
    return site.send("ingest.JAO", body)


def test_a_products_tree_missing_a_file_is_not_ingested(site: Site) -> None:
    products = verified_for_delivery(site)
    missing = products.data_product_paths[3]
    missing.unlink()
    databases = store_snapshot(site.store, skip=("msgq", "status-entities"))

    done = ingest(site, products)

    assert done["state"] == "dead"
    assert missing.name in done["error"] and "missing" in done["error"], done["error"]
    assert store_snapshot(site.store, skip=("msgq", "status-entities")) == databases
    assert site.xtss.entity(UID)["state"] == State.DELIVERY_IN_PROGRESS.value
    assert_still_working(site)


@pytest.mark.parametrize("link", ["absolute", "relative", "directory"])
def test_a_products_tree_linking_outside_the_cache_is_not_ingested(site: Site, link: str) -> None:
    products = verified_for_delivery(site)
    product = products.data_product_paths[0]
    if link == "directory":  # the whole products directory is a link to somewhere else
        elsewhere = site.outside / "products"
        products.products_path.rename(elsewhere)
        (elsewhere / product.name).write_bytes(SECRET)
        products.products_path.symlink_to(elsewhere)
    else:
        product.unlink()
        target = site.outside / "secret.txt"
        relative = Path(*[".."] * (len(product.relative_to(site.jao.parent).parts) - 1))
        product.symlink_to(target if link == "absolute" else relative / "outside" / "secret.txt")
    databases = store_snapshot(site.store, skip=("msgq", "status-entities"))

    done = ingest(site, products)

    archived = [_decoded(doc.get("encodedContents", "")) for doc in site.store.all_docs("ngas")]
    assert not any(SECRET in content for content in archived), (
        "a file outside the cache was archived in NGAS"
    )
    assert done["state"] == "dead", "a products tree linking outside the cache was ingested"
    assert product.name in done["error"], done["error"]
    assert store_snapshot(site.store, skip=("msgq", "status-entities")) == databases


def _decoded(text: str) -> bytes:
    try:
        return base64.b64decode(text)
    except ValueError:
        return b""


def test_the_good_weblog_control_case_expands(site: Site) -> None:
    # the control for the refusals above: the same flow accepts a sound weblog
    (site.eu / WEBLOG).write_bytes(GOOD)
    done = site.send("cached.JAO", {"fileType": "weblog", "cachedAt": "EU", "name": WEBLOG})
    assert done["state"] == "done", done.get("error")
    expanded = site.jao / "weblogs" / WEBLOG.removesuffix(".zip")
    assert (expanded / "stage1" / "t1.html").read_bytes() == b"<p>t1</p>"
    assert [doc["_id"] for doc in site.store.all_docs("ngas")] == [WEBLOG]
    assert zipfile.is_zipfile(site.jao / WEBLOG)
