"""Every case of the bad-message corpus (``corpus/*.json``) against running actors.

All the actors of a sandbox run (QA2 decides nothing by itself, so nothing
moves unless a case moves it). Each case is sent to its selector as the
corpus says (``corpus/README.md``): through ``send``, as an RPC ``call``, or as
a raw ``msgq`` document that bypasses every check of ``send``. Then:

- ``dead``: the message is dead-lettered, its error names the problem (and is
  short: a huge body is not echoed back);
- ``error-reply``: a raw RPC request is answered on its reply selector with
  the error (the RPC convention: the caller, not the dead letters, gets it);
- ``refused``: ``send``/``call`` raises InvalidMessage and writes nothing;
- ``rpc-error``: the caller gets the error the corpus names;
- ``unread``: nobody takes the message; it stays pending, harmless.

Every case runs on the embedded store; those whose handling depends on the
backend (raw documents written straight into it, sizes near its limits) run
on the CouchDB-compatible server too.

In every case every database but ``msgq`` is exactly as before, and in ``msgq``
only the case's own messages are new (besides answered RPCs: an actor asking
the XTSS about the OUS, which changes nothing). At the end the actors are all alive,
the unread messages are still unread, and an OUS still goes through.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drwlab import errors
from drwlab.actors.xtss import XtssClient
from drwlab.bus.message import new_message
from drwlab.errors import InvalidMessage
from drwlab.lifecycle import State
from drwlab.pipeline import make_report
from drwlab.products import render_report_xml, report_to_base64
from drwlab.sandbox import Sandbox
from drwlab.store import DATABASES, sqlite_url
from drwlab.store.base import Doc
from tests.reliability.figures import Figures
from tests.reliability.files import wait_settled, wait_until
from tests.servers import CouchServer

CORPUS = Path(__file__).parent / "corpus"
PROG = "2015.1.00657.S"
RUN = "2018-07-19T07:10:03.781"
REPORT = report_to_base64(
    render_report_xml(
        make_report(PROG, "uid://X1/X1/Xd1", "EU", "PipelineCalibration", RUN, random.Random(1))
    )
)
PATH_TO = {
    State.READY_FOR_PROCESSING: (),
    State.PROCESSING: (State.PROCESSING,),
    State.READY_FOR_REVIEW: (State.PROCESSING, State.READY_FOR_REVIEW),
    State.REVIEWING: (State.PROCESSING, State.READY_FOR_REVIEW, State.REVIEWING),
    State.DELIVERED: (
        State.PROCESSING,
        State.READY_FOR_REVIEW,
        State.REVIEWING,
        State.VERIFIED,
        State.DELIVERY_IN_PROGRESS,
        State.DELIVERED,
    ),
}
MAX_ERROR = 2000
"""Longest acceptable error on a dead letter: the problem, not the message, is shown."""


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(CORPUS.glob("*.json")):
        for case in json.loads(path.read_text())["cases"]:
            cases.append({**case, "file": path.stem})
    names = [case["name"] for case in cases]
    assert len(names) == len(set(names)), "corpus case names must be unique"
    return cases


CASES = load_cases()


# -- the running system -------------------------------------------------------------------
@dataclass
class Lab:
    """A running sandbox and what the cases left that must stay as it is."""

    sandbox: Sandbox
    xtss: XtssClient
    backend: str
    unread: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def store(self) -> Any:
        return self.sandbox.store

    def quiet(self, timeout: float = 30.0) -> None:
        """Wait until no message is pending or being handled (but the deliberately unread)."""

        def idle() -> bool:
            busy = self.store.find("msgq", {"state": {"$in": ["pending", "claimed"]}})
            return all(doc["_id"] in self.unread for doc in busy)

        wait_until(idle, timeout, "the bus to fall quiet", store=self.store)

    def clear_stuck(self, timeout: float = 5.0) -> list[str]:
        """After a case: messages it left that will not settle are deleted (and returned),
        so that one failing case does not fail all the cases after it."""
        try:
            self.quiet(timeout)
            return []
        except AssertionError:
            busy = self.store.find("msgq", {"state": {"$in": ["pending", "claimed"]}})
            stuck = [doc for doc in busy if doc["_id"] not in self.unread]
            for doc in stuck:
                self.store.delete("msgq", doc["_id"], doc["_rev"])
            return [f"{doc['selector']}: {doc['_id']}" for doc in stuck]


def start_lab(url: str, workdir: Path, backend: str) -> Lab:
    with pytest.MonkeyPatch.context() as env:
        env.delenv("DRWLAB_AUTOPILOT", raising=False)  # nothing may move by itself
        sandbox = Sandbox(store=url, workdir=workdir, time_scale=0.0, seed=1, failure_rate=0.0)
    return Lab(sandbox, XtssClient(sandbox.bus, sender="corpus", timeout=20), backend)


@pytest.fixture(scope="module")
def sqlite_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("bad-messages-sqlite")
    lab = start_lab(sqlite_url(workdir / "drwlab.db"), workdir, "sqlite")
    try:
        yield lab
    finally:
        lab.sandbox.stop()


@pytest.fixture(scope="module")
def couchdb_lab(
    couch_server: CouchServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    couch_server.drop_all_databases()
    lab = start_lab(couch_server.url, tmp_path_factory.mktemp("bad-messages-couchdb"), "couchdb")
    try:
        yield lab
    finally:
        lab.sandbox.stop()


@pytest.fixture(params=["sqlite", "couchdb"])
def lab(request: pytest.FixtureRequest) -> Lab:
    """Each backend's lab, for the tests that run on both."""
    found: Lab = request.getfixturevalue(f"{request.param}_lab")
    return found


