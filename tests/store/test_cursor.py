"""ChangeCursor: a loop's place in a change feed, on both backends."""

from __future__ import annotations

import threading

from drwlab.store import Store
from drwlab.store.cursor import ChangeCursor

DB = "status-entities"


def test_a_cursor_wakes_for_what_lands_after_its_mark_and_not_again(store: Store) -> None:
    cursor = ChangeCursor(store, DB)
    cursor.mark()
    store.put(DB, {"_id": "e1"})  # while the loop looks at the data
    assert cursor.wait(5.0) is True  # at once: it landed after the mark
    assert cursor.wait(0.3) is False  # already seen: nothing new
    writer = threading.Timer(0.2, store.put, args=(DB, {"_id": "e2"}))
    writer.start()
    try:
        assert cursor.wait(10.0) is True
    finally:
        writer.join()


def test_a_cursor_follows_a_database_made_anew(store: Store) -> None:
    for n in range(5):
        store.put(DB, {"_id": f"old{n}"})
    cursor = ChangeCursor(store, DB)
    cursor.mark()
    store.drop_db(DB)
    store.create_db(DB)  # its feed starts over on CouchDB
    assert cursor.wait(0.3) is False  # a quiet wait: the place is asked afresh
    cursor.mark()
    store.put(DB, {"_id": "new"})
    assert cursor.wait(5.0) is True


def test_changed_docs_brings_what_changed_by_id_and_a_deleted_one_as_none(store: Store) -> None:
    kept = store.put(DB, {"_id": "kept", "state": "ReadyForReview"})
    gone = store.put(DB, {"_id": "gone", "state": "ReadyForReview"})
    cursor = ChangeCursor(store, DB, recheck_when_idle=False)
    cursor.mark()
    store.put(DB, {**kept, "state": "Reviewing"})
    store.delete(DB, "gone", gone["_rev"])  # a reset
    changed = cursor.changed_docs(5.0)
    assert set(changed) == {"kept", "gone"}
    assert changed["gone"] is None
    assert changed["kept"] is not None and changed["kept"]["state"] == "Reviewing"
    assert cursor.changed_docs(0.3) == {}  # seen already
