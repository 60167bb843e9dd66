"""The committed notebooks: no outputs, a promise, the diagram first, markdown naming what
each exercises, exercises with checks and hidden solutions, and a sandbox stopped at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# Each notebook's markdown must name the actors and states it exercises.
MENTIONS: dict[str, list[str]] = {
    "01-bus.ipynb": [
        "msgq", "selector", "listener", "claim", "group", "RPC", "XTSS", "dead",
        "ReadyForProcessing",
    ],
    "02-pipeline.ipynb": [
        "launcher", "pipeline driver", "replicated cache", "weblog", "EU", "JAO",
        "ReadyForProcessing", "Processing", "ProcessingProblem", "ReadyForReview",
    ],
    "03-qa2.ipynb": [
        "AQUA QA2", "weblog", "QA score", "Pass", "SemiPass", "Fail", "Cancel",
        "ReadyForReview", "Reviewing", "Verified", "DeliveryInProgress", "ReadyForProcessing",
        "Delivered",
    ],
    "04-delivery.ipynb": [
        "AQUA QA2", "product ingestor", "NGAS", "products metadata", "delivery status",
        "data tracker", "Verified", "DeliveryInProgress", "IngestionTriggered",
        "AnalyzingProducts", "IngestingProducts", "ProductsIngested", "Delivered",
    ],
}  # fmt: skip

MAX_CODE_LINES = 12


def load(name: str) -> Any:
    return nbformat.read(NOTEBOOKS / name, as_version=4)  # type: ignore[no-untyped-call]


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def markdown(notebook: Any) -> str:
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def test_the_four_notebooks_are_there() -> None:
    assert sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")) == sorted(MENTIONS)


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_a_committed_notebook_is_valid_and_carries_no_outputs(name: str) -> None:
    notebook = load(name)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in notebook.metadata, "no saved widget state"
    for cell in code_cells(notebook):
        assert cell.outputs == [], f"outputs in {name}: {cell.source[:60]!r}"
        assert cell.execution_count is None, f"execution count in {name}: {cell.source[:60]!r}"


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_a_notebook_opens_with_its_promise_and_the_life_cycle(name: str) -> None:
    notebook = load(name)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "**After this notebook you" in first.source
    opening = code_cells(notebook)[0].source
    assert "show_lifecycle(highlight=" in opening


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_the_markdown_names_the_actors_and_states_it_exercises(name: str) -> None:
    text = markdown(load(name))
    missing = [word for word in MENTIONS[name] if word not in text]
    assert missing == []


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_there_is_as_much_explaining_as_code_and_code_cells_are_short(name: str) -> None:
    notebook = load(name)
    cells = code_cells(notebook)
    assert len(markdown(notebook)) >= sum(len(cell.source) for cell in cells)
    long = [cell.source[:40] for cell in cells if cell.source.count("\n") >= MAX_CODE_LINES]
    assert long == []


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_exercises_have_a_hidden_solution_and_a_check(name: str) -> None:
    notebook = load(name)
    cells = notebook.cells
    solutions = [i for i, cell in enumerate(cells) if "solution" in cell.metadata.get("tags", [])]
    assert 1 <= len(solutions) <= 2
    for i in solutions:
        assert cells[i].metadata["jupyter"]["source_hidden"] is True
        assert cells[i - 1].source.strip() == "# your code here"
        assert "check(" in cells[i + 1].source, "a checking cell follows the solution"


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_a_notebook_stops_its_sandbox_at_the_end(name: str) -> None:
    notebook = load(name)
    assert "start_sandbox(" in "".join(cell.source for cell in code_cells(notebook))
    assert "stop_sandbox()" in code_cells(notebook)[-1].source


def test_the_qa2_notebook_leaves_its_ous_to_the_person_unless_on_autopilot() -> None:
    sources = [cell.source for cell in code_cells(load("03-qa2.ipynb"))]
    clicking = [source for source in sources if ".click()" in source]
    assert clicking, "the autopilot presses the panel's own buttons"
    assert all(source.startswith(("if autopilot():", "if nb.autopilot():")) for source in clicking)
