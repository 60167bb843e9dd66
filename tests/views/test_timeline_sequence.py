"""The timeline chart (one row per OUS) and the message sequence of one OUS."""

from __future__ import annotations

from html.parser import HTMLParser

from drwlab.store.base import Store
from drwlab.views import tables
from drwlab.views.analysis import actor_name, arrows, ous_messages, segments
from drwlab.views.registry import TABLES
from drwlab.views.sequence import sequence_svg
from drwlab.views.timeline import timeline_svg
from drwlab.wire import STATUS_DB
from tests.views.wire import DELIVERED_PATH, PROBLEM_PATH, message, status_doc

A, B = "uid://X1/X1/Xa1", "uid://X1/X1/Xb2"


class _Groups(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[dict[str, str | None]]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.found.setdefault(str(a.get("class")), []).append(a)


def groups(svg: str) -> dict[str, list[dict[str, str | None]]]:
    parser = _Groups()
    parser.feed(svg)
    return parser.found


def test_the_timeline_has_a_row_per_ous_and_a_segment_per_state(store: Store) -> None:
    store.put(STATUS_DB, status_doc(A, DELIVERED_PATH))
    store.put(STATUS_DB, status_doc(B, PROBLEM_PATH, start=1))

    svg = timeline_svg(tables.state_history(store))

    found = groups(svg)
    assert [g["data-uid"] for g in found["ous"]] == [A, B]  # launch order
    states = [g["data-state"] for g in found["segment"]]
    # A: 8 entries, the two DeliveryInProgress ones make one segment; B: 3.
    assert len(states) == 7 + 3
    assert states.count("DeliveryInProgress") == 1


def test_a_segment_lasts_until_the_next_change_and_the_last_until_the_end() -> None:
    history = tables.table_of(TABLES["state-history"], [status_doc(A, PROBLEM_PATH, step=2.0)])

    rows = segments(history)

    spans = [(s.state, (s.stop - s.start).total_seconds()) for s in rows[A]]
    assert spans == [("ReadyForProcessing", 2.0), ("Processing", 2.0), ("ProcessingProblem", 0.0)]


def test_an_empty_history_says_so() -> None:
    assert "no state history" in timeline_svg(tables.frame([], TABLES["state-history"].columns))


def _rpc_conversation(store: Store) -> None:
    store.bulk_put(
        "msgq",
        [
            message(
                "pipeline.process.EU",
                {"ousUID": A},
                at=1,
                sender="launcher",
                handled_by="pipeline-driver.EU@host:1",
            ),
            message(
                "xtss",
                {"operation": "set-state", "ousUID": A, "value": "Processing"},
                at=2,
                sender="pipeline-driver.EU",
                handled_by="xtss@host:2",
                msgback="msgback.abc",
            ),
            message("msgback.abc", {"result": "ok"}, at=3, handled_by="pipeline-driver.EU@h:1"),
            message(
                "cached.JAO",
                {"fileType": "weblog", "name": "weblog-X1-X1-Xa1-2024.zip"},
                at=4,
                sender="pipeline-driver.EU",
            ),
            message("xtss", {"operation": "set-state", "ousUID": B}, at=5, sender="other"),
            message(
                "ingest.JAO",
                {"ousUID": A},
                at=6,
                sender="aqua",
                state="dead",
                error="RuntimeError: <boom>",
            ),
        ],
    )


def test_the_sequence_of_an_ous_follows_its_messages_and_rpc_replies(store: Store) -> None:
    _rpc_conversation(store)

    drawn = arrows(ous_messages(store, A))

    assert [(a.source, a.label, a.target) for a in drawn] == [
        ("launcher", "pipeline.process.EU", "pipeline-driver.EU"),
        ("pipeline-driver.EU", "xtss: set-state Processing", "xtss"),
        ("xtss", "reply", "pipeline-driver.EU"),
        ("pipeline-driver.EU", "cached.JAO", "[cached.JAO]"),
        ("aqua", "ingest.JAO", "[ingest.JAO]"),
    ]
    assert drawn[2].reply and drawn[4].dead and "<boom>" in drawn[4].detail


def test_the_sequence_svg_draws_participants_and_escapes(store: Store) -> None:
    _rpc_conversation(store)

    svg = sequence_svg(arrows(ous_messages(store, A)), title=f"messages of {A}")

    found = groups(svg)
    assert [g["data-name"] for g in found["participant"]][:3] == [
        "launcher",
        "pipeline-driver.EU",
        "xtss",
    ]
    assert len(found["message"]) == 5
    assert "<boom>" not in svg and "&lt;boom&gt;" in svg


def test_listener_identities_name_their_actor() -> None:
    assert actor_name("xtss@host:12") == "xtss"
    assert actor_name("pipeline-driver.EU-1@host:12") == "pipeline-driver.EU"
    assert actor_name(None) == "(no sender)"


def test_a_state_too_short_to_draw_gets_a_marker_on_top(store: Store) -> None:
    store.put(STATUS_DB, status_doc(A, DELIVERED_PATH, step=0.2))  # 0.2 s per state
    store.put(STATUS_DB, status_doc(B, PROBLEM_PATH, step=60.0))  # a chart of 2 minutes

    svg = timeline_svg(tables.state_history(store))  # 750 px for 120 s: 0.2 s is 1.25 px

    markers = groups(svg).get("brief", [])
    assert [m["data-state"] for m in markers][:3] == [
        "ReadyForProcessing",
        "Processing",
        "ReadyForReview",
    ]
    assert all(float(str(m["width"])) >= 5 for m in markers)
    row_a = svg.split(f'data-uid="{B}"')[0]
    assert row_a.index('class="brief"') > row_a.rindex('class="segment"')  # drawn on top
    assert len(groups(svg)["segment"]) == 7 + 3  # the segments themselves are unchanged
