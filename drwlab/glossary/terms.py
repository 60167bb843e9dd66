"""The glossary's entries: every word a learner meets, with a short plain explanation.

Facts from ALMA's public documentation (see the project's glossary facts), in
the project's own sentences. Grouped as a learner meets them: ALMA and its
organisation, the workflow, the bus, the actors, the life-cycle, the pipeline
stages of the mock, and the columns the tables show.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """One glossary entry: a short plain explanation, optionally a longer one."""

    name: str
    short: str
    long: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The whole explanation: the short one, then the longer one if there is one."""
        return f"{self.short} {self.long}".strip()


def _terms(*entries: Term) -> dict[str, Term]:
    return {entry.name: entry for entry in entries}


_ALMA = (
    Term(
        "ALMA",
        "The Atacama Large Millimeter/submillimeter Array: 66 radio antennas at about "
        "5,000 m on the Chajnantor plateau in Chile's Atacama desert.",
        "It is run by Europe (ESO), North America (NRAO, with Canada and Taiwan) and "
        "East Asia (NAOJ, with Taiwan and Korea), with Chile as host.",
    ),
    Term(
        "JAO",
        "The Joint ALMA Observatory, which operates ALMA from Santiago.",
        "In the sandbox the XTSS, AQUA, the product ingestor and the main cache live at JAO.",
        ("Joint ALMA Observatory",),
    ),
    Term(
        "executive",
        "One of ALMA's partners: EU, NA or EA. Each runs an ALMA Regional Centre (ARC).",
        "An OUS's processing executive (EA, EU, NA or JAO) says where its data is processed.",
        ("processing executive", "exec"),
    ),
    Term(
        "ARC",
        "An ALMA Regional Centre: it supports the partner's astronomers and shares the "
        "data processing with JAO.",
        "The European ARC is at ESO in Garching, the North American at NRAO in "
        "Charlottesville, the East Asian at NAOJ in Mitaka.",
        ("ALMA Regional Centre",),
    ),
    Term("EU", "Europe's executive (ESO); its ARC is in Garching, Germany."),
    Term("NA", "North America's executive (NRAO); its ARC is in Charlottesville, USA."),
    Term("EA", "East Asia's executive (NAOJ); its ARC is in Mitaka, Japan."),
    Term(
        "project",
        "An accepted observing proposal, named by its project code (the progID).",
        aliases=("ObsProject",),
    ),
    Term(
        "progID",
        "A project code such as 2015.1.00657.S: the cycle's year and number, a serial "
        "number, and a letter for the kind of proposal (S = standard).",
        aliases=("project code", "prog_id"),
    ),
    Term(
        "ObsUnitSet",
        "An ObsUnitSet (OUS) is a folder of observations; its data is processed, "
        "reviewed and delivered as one.",
        "ALMA nests them: a Science Goal OUS holds Group OUSs, which hold Member OUSs; "
        "only Member OUSs hold the scheduling blocks that are observed. An OUS has a uid "
        "such as uid://A001/X1/X2b.",
        ("OUS", "MOUS", "Member OUS"),
    ),
    Term(
        "SOUS",
        "A Science Goal ObsUnitSet: the top of an OUS tree, one science goal of a project.",
        "The products path names it SOUS.",
        ("Science Goal OUS",),
    ),
    Term(
        "GOUS",
        "A Group ObsUnitSet: the Member OUSs of one science goal whose data is combined, "
        "e.g. the 12-m array with the 7-m array.",
        "The products path names it GOUS.",
        ("Group OUS",),
    ),
    Term(
        "uid",
        "An ALMA identifier such as uid://X1/X1/Xb0; here, the OUS's.",
        "In file and folder names it is written uid___X1_X1_Xb0 or X1-X1-Xb0.",
        ("ousUID", "entityId"),
    ),
    Term(
        "FullyObserved",
        "All observations of the OUS are done: its data processing can start.",
    ),
)

