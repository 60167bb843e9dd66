"""The committed notebooks, read as a learner meets them: no outputs, a promise, the life-cycle
first, every word explained where it is first used, exercises that wait for the learner, and a
sandbox that Run All leaves running (clean-up is a step the learner takes by hand)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from drwlab.exercises import EXERCISES, load_line, solution_path
from drwlab.glossary import lookup

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
    "05-faults.ipynb": [
        "lease", "crash", "pipeline driver", "claim", "dead letter", "requeue", "OutageLog",
        "Processing", "ReadyForReview", "Delivered",
    ],
    "06-your-actor.ipynb": [
        "actor", "message bus", "dra.py", "ShortestQueue", "idempotent", "stop Event",
        "Unknown fields", "dead letter", "EU", "NA", "pipeline driver", "AQUA QA2",
        "ReadyForProcessing", "ReadyForReview", "Pass", "Fail",
    ],
}  # fmt: skip

# The words of each notebook's story that a learner who knows Python and nothing of ALMA
# cannot guess: each is explained where the notebook first uses it (in bold there).
ORIGIN = ["ALMA", "project", "progID", "ObsUnitSet", "OUS", "pipeline"]
EXPLAINED: dict[str, list[str]] = {
    "01-bus.ipynb": [
        *ORIGIN, "JAO", "executive", "EU", "NA", "EA", "ARC", "SOUS", "GOUS", "MOUS",
        "FullyObserved", "recipe", "actor", "message bus", "ReadyForProcessing",
        "State Archive", "Oracle tables", "NGAS", "selector", "claim", "group", "XTSS", "RPC",
        "dead letter",
    ],
    "02-pipeline.ipynb": [
        *ORIGIN, "FullyObserved", "recipe", "JAO", "ARC", "executive", "EU", "NA", "EA",
        "launcher", "XTSS", "ReadyForProcessing", "pipeline driver", "Processing", "products",
        "AQUA", "ReadyForReview", "ProcessingProblem", "SOUS", "GOUS", "weblog",
        "hifa_importdata", "hifa_bandpass",
    ],
    "03-qa2.ipynb": [
        *ORIGIN, "ARC", "executive", "JAO", "ReadyForReview", "QA0", "QA2", "AQUA",
        "Reviewing", "weblog", "Pass", "SemiPass", "Verified", "DeliveryInProgress", "Delivered",
        "Fail", "ReadyForProcessing", "Cancel", "recipe", "stage", "QA score",
        "hifa_importdata", "hifa_flagdata", "hifa_fluxcalflag", "hif_rawflagchans",
        "hifa_tsyscal", "hifa_bandpass", "hifa_gfluxscale", "hifa_timegaincal", "hif_applycal",
        "hif_makeimages",
    ],
    "04-delivery.ipynb": [
        *ORIGIN, "ARC", "executive", "products", "weblog", "JAO", "AQUA", "QA2", "delivery",
        "PI", "NGAS", "Oracle tables", "Verified", "product ingestor", "DeliveryInProgress",
        "IngestionTriggered", "AnalyzingProducts", "IngestingProducts", "ProductsIngested",
        "data tracker", "Delivered", "XTSS", "ReadyForReview",
    ],
    "05-faults.ipynb": [
        *ORIGIN, "executive", "EU", "pipeline driver", "actor", "message bus", "claim",
        "dead letter", "Processing", "ReadyForReview", "Delivered",
    ],
    "06-your-actor.ipynb": [
        *ORIGIN, "JAO", "ARC", "executive", "EU", "NA", "actor", "message bus", "selector",
        "XTSS", "dead letter", "pipeline driver", "ReadyForProcessing", "Processing", "launcher",
        "ReadyForReview", "QA2", "AQUA", "stage", "QA score", "Pass", "Fail",
    ],
}  # fmt: skip

MAX_CODE_LINES = 12
CLEAN_UP_HEADING = "## Clean up (when you are done)"
PROMISE = "**After this notebook you"


def load(name: str) -> Any:
    return nbformat.read(NOTEBOOKS / name, as_version=4)  # type: ignore[no-untyped-call]


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def markdown(notebook: Any) -> str:
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def running_lines(source: str) -> list[str]:
    """The lines of a code cell that do something (not blank, not comments)."""
    return [
        line for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def story(notebook: Any) -> str:
    """The notebook's prose, in order: no headings, no promise, no inline code."""
    paragraphs = "\n".join(
        line for line in markdown(notebook).splitlines() if not line.startswith("#")
    ).split("\n\n")
    prose = "\n\n".join(p for p in paragraphs if not p.lstrip().startswith(PROMISE))
    return re.sub(r"`[^`]*`", "", prose)


def exercises_of(name: str) -> list[str]:
    return [e.name for e in EXERCISES.values() if e.notebook == name.removesuffix(".ipynb")]


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
def test_every_code_cell_is_python(name: str) -> None:
    for cell in code_cells(load(name)):
        ast.parse(cell.source)  # a typo in a committed cell fails here, not in front of a learner


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_a_notebook_opens_with_its_promise_and_the_life_cycle(name: str) -> None:
    notebook = load(name)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert PROMISE in first.source
    opening = code_cells(notebook)[0].source
    assert "show_lifecycle(highlight=" in opening
    assert "from drwlab import" in opening and "exercises" in opening, "set-up imports exercises"


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_the_markdown_names_the_actors_and_states_it_exercises(name: str) -> None:
    text = markdown(load(name))
    missing = [word for word in MENTIONS[name] if word not in text]
    assert missing == []


