"""The table accessors: columns, contents and the change token, on every backend."""

from __future__ import annotations

from drwlab.faults import record_fault
from drwlab.lifecycle import STATES, State
from drwlab.store.base import Store
from drwlab.views import tables
from drwlab.views.registry import TABLES
from drwlab.wire import FAULTS_DB, NGAS_DB, REPORTS_DB, STATUS_DB
from tests.views.wire import (
    DELIVERED_PATH,
    PROBLEM_PATH,
    delivered_ous,
    message,
    status_doc,
    ts,
)

A, B, C = "uid://X1/X1/Xa1", "uid://X1/X1/Xb2", "uid://X1/X1/Xc3"


def test_status_entities_have_one_row_per_ous_with_executive_and_recipe(store: Store) -> None:
    delivered_ous(store, A)
    store.put(STATUS_DB, status_doc(B, PROBLEM_PATH, problem="pipeline crashed"))

    table = tables.status_entities(store)

    assert list(table.columns) == list(TABLES["status-entities"].columns)
    rows = {row["uid"]: row for row in table.to_dict("records")}
    assert rows[A]["state"] == "Delivered"
    assert rows[A]["executive"] == "EU"
    assert rows[A]["recipe"] == "PipelineCalibration"
    assert rows[A]["progID"] == "2015.1.00657.S"
    assert rows[B]["state"] == "ProcessingProblem"
    assert rows[B]["problem"] == "pipeline crashed"
    assert rows[A]["problem"] is None


def test_state_history_has_one_row_per_entry_in_order(store: Store) -> None:
    store.put(STATUS_DB, status_doc(A, DELIVERED_PATH))

    history = tables.state_history(store)

    assert list(history.columns) == list(TABLES["state-history"].columns)
    assert len(history) == len(DELIVERED_PATH)
    assert history["state"].tolist()[:2] == ["ReadyForProcessing", "Processing"]
    assert history["substate"].tolist()[5:7] == ["IngestionTriggered", "ProductsIngested"]
    assert set(history["uid"]) == {A}
    assert history["actor"].tolist()[0] == "test"


def test_board_has_every_state_in_lifecycle_order_even_empty_ones(store: Store) -> None:
    store.put(STATUS_DB, status_doc(A, PROBLEM_PATH, executive="JAO"))
    store.put(STATUS_DB, status_doc(B, [State.READY_FOR_PROCESSING], start=5))
    store.put(STATUS_DB, status_doc(C, [State.READY_FOR_PROCESSING], start=9))

    board = tables.board(store)

    assert list(board) == [state.value for state in STATES]
    assert [card["uid"] for card in board["ReadyForProcessing"]] == [C, B]  # newest first
    card = board["ProcessingProblem"][0]
    assert card == {"uid": A, "substate": None, "executive": "JAO", "timestamp": ts(4)}
    assert board["Delivered"] == []


def test_the_other_tables_carry_their_columns_without_large_fields(store: Store) -> None:
    delivered_ous(store, A, products=3)

    ngas = tables.ngas_files(store)
    assert list(ngas.columns) == ["name", "size", "writeTimestamp", "ousUID"]
    assert len(ngas) == 3 and set(ngas["ousUID"]) == {A} and set(ngas["size"]) == {1000}
    reports = tables.pipeline_reports(store)
    assert list(reports.columns) == ["ousUID", "source", "timestamp", "productsDir"]
    assert reports["source"].tolist() == ["EU"]
    metadata = tables.products_metadata(store)
    assert list(metadata.columns) == ["productID", "ousUID", "progID", "timestamp"]
    assert sorted(metadata["productID"]) == sorted(ngas["name"])
    delivery = tables.delivery_status(store).to_dict("records")
    assert delivery[0]["complete"] is True and delivery[0]["products"] == 3


def test_qa_scores_are_read_from_the_base64_report(store: Store) -> None:
    delivered_ous(store, A)

    scores = tables.qa_scores(store)

    assert list(scores.columns) == ["ousUID", "timestamp", "stage", "name", "score"]
    assert scores["score"].tolist() == [0.95, 0.7, 0.4]
    assert set(scores["ousUID"]) == {A}