_WORKFLOW = (
    Term(
        "pipeline",
        "The ALMA Science Pipeline (built on CASA) that calibrates and images the data "
        "of an OUS, stage after stage.",
        "Here a mock: it waits a few seconds, then writes products or fails.",
    ),
    Term(
        "recipe",
        "The sequence of pipeline stages run on an OUS, e.g. calibration, imaging or single dish.",
        aliases=("pipeline-recipe",),
    ),
    Term(
        "stage",
        "One step of a pipeline run, e.g. hifa_bandpass; each gets a QA score.",
        "Names start with hifa_ (interferometry, ALMA-specific), hif_ (interferometry, "
        "generic) or hsd_ (single dish).",
    ),
    Term(
        "weblog",
        "The pipeline's HTML report of a run: a page per stage with plots, tables and a "
        "QA score, which the QA2 reviewer reads.",
        aliases=("weblogs",),
    ),
    Term(
        "QA score",
        "The pipeline's grade for one stage, from 0 to 1.",
        "Above 0.90 green (optimal), above 0.66 blue (suboptimal), above 0.33 yellow "
        "(warning), 0.33 or less red (error): a reviewer reads the low ones first.",
        ("score", "overall"),
    ),
    Term(
        "QA0",
        "The near-real-time quality check of each observation as it is taken.",
    ),
    Term(
        "QA2",
        "The review of the processed data and products before delivery: does the data "
        "reach the science goal?",
        "Pass or SemiPass lets the data be delivered; Fail sends it back for reprocessing.",
    ),
    Term(
        "AQUA",
        "ALMA's quality-assurance web tool, where QA0 and QA2 are recorded and reviewed.",
        "Here AQUA QA2 is an actor: it keeps the pipeline reports and takes the "
        "reviewer's decision.",
    ),
    Term(
        "XTSS",
        "The interface to the State System, which holds each OUS's life-cycle state and "
        "changes it on request.",
        "In the sandbox it answers RPC requests on the xtss selector and refuses illegal changes.",
        ("State System",),
    ),
    Term(
        "NGAS",
        "The Next Generation Archive System: the file store of the ALMA archive, where "
        "products are ingested.",
        "Here the ngas database mocks it, each archived file base64-encoded.",
    ),
    Term(
        "products",
        "What a pipeline run makes: calibrated data, images and the weblog, with the "
        "pipeline report.",
        "Here five data products, a report and a zipped weblog, under "
        "<progID>_<time>/SOUS/GOUS/<ous>/products.",
        ("data products",),
    ),
    Term(
        "delivery",
        "Putting an OUS's products in the archive (NGAS plus metadata) so that its PI can "
        "download them.",
    ),
    Term(
        "PI",
        "The Principal Investigator: the astronomer who proposed the project and receives "
        "its data.",
    ),
    Term(
        "Oracle tables",
        "The relational database tables of ALMA's archive.",
        "The sandbox mocks them as the pipeline-reports, products-metadata and "
        "delivery-status databases.",
    ),
    Term(
        "State Archive",
        "Where ALMA keeps the status of every OUS; mocked by the status-entities database.",
    ),
    Term(
        "cache",
        "A replicated cache: a directory of products and weblogs at an executive, "
        "copied to JAO and served over HTTP.",
        aliases=("replicated cache", "caches"),
    ),
    Term(
        "-mr",
        "The pipeline driver's max runs option: how many pipelines it runs at once.",
        "Two drivers, or -mr 2, compete for the same messages.",
        ("max_runs", "maxruns"),
    ),
)

_BUS = (
    Term(
        "message bus",
        "How the actors talk: each writes messages on a selector and listens on its own.",
        "It is one database table, msgq, shared by everyone.",
        ("bus", "MessageBus"),
    ),
    Term("actor", "One of the small programs of the workflow, talking only over the bus."),
    Term(
        "selector",
        "The address of a message, e.g. pipeline.process.EU; listeners listen on one.",
        "A selector ending in .* is a group: sending to it sends a copy to each member.",
    ),
    Term(
        "group",
        "A selector ending in .* whose members each get a copy of what is sent to it.",
    ),
    Term(
        "claim",
        "A listener takes a message by writing it back with the revision it read; only "
        "the first of two such writes succeeds, so a message reaches one listener.",
        aliases=("claimedBy",),
    ),
    Term(
        "dead letter",
        "A message whose handler kept failing; kept with its last error for a person to read.",
        aliases=("dead letters", "dead"),
    ),
    Term(
        "RPC",
        "A remote procedure call: a request on the bus whose caller waits for the reply.",
        "The reply comes on a private msgback.<id> selector.",
        ("msgback", "rpc-call"),
    ),
    Term(
        "store",
        "The set of named databases of JSON documents: an SQLite file, or CouchDB.",
    ),
    Term("msgq", "The bus's database: one document per message."),
    Term(
        "status-entities",
        "The database holding one document per OUS: its state, substate and history.",
        "It stands in for the State Archive.",
    ),
    Term("pipeline-reports", "The database of pipeline reports (QA scores) AQUA received."),
    Term("products-metadata", "The database of one metadata record per ingested product."),
    Term(
        "delivery-status",
        "The database of one document per delivery: its products so far and whether it "
        "is complete.",
    ),
)

_ACTORS = (
    Term(
        "launcher",
        "Creates (or requeues) an OUS's status entity and asks a pipeline driver to process it.",
    ),
    Term(
        "pipeline driver",
        "At an executive: claims a processing request, sets Processing, runs the "
        "pipeline and reports the outcome.",
        aliases=("pipeline-driver",),
    ),
    Term(
        "replicated-cache",
        "Pulls the products and weblogs cached elsewhere, expands weblogs and serves them "
        "over HTTP.",
    ),
    Term(
        "aqua-qa2",
        "AQUA's QA2 actor: stores pipeline reports, opens reviews and carries out the "
        "reviewer's decision.",
        aliases=("AQUA QA2",),
    ),
    Term(
        "product ingestor",
        "At JAO: puts each product in NGAS, writes its metadata and the delivery status.",
        aliases=("product-ingestor",),
    ),
    Term(
        "data tracker",
        "At the ARC: checks that every product of a delivery is in NGAS, then marks the "
        "OUS Delivered.",
        aliases=("data-tracker",),
    ),
    Term(
        "dashboard",
        "The web page of the sandbox: the board and the tables, updated live.",
    ),
)

