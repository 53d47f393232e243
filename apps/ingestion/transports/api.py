"""The web-service transport (UDIL's API): bounded requests of device batches x time windows,
a few in flight at once, each answer loaded as it arrives (``apps.ingestion.fetch``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from apps.ingestion import fingerprints, refill
from apps.ingestion.fetch import FetchedBody, answer_source, api_fetcher
from apps.ingestion.models import IngestionRun
from apps.ingestion.runs import Tally, answer_load, aware, counts_save
from apps.ingestion.transports.base import PullPlan, PullStep, Transport
from apps.ingestion.windows import (
    backfill_start,
    lookback,
    window_length,
    windows_count,
    windows_plan,
)
from apps.registry.choices import Transport as TransportChoice
from apps.registry.selectors import mdc_client, meter_batches


@dataclass(kw_only=True)
class ApiPlan(PullPlan):
    batches: list[list[str]]  # the MDC's active devices, in requests of batch_size
    until: dt.datetime
    length: dt.timedelta  # of one requested window


class ApiTransport(Transport):
    name = TransportChoice.API
    label = "Web services (API)"

    def probe(self) -> str:
        with mdc_client(self.mdc) as client:
            client.authorize()
        return "Authorized: the MDC issued a private key."

    def describe(self) -> str:
        return f"{self.label} at {self.mdc.base_url}"

    def pull_plan(
        self,
        run: IngestionRun,
        dataset_code: str,
        *,
        watermark: dt.datetime | None,
        since: dt.datetime | None,
        until: dt.datetime,
    ) -> ApiPlan:
        if watermark is not None:
            start = watermark - lookback(dataset_code)
        else:
            start = aware(since) or backfill_start(dataset_code, until)
        batches = meter_batches(self.mdc)
        return ApiPlan(
            dataset_code=dataset_code,
            devices=sum(len(batch) for batch in batches),
            window_start=start,
            window_end=max(start, until),
            batches=batches,
            until=until,
            length=window_length(dataset_code, self.mdc.window_minutes),
        )

    def pull_steps(self, run: IngestionRun, plan: ApiPlan, tally: Tally) -> Iterator[PullStep]:
        """A step a window: every device batch asked for it, each answer loaded as it comes."""
        mdc, dataset_code, batches = self.mdc, plan.dataset_code, plan.batches
        start, until, length = plan.window_start, plan.until, plan.length
        if until <= start:
            return
        windows = windows_plan(dataset_code=dataset_code, start=start, until=until, length=length)
        jobs = ((window, batch) for window in windows for batch in batches)
        total = windows_count(dataset_code=dataset_code, start=start, until=until, length=length)
        known = fingerprints.fingerprints_for(
            mdc_id=mdc.pk, dataset_code=dataset_code, start=start, until=until
        )
        with mdc_client(mdc) as client, api_fetcher(client, mdc, dataset_code, jobs) as fetcher:
            for _ in range(total):
                window, complete = None, True
                for _batch in batches:
                    fetched: FetchedBody = fetcher.next()
                    window = fetched.window
                    run.retries = fetcher.retries
                    entry = answer_load(
                        run,
                        tally,
                        fetched,
                        source=answer_source(plan.source_prefix, fetched),
                        known=known,
                    )
                    if entry is not None:
                        # the window is not loaded for these devices (nor counted as loaded)
                        # until it is asked again and loads, or the body is released
                        complete = False
                        refill.body_refills_open(
                            mdc=mdc,
                            dataset_code=dataset_code,
                            window=fetched.window,
                            device_ids=fetched.device_ids,
                            quarantined_row_id=entry.pk,
                            now=until,
                        )
                    del fetched
                yield PullStep(complete=complete, watermark=window.end)

    def pull_finish(self, run: IngestionRun, plan: ApiPlan, tally: Tally) -> None:
        mdc, dataset_code, start, until = self.mdc, plan.dataset_code, plan.window_start, plan.until
        if until > start:
            fingerprints.fingerprints_prune(mdc_id=mdc.pk, dataset_code=dataset_code, now=until)
        # windows loaded earlier whose body was quarantined, and intervals still missing
        refill.refills_run(
            run=run,
            mdc=mdc,
            dataset_code=dataset_code,
            horizon=min(start, until),
            until=until,
            tally=tally,
            load=lambda fetched: answer_load(
                run, tally, fetched, source=answer_source(f"{plan.source_prefix} refill", fetched)
            ),
            fetcher_for=lambda client, jobs: api_fetcher(client, mdc, dataset_code, jobs),
        )
        counts_save(run, tally)
