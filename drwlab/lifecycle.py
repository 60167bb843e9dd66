"""The OUS life-cycle as data: states, delivery substates and the legal transitions.

Everything that needs a state name or a transition reads it from here: the
XTSS (to refuse illegal changes), the diagrams, the dashboard columns and the
tests. The transitions are those of the original's ``life-cycle.png`` for the
stages this sandbox implements.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from drwlab.errors import IllegalTransition


class State(str, Enum):
    """OUS states, in the order the dashboard shows them."""

    FULLY_OBSERVED = "FullyObserved"
    READY_FOR_PROCESSING = "ReadyForProcessing"
    PROCESSING = "Processing"
    PROCESSING_PROBLEM = "ProcessingProblem"
    READY_FOR_REVIEW = "ReadyForReview"
    REVIEWING = "Reviewing"
    VERIFIED = "Verified"
    DELIVERY_IN_PROGRESS = "DeliveryInProgress"
    DELIVERED = "Delivered"

    def __str__(self) -> str:
        return self.value


class Substate(str, Enum):
    """Delivery substates walked by the product ingestor, in order."""

    INGESTION_TRIGGERED = "IngestionTriggered"
    ANALYZING_PRODUCTS = "AnalyzingProducts"
    INGESTING_PRODUCTS = "IngestingProducts"
    PRODUCTS_INGESTED = "ProductsIngested"

    def __str__(self) -> str:
        return self.value


class QA2Flag(str, Enum):
    """The decisions a QA2 reviewer can take in AQUA."""

    PASS = "Pass"
    SEMIPASS = "SemiPass"
    FAIL = "Fail"
    CANCEL = "Cancel"

    def __str__(self) -> str:
        return self.value


EXECUTIVES: tuple[str, ...] = ("EA", "EU", "JAO", "NA")
"""Where pipelines and caches run: the three ARCs and the JAO."""

STATES: tuple[State, ...] = tuple(State)
SUBSTATES: tuple[Substate, ...] = tuple(Substate)
FINAL_STATES: frozenset[State] = frozenset({State.DELIVERED, State.PROCESSING_PROBLEM})
"""States where an OUS rests until a person acts (relaunch) or for good."""


@dataclass(frozen=True)
class Transition:
    """One arrow of the life-cycle diagram."""

    source: State
    target: State
    label: str
    failure: str | None = None
    """What reports call an OUS taking this arrow, when it is a failure (else None)."""


TRANSITIONS: tuple[Transition, ...] = (
    Transition(State.FULLY_OBSERVED, State.READY_FOR_PROCESSING, "Process an OUS"),
    Transition(State.READY_FOR_PROCESSING, State.PROCESSING, "Processing started"),
    Transition(State.PROCESSING, State.READY_FOR_PROCESSING, "Manual shortcut"),
    Transition(
        State.PROCESSING, State.PROCESSING_PROBLEM, "Processing problem", "ProcessingProblem"
    ),
    Transition(State.PROCESSING_PROBLEM, State.READY_FOR_PROCESSING, "Queue for processing"),
    Transition(State.PROCESSING, State.READY_FOR_REVIEW, "OUS processing completed"),
    Transition(State.READY_FOR_REVIEW, State.REVIEWING, "QA review started"),
    Transition(State.REVIEWING, State.READY_FOR_REVIEW, "QA review canceled"),
    Transition(State.REVIEWING, State.READY_FOR_PROCESSING, "QA2 Fail: reprocess", "QA2 Fail"),
    Transition(State.REVIEWING, State.VERIFIED, "QA Pass or SemiPass"),
    Transition(State.VERIFIED, State.DELIVERY_IN_PROGRESS, "Data package preparation"),
    Transition(State.DELIVERY_IN_PROGRESS, State.DELIVERED, "Products delivered"),
)

FAILURES: dict[tuple[State, State], str] = {
    (t.source, t.target): t.failure for t in TRANSITIONS if t.failure is not None
}
"""(source, target) -> the failure's name, for the arrows that are failures."""

_NEXT: dict[State, tuple[State, ...]] = {
    state: tuple(t.target for t in TRANSITIONS if t.source is state) for state in State
}

SUBSTATE_ORDER: dict[Substate, int] = {sub: i for i, sub in enumerate(Substate)}
SUBSTATE_STATE: State = State.DELIVERY_IN_PROGRESS
"""The only state in which delivery substates are meaningful."""


def parse_state(name: object) -> State:
    """The State called ``name``; IllegalTransition names the valid ones otherwise."""
    try:
        return State(name)
    except ValueError:
        valid = ", ".join(s.value for s in State)
        raise IllegalTransition(f"unknown state {name!r}; states are: {valid}") from None


def parse_substate(name: object) -> Substate:
    """The Substate called ``name``; IllegalTransition names the valid ones otherwise."""
    try:
        return Substate(name)
    except ValueError:
        valid = ", ".join(s.value for s in Substate)
        raise IllegalTransition(f"unknown substate {name!r}; substates are: {valid}") from None


def next_states(state: State | str) -> tuple[State, ...]:
    """The states an OUS in ``state`` may move to."""
    return _NEXT[parse_state(state)]


def is_legal(source: State | str, target: State | str) -> bool:
    """True when the life-cycle has an arrow from ``source`` to ``target``."""
    return parse_state(target) in next_states(source)


def check_transition(uid: str, source: State | str, target: State | str) -> State:
    """Return the target State, or raise IllegalTransition naming the OUS and its options."""
    target_state = parse_state(target)
    if target_state in next_states(source):
        return target_state
    allowed = ", ".join(s.value for s in next_states(source)) or "none"
    raise IllegalTransition(
        f"{uid}: illegal change {parse_state(source).value} -> {target_state.value}; "
        f"allowed from {parse_state(source).value}: {allowed}"
    )


def check_substate(
    uid: str, state: State | str, current: Substate | str | None, target: Substate | str
) -> Substate:
    """Return the target Substate, or raise IllegalTransition.

    Substates belong to DeliveryInProgress and only move forward, one step or
    more (an ingestor may skip a stage it has nothing to do for), never back.
    """
    target_sub = parse_substate(target)
    if parse_state(state) is not SUBSTATE_STATE:
        raise IllegalTransition(
            f"{uid}: substate {target_sub.value} needs state {SUBSTATE_STATE.value}, "
            f"not {parse_state(state).value}"
        )
    current_sub = parse_substate(current) if current is not None else None
    if current_sub is not None and SUBSTATE_ORDER[target_sub] <= SUBSTATE_ORDER[current_sub]:
        raise IllegalTransition(
            f"{uid}: substate cannot go from {current_sub.value} "
            f"back or sideways to {target_sub.value}"
        )
    return target_sub
