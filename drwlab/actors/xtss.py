"""The XTSS: the one actor that writes OUS status entities, as an RPC server on ``xtss``.

Requests are JSON objects as the original's::

    {"operation": "set-state", "ousUID": "uid://X1/X1/Xb2", "value": "Processing",
     "actor": "pipeline-driver.EU", "reason": "..."}

Operations: ``create`` (used by the launcher: create the entity in
ReadyForProcessing, or requeue it), ``set-state``, ``set-substate``,
``set-exec``, ``clear-exec``, ``set-flag`` (``name`` and ``value``; a null
value clears the flag) and ``get-ouss-by-state-substate`` (``state``, and
``substate`` as a regular expression like the original, or absent for any).
On the wire each reply's body is what the original's XTSS answered, so its
clients work against ours: ``201`` (the HTTP status of its save) for every
``set-*``/``clear-exec``/``create``, the bare list of entities for the query,
``"Unsupported operation: <op>"`` for an unknown operation, and
``"<ErrorType>: <message>"`` for a refusal (where the original checked nothing).
drwlab's client reads the richer answer beside the body (``rpc.Answer``): the
entity after the change, or the refusal it raises.

As in the original, ``set-state`` changes the state and nothing else (a substate
stays until ``set-substate`` changes it; ``set-substate`` with ``""`` or null
clears it). drwlab's ``set-state`` may carry ``"substate": null`` to clear the
substate in the same write (the data tracker's Delivered), which the
original's requests never do. Two optional fields of ``set-state`` record drwlab's run
bookkeeping on the entity: ``run`` (the pipeline run's timestamp:
``pipelineRun``, the run whose report a review must show) and ``request`` (the
id of the processing request that set Processing: ``processingRequest``, so a
redelivered request can tell its own run from another tool's).

Unlike the original, which checked nothing, state changes follow the
life-cycle table (``strict=False`` restores the original's laxity, though
state names must still be real ones). Every change is appended to the
entity's ``history`` with its timestamp, the asking actor and the operation.
Writes go by revision and are retried on Conflict, so several actors (and
several XTSS processes) may change one entity at once without losing a change.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from typing import Any

from drwlab.actors.base import Actor, body_dict, only_fields, text_field
from drwlab.bus import MessageBus
from drwlab.bus.rpc import Answer
from drwlab.errors import (
    Conflict,
    DrwlabError,
    IllegalTransition,
    InvalidMessage,
    NotFound,
    UnknownOus,
)
from drwlab.lifecycle import (
    EXECUTIVES,
    State,
    Substate,
    check_substate,
    check_transition,
    parse_state,
    parse_substate,
)
from drwlab.products import check_prog_id, check_timestamp
from drwlab.store.base import Doc, Store
from drwlab.timeutil import timestamp
from drwlab.uids import check_uid, uid_to_doc_id

logger = logging.getLogger(__name__)

SELECTOR = "xtss"
DB = "status-entities"
COMMON_FIELDS = ("operation", "actor", "reason")
"""Fields every request may carry: who asks and why (kept in the history)."""
OPERATION_FIELDS: dict[str, tuple[str, ...]] = {
    "create": ("ousUID", "progID", "recipe", "executive"),
    "set-state": ("ousUID", "value", "run", "request", "substate"),
    "set-substate": ("ousUID", "value"),
    "set-exec": ("ousUID", "value"),
    "clear-exec": ("ousUID", "value"),  # the original's helper always sends a (null) value
    "set-flag": ("ousUID", "name", "value"),
    "get-ouss-by-state-substate": ("state", "substate", "value"),
}
"""The other fields each operation reads; any further field is refused."""
EXECUTIVE_FLAG = "PL_PROCESSING_EXECUTIVE"
SAVED = 201
"""What the original's XTSS answered to a change: the HTTP status of its save."""
RUN_FIELD = "pipelineRun"
"""Entity field: the timestamp of the pipeline run the OUS is in (or was last in)."""
REQUEST_FIELD = "processingRequest"
"""Entity field: the id of the processing request whose run set Processing."""
UPDATE_ATTEMPTS = 50
"""Revision races lost in a row before an update gives up with Conflict."""

