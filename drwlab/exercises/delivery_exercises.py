"""The checks of notebook 04 (delivery): a semi-passed OUS delivered, metadata versus delivery.

The first exercise launches an OUS of its own (Xb1) that no other cell uses;
the second only reads what the notebook delivered (Xb0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drwlab.errors import UnknownOus
from drwlab.exercises.check import Check, missing, passed, variable
from drwlab.exercises.context import sandbox_in
from drwlab.lifecycle import QA2Flag, State
from drwlab.products import PRODUCT_COUNT

SEMIPASS_OUS = "uid://X1/X1/Xb1"
DELIVERED_OUS = "uid://X1/X1/Xb0"
NGAS_FILES = PRODUCT_COUNT + 1
"""A delivered run's files in NGAS: its data products and its weblog."""
_IN_FLIGHT = {
    state.value
    for state in (
        State.READY_FOR_PROCESSING,
        State.PROCESSING,
        State.VERIFIED,
        State.DELIVERY_IN_PROGRESS,
    )
}
"""States an OUS leaves by itself, without the learner."""


def semipass_delivery(namespace: Mapping[str, Any]) -> Check:
    """Xb1 launched, semi-passed and Delivered, its six files in NGAS."""
    name = "04-semipass-delivery"
    sandbox = sandbox_in(namespace)
    try:
        entity = sandbox.entity(SEMIPASS_OUS)
    except UnknownOus:
        return missing(name, f"launch {SEMIPASS_OUS} first (sb.launch)")
    state = entity.get("state")
    reasons = [change.get("reason") for change in entity.get("history") or []]
    if state in _IN_FLIGHT:
        return missing(name, f"{SEMIPASS_OUS} is in {state}: it moves on by itself", pending=True)
    if state == State.READY_FOR_REVIEW.value:
        return missing(name, f"review {SEMIPASS_OUS} (sb.qa2.review), then decide SemiPass")
    if state == State.REVIEWING.value:
        return missing(name, f"{SEMIPASS_OUS} is Reviewing: decide SemiPass")
    if state != State.DELIVERED.value:
        return missing(name, f"{SEMIPASS_OUS} is in {state}: launch it again and review it")
    if f"QA2 {QA2Flag.SEMIPASS.value}" not in reasons:
        return missing(name, f"{SEMIPASS_OUS} was delivered without a SemiPass decision")
    files = sandbox.store.find("ngas", {"ousUID": SEMIPASS_OUS})
    if len(files) < NGAS_FILES:
        return missing(name, f"{len(files)} of its {NGAS_FILES} files are in NGAS", pending=True)
    return passed(name, f"{SEMIPASS_OUS} semi-passed and delivered, its {len(files)} files in NGAS")


def metadata_ids(namespace: Mapping[str, Any]) -> Check:
    """``metadata_ids``: Xb0's product IDs in the products metadata, as its delivery lists."""
    name = "04-metadata-ids"
    value = variable(namespace, "metadata_ids")
    if value is None:
        return missing(name, "build a set named metadata_ids")
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        return missing(name, f"metadata_ids should be a set of product IDs, not {value!r}")
    deliveries = sandbox_in(namespace).store.find("delivery-status", {"ousUID": DELIVERED_OUS})
    if not deliveries:
        return missing(name, f"{DELIVERED_OUS} has no delivery status yet", pending=True)
    latest = max(deliveries, key=lambda doc: str(doc.get("timestamp")))
    expected, got = set(latest.get("dataProducts") or []), {str(v) for v in value}
    if got != expected:
        return missing(
            name,
            f"expected the {len(expected)} productID values of "
            f"{DELIVERED_OUS}'s rows; missing: {sorted(expected - got) or 'none'};"
            f" not of {DELIVERED_OUS}: {sorted(got - expected) or 'none'}",
        )
    return passed(
        name,
        f"the products metadata and the delivery status agree on the "
        f"{len(got)} products of {DELIVERED_OUS}",
    )
