"""The checks of notebook 02 (the pipeline): what reached JAO, a pipeline that always fails.

The second exercise needs a pipeline that always fails. Rather than replace
the notebook's sandbox (which would stop every widget started above it), it
adds one actor to it: a pipeline driver at an executive of its own (NA), whose
every run fails (:func:`add_failing_driver`). OUSs launched there, and only
they, meet it; the sandbox's own driver keeps its settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drwlab.actors import PipelineDriver
from drwlab.errors import UnknownOus
from drwlab.exercises.check import Check, missing, passed, variable
from drwlab.exercises.context import sandbox_in
from drwlab.lifecycle import State
from drwlab.products import ProductsTree
from drwlab.sandbox import Sandbox

PRODUCTS_OUS = "uid://X1/X1/Xb0"
FAILING_OUS = "uid://X1/X1/Xc0"
FAILING_EXECUTIVE = "NA"


def add_failing_driver(sandbox: Sandbox, executive: str = FAILING_EXECUTIVE) -> PipelineDriver:
    """Start, in the running ``sandbox``, a pipeline driver at ``executive`` whose every
    run fails; it listens on the sandbox's bus, so stopping the sandbox stops it too.

    Raises ValueError if the sandbox already runs a driver at ``executive``.
    """
    if executive in sandbox.executives:
        raise ValueError(f"the sandbox already runs a pipeline driver at {executive}")
    driver = PipelineDriver(
        sandbox.bus,
        sandbox.store,
        executive=executive,
        cache_dir=sandbox.workdir / "caches" / executive,
        work_dir=sandbox.workdir / "pipeline" / executive,
        time_scale=sandbox.time_scale,
        seed=sandbox.seed,
        failure_rate=1.0,
    )
    driver.start()
    return driver


def _expected_products(sandbox: Sandbox, uid: str) -> list[Path] | None:
    """The data products of the run ``uid`` is in as the JAO cache holds them (None: no run)."""
    entity = sandbox.entity(uid)
    report = sandbox.qa2.run_report(entity)
    if report is None:
        return None
    prog_id = entity["progID"]
    tree = ProductsTree(sandbox.caches["JAO"], prog_id, uid, str(report["timestamp"]))
    return [path.resolve() for path in tree.data_product_paths]


def _no_run_yet(name: str, sandbox: Sandbox, uid: str) -> Check:
    """Pending while ``uid`` is being processed; else, say to run the cells that launch it."""
    try:
        state = sandbox.entity(uid).get("state")
    except UnknownOus:
        state = None
    if state in (State.READY_FOR_PROCESSING.value, State.PROCESSING.value):
        return missing(name, f"{uid} is in {state}: its run is on its way", pending=True)
    return missing(name, f"{uid} has no successful pipeline run: run the cells above first")


def jao_products(namespace: Mapping[str, Any]) -> Check:
    """``jao_products``: the paths of Xb0's data products in the JAO cache."""
    name = "02-jao-products"
    sandbox = sandbox_in(namespace)
    value = variable(namespace, "jao_products")
    if value is None:
        return missing(name, "put the list of paths in a variable named jao_products")
    if isinstance(value, (str, Path)) or not hasattr(value, "__iter__"):
        return missing(
            name, f"jao_products should be a list of paths, not a {type(value).__name__}"
        )
    expected = _expected_products(sandbox, PRODUCTS_OUS)
    if expected is None:
        return _no_run_yet(name, sandbox, PRODUCTS_OUS)
    if not all(path.is_file() for path in expected):
        return missing(name, "the JAO cache is still receiving the products", pending=True)
    got = {Path(str(p)).resolve() for p in value}
    eu = sandbox.caches["EU"].resolve()
    if any(eu in path.parents for path in got):
        return missing(name, "those paths are in the EU cache: look in sb.caches['JAO']")
    absent = sorted(p.name for p in set(expected) - got)
    extra = sorted(p.name for p in got - set(expected))
    if absent or extra:
        return missing(
            name,
            f"expected the {len(expected)} *.data files of {PRODUCTS_OUS} "
            f"in the JAO cache; missing: {absent or 'none'}; "
            f"not products of it: {extra or 'none'}",
        )
    return passed(name, f"the {len(expected)} data products of {PRODUCTS_OUS} reached JAO")


def always_failing(namespace: Mapping[str, Any]) -> Check:
    """Xc0 launched on the failing driver, failed, relaunched, failed again."""
    name = "02-always-failing"
    try:
        entity = sandbox_in(namespace).entity(FAILING_OUS)
    except UnknownOus:
        return missing(
            name,
            f"launch {FAILING_OUS} on executive {FAILING_EXECUTIVE!r} "
            "(the failing driver), e.g. with Launcher(sb.bus, sb.store)",
        )
    states = [change.get("state") for change in entity.get("history") or []]
    problems = states.count(State.PROCESSING_PROBLEM.value)
    state = entity.get("state")
    if state in (State.READY_FOR_PROCESSING.value, State.PROCESSING.value):
        return missing(name, f"{FAILING_OUS} is in {state}: its run is on its way", pending=True)
    if state != State.PROCESSING_PROBLEM.value:
        return missing(
            name,
            f"{FAILING_OUS} is in {state}: it ran on a pipeline that works; "
            f"launch OUSs with executive={FAILING_EXECUTIVE!r}",
        )
    if problems < 2:
        return missing(
            name,
            f"one ProcessingProblem so far: launch {FAILING_OUS} again and wait for its second run",
        )
    return passed(
        name,
        f"{problems} runs, {problems} ProcessingProblems: relaunching cannot "
        "fix a pipeline that always fails",
    )