def test_an_unreadable_report_is_one_row_saying_why(store: Store) -> None:
    store.put(REPORTS_DB, {"ousUID": A, "timestamp": ts(0), "report": "not base64!"})

    scores = tables.qa_scores(store).to_dict("records")

    assert len(scores) == 1 and scores[0]["stage"] is None
    assert scores[0]["name"].startswith("unreadable report")


def test_unread_messages_dead_letters_and_liveness_come_from_msgq(store: Store) -> None:
    store.bulk_put(
        "msgq",
        [
            message("pipeline.process.EU", {"ousUID": A}, at=1, sender="launcher"),
            message("xtss", {"ousUID": A}, at=2, sender="driver", handled_by="xtss@h:1"),
            message("xtss", {"ousUID": B}, at=3, sender="driver", handled_by="xtss@h:1"),
            message("ingest.JAO", {"ousUID": A}, at=4, handled_by="ingestor@h:2"),
            message(
                "cached.JAO",
                {"name": "x"},
                at=5,
                state="dead",
                error="RuntimeError: disk full",
                attempts=3,
            ),
            {"_id": "group:state.change.*", "type": "group", "members": ["a"]},
        ],
    )

    unread = tables.unread_messages(store)
    assert unread.to_dict("records") == [
        {"selector": "pipeline.process.EU", "creationTimestamp": ts(1), "sender": "launcher"}
    ]
    dead = tables.dead_letters(store).to_dict("records")
    assert len(dead) == 1
    assert dead[0]["selector"] == "cached.JAO"
    assert dead[0]["error"] == "RuntimeError: disk full"
    assert dead[0]["attempts"] == 3
    assert dead[0]["body"] == '{"name": "x"}'
    liveness = tables.actor_liveness(store).to_dict("records")
    assert liveness == [
        {"actor": "ingestor@h:2", "lastHandled": ts(4.5), "handled": 1},
        {"actor": "xtss@h:1", "lastHandled": ts(3.5), "handled": 2},
    ]


def test_an_error_record_reads_as_one_line() -> None:
    assert tables.describe_error({"type": "Conflict", "message": "stale"}) == "Conflict: stale"
    assert tables.describe_error("KeyError: 'x'") == "KeyError: 'x'"
    assert tables.describe_error(None) is None


def test_empty_store_gives_empty_tables_with_their_columns(store: Store) -> None:
    snap = tables.snapshot(store)

    for name, table in snap.frames().items():
        assert table.empty, name
        assert len(table.columns) > 0, name
    assert all(cards == [] for cards in snap.board.values())


def test_the_change_token_moves_on_a_write_and_only_then(store: Store) -> None:
    before = tables.change_token(store)
    assert tables.change_token(store) == before

    store.put(NGAS_DB, {"_id": "f", "fileId": "f", "writeTimestamp": ts(0)})

    assert tables.change_token(store) != before


def test_the_snapshot_json_is_plain_json(store: Store) -> None:
    delivered_ous(store, A)

    data = tables.snapshot(store).to_json()

    assert data["tables"]["status-entities"][0]["uid"] == A
    assert data["tables"]["ngas"][0]["size"] == 1000
    assert data["board"]["Delivered"][0]["uid"] == A
    assert "encodedContents" not in str(data)


def test_a_database_not_made_yet_reads_as_an_empty_table(store: Store) -> None:
    assert FAULTS_DB not in store.db_names()  # no fault was ever injected

    assert tables.injected_faults(store).empty
    assert list(tables.injected_faults(store).columns) == ["timestamp", "kind", "actor", "details"]
    token = tables.change_token(store)
    assert token[tables.snapshot(store).databases.index(FAULTS_DB)] is None

    record_fault(store, "outage", began="T0", ended="T1", seconds=1, refused=2)

    assert tables.change_token(store) != token
    [fault] = tables.injected_faults(store).to_dict("records")
    assert (fault["kind"], fault["actor"]) == ("outage", None)
    assert "unreachable for 1 s, from T0 to T1; 2 calls refused" in fault["details"]
