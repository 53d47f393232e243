"""The tabular transport (UDIL 3.1 database views): one statement per pull, read in chunks
(``apps.ingestion.tabular``), each chunk committed with the watermark it completes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import transaction

from apps.ingestion.models import IngestionRun
from apps.ingestion.runs import Tally, counts_save, cursor_get
from apps.ingestion.tabular import SyncedMarker, TabularChunk, dataset_of, tabular_chunks
from apps.ingestion.transports.base import PullPlan, PullStep, Transport
from apps.registry.choices import DATASET_TABLE_IDS
from apps.registry.choices import Transport as TransportChoice
from apps.registry.selectors import meters_for_pull
from apps.udil.datasets import DATASETS
from apps.warehouse.guard import RowGuard, owned_device_ids
from apps.warehouse.services import rows_load


class TabularCheckFailed(Exception):
    """The MDC's database answered, but a configured view cannot be pulled (see message)."""


@dataclass(kw_only=True)
class TabularPlan(PullPlan):
    device_ids: list[str]  # the MDC's active devices: the statement reads only theirs


class TabularTransport(Transport):
    name = TransportChoice.TABULAR
    label = "Database views (tabular)"

    def datasets(self, codes: list[str]) -> list[str]:
        """The data sets whose table has a view named (all when none is named yet)."""
        views = self.mdc.tabular_views or {}
        if not views:
            return list(codes)
        return [code for code in codes if DATASET_TABLE_IDS[code] in views or code in views]

    def probe(self) -> str:
        """Open the MDC's database (engine from the URL's scheme), then check each configured
        view: it exists, has the spec's columns (missing and unknown ones listed), its row
        count and newest ``db_datetime``. A view without its key columns fails the test."""
        import sqlalchemy as sa

        from apps.udil import engines

        mdc = self.mdc
        by_table = {ds.table: ds for ds in DATASETS.values()}
        try:
            engine, dialect = engines.open_engine(
                mdc.tabular_database_url, timeout=mdc.timeout_seconds
            )
            try:
                with engine.connect() as conn:
                    conn.execute(sa.select(sa.literal(1))).one()
                    conn.rollback()
                    reports = engines.inspect_views(conn, mdc.tabular_views or {}, by_table)
            finally:
                engine.dispose()
        except sa.exc.SQLAlchemyError as exc:
            raise TabularCheckFailed(engines.describe_error(exc)) from None
        except engines.EngineError as exc:
            raise TabularCheckFailed(str(exc)) from None
        lines = [f"Connected to the MDC database ({dialect.label})."]
        lines += [engines.report_text(r) + "." for r in reports]
        message = " ".join(lines)
        if not all(r.usable for r in reports):
            raise TabularCheckFailed(message)
        return message

    def pull_plan(
        self,
        run: IngestionRun,
        dataset_code: str,
        *,
        watermark: dt.datetime | None,
        since: dt.datetime | None,
        until: dt.datetime,
    ) -> TabularPlan:
        device_ids = list(meters_for_pull(self.mdc).values_list("global_device_id", flat=True))
        return TabularPlan(
            dataset_code=dataset_code,
            devices=len(device_ids),
            window_start=watermark,
            device_ids=device_ids,
        )

    def pull_steps(self, run: IngestionRun, plan: TabularPlan, tally: Tally) -> Iterator[PullStep]:
        """A step a chunk of the one statement; a chunk that completes a ``db_datetime``
        moves the watermark (and the id cursor) there."""
        mdc, dataset_code = self.mdc, plan.dataset_code
        chunk_rows = int(settings.INGESTION_TABULAR_CHUNK_ROWS)
        # a vendor's view may hold other head ends' meters: only this MDC's own are stored
        guard = RowGuard(dataset_code, owned_device_ids(mdc_id=mdc.pk))
        marker = SyncedMarker(mdc, dataset_code) if mdc.tabular_mark_synced else None
        chunk: TabularChunk
        try:
            for chunk in tabular_chunks(
                mdc,
                dataset_code,
                after=plan.window_start,
                device_ids=plan.device_ids,
                chunk_rows=chunk_rows,
                after_id=cursor_get(mdc, dataset_code),
            ):
                if chunk.rows:
                    counted = replace(tally)
                    counted.requests += 1
                    with transaction.atomic():  # rows and the run's counts together
                        result = rows_load(
                            dataset_code=dataset_code,
                            mdc_id=mdc.pk,
                            raw_rows=chunk.rows,
                            source=f"{plan.source_prefix} chunk {counted.requests}",
                            guard=guard,
                            dataset=dataset_of(mdc, dataset_code),
                        )
                        counted.add(result)
                        counts_save(run, counted)
                    tally.__dict__.update(counted.__dict__)
                if chunk.complete_through is not None:
                    # by id, rows committed late may be older than the watermark: it stays
                    position = max(filter(None, [chunk.complete_through, run.watermark_after]))
                    yield PullStep(complete=True, watermark=position, cursor_id=chunk.cursor_id)
                else:
                    yield PullStep(complete=False)
                if marker is not None and chunk.ids:
                    # committed by now (the step's commit): only then may the MDC purge them
                    marker.mark(chunk.ids)
        finally:
            if marker is not None:
                marker.close()
