"""The system map: every actor a box, every selector an arrow with its message count."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from drwlab.lifecycle import State
from drwlab.store.base import Store
from drwlab.views import tables
from drwlab.views.system_map import BOXES, selector_counts, stage_actors, system_map_svg
from drwlab.wire import MSGQ
from tests.views.wire import message


def test_the_counts_come_from_the_message_counts_read_model(store: Store) -> None:
    store.bulk_put(
        MSGQ,
        [
            message("pipeline.process.EU", {"n": 1}, at=1, handled_by="driver"),
            message("pipeline.process.EU", {"n": 2}, at=2),
            message("xtss", {"operation": "create"}, at=3, handled_by="xtss"),
        ],
    )

    counts = selector_counts(tables.message_counts(store))

    assert counts == {"pipeline.process.EU": 2, "xtss": 1}
    svg = system_map_svg(counts)
    assert "pipeline.process.*: 2" in svg
    assert "xtss (RPC, dashed): 1 requests" in svg
    assert "ingest.JAO: 0" in svg


def test_no_messages_draws_every_actor_with_zero_counts() -> None:
    svg = system_map_svg(selector_counts(pd.DataFrame(columns=["selector", "state", "messages"])))
    actors = re.findall(r'data-actor="([^"]+)"', svg)
    assert actors == [box.name for box in BOXES]
    assert svg.count('class="actor highlighted"') == 0


def test_the_stage_actors_are_highlighted_and_every_box_explains_itself() -> None:
    svg = system_map_svg({}, highlight=stage_actors(State.DELIVERY_IN_PROGRESS))

    assert re.findall(r'class="actor highlighted" data-actor="([^"]+)"', svg) == [
        "product ingestor"
    ]
    titles = re.findall(r'data-actor="[^"]+"><title>([^<]+)</title>', svg)
    assert len(titles) == len(BOXES)
    assert all(len(title.split(": ", 1)[1]) > 20 for title in titles), titles  # glossary text


def test_a_selector_from_a_document_is_escaped() -> None:
    svg = system_map_svg({"pipeline.process.<script>": 3})
    assert "<script>" not in svg and "pipeline.process.*: 3" in svg


def test_an_unknown_stage_or_actor_is_refused() -> None:
    with pytest.raises(ValueError, match="no life-cycle state 'Lunch'"):
        stage_actors("Lunch")
    with pytest.raises(ValueError, match="no actor"):
        system_map_svg({}, highlight=["the boss"])


def test_actors_of_your_own_get_boxes_of_their_own_in_the_free_places() -> None:
    svg = system_map_svg({}, yours=["shortest-queue", "my-<checker>", "third", "fourth"])
    for name in ("shortest-queue", "my-&lt;checker&gt;", "third", "fourth"):
        assert f'class="actor yours" data-actor="{name}"' in svg
    assert "an actor of your own" in svg
    # two fit in the map's free places, the others go in a row below: the map grows
    assert 'height="416"' in svg
    assert 'height="360"' in system_map_svg({}, yours=["one", "two"])
