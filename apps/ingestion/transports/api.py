"""The web-service transport (UDIL's API): bounded requests of device batches x time windows,
a few in flight at once, each answer loaded as it arrives (``apps.ingestion.fetch``)."""

from __future__ import annotations

import datetime as dt

from apps.ingestion import fingerprints, refill
from apps.ingestion.fetch import FetchedBody, answer_source, api_fetcher
from apps.ingestion.models import IngestionRun
from apps.ingestion.runs import Tally, answer_load, aware, counts_save, progress_commit
from apps.ingestion.transports.base import Transport
from apps.ingestion.windows import (
    backfill_start,
    lookback,
    window_length,
    windows_count,
    windows_plan,
)
from apps.registry.choices import Transport as TransportChoice
from apps.registry.selectors import mdc_client, meter_batches


class ApiTransport(Transport):
    name = TransportChoice.API
    label = "Web services (API)"

    def probe(self) -> str:
        with mdc_client(self.mdc) as client:
            client.authorize()
        return "Authorized: the MDC issued a private key."

    def describe(self) -> str:
        return f"{self.label} at {self.mdc.base_url}"

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
        mdc = self.mdc
        if watermark is not None:
            start = watermark - lookback(dataset_code)
        else:
            start = aware(since) or backfill_start(dataset_code, until)
        length = window_length(dataset_code, mdc.window_minutes)
        batches = meter_batches(mdc)
        run.devices = sum(len(batch) for batch in batches)
        run.window_start = start
        run.window_end = max(start, until)
        run.save(update_fields=["devices", "window_start", "window_end"])
        if not batches:
            return
        source_prefix = f"{mdc.code}/{dataset_code} run {run.pk}"
        if until > start:
            windows = windows_plan(
                dataset_code=dataset_code, start=start, until=until, length=length
            )
            jobs = ((window, batch) for window in windows for batch in batches)
            total = windows_count(
                dataset_code=dataset_code, start=start, until=until, length=length
            )
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
                            source=answer_source(source_prefix, fetched),
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
                    tally.windows += complete
                    progress_commit(run, tally, watermark=window.end)
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
                run, tally, fetched, source=answer_source(f"{source_prefix} refill", fetched)
            ),
            fetcher_for=lambda client, jobs: api_fetcher(client, mdc, dataset_code, jobs),
        )
        counts_save(run, tally)