# -- building a case ----------------------------------------------------------------------
def python_body(kind: str) -> Any:
    """Bodies JSON cannot hold."""
    deep: Any = "bottom"
    for _ in range(5000):
        deep = {"d": deep}
    return {
        "nan": {"ousUID": "uid://X1/X1/Xb2", "score": math.nan},
        "infinity": {"fileType": "weblog", "size": math.inf},
        "set": {"ousUID": "uid://X1/X1/Xb2", "products": {"a", "b"}},
        "bytes": {"report": b"<xml/>"},
        "object": {"when": object()},
        "int-key": {1: "one"},
        "deep": deep,
    }[kind]


def fill(value: Any) -> Any:
    """``{REPORT}`` placeholders replaced, everywhere in ``value``."""
    if isinstance(value, str):
        return value.replace("{REPORT}", REPORT)
    if isinstance(value, list):
        return [fill(item) for item in value]
    if isinstance(value, dict):
        return {key: fill(item) for key, item in value.items()}
    return value


def body_of(case: dict[str, Any]) -> Any:
    if "python_body" in case:
        return python_body(case["python_body"])
    body = fill(case.get("body"))
    size = case.get("pad_to")
    if size is None:
        return body
    if isinstance(body, str):
        return body + "x" * (size - len(body))
    padded = dict(body, padding="")
    padded["padding"] = "x" * (size - len(json.dumps(padded)))
    return padded


def bring_ous(lab: Lab, ous: dict[str, str]) -> None:
    """The OUS in the wanted state, through the XTSS (nothing else is involved)."""
    uid, state = ous["uid"], State(ous["state"])
    lab.xtss.create(uid, PROG, "PipelineCalibration", "EU")
    for step in PATH_TO[state]:
        lab.xtss.set_state(uid, step)


def raw_message(case: dict[str, Any], body: Any) -> Doc:
    doc = new_message(case["selector"], body, sender="corpus")
    for key, value in case.get("raw_fields", {}).items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def assert_mentions(text: str, wanted: list[str]) -> None:
    missing = [word for word in wanted if word.lower() not in text.lower()]
    assert not missing, f"the error does not mention {missing}: {text[:MAX_ERROR]}"


# -- the cases -----------------------------------------------------------------------------
def exercises_the_store(case: dict[str, Any]) -> bool:
    """Cases whose handling depends on the backend: documents written straight into it,
    and sizes near its limits. The rest are checked once, on the embedded store."""
    return case.get("via") == "raw" or case["file"] == "huge"


STORE_CASES = [case for case in CASES if exercises_the_store(case)]


def case_id(case: dict[str, Any]) -> str:
    return f"{case['file']}-{case['name']}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_bad_message_ends_with_a_clear_error_and_changes_nothing(
    sqlite_lab: Lab, case: dict[str, Any]
) -> None:
    run_case(sqlite_lab, case)


@pytest.mark.parametrize("case", STORE_CASES, ids=case_id)
def test_a_bad_message_in_couchdb_ends_with_a_clear_error_and_changes_nothing(
    couchdb_lab: Lab, case: dict[str, Any]
) -> None:
    run_case(couchdb_lab, case)


def run_case(lab: Lab, case: dict[str, Any]) -> None:
    """Send ``case`` and check its outcome, and that nothing else changed."""
    lab.quiet()
    if "ous" in case:
        bring_ous(lab, case["ous"])
        # the XTSS answers before it acknowledges: let its last acknowledgement land
        # before taking the feeds' positions, or it counts as "another message changed"
        lab.quiet()
    body = body_of(case)
    since = {db: lab.store.current_seq(db) for db in DATABASES}
    before = {doc["_id"] for doc in lab.store.all_docs("msgq")}

    try:
        own = act(lab, case, body)
    finally:
        stuck = lab.clear_stuck()
    assert stuck == [], f"messages that never settled (deleted to go on): {stuck}"
    changed = {db: written(lab, db, since[db]) for db in DATABASES if db != "msgq"}
    assert {db: ids for db, ids in changed.items() if ids} == {}, "another database changed"
    others = [
        doc_id
        for doc_id in written(lab, "msgq", since["msgq"])
        if doc_id not in own and not (doc_id not in before and is_settled_rpc(lab, doc_id))
    ]
    assert others == [], f"other messages changed: {others}"


