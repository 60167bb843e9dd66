"""A pipeline run's products: the tree's names and layout, the pipeline report.

One helper in one place: the mock pipeline writes these names, the pipeline
driver and the caches copy them, AQUA reads the report and the ingestor walks
the tree, all through this module. The layout is the seed's::

    <progID>_<timestamp>/SOUS/GOUS/<uid___X1_X1_Xa1>/products/
        pl-report-X1-X1-Xa1-<timestamp>.xml
        product-{0..4}-X1-X1-Xa1-<timestamp>.data
        weblog-X1-X1-Xa1-<timestamp>.zip

with the timestamp made safe for file names (``2018_07_19T07_10_03.781``: no
colons, unlike the original's names). Pipeline reports arrive in messages, so
:func:`parse_report` treats its input as untrusted.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from drwlab.errors import InvalidMessage, PipelineFailed
from drwlab.timeutil import filename_timestamp, parse_timestamp
from drwlab.uids import check_uid, uid_to_dashed, uid_to_dirname

PRODUCT_COUNT = 5
"""Data products written by every successful pipeline run."""

MAX_REPORT_CHARS = 1_000_000
"""Longer pipeline reports are refused: the mock's are a few kilobytes."""

_PROG_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}")
"""Names are checked with ``fullmatch``: a ``$`` would match before a final newline."""


# -- names -------------------------------------------------------------------
def check_prog_id(prog_id: object) -> str:
    """Return ``prog_id`` if it is a plausible project code (``2015.1.00657.S``).

    Raises InvalidMessage otherwise: the code becomes part of a directory name,
    so slashes, ``..`` and anything but letters, digits, ``.``, ``_`` and ``-``
    are refused.
    """
    if not isinstance(prog_id, str) or not _PROG_ID.fullmatch(prog_id) or ".." in prog_id:
        raise InvalidMessage(
            f"not a project code (letters, digits, '.', '_', '-'; e.g. 2015.1.00657.S): {prog_id!r}"
        )
    return prog_id


def check_timestamp(text: object) -> str:
    """Return ``text`` if it is a wire timestamp (``2018-07-19T08:50:10.228``).

    Raises InvalidMessage otherwise (it becomes part of file names).
    """
    if not isinstance(text, str) or not _TIMESTAMP.fullmatch(text):
        raise InvalidMessage(f"not a timestamp like 2018-07-19T08:50:10.228: {text!r}")
    try:
        parse_timestamp(text)
    except ValueError as error:
        raise InvalidMessage(f"not a valid timestamp: {text!r} ({error})") from None
    return text


def products_dir_name(prog_id: str, timestamp: str) -> str:
    """``2015.1.00657.S_2018_07_19T08_50_10.228``: the top directory of a run's products."""
    return f"{check_prog_id(prog_id)}_{filename_timestamp(check_timestamp(timestamp))}"


def _suffix(uid: str, timestamp: str) -> str:
    return f"{uid_to_dashed(uid)}-{filename_timestamp(check_timestamp(timestamp))}"


def product_name(uid: str, n: int, timestamp: str) -> str:
    """``product-0-X1-X1-Xa1-2018_07_19T07_10_03.781.data``, for ``0 <= n < PRODUCT_COUNT``."""
    if not 0 <= n < PRODUCT_COUNT:
        raise ValueError(f"product number must be in 0..{PRODUCT_COUNT - 1}, not {n}")
    return f"product-{n}-{_suffix(uid, timestamp)}.data"


def weblog_name(uid: str, timestamp: str) -> str:
    """``weblog-X1-X1-Xa1-2018_07_19T07_10_03.781.zip``."""
    return f"weblog-{_suffix(uid, timestamp)}.zip"


def report_name(uid: str, timestamp: str) -> str:
    """``pl-report-X1-X1-Xa1-2018_07_19T07_10_03.781.xml``."""
    return f"pl-report-{_suffix(uid, timestamp)}.xml"


@dataclass(frozen=True)
class ProductsTree:
    """Where one pipeline run's products live under ``root`` (a work or cache directory).

    ``timestamp`` is the run's wire timestamp (``2018-07-19T07:10:03.781``).
    All fields are validated on construction (InvalidMessage / InvalidUid), so
    a tree built from a message can never point outside ``root``.
    """

    root: Path
    prog_id: str
    uid: str
    timestamp: str

    def __post_init__(self) -> None:
        check_prog_id(self.prog_id)
        check_uid(self.uid)
        check_timestamp(self.timestamp)

    @property
    def products_dir(self) -> str:
        """The name of the top directory, e.g. ``2015.1.00657.S_2018_07_19T08_50_10.228``."""
        return products_dir_name(self.prog_id, self.timestamp)

    @property
    def path(self) -> Path:
        """``root/products_dir``: what the driver copies into its cache."""
        return self.root / self.products_dir

    @property
    def products_path(self) -> Path:
        """``path/SOUS/GOUS/<uid___X1_X1_Xa1>/products``: where the files are."""
        return self.path / "SOUS" / "GOUS" / uid_to_dirname(self.uid) / "products"

    @property
    def report_path(self) -> Path:
        """The pipeline report XML."""
        return self.products_path / report_name(self.uid, self.timestamp)

    @property
    def weblog_path(self) -> Path:
        """The zipped weblog."""
        return self.products_path / weblog_name(self.uid, self.timestamp)

    @property
    def data_product_paths(self) -> list[Path]:
        """The ``PRODUCT_COUNT`` data products, in order."""
        return [
            self.products_path / product_name(self.uid, n, self.timestamp)
            for n in range(PRODUCT_COUNT)
        ]

    @property
    def all_files(self) -> list[Path]:
        """Every file of a complete tree: report, data products, weblog."""
        return [self.report_path, *self.data_product_paths, self.weblog_path]

    def check(self) -> None:
        """Raise PipelineFailed naming every missing (or non-regular) file of the tree."""
        missing = [p for p in self.all_files if not p.is_file()]
        if missing:
            names = ", ".join(str(p.relative_to(self.root)) for p in missing)
            raise PipelineFailed(
                f"incomplete products tree {self.path}: {len(missing)} of "
                f"{len(self.all_files)} files missing: {names}"
            )


