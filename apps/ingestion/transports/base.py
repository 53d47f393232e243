"""What every transport offers: probe the MDC, say which data sets it serves, pull one.

A transport class is chosen by ``Mdc.transport`` from ``TRANSPORTS`` (the healthchecks
pattern): nothing else in the MDM branches on the transport.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from apps.ingestion.models import IngestionRun
from apps.ingestion.runs import Tally
from apps.registry.models import Mdc


class Transport:
    """One MDC's transport. Subclasses set ``name`` and implement ``probe`` and ``pull``."""

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
        and the watermark with the rows (``apps.ingestion.runs``). Raise to end the run."""
        raise NotImplementedError