LAUNCHABLE: tuple[str, ...] = tuple(
    s.value for s in (State.FULLY_OBSERVED, State.READY_FOR_PROCESSING, State.PROCESSING_PROBLEM)
)
"""States from which the launcher may (re)queue an OUS; its life-cycle arrows from
Processing and Reviewing belong to people and to AQUA, not to a relaunch."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""Recipes and flag names, checked with ``fullmatch`` (a ``$`` matches before a final
newline); the first character is a letter or digit, so a name never reads as an option."""

Change = Callable[[Doc], None]


def check_executive(executive: object) -> str:
    """``executive`` if it is one of EA, EU, JAO, NA; else InvalidMessage."""
    if executive not in EXECUTIVES:
        raise InvalidMessage(f"unknown executive {executive!r}; one of {', '.join(EXECUTIVES)}")
    return str(executive)


def check_recipe(recipe: object) -> str:
    """``recipe`` if it is a plausible pipeline recipe name; else InvalidMessage."""
    if not isinstance(recipe, str) or not _NAME.fullmatch(recipe):
        raise InvalidMessage(
            "not a pipeline recipe name (letters, digits, '_', '.', '-', "
            f"starting with a letter or digit): {recipe!r}"
        )
    return recipe


class Xtss(Actor):
    """The State System mock: serves ``xtss`` RPC requests (see the module docstring).

    The ``create``/``set_*`` methods may also be called directly (tests,
    tools); they raise what the RPC caller would receive: InvalidMessage or
    InvalidUid for a malformed request, UnknownOus, IllegalTransition.
    """

    def __init__(
        self, bus: MessageBus, store: Store, *, strict: bool = True, name: str = "xtss"
    ) -> None:
        super().__init__(bus, store, name=name)
        self.strict = strict
        store.create_db(DB)
        store.ensure_index(DB, ["state", "substate"])
        self._operations: dict[str, Callable[[dict[str, Any]], Any]] = {
            "create": self._op_create,
            "set-state": self._op_set_state,
            "set-substate": self._op_set_substate,
            "set-exec": self._op_set_exec,
            "clear-exec": self._op_clear_exec,
            "set-flag": self._op_set_flag,
            "get-ouss-by-state-substate": self._op_get_ouss,
        }

    def on_start(self) -> None:
        self.serve(SELECTOR, self.answer)

    def handle(self, body: Any) -> Any:
        """Carry out one request and return drwlab's reply (the entity, or the list found)."""
        request = body_dict(body, "xtss request")
        operation = text_field(request, "operation", "xtss request")
        run = self._operations.get(operation)
        if run is None:
            known = ", ".join(self._operations)
            raise InvalidMessage(f"xtss: unsupported operation {operation!r}; one of {known}")
        only_fields(request, (*COMMON_FIELDS, *OPERATION_FIELDS[operation]), f"xtss {operation}")
        return run(request)

    def answer(self, body: Any) -> Answer:
        """``handle`` as the RPC server answers it: the original's body, drwlab's result."""
        try:
            result = self.handle(body)
        except DrwlabError as error:
            try:
                operation = body_dict(body, "xtss request").get("operation")
            except InvalidMessage:
                operation = None
            if isinstance(operation, str) and operation not in self._operations:
                return Answer(f"Unsupported operation: {operation}", error=error)
            return Answer(f"{type(error).__name__}: {error}", error=error)
        if isinstance(result, list):
            return Answer(result, result)
        return Answer(SAVED, result)

    # -- requests -> methods ----------------------------------------------------------
    @staticmethod
    def _who(request: dict[str, Any]) -> tuple[str, str | None]:
        actor = request.get("actor")
        reason = request.get("reason")
        return (
            actor if isinstance(actor, str) and actor else "unknown",
            reason if isinstance(reason, str) and reason else None,
        )

    @staticmethod
    def _value(request: dict[str, Any]) -> Any:
        if "value" not in request:
            raise InvalidMessage(f"xtss {request.get('operation')}: field 'value' is missing")
        return request["value"]

    def _op_create(self, request: dict[str, Any]) -> Doc:
        actor, reason = self._who(request)
        return self.create(
            check_uid(request.get("ousUID")),
            request.get("progID"),
            request.get("recipe"),
            request.get("executive"),
            actor=actor,
            reason=reason,
        )

    def _op_set_state(self, request: dict[str, Any]) -> Doc:
        actor, reason = self._who(request)
        uid = check_uid(request.get("ousUID"))
        run = request.get("run")
        processing_request = request.get("request")
        if run is not None:
            check_timestamp(run)
        clear_substate = "substate" in request
        if request.get("substate") not in (None, ""):
            raise InvalidMessage(
                "xtss set-state: 'substate' may only be null or \"\" (clear it); "
                "set a substate with set-substate"
            )
        if processing_request is not None and not isinstance(processing_request, str):
            raise InvalidMessage(
                f"xtss set-state: 'request' must be a message id, not {processing_request!r:.80}"
            )
        return self.set_state(
            uid,
            self._value(request),
            actor=actor,
            reason=reason,
            run=run,
            request=processing_request,
            clear_substate=clear_substate,
        )

    def _op_set_substate(self, request: dict[str, Any]) -> Doc:
        actor, reason = self._who(request)
        uid = check_uid(request.get("ousUID"))
        return self.set_substate(uid, self._value(request), actor=actor, reason=reason)

    def _op_set_exec(self, request: dict[str, Any]) -> Doc:
        actor, _ = self._who(request)
        uid = check_uid(request.get("ousUID"))
        return self.set_flag(
            uid, EXECUTIVE_FLAG, check_executive(self._value(request)), actor=actor
        )

    def _op_clear_exec(self, request: dict[str, Any]) -> Doc:
        actor, _ = self._who(request)
        if request.get("value") is not None:
            raise InvalidMessage(
                f"xtss clear-exec: 'value' must be null or absent, not {request['value']!r:.80}"
            )
        return self.set_flag(check_uid(request.get("ousUID")), EXECUTIVE_FLAG, None, actor=actor)

    def _op_set_flag(self, request: dict[str, Any]) -> Doc:
        actor, _ = self._who(request)
        uid = check_uid(request.get("ousUID"))
        name = text_field(request, "name", "xtss set-flag")
        return self.set_flag(uid, name, self._value(request), actor=actor)

    def _op_get_ouss(self, request: dict[str, Any]) -> list[Doc]:
        state = request.get("state", request.get("value"))
        return self.find(state, request.get("substate"))

    # -- the operations -----------------------------------------------------------------
    def create(
        self,
        uid: str,
        prog_id: object,
        recipe: object,
        executive: object,
        *,
        actor: str = "unknown",
        reason: str | None = None,
    ) -> Doc:
        """Create the entity of ``uid`` in ReadyForProcessing, or requeue an existing one.

        An existing entity keeps its history and moves to ReadyForProcessing
        (from one of the LAUNCHABLE states: a relaunch after a processing
        problem, or an OUS queued already, e.g. after a QA2 Fail); its
        project, recipe and executive are replaced. IllegalTransition for an
        OUS in flight or delivered (unless ``strict`` is off).
        """
        check_uid(uid)
        exec_flag = {EXECUTIVE_FLAG: check_executive(executive)}
        fields: dict[str, Any] = {
            "progID": check_prog_id(prog_id),
            "pipeline-recipe": check_recipe(recipe),
            "flags": exec_flag,
        }
        now = timestamp()
        doc: Doc = {"_id": uid_to_doc_id(uid), "entityId": uid, **fields, "substate": None}
        doc.update(state=State.READY_FOR_PROCESSING.value, timestamp=now, history=[])
        _record(doc, "create", actor, reason, now)
        try:
            stored = self.store.put(DB, doc)
            logger.info("xtss: %s created in %s by %s", uid, doc["state"], actor)
            return stored
        except Conflict:
            pass  # it exists: requeue it

        def requeue(entity: Doc) -> None:
            target = State.READY_FOR_PROCESSING
            if self.strict and entity.get("state") not in LAUNCHABLE:
                raise IllegalTransition(
                    f"{uid} is in {entity.get('state')}: only an OUS in "
                    f"{', '.join(LAUNCHABLE)} can be launched again"
                )
            if entity.get("state") != target.value:
                self._check_state(uid, entity, target)
            flags = dict(entity.get("flags") or {}, **exec_flag)
            entity.update(fields, flags=flags, state=target.value, substate=None)
            entity.pop("problem", None)
            _record(entity, "create", actor, reason or "relaunch")

        return self._update(uid, requeue)

    def set_state(
        self,
        uid: str,
        state: object,
        *,
        actor: str = "unknown",
        reason: str | None = None,
        run: str | None = None,
        request: str | None = None,
        clear_substate: bool = False,
    ) -> Doc:
        """Move ``uid`` to ``state``; a ProcessingProblem keeps ``reason`` as ``problem``.

        The substate is left alone (as the original's XTSS did) unless
        ``clear_substate``. ``run`` records the
        pipeline run the OUS is in; ``request`` the processing request that set
        Processing (a change to Processing without one clears both: another tool's run).
        """
        target = parse_state(state)

        def change(entity: Doc) -> None:
            self._check_state(uid, entity, target)
            if target is State.PROCESSING:
                _set_or_drop(entity, REQUEST_FIELD, request)
                _set_or_drop(entity, RUN_FIELD, run)
            elif run is not None:
                entity[RUN_FIELD] = run
            entity["state"] = target.value
            if clear_substate:
                entity["substate"] = None
            if target is State.PROCESSING_PROBLEM:
                entity["problem"] = reason or "no reason given"
            else:
                entity.pop("problem", None)
            _record(entity, "set-state", actor, reason, run=run, request=request)

        updated = self._update(uid, change)
        logger.info("xtss: %s -> %s (%s)", uid, target.value, actor)
        return updated

    def set_substate(
        self, uid: str, substate: object, *, actor: str = "unknown", reason: str | None = None
    ) -> Doc:
        """Set (or, with None or ``""``, clear) the delivery substate of ``uid``;
        forward only if strict."""
        target = None if substate in (None, "") else parse_substate(substate)

        def change(entity: Doc) -> None:
            if target is not None and self.strict:
                check_substate(uid, entity.get("state", ""), entity.get("substate"), target)
            entity["substate"] = None if target is None else target.value
            _record(entity, "set-substate", actor, reason)

        return self._update(uid, change)

    def set_flag(self, uid: str, name: str, value: Any, *, actor: str = "unknown") -> Doc:
        """Set flag ``name`` of ``uid`` to ``value`` (None removes it)."""
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidMessage(
                "not a flag name (letters, digits, '_', '.', '-', "
                f"starting with a letter or digit): {name!r}"
            )

        def change(entity: Doc) -> None:
            flags = dict(entity.get("flags") or {})
            if value is None:
                flags.pop(name, None)
            else:
                flags[name] = value
            entity["flags"] = flags
            operation = "set-flag" if value is not None else "clear-flag"
            _record(entity, operation, actor, f"{name}={value}" if value is not None else name)

        return self._update(uid, change)

    def find(self, state: object, substate: object = None) -> list[Doc]:
        """Entities in ``state`` whose substate matches the regex ``substate`` (None: any)."""
        try:
            selector: dict[str, Any] = {"state": parse_state(state).value}
        except IllegalTransition as error:
            raise InvalidMessage(f"xtss get-ouss-by-state-substate: {error}") from None
        if substate is not None:
            if not isinstance(substate, str):
                raise InvalidMessage(f"substate must be a regular expression, not {substate!r}")
            try:
                re.compile(substate)
            except re.error as error:
                raise InvalidMessage(f"bad substate pattern {substate!r}: {error}") from None
            selector["substate"] = {"$regex": substate}
        return sorted(self.store.find(DB, selector), key=lambda doc: str(doc.get("entityId")))

    def entity(self, uid: str) -> Doc:
        """The status entity of ``uid``; UnknownOus if there is none."""
        try:
            return self.store.get(DB, uid_to_doc_id(uid))
        except NotFound:
            raise UnknownOus(f"no status entity for OUS {uid}: launch it first") from None

    # -- helpers ----------------------------------------------------------------------
    def _check_state(self, uid: str, entity: Doc, target: State) -> None:
        if self.strict:
            check_transition(uid, entity.get("state", ""), target)

    def _update(self, uid: str, change: Change) -> Doc:
        """Apply ``change`` to the current entity and write it, again on a lost race."""
        for _ in range(UPDATE_ATTEMPTS):
            entity = copy.deepcopy(self.entity(uid))
            change(entity)
            try:
                return self.store.put(DB, entity)
            except Conflict:
                logger.debug("xtss: %s changed meanwhile; trying again", uid)
        raise Conflict(f"xtss: {uid} kept changing; gave up after {UPDATE_ATTEMPTS} attempts")


