"""The terminal UI of AQUA QA2, like the original's: pick an OUS, read its report, decide.

It lists the OUSs ready for review, asks for a uid, sets it Reviewing and
shows the report's QA scores and the weblog URL, then asks for [P]ass,
[S]emipass, [F]ail or [C]ancel. It reads from and writes to the streams it is
given (the terminal by default), so tests drive it with ``io.StringIO``.
Every action is a call to :class:`~drwlab.actors.aqua_qa2.AquaQA2`.
"""

from __future__ import annotations

import sys
from typing import TextIO

from drwlab.actors.aqua_qa2 import AquaQA2, Review
from drwlab.errors import DrwlabError
from drwlab.lifecycle import QA2Flag
from drwlab.wire import EXECUTIVE_FLAG

ANSWERS = {
    "p": QA2Flag.PASS,
    "s": QA2Flag.SEMIPASS,
    "f": QA2Flag.FAIL,
    "c": QA2Flag.CANCEL,
}
QUIT = ("q", "quit", "exit")


class AquaTui:
    """A line-oriented QA2 session over ``qa2``; ``run()`` returns on ``q`` or end of input."""

    def __init__(
        self, qa2: AquaQA2, *, stdin: TextIO | None = None, stdout: TextIO | None = None
    ) -> None:
        self.qa2 = qa2
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout

    def run(self) -> None:
        """List, ask, review, decide; again, until the user quits."""
        while True:
            self.show_ready()
            answer = self.ask(
                "Please enter the UID of the OUS to review ([Enter]: refresh, q: quit): "
            )
            if answer is None or answer.lower() in QUIT:
                self.say("Bye.")
                return
            if answer:
                self.review(answer)

    def show_ready(self) -> None:
        """Print the OUSs ready to be reviewed."""
        try:
            ready = self.qa2.ready_for_review()
        except DrwlabError as error:
            self.say(f"Cannot list the OUSs: {error}")
            return
        if not ready:
            self.say("\nNo OUSs ready to be reviewed.")
            return
        self.say("\nOUSs ready to be reviewed:")
        for entity in ready:
            executive = (entity.get("flags") or {}).get(EXECUTIVE_FLAG, "-")
            self.say(f"    {entity.get('entityId')}  {entity.get('progID')}  ({executive})")

    def review(self, uid: str) -> None:
        """Review ``uid`` and record the reviewer's decision."""
        try:
            review = self.qa2.review(uid)
        except DrwlabError as error:
            self.say(f"Cannot review {uid}: {error}")
            return
        self.show_review(review)
        while True:
            answer = self.ask("[P]ass, [S]emipass, [F]ail or [C]ancel? ")
            flag = QA2Flag.CANCEL if answer is None else ANSWERS.get(answer[:1].lower())
            if flag is not None:
                break
            self.say("Please answer P, S, F or C.")
        try:
            entity = self.qa2.decide(uid, flag)
        except DrwlabError as error:
            self.say(f"Cannot record {flag.value} for {uid}: {error}")
            return
        self.say(f"{uid}: {flag.value}; now {entity.get('state')}")

    def show_review(self, review: Review) -> None:
        """Print the report's QA scores and where the weblog is."""
        report = review.report
        self.say(f"\n{review.uid} ({report.prog_id}, {report.recipe}) is now {review.state}")
        self.say(f"Pipeline run {review.timestamp} at {review.source}: {review.products_dir}")
        self.say(f"{'Stage':<20} {'Task':<48} Score")
        for score in report.scores:
            self.say(f"{score.stage:<20} {score.name:<48} {score.score:.2f}")
        self.say(f"Overall QA score: {report.overall:.2f}")
        where = review.weblog_url or (str(review.weblog_path) if review.weblog_path else None)
        self.say(f"Weblog: {where or 'not in the JAO cache yet'}")

    # -- streams ------------------------------------------------------------------------
    def ask(self, prompt: str) -> str | None:
        """Prompt and read one line; None at end of input."""
        print(prompt, end="", file=self.stdout, flush=True)
        line = self.stdin.readline()
        if not line:
            print(file=self.stdout)
            return None
        return line.strip()

    def say(self, text: str) -> None:
        """Write one line."""
        print(text, file=self.stdout, flush=True)


def run_tui(qa2: AquaQA2, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Run the terminal UI over a started ``qa2`` until the user quits; returns exit code 0."""
    AquaTui(qa2, stdin=stdin, stdout=stdout).run()
    return 0
