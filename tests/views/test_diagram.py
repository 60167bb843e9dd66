"""The life-cycle diagram is drawn from lifecycle.TRANSITIONS, with highlight and counts."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from drwlab.lifecycle import STATES, TRANSITIONS, State
from drwlab.views import tables
from drwlab.views.analysis import transition_counts
from drwlab.views.diagram import lifecycle_mermaid, lifecycle_svg
from drwlab.views.registry import TABLES
from tests.views.wire import DELIVERED_PATH, PROBLEM_PATH, status_doc


class _Svg(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.states: dict[str, str] = {}
        self.transitions: dict[tuple[str, str], dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("class") == "state":
            self.states[str(a["data-state"])] = str(a["data-highlight"])
        if a.get("class") == "transition":
            self.transitions[(str(a["data-source"]), str(a["data-target"]))] = a


def parse(svg: str) -> _Svg:
    parser = _Svg()
    parser.feed(svg)
    return parser


def test_the_diagram_has_every_state_and_every_transition_with_its_label() -> None:
    svg = lifecycle_svg()
    drawn = parse(svg)

    assert set(drawn.states) == {s.value for s in STATES}
    assert set(drawn.transitions) == {(t.source.value, t.target.value) for t in TRANSITIONS}
    for t in TRANSITIONS:
        assert t.label in svg


@pytest.mark.parametrize("state", [State.PROCESSING, State.DELIVERED])
def test_the_current_stage_is_highlighted_and_only_it(state: State) -> None:
    drawn = parse(lifecycle_svg(highlight=state))

    assert [s for s, on in drawn.states.items() if on == "true"] == [state.value]


def test_counts_label_each_transition() -> None:
    counts = {(State.PROCESSING, State.PROCESSING_PROBLEM): 3}

    drawn = parse(lifecycle_svg(counts=counts))

    assert drawn.transitions[("Processing", "ProcessingProblem")]["data-count"] == "3"
    assert drawn.transitions[("Verified", "DeliveryInProgress")]["data-count"] == "0"


def test_transition_counts_count_ouss_from_the_history() -> None:
    history = tables.table_of(
        TABLES["state-history"],
        [
            status_doc("uid://X1/X1/Xa1", DELIVERED_PATH),
            status_doc("uid://X1/X1/Xb2", PROBLEM_PATH + DELIVERED_PATH),
        ],
    )

    counts = transition_counts(history)

    assert counts[("ReadyForProcessing", "Processing")] == 2
    assert counts[("Processing", "ProcessingProblem")] == 1
    assert counts[("ProcessingProblem", "ReadyForProcessing")] == 1
    assert counts[("DeliveryInProgress", "Delivered")] == 2
    assert ("DeliveryInProgress", "DeliveryInProgress") not in counts  # a substate change


def test_mermaid_has_the_same_transitions_and_the_highlight() -> None:
    text = lifecycle_mermaid(highlight=State.REVIEWING, counts={("Reviewing", "Verified"): 4})

    assert text.startswith("stateDiagram-v2\n")
    arrows = set(re.findall(r"^\s+(\w+) --> (\w+):", text, flags=re.M))
    assert arrows == {(t.source.value, t.target.value) for t in TRANSITIONS}
    assert "Reviewing --> Verified: QA Pass or SemiPass (\u00d74)" in text
    assert "class Reviewing current" in text
