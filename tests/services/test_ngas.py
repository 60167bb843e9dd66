"""NGAS in the ``ngas`` database, on each store backend: round trip, idempotence, checks."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest

from drwlab.errors import CacheError, NotFound, UnsafePath
from drwlab.ngas import Ngas, check_file_id
from drwlab.store import Store
from drwlab.timeutil import parse_timestamp

NAME = "product-0-X1-X1-Xa1-2018_07_19T07_10_03.781.data"
UID = "uid://X1/X1/Xa1"


def test_a_file_round_trips_in_the_original_s_document_shape(store: Store) -> None:
    ngas = Ngas(store)
    content = bytes(range(256)) * 3
    doc = ngas.put(NAME, content, ous_uid=UID)
    assert doc["_id"] == doc["fileId"] == NAME
    assert base64.b64decode(doc["encodedContents"]) == content
    assert (doc["ousUID"], doc["size"]) == (UID, len(content))
    parse_timestamp(doc["writeTimestamp"])
    assert ngas.get(NAME) == content
    assert store.get("ngas", NAME)["encodedContents"] == doc["encodedContents"]


def test_putting_the_same_content_again_changes_nothing(store: Store) -> None:
    ngas = Ngas(store)
    first = ngas.put(NAME, b"data", ous_uid=UID)
    again = ngas.put(NAME, b"data", ous_uid=UID)
    assert again["_rev"] == first["_rev"]
    assert again["writeTimestamp"] == first["writeTimestamp"]
    assert [d["_id"] for d in store.all_docs("ngas")] == [NAME]


def test_different_content_replaces_the_file(store: Store) -> None:
    ngas = Ngas(store)
    first = ngas.put(NAME, b"old")
    second = ngas.put(NAME, b"new")
    assert second["_rev"] != first["_rev"]
    assert ngas.get(NAME) == b"new"
    assert len(store.all_docs("ngas")) == 1


def test_competing_writers_of_the_same_file_leave_one_document(store: Store) -> None:
    ngas = Ngas(store)
    errors: list[Exception] = []

    def put() -> None:
        try:
            ngas.put(NAME, b"same bytes", ous_uid=UID)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=put) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(store.all_docs("ngas")) == 1
    assert store.get("ngas", NAME)["_rev"].startswith("1-")


def test_a_missing_file_is_not_found(store: Store) -> None:
    ngas = Ngas(store)
    with pytest.raises(NotFound, match=r"NGAS holds no file 'nope\.data'"):
        ngas.get("nope.data")
    assert not ngas.has("nope.data")


def test_has_and_missing_tell_what_is_archived(store: Store) -> None:
    ngas = Ngas(store)
    for n in (0, 2):
        ngas.put(f"product-{n}.data", b"x")
    assert ngas.has("product-0.data")
    wanted = [f"product-{n}.data" for n in range(4)]
    assert ngas.missing([*wanted, "product-1.data"]) == ["product-1.data", "product-3.data"]
    assert ngas.missing(["product-0.data", "product-2.data"]) == []
    assert ngas.missing([]) == []
    assert ngas.file_ids() == ["product-0.data", "product-2.data"]


def test_a_file_on_disk_is_archived_under_its_name(store: Store, tmp_path: Path) -> None:
    path = tmp_path / NAME
    path.write_bytes(b"on disk")
    doc = Ngas(store).put_file(path, ous_uid=UID)
    assert doc["_id"] == NAME and Ngas(store).get(NAME) == b"on disk"
    with pytest.raises(CacheError, match="cannot read"):
        Ngas(store).put_file(tmp_path / "missing.data")


@pytest.mark.parametrize(
    "file_id", ["", ".", "..", "a/b", "../x", "/etc/passwd", "a\\b", "a\0b", "_design", "x" * 256]
)
def test_unsafe_file_ids_are_refused(store: Store, file_id: str) -> None:
    ngas = Ngas(store)
    with pytest.raises(UnsafePath):
        ngas.put(file_id, b"x")
    with pytest.raises(UnsafePath):
        ngas.get(file_id)
    with pytest.raises(UnsafePath):
        ngas.missing(["ok.data", file_id])
    assert store.all_docs("ngas") == []


def test_file_ids_that_are_plain_names_pass() -> None:
    assert check_file_id(NAME) == NAME
    assert check_file_id("weblog-X1-X1-Xa1-2018_07_19T07_10_03.781.zip").endswith(".zip")
