"""What every transport offers: probe the MDC, say which data sets it serves, pull one.

A transport class is chosen by ``Mdc.transport`` from ``TRANSPORTS`` (the healthchecks
pattern): nothing else in the MDM branches on the transport.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import ClassVar

from apps.ingestion.models import IngestionRun
from apps.ingestion.runs import Tally, progress_commit
from apps.registry.models import Mdc


@dataclass
class PullPlan:
    """What a pull will read, settled before it reads and recorded on the run first.
    Transports subclass it to carry their own parts (the API's batches, tabular's devices)."""

    dataset_code: str
    devices: int
    window_start: dt.datetime | None
    # known up front (the API's requested windows), or None: the window ends where the
    # committed watermark has got to (tabular), saved when the pull ends
    window_end: dt.datetime | None = None
    source_prefix: str = ""


@dataclass(frozen=True)
class PullStep:
    """One unit read and loaded (an API window over every device batch, a tabular chunk)."""

    complete: bool  # counts as a window loaded
    watermark: dt.datetime | None = None  # None: counts committed, the watermark stays
    cursor_id: int | None = None


class Transport:
    """One MDC's transport. Subclasses set ``name``, implement ``probe`` and either the pull
    hooks (``pull_plan``, ``pull_steps``, ``pull_finish``) or ``pull`` itself."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def __init__(self, mdc: Mdc) -> None:
        self.mdc = mdc

    def probe(self) -> str:
        """Try the MDC (as "Test connection" and the periodic probe do): a sentence saying
        what worked; raise with what did not."""
        raise NotImplementedError

    def datasets(self, codes: list[str]) -> list[str]:
        """Which of ``codes`` this MDC can be pulled for (all, unless the transport knows)."""
        return list(codes)

    def describe(self) -> str:
        """Where the MDC is read from, for pages (no secrets)."""
        return self.label

    def pull(
        self,
        run: IngestionRun,
        dataset_code: str,
        *,
        watermark: dt.datetime | None,
        since: dt.datetime | None,
        until: dt.datetime,
        tally: Tally,
    ) -> None:
        """Read the data set from the watermark on and load it, committing the run's counts
        and the watermark with the rows (``apps.ingestion.runs``). Raise to end the run.

        The loop the polling transports share: the plan recorded on the run; nothing to do
        without devices; each step the transport has loaded committed with the watermark it
        completes, before the transport goes on (so what it does after a step, such as
        marking rows synced at the MDC, follows the commit); then the transport's finish."""
        plan = self.pull_plan(run, dataset_code, watermark=watermark, since=since, until=until)
        plan.source_prefix = f"{self.mdc.code}/{dataset_code} run {run.pk}"
        fields = ["devices", "window_start"]
        run.devices = plan.devices
        run.window_start = plan.window_start
        follows = plan.window_end is None
        if not follows:
            run.window_end = plan.window_end
            fields.append("window_end")
        run.save(update_fields=fields)
        if not plan.devices:
            return
        # closing: a failed commit closes the transport's reader (client, cursor) at once
        with closing(self.pull_steps(run, plan, tally)) as steps:
            for step in steps:
                tally.windows += step.complete
                if follows and step.watermark is not None:
                    run.window_end = step.watermark
                progress_commit(run, tally, watermark=step.watermark, cursor_id=step.cursor_id)
        self.pull_finish(run, plan, tally)
        if follows:
            run.save(update_fields=["window_end"])

    def pull_plan(
        self,
        run: IngestionRun,
        dataset_code: str,
        *,
        watermark: dt.datetime | None,
        since: dt.datetime | None,
        until: dt.datetime,
    ) -> PullPlan:
        """What the pull reads: devices, the window's start (and end, when known)."""
        raise NotImplementedError

    def pull_steps(self, run: IngestionRun, plan: PullPlan, tally: Tally) -> Iterator[PullStep]:
        """Read and load the plan's units, each rows and counts in one transaction, yielding a
        step for each once loaded; the code after a ``yield`` runs once the step is committed."""
        raise NotImplementedError

    def pull_finish(self, run: IngestionRun, plan: PullPlan, tally: Tally) -> None:
        """After the last step (not after a failed one)."""