# -- the pipeline report -------------------------------------------------------
@dataclass
class QAScore:
    """The QA score (0..1) the pipeline gave one stage."""

    stage: str
    name: str
    score: float


@dataclass
class PipelineReport:
    """What the pipeline report XML says: the run, and its QA scores per stage."""

    ous_uid: str
    prog_id: str
    executive: str
    recipe: str
    timestamp: str
    scores: list[QAScore] = field(default_factory=list)

    @property
    def overall(self) -> float:
        """The lowest stage score (1.0 for a report without stages)."""
        return min((s.score for s in self.scores), default=1.0)

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per stage (``stage``, ``name``, ``score``), for tables."""
        return [{"stage": s.stage, "name": s.name, "score": s.score} for s in self.scores]


_REPORT_ATTRS = {
    "ousUID": "ous_uid",
    "progID": "prog_id",
    "executive": "executive",
    "recipe": "recipe",
    "timestamp": "timestamp",
}


def render_report_xml(report: PipelineReport) -> str:
    """The report as XML text (with declaration); values are escaped by ElementTree."""
    root = ET.Element("PipelineReport", {k: getattr(report, v) for k, v in _REPORT_ATTRS.items()})
    scores = ET.SubElement(root, "QAScores", {"overall": f"{report.overall:.2f}"})
    for s in report.scores:
        ET.SubElement(scores, "QAScore", {"stage": s.stage, "name": s.name, "score": f"{s.score}"})
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _refuse_declarations(xml_text: str) -> None:
    """Parse once with expat, refusing DTDs and entities (no billion laughs, no XXE)."""

    def refuse(*_args: object) -> None:
        raise InvalidMessage("pipeline report refused: DOCTYPE or entity declarations")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    try:
        parser.Parse(xml_text, True)
    except expat.ExpatError as error:
        raise InvalidMessage(f"pipeline report is not well-formed XML: {error}") from None


def parse_report(xml_text: str | bytes) -> PipelineReport:
    """Read a pipeline report written by :func:`render_report_xml` (text or UTF-8 bytes).

    Raises InvalidMessage for anything else: not text, too long, malformed
    XML, a DOCTYPE or entity declaration, a wrong root element, missing or
    malformed attributes, scores outside 0..1.
    """
    if isinstance(xml_text, (bytes, bytearray)):
        try:
            xml_text = bytes(xml_text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidMessage(f"pipeline report is not UTF-8 text: {error}") from None
    if not isinstance(xml_text, str):
        raise InvalidMessage(f"pipeline report must be text, not {type(xml_text).__name__}")
    if len(xml_text) > MAX_REPORT_CHARS:
        raise InvalidMessage(f"pipeline report too long ({len(xml_text)} chars)")
    _refuse_declarations(xml_text)
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as error:
        raise InvalidMessage(f"pipeline report is not well-formed XML: {error}") from None
    if root.tag != "PipelineReport":
        raise InvalidMessage(f"not a pipeline report: root element <{root.tag}>")
    missing = [k for k in _REPORT_ATTRS if not root.get(k)]
    if missing:
        raise InvalidMessage(f"pipeline report lacks {', '.join(missing)}")
    values = {v: root.get(k, "") for k, v in _REPORT_ATTRS.items()}
    check_uid(values["ous_uid"])
    return PipelineReport(**values, scores=[_parse_score(e) for e in root.iter("QAScore")])


def report_to_base64(xml_text: str) -> str:
    """The report as carried in ``pipeline.report.JAO`` messages and ``pipeline-reports``."""
    return base64.b64encode(xml_text.encode("utf-8")).decode("ascii")


def report_from_base64(data: object) -> str:
    """The XML text of a base64 ``report`` field; InvalidMessage if it is not base64 UTF-8."""
    if not isinstance(data, str) or not data:
        raise InvalidMessage(f"report must be a non-empty base64 string, not {type(data).__name__}")
    if len(data) > MAX_REPORT_CHARS * 4 // 3 + 4:
        raise InvalidMessage(f"report too long ({len(data)} base64 chars)")
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise InvalidMessage(f"report is not base64-encoded UTF-8 text: {error}") from None


def _parse_score(element: ET.Element) -> QAScore:
    stage, name, score = (element.get(k) for k in ("stage", "name", "score"))
    if not stage or name is None or score is None:
        raise InvalidMessage("pipeline report: QAScore lacks stage, name or score")
    try:
        value = float(score)
    except ValueError:
        raise InvalidMessage(f"pipeline report: QA score {score!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise InvalidMessage(f"pipeline report: QA score {score!r} outside 0..1")
    return QAScore(stage=stage, name=name, score=value)
