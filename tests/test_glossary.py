"""The glossary explains every word the notebooks and widgets show, and its tooltips are safe."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from drwlab.glossary import GLOSSARY, UnknownTerm, explain, glossary_html, lookup, tooltip_html
from drwlab.lifecycle import STATES, SUBSTATES, QA2Flag
from drwlab.pipeline import STAGES
from drwlab.sandbox import Sandbox
from drwlab.views.registry import TABLES
from drwlab.views.tables import QA_COLUMNS

ISSUE_WORDS = (
    "ALMA", "ObsUnitSet", "OUS", "SOUS", "GOUS", "MOUS", "project", "progID", "executive",
    "ARC", "EA", "EU", "NA", "JAO", "pipeline", "recipe", "weblog", "QA0", "QA2", "AQUA",
    "XTSS", "State System", "NGAS", "products", "delivery", "data tracker", "FullyObserved",
    "Oracle tables", "-mr",
)  # fmt: skip
TABLE_COLUMNS = (*(c for spec in TABLES.values() for c in spec.columns), *QA_COLUMNS)


@pytest.mark.parametrize("word", ISSUE_WORDS)
def test_every_word_the_learner_meets_is_explained(word: str) -> None:
    assert len(explain(word)) > 20


@pytest.mark.parametrize("state", [*STATES, *SUBSTATES, *QA2Flag], ids=str)
def test_every_life_cycle_state_substate_and_qa2_flag_has_an_entry(state: str) -> None:
    assert lookup(str(state)).name == str(state)


@pytest.mark.parametrize("stage", [stage for stage, _ in STAGES])
def test_every_stage_of_the_mock_pipeline_has_an_entry(stage: str) -> None:
    assert lookup(stage).name == stage and "stage" in lookup(stage).short


@pytest.mark.parametrize("column", sorted(set(TABLE_COLUMNS)))
def test_every_column_the_tables_show_has_an_entry(column: str) -> None:
    assert lookup(column).short


@pytest.fixture
def delivered_sandbox() -> Iterator[Sandbox]:
    with Sandbox(time_scale=0, seed=1, failure_rate=0, autopilot="Pass") as sandbox:
        sandbox.launch("2015.1.00657.S", "uid://X1/X1/Xa1")
        sandbox.wait_for("uid://X1/X1/Xa1", "Delivered", timeout=60)
        yield sandbox


def test_every_actor_a_run_shows_has_an_entry(delivered_sandbox: Sandbox) -> None:
    store = delivered_sandbox.store
    handlers = {doc["handledBy"] for doc in store.find("msgq", {"state": "done"})}
    entity = delivered_sandbox.entity("uid://X1/X1/Xa1")
    actors = {change["actor"] for change in entity["history"] if change.get("actor")}
    parts = set(delivered_sandbox.urls)
    assert {"xtss", "aqua-qa2"} <= {h.split("-1@")[0] for h in handlers}
    assert {"launcher", "pipeline-driver.EU", "data-tracker"} <= actors
    for name in handlers | actors | parts:
        assert lookup(name).short, name


def test_names_and_aliases_are_unique_across_the_glossary() -> None:
    keys = [k.casefold() for term in GLOSSARY.values() for k in (term.name, *term.aliases)]
    assert len(keys) == len(set(keys))


def test_lookup_ignores_case_and_finds_aliases_and_instance_names() -> None:
    assert lookup("ous") is lookup("ObsUnitSet") is lookup("Member OUS")
    assert lookup("pipeline-driver.EU").name == "pipeline driver"
    assert lookup("replicated-cache.JAO-2@host:123").name == "replicated-cache"


def test_an_unknown_word_is_refused_with_close_suggestions() -> None:
    with pytest.raises(UnknownTerm, match=r"'ReadyForProcesing'; did you mean ReadyForProcessing"):
        lookup("ReadyForProcesing")
    with pytest.raises(KeyError):
        lookup("zzz")


class _Abbr(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.titles: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag == "abbr"
        self.titles.append(dict(attrs)["title"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_a_tooltip_shows_the_label_and_hovers_the_short_explanation() -> None:
    markup = tooltip_html("ReadyForProcessing", label="ReadyFor\u00adProcessing")
    parsed = _Abbr()
    parsed.feed(markup)
    assert parsed.titles == [lookup("ReadyForProcessing").short]
    assert "".join(parsed.text) == "ReadyFor\u00adProcessing"


def test_tooltips_escape_labels_and_leave_unknown_words_bare() -> None:
    assert tooltip_html("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    markup = tooltip_html("progID", label='"><script>')
    assert "<script>" not in markup and "&quot;&gt;&lt;script&gt;" in markup
    title = re.search(r'title="([^"]*)"', tooltip_html("weblog"))
    assert title is not None and "<" not in title.group(1)


def test_the_glossary_renders_as_an_escaped_definition_list() -> None:
    markup = glossary_html(["ALMA", "products"])
    assert markup.count("<dt>") == 2 and "&lt;progID&gt;" in markup
    assert glossary_html().count("<dt>") == len(GLOSSARY)
