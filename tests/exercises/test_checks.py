"""Exercise checks: one line, no echo; natural Python accepted; what is missing said exactly."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from drwlab import MessageBus
from drwlab.errors import ReviewError
from drwlab.exercises import check, evaluate, load_line
from drwlab.sandbox import Sandbox
from tests.exercises.test_solutions import ready_for_review

DECIDED = "uid://X1/X1/Xb1"


@pytest.fixture(scope="module")
def decided() -> Iterator[Sandbox]:
    """A sandbox with an OUS already semi-passed, as notebook 03 leaves Xb1."""
    with Sandbox(time_scale=0, seed=5, failure_rate=0.0, autopilot=False) as sandbox:
        ready_for_review(sandbox, "uid://X1/X1/Xb0", DECIDED)
        sandbox.qa2.review(DECIDED)
        sandbox.qa2.decide(DECIDED, "SemiPass")
        yield sandbox


def reader_cell(sandbox: Sandbox, code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"sb": sandbox}
    exec("from drwlab.errors import ReviewError\n" + code, namespace)
    return namespace


@pytest.mark.parametrize(
    "code",
    [
        "try:\n    sb.qa2.decide('uid://X1/X1/Xb1', 'Pass')\n"
        "except ReviewError as error:\n    kept = error\n",
        "try:\n    sb.qa2.decide('uid://X1/X1/Xb1', 'Fail')\n"
        "except ReviewError as answer_error:\n    answer = answer_error\n",
    ],
)
def test_a_review_error_kept_under_any_name_passes(decided: Sandbox, code: str) -> None:
    result = evaluate("03-decide-twice", reader_cell(decided, code))
    assert result.passed and "not Reviewing" in result.message, result.line


def test_an_error_caught_but_not_kept_is_explained(
    decided: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = (
        "try:\n    sb.qa2.decide('uid://X1/X1/Xb1', 'Pass')\n"
        "except ReviewError as error:\n    pass\n"
    )
    namespace = reader_cell(decided, code)
    assert "error" not in namespace  # Python deleted it: that is the trap
    result = evaluate("03-decide-twice", namespace)
    assert not result.passed and "keep it in a variable" in result.message
    try:
        decided.qa2.decide(DECIDED, "Pass")
    except ReviewError as raised:
        monkeypatch.setattr(sys, "last_value", raised, raising=False)  # IPython's uncaught error
    result = evaluate("03-decide-twice", namespace)
    assert "raised but not kept" in result.message and "answer = error" in result.message


def test_a_check_shows_one_line_and_returns_nothing(
    decided: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    returned = check("03-decide-twice", {"sb": decided}, patience=0)  # type: ignore[func-returns-value]
    out = capsys.readouterr().out
    assert returned is None
    assert out.count("\n") == 1 and out.startswith("\u2718 03-decide-twice: not yet: call sb.qa2")


def test_paths_in_the_wrong_cache_are_named_as_such(decided: Sandbox) -> None:
    eu_paths = sorted(decided.caches["EU"].glob("*/SOUS/GOUS/uid___X1_X1_Xb0/products/*.data"))
    assert len(eu_paths) == 5
    namespace = {"sb": decided, "jao_products": eu_paths}
    result = evaluate("02-jao-products", namespace)
    assert not result.passed and "EU cache" in result.message


def test_a_handler_that_always_fails_is_told_so(decided: Sandbox) -> None:
    bus = MessageBus(decided.store, retry_delay=0.01)
    try:
        bus.listen("exercise.flaky", lambda body: 1 / 0, name="flaky")
        bus.send("exercise.flaky", {"x": 1})
        result = evaluate("01-flaky-handler", {"sb": decided, "bus": bus}, patience=30)
    finally:
        bus.close()
    assert not result.passed and not result.pending
    assert "raised every time" in result.message


def test_a_check_without_a_sandbox_says_to_start_one() -> None:
    result = evaluate("04-metadata-ids", {"metadata_ids": set()})
    assert not result.passed and "no running sandbox" in result.message


def test_an_unknown_exercise_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="01-competing-listeners"):
        load_line("01-nope")
    assert load_line("03-decide-twice") == "# %load solutions/03-decide-twice.py"


def test_the_exercises_import_without_ipython() -> None:
    code = "import sys, drwlab.exercises; print('IPython' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_listeners_started_on_the_sandbox_bus_count_too(decided: Sandbox) -> None:
    listeners = [
        decided.bus.listen("exercise.work", lambda body: None, name=name)
        for name in ("worker-A", "worker-B", "worker-C")
    ]
    try:
        for n in range(100, 130):
            decided.bus.send("exercise.work", {"n": n})
        result = evaluate("01-competing-listeners", {"sb": decided}, patience=30)
    finally:
        for listener in listeners:
            listener.stop()
    assert result.passed, result.line


def test_in_a_kernel_a_check_reads_the_notebook_variables_and_echoes_nothing() -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("from drwlab import exercises\nmetadata_ids = {'a'}"),
        nbformat.v4.new_code_cell('exercises.check("04-metadata-ids")'),
    ]
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    outputs = notebook.cells[1].outputs
    assert [output["output_type"] for output in outputs] == ["stream"]  # no Out[] echo
    assert outputs[0]["name"] == "stdout"
    assert outputs[0]["text"] == (
        "\u2718 04-metadata-ids: not yet: no running sandbox in this notebook: "
        "run the cell that starts it first\n"
    )


def test_a_review_error_kept_from_an_earlier_sandbox_does_not_pass(decided: Sandbox) -> None:
    """A notebook run again has a new sandbox; the first run's error says nothing about it."""
    namespace = reader_cell(
        decided,
        "try:\n    sb.qa2.decide('uid://X1/X1/Xb1', 'Pass')\n"
        "except ReviewError as error:\n    answer = error\n",
    )
    with Sandbox(time_scale=0, seed=5, failure_rate=0.0, autopilot=False) as run_again:
        result = evaluate("03-decide-twice", {**namespace, "sb": run_again})
    assert not result.passed and "not raised by this sandbox's AQUA" in result.message
    made_up = {"sb": decided, "answer": ReviewError("uid://X1/X1/Xb1 is in Delivered")}
    assert not evaluate("03-decide-twice", made_up).passed