def written(lab: Lab, db: str, since: Any) -> list[str]:
    """Ids of the documents of ``db`` written after ``since``."""
    return sorted({change.id for change in lab.store.changes(db, since).changes})


def is_settled_rpc(lab: Lab, doc_id: str) -> bool:
    """An RPC request or reply (an actor asking the XTSS), answered and taken."""
    doc = lab.store.get("msgq", doc_id)
    rpc = "msgbackID" in doc or str(doc.get("selector", "")).startswith("msgback.")
    return rpc and doc.get("state") == "done"


def act(lab: Lab, case: dict[str, Any], body: Any) -> set[str]:
    """Carry out ``case``; the ids of the messages it may have written."""
    expect, selector = case["expect"], case["selector"]
    via = case.get("via", "send")
    if via == "call":
        return call(lab, case, body)
    if expect == "refused":
        with pytest.raises(InvalidMessage) as refused:
            lab.sandbox.bus.send(selector, body, sender="corpus")
        assert_mentions(str(refused.value), case["error"])
        return set()
    if via == "raw":
        message_id = lab.store.put("msgq", raw_message(case, body))["_id"]
    else:
        message_id = lab.sandbox.bus.send(selector, body, sender="corpus")
    if expect == "unread":
        stays_unread(lab, message_id)
        return {message_id}
    done = wait_settled(lab.store, message_id, timeout=20)
    if expect == "error-reply":
        return {message_id, error_reply(lab, done, case)}
    assert done["state"] == "dead", f"handled without complaint: {case['name']}"
    assert len(done["error"]) < MAX_ERROR, "the error echoes the message"
    assert_mentions(done["error"], case["error"])
    return {message_id}


def call(lab: Lab, case: dict[str, Any], body: Any) -> set[str]:
    """An RPC: refused before sending, or answered with the expected error."""
    before = {doc["_id"] for doc in lab.store.all_docs("msgq")}
    expected = InvalidMessage if case["expect"] == "refused" else getattr(errors, case["raises"])
    timeout = 2.0 if expected is errors.RpcTimeout else 20.0
    with pytest.raises(expected) as failed:
        lab.sandbox.bus.call(case["selector"], body, timeout=timeout, sender="corpus")
    assert_mentions(str(failed.value), case["error"])
    written = {doc["_id"] for doc in lab.store.all_docs("msgq")} - before
    if case["expect"] == "refused":
        assert written == set(), "a refused call wrote a message"
    return written


def error_reply(lab: Lab, request: Doc, case: dict[str, Any]) -> str:
    """The error answered to a raw RPC request (nobody waits for it: it stays unread)."""
    assert request["state"] == "done", request.get("error")
    [reply] = lab.store.find("msgq", {"selector": request["msgbackID"]})
    error = reply["outcome"]["error"]  # drwlab's; the body is the text the original's clients read
    assert reply["body"] == f"{error['type']}: {error['message']}", reply["body"]
    assert_mentions(error["message"], case["error"])
    lab.unread.append(reply["_id"])
    return str(reply["_id"])


def stays_unread(lab: Lab, message_id: str) -> None:
    """Nobody takes it: after a round trip through the XTSS it is still pending."""
    lab.unread.append(message_id)
    lab.xtss.get_ouss_by_state_substate(State.DELIVERED)
    doc = lab.store.get("msgq", message_id)
    assert (doc["consumed"], doc["state"], doc.get("attempts")) == (False, "pending", 0)


def test_a_malformed_message_document_does_not_hold_up_the_messages_behind_it(
    lab: Lab,
) -> None:
    lab.quiet()
    broken = raw_message(
        {"selector": "pipeline.process.EU", "raw_fields": {"attempts": "many"}},
        {"progID": PROG, "ousUID": "uid://X1/X1/Xy1", "recipe": "PipelineCalibration"},
    )
    broken_id = lab.store.put("msgq", broken)["_id"]
    uid = "uid://X1/X1/Xy2"
    try:
        lab.sandbox.launch(PROG, uid)
        assert lab.sandbox.wait_for(uid, State.READY_FOR_REVIEW, timeout=30)["entityId"] == uid
        assert lab.store.get("msgq", broken_id)["state"] == "dead"
    finally:
        lab.clear_stuck(timeout=1.0)


def test_after_the_corpus_the_actors_are_alive_and_an_ous_goes_through(
    lab: Lab, figures: Figures
) -> None:
    lab.quiet()
    for doc_id in lab.unread:
        doc = lab.store.get("msgq", doc_id)
        assert (doc["consumed"], doc["state"]) == (False, "pending"), doc_id
    uid = "uid://X1/X1/Xz9"
    lab.sandbox.launch(PROG, uid)
    assert lab.sandbox.wait_for(uid, State.READY_FOR_REVIEW, timeout=60)["entityId"] == uid
    dead = lab.sandbox.bus.dead_letters()
    figures.record(
        f"bad-messages.{lab.backend}",
        cases=len(CASES if lab.backend == "sqlite" else STORE_CASES),
        dead_letters=len(dead),
        still_unread=len(lab.unread),
    )