@pytest.mark.parametrize("name", sorted(EXPLAINED))
def test_every_word_is_explained_where_the_notebook_first_uses_it(name: str) -> None:
    """The first use of each word in the prose is its definition, set in bold."""
    text = story(load(name))
    bare = []
    for word in EXPLAINED[name]:
        first = re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)
        assert first is not None, f"{word!r} is never used in {name}"
        start, end = first.span()
        if text[start - 2 : start] != "**" or text[end : end + 2] != "**":
            bare.append(f"{word}: ...{text[max(0, start - 60) : end + 20]!r}")
    assert bare == [], "first used without an explanation:\n" + "\n".join(bare)


@pytest.mark.parametrize("name", sorted(EXPLAINED))
def test_the_notebook_shows_the_glossary_entries_of_its_words(name: str) -> None:
    cells = [c.source for c in code_cells(load(name)) if "nb.words(WORDS)" in c.source]
    assert len(cells) == 1, "one cell shows the notebook's words, collapsed"
    words = ast.literal_eval(cells[0].split("WORDS =", 1)[1].split("\n", 1)[0].strip())
    shown = {lookup(word).name for word in words}  # UnknownTerm if the glossary lacks one
    unshown = [word for word in EXPLAINED[name] if lookup(word).name not in shown]
    assert unshown == []


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_there_is_as_much_explaining_as_code_and_code_cells_are_short(name: str) -> None:
    notebook = load(name)
    cells = code_cells(notebook)
    assert len(markdown(notebook)) >= sum(len(cell.source) for cell in cells)
    long = [cell.source[:40] for cell in cells if cell.source.count("\n") >= MAX_CODE_LINES]
    assert long == []


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_every_exercise_has_a_load_line_then_its_check(name: str) -> None:
    sources = [cell.source.strip() for cell in load(name).cells]
    exercises = exercises_of(name)
    assert len(exercises) == 2
    for exercise in exercises:
        assert sources.count(load_line(exercise)) == 1, f"{exercise}: one exercise cell"
        at = sources.index(load_line(exercise))
        assert sources[at + 1] == f'exercises.check("{exercise}")'
        assert solution_path(exercise, NOTEBOOKS).is_file()


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_run_all_never_runs_a_solution(name: str) -> None:
    notebook = load(name)
    hidden = [c.source[:40] for c in notebook.cells if c.metadata.get("jupyter", {})]
    tagged = [c.source[:40] for c in notebook.cells if "solution" in c.metadata.get("tags", [])]
    assert hidden == [] and tagged == [], "no hidden or tagged solution cells"
    code = "\n".join(line for cell in code_cells(notebook) for line in running_lines(cell.source))
    for exercise in exercises_of(name):
        solution = solution_path(exercise, NOTEBOOKS).read_text(encoding="utf-8")
        distinctive = [line.strip() for line in running_lines(solution) if len(line.strip()) > 25]
        assert distinctive, exercise
        ran = [line for line in distinctive if line in code]
        assert ran == [], f"{exercise}'s solution code is in a cell that Run All runs"


@pytest.mark.parametrize("name", sorted(MENTIONS))
def test_run_all_leaves_the_sandbox_running_and_clean_up_is_a_step_by_hand(name: str) -> None:
    notebook = load(name)
    cells = code_cells(notebook)
    code = "\n".join(line for cell in cells for line in running_lines(cell.source))
    assert code.count("start_sandbox(") == 1, "one sandbox: exercises add to it, never replace it"
    for stopping in ("stop_sandbox(", ".discard(", ".close()", ".stop("):
        assert stopping not in code, f"{stopping} runs in Run All"
    last = cells[-1].source
    assert running_lines(last) == [] and "# nb.stop_sandbox()" in last
    headings = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    assert headings[-1].startswith(CLEAN_UP_HEADING)
    assert "Shut Down Kernel" in headings[-1], "the kernel's shutdown cleans up too: say so"


def test_the_pipeline_exercise_adds_a_failing_driver_to_the_running_sandbox() -> None:
    notebook = load("02-pipeline.ipynb")
    sources = [cell.source.strip() for cell in notebook.cells]
    adding = sources.index("failing = exercises.add_failing_driver(sb)")
    exercise = sources.index(load_line("02-always-failing"))
    assert adding < exercise
    statement = "\n".join(sources[adding:exercise])
    assert 'Launcher(sb.bus, sb.store).launch(PROJECT, "uid://X1/X1/Xc0", executive="NA")' in (
        statement
    )


def test_the_delivery_report_is_kept_next_to_the_notebook() -> None:
    code = "\n".join(cell.source for cell in code_cells(load("04-delivery.ipynb")))
    exported = re.search(r"export_report\((.*)\)", code)
    assert exported is not None
    assert "reports" in exported.group(1) and "workdir" not in exported.group(1)


def test_the_qa2_notebook_leaves_its_ous_to_the_person_unless_on_autopilot() -> None:
    sources = [cell.source for cell in code_cells(load("03-qa2.ipynb"))]
    clicking = [source for source in sources if ".click()" in source]
    assert clicking, "the autopilot presses the panel's own buttons"
    assert all(source.startswith(("if autopilot():", "if nb.autopilot():")) for source in clicking)