_STATES = (
    Term(
        "ReadyForProcessing",
        "The OUS waits for a pipeline driver to pick it up.",
    ),
    Term("Processing", "A pipeline is running on the OUS's data."),
    Term(
        "ProcessingProblem",
        "The pipeline failed; the OUS waits here until someone launches it again.",
    ),
    Term("ReadyForReview", "Processing is done; the OUS waits for a QA2 reviewer."),
    Term("Reviewing", "A QA2 reviewer is reading the OUS's QA scores and weblog."),
    Term(
        "Verified",
        "QA2 passed (Pass or SemiPass); product ingestion is about to start.",
    ),
    Term(
        "DeliveryInProgress",
        "The products are being ingested into the archive, through four substates.",
    ),
    Term("Delivered", "The products are in the archive: the PI can download them."),
    Term("IngestionTriggered", "Delivery substate: the product ingestor was asked to start."),
    Term("AnalyzingProducts", "Delivery substate: the ingestor lists the run's products."),
    Term("IngestingProducts", "Delivery substate: the ingestor puts products in NGAS."),
    Term(
        "ProductsIngested",
        "Delivery substate: every product is in NGAS; the data tracker takes over.",
    ),
    Term("Pass", "QA2 decision: the data is good; deliver it."),
    Term("SemiPass", "QA2 decision: good enough to deliver, with known shortcomings."),
    Term("Fail", "QA2 decision: not good; process the OUS again."),
    Term("Cancel", "QA2 decision: stop the review; the OUS goes back to ReadyForReview."),
)

_STAGES = (
    Term("hifa_importdata", "Pipeline stage: import the observations' measurement sets."),
    Term("hifa_flagdata", "Pipeline stage: flag (drop) data known to be bad in advance."),
    Term(
        "hifa_fluxcalflag",
        "Pipeline stage: flag spectral lines in the flux calibrator's data.",
    ),
    Term("hif_rawflagchans", "Pipeline stage: flag bad channels in the raw data."),
    Term(
        "hifa_tsyscal",
        "Pipeline stage: derive the system temperature (Tsys) calibration.",
    ),
    Term("hifa_bandpass", "Pipeline stage: calibrate the response across frequency."),
    Term(
        "hifa_gfluxscale",
        "Pipeline stage: transfer the flux scale to the other calibrators.",
    ),
    Term("hifa_timegaincal", "Pipeline stage: calibrate the gains' changes over time."),
    Term("hif_applycal", "Pipeline stage: apply the calibrations to the data."),
    Term("hif_makeimages", "Pipeline stage: make images (here of the calibrators)."),
)

_COLUMNS = (
    Term("state", "The OUS's life-cycle state."),
    Term("substate", "The delivery step of an OUS in DeliveryInProgress."),
    Term("timestamp", "When it happened (UTC); for a pipeline run, when the run started."),
    Term("problem", "Why the last pipeline run failed."),
    Term("history", "Every state change of the OUS: when, by which actor, and why."),
    Term("reason", "Why the state changed, as the actor said."),
    Term("source", "The executive whose pipeline made the report."),
    Term("productsDir", "The top folder of a pipeline run's products."),
    Term("productID", "The name of one ingested data product."),
    Term("complete", "Whether every product of the delivery has been ingested."),
    Term("name", "The name: of a file, of a stage's task."),
    Term("size", "The file's size in bytes."),
    Term("writeTimestamp", "When the file was written to NGAS."),
    Term("creationTimestamp", "When the message was sent."),
    Term("sender", "Who sent the message."),
    Term("handledBy", "The listener that handled the message."),
    Term("lastHandled", "When this listener last handled a message."),
    Term("handled", "How many messages this listener handled."),
    Term("attempts", "How many times a handler was tried on the message."),
    Term("consumed", "False while no listener has handled the message."),
    Term("error", "The last error a handler raised on the message."),
    Term(
        "errorHistory",
        "Every failed attempt at the message: when, which listener, and its error.",
    ),
    Term(
        "requeues",
        "When a dead letter was put back in the queue, and by whom, to be handled again.",
    ),
    Term(
        "kind",
        "What happened: an actor crashed, the store went away, a dead letter was "
        "re-queued, or messages were consumed the original's way.",
    ),
    Term("details", "What the fault did: to which actor, message or OUS, and for how long."),
    Term("body", "The message's content."),
    Term("messages", "How many messages."),
    Term("id", "The document's identifier."),
)

GLOSSARY: dict[str, Term] = _terms(
    *_ALMA, *_WORKFLOW, *_BUS, *_ACTORS, *_STATES, *_STAGES, *_COLUMNS
)
"""Every term, by name, in reading order (ALMA first, table columns last)."""