def _set_or_drop(entity: Doc, field: str, value: str | None) -> None:
    if value is None:
        entity.pop(field, None)
    else:
        entity[field] = value


def _record(
    entity: Doc,
    operation: str,
    actor: str,
    reason: str | None,
    now: str | None = None,
    **extra: str | None,
) -> None:
    """Stamp ``entity`` and append the change to its history (with the ``extra`` given)."""
    now = now or timestamp()
    entry: dict[str, Any] = {
        "state": entity.get("state"),
        "substate": entity.get("substate"),
        "timestamp": now,
        "actor": actor,
        "operation": operation,
    }
    if reason:
        entry["reason"] = reason
    entry.update({name: value for name, value in extra.items() if value is not None})
    entity["timestamp"] = now
    entity["history"] = [*(entity.get("history") or []), entry]


class XtssClient:
    """Typed calls to the XTSS over the bus; every other actor changes states through it.

    Each method raises what the XTSS raised (InvalidUid, UnknownOus,
    IllegalTransition, InvalidMessage), or RpcTimeout when no XTSS answers.
    """

    def __init__(
        self, bus: MessageBus, *, sender: str, timeout: float = 10.0, selector: str = SELECTOR
    ) -> None:
        self.bus = bus
        self.sender = sender
        self.timeout = timeout
        self.selector = selector

    def call(self, operation: str, **fields: Any) -> Any:
        """Send one request (``actor`` is this client's sender) and return the reply."""
        request = {"operation": operation, "actor": self.sender}
        request.update({k: v for k, v in fields.items() if v is not None or k == "value"})
        return self.bus.call(self.selector, request, self.timeout, sender=self.sender)

    def create(self, uid: str, prog_id: str, recipe: str, executive: str) -> Doc:
        """Create ``uid`` in ReadyForProcessing, or requeue it; returns the entity."""
        result: Doc = self.call(
            "create", ousUID=uid, progID=prog_id, recipe=recipe, executive=executive
        )
        return result

    def set_state(
        self,
        uid: str,
        state: State | str,
        reason: str | None = None,
        *,
        run: str | None = None,
        request: str | None = None,
        clear_substate: bool = False,
    ) -> Doc:
        """Move ``uid`` to ``state`` (``reason`` kept in the history); returns the entity.

        ``run``: the pipeline run's timestamp; ``request``: the processing request's id;
        ``clear_substate``: clear the substate in the same change.
        """
        fields: dict[str, Any] = {"run": run, "request": request}
        if clear_substate:
            fields["substate"] = ""
        result: Doc = self.call("set-state", ousUID=uid, value=str(state), reason=reason, **fields)
        return result

    def set_substate(
        self, uid: str, substate: Substate | str | None, reason: str | None = None
    ) -> Doc:
        """Set (None: clear) the delivery substate of ``uid``; returns the entity."""
        value = None if substate is None else str(substate)
        result: Doc = self.call("set-substate", ousUID=uid, value=value, reason=reason)
        return result

    def set_exec(self, uid: str, executive: str) -> Doc:
        """Set the processing executive flag of ``uid``."""
        result: Doc = self.call("set-exec", ousUID=uid, value=executive)
        return result

    def clear_exec(self, uid: str) -> Doc:
        """Remove the processing executive flag of ``uid``."""
        result: Doc = self.call("clear-exec", ousUID=uid)
        return result

    def set_flag(self, uid: str, name: str, value: Any) -> Doc:
        """Set flag ``name`` of ``uid`` (None removes it)."""
        result: Doc = self.call("set-flag", ousUID=uid, name=name, value=value)
        return result

    def get_ouss_by_state_substate(
        self, state: State | str, substate: Substate | str | None = None
    ) -> list[Doc]:
        """Entities in ``state`` (and whose substate matches the regex ``substate``)."""
        value = None if substate is None else str(substate)
        result: list[Doc] = self.call(
            "get-ouss-by-state-substate", state=str(state), substate=value
        )
        return result
