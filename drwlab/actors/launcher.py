"""The launcher: puts an OUS in ReadyForProcessing and asks a pipeline driver to process it.

As the original ``launcher.py PROGID UID [RECIPE EXEC]``: the status entity
is created through the XTSS if it does not exist, or requeued (from
ProcessingProblem, or after a QA2 Fail), then ``{"progID", "ousUID",
"recipe"}`` goes to ``pipeline.process.<EXEC>``. Everything is checked
before anything is written, so a typo never leaves a half-launched OUS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from drwlab.actors.xtss import XtssClient, check_executive, check_recipe
from drwlab.bus import MessageBus
from drwlab.products import check_prog_id
from drwlab.store.base import Doc, Store
from drwlab.uids import check_uid

logger = logging.getLogger(__name__)

DEFAULT_RECIPE = "PipelineCalibration"
DEFAULT_EXECUTIVE = "EU"


def process_selector(executive: str) -> str:
    """``pipeline.process.EU``: where the pipeline driver of ``executive`` listens."""
    return f"pipeline.process.{check_executive(executive)}"


@dataclass(frozen=True)
class Launched:
    """What ``launch`` did: the entity as the XTSS left it and the request's message id."""

    entity: Doc
    message_id: str


class Launcher:
    """Creates (or requeues) OUSs and sends their processing requests.

    Not a listening actor: ``launch`` is called by the CLI, the sandbox and
    notebooks. The XTSS must be running to answer.
    """

    def __init__(
        self, bus: MessageBus, store: Store, *, name: str = "launcher", timeout: float = 10.0
    ) -> None:
        self.bus = bus
        self.store = store
        self.name = name
        self.xtss = XtssClient(bus, sender=name, timeout=timeout)

    def launch(
        self,
        prog_id: str,
        uid: str,
        recipe: str = DEFAULT_RECIPE,
        executive: str = DEFAULT_EXECUTIVE,
    ) -> Launched:
        """Put ``uid`` in ReadyForProcessing and send it to the pipeline of ``executive``.

        Raises
        ------
        InvalidUid, InvalidMessage
            A malformed uid, an empty or malformed project code or recipe, an
            unknown executive: refused before anything is written.
        IllegalTransition
            The OUS exists and is in flight or delivered (only ProcessingProblem
            and ReadyForProcessing OUSs can be launched again).
        RpcTimeout
            No XTSS answered.
        """
        check_uid(uid)
        check_prog_id(prog_id)
        check_recipe(recipe)
        selector = process_selector(executive)
        entity = self.xtss.create(uid, prog_id, recipe, executive)
        request = {"progID": prog_id, "ousUID": uid, "recipe": recipe}
        message_id = self.bus.send(selector, request, sender=self.name)
        logger.info("launched %s (%s, %s) on %s", uid, prog_id, recipe, selector)
        return Launched(entity, message_id)
