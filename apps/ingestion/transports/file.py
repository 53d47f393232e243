"""The flat-file transport: CSV deliveries in the MDC's directory (or uploaded), one file per
delivery, named by data set (``apps.ingestion.flatfiles``), loaded through the warehouse loader
like the other transports' rows. Each file is recorded by its sha256 (``FileDelivery``), in the
transaction that stores its rows: the same bytes delivered twice load once."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import replace
from pathlib import Path

from django.db import transaction

from apps.ingestion.choices import DeliverySource, DeliveryState
from apps.ingestion.flatfiles import (
    FAILED_DIR,
    LOADED_DIR,
    DeliveryRejected,
    delivery_name_parse,
    delivery_rows,
    file_move,
    inbox,
    sha256_of,
)
from apps.ingestion.models import FileDelivery, IngestionRun
from apps.ingestion.runs import Tally, counts_save, progress_commit
from apps.ingestion.transports.base import Transport
from apps.registry.choices import Transport as TransportChoice
from apps.udil.profiles import get_profile
from apps.warehouse.guard import RowGuard, owned_device_ids
from apps.warehouse.services import rows_load_split

log = logging.getLogger(__name__)


class FileTransport(Transport):
    name = TransportChoice.FILE
    label = "Flat files (CSV deliveries)"

    @property
    def directory(self) -> Path | None:
        return Path(self.mdc.file_directory) if self.mdc.file_directory else None

    def describe(self) -> str:
        return f"{self.label} in {self.mdc.file_directory or '(no directory)'}"

    def probe(self) -> str:
        directory = self.directory
        if directory is None:
            raise FileNotFoundError("The MDC names no delivery directory.")
        if not directory.is_dir():
            raise FileNotFoundError(f"The delivery directory {directory} does not exist.")
        if not os.access(directory, os.R_OK | os.X_OK):
            raise PermissionError(f"The delivery directory {directory} cannot be read.")
        waiting = inbox(directory)
        movable = os.access(directory, os.W_OK)
        return (
            f"Delivery directory {directory} is readable"
            f"{'' if movable else ' (not writable: read files stay in place)'}; "
            f"{len(waiting)} file(s) waiting."
        )

    def waiting(self, dataset_code: str | None = None) -> list[tuple[Path, str | None]]:
        """Complete files in the directory with the data set their name states (None: the
        name states none)."""
        directory = self.directory
        if directory is None:
            return []
        found = []
        for path in inbox(directory):
            try:
                code = delivery_name_parse(path.name, datasets=self._datasets()).dataset
            except DeliveryRejected:
                code = None
            if dataset_code is None or code == dataset_code:
                found.append((path, code))
        return found

    def unnamed_record(self, path: Path) -> FileDelivery | None:
        """A complete file whose name states no data set: recorded as failed, moved aside."""
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            delivery_name_parse(path.name, datasets=self._datasets())
        except DeliveryRejected as exc:
            error = str(exc)
        else:
            return None
        delivery = FileDelivery.objects.create(
            mdc=self.mdc,
            name=path.name[:255],
            sha256=sha256_of(content),
            size=len(content),
            state=DeliveryState.FAILED,
            error=error,
        )
        file_move(path, FAILED_DIR)
        return delivery

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
        """Load the data set's complete files waiting in the directory, oldest name first."""
        files = self.waiting(dataset_code)
        run.window_start = watermark
        run.save(update_fields=["window_start"])
        for path, _ in files:
            try:
                content = path.read_bytes()
            except FileNotFoundError:  # another reader moved it meanwhile
                continue
            delivery = self.load(
                run, name=path.name, content=content, tally=tally, watermark=watermark
            )
            moved = file_move(
                path, FAILED_DIR if delivery.state == DeliveryState.FAILED else LOADED_DIR
            )
            if moved is None:
                log.warning(
                    "delivery %s stays in %s (directory not writable)", path.name, path.parent
                )
            watermark = run.watermark_after

    def load(
        self,
        run: IngestionRun,
        *,
        name: str,
        content: bytes,
        tally: Tally,
        watermark: dt.datetime | None = None,
        source: str = DeliverySource.DIRECTORY,
        actor=None,
    ) -> FileDelivery:
        """Load one delivery's bytes in the run (one transaction: rows, quarantined lines, the
        delivery's record and the run's counts); returns its record."""
        mdc = self.mdc
        digest = sha256_of(content)
        record = {
            "mdc": mdc,
            "name": name[:255],
            "sha256": digest,
            "size": len(content),
            "source": source,
            "run": run,
            "uploaded_by": actor if getattr(actor, "pk", None) else None,
        }
        earlier = FileDelivery.objects.filter(
            mdc=mdc, sha256=digest, state=DeliveryState.LOADED
        ).first()
        if earlier is not None:
            return FileDelivery.objects.create(
                **record,
                dataset=earlier.dataset,
                state=DeliveryState.DUPLICATE,
                error=f"The same file (sha256) loaded on {earlier.received_at:%Y-%m-%d %H:%M} "
                f"as {earlier.name}; not loaded again.",
            )
        try:
            stated = delivery_name_parse(name, datasets=self._datasets())
            if stated.dataset != run.dataset:
                raise DeliveryRejected(
                    f"{name!r} is a {stated.dataset} delivery, not {run.dataset}."
                )
            read = delivery_rows(content, run.dataset, dataset=self._datasets()[run.dataset])
        except DeliveryRejected as exc:
            return FileDelivery.objects.create(
                **record, dataset=run.dataset, state=DeliveryState.FAILED, error=str(exc)
            )
        counted = replace(tally)
        counted.requests += 1
        with transaction.atomic():
            result = self._rows_load(run, read, source=f"{mdc.code} file {name}"[:200])
            counted.add(result)
            counted.windows += 1
            counts_save(run, counted)
            note = (
                f"Columns not in the data set, ignored: {', '.join(read.unknown_columns)}."
                if read.unknown_columns
                else ""
            )
            delivery = FileDelivery.objects.create(
                **record,
                dataset=run.dataset,
                state=DeliveryState.LOADED,
                rows_received=result.received,
                rows_inserted=result.inserted,
                rows_updated=result.updated,
                rows_unchanged=result.unchanged,
                rows_quarantined=result.quarantined,
                error=note,
            )
        tally.__dict__.update(counted.__dict__)
        position = max(filter(None, [watermark, run.watermark_after, stated.stamp]))
        run.window_end = stated.stamp
        run.save(update_fields=["window_end"])
        progress_commit(run, tally, watermark=position)
        return delivery

    def _datasets(self):
        """The data sets as the MDC's UDIL profile defines them (a 3.3 MDC's files have the 3.3
        columns)."""
        return get_profile(self.mdc.udil_profile).datasets

    def _rows_load(self, run: IngestionRun, read, *, source: str):
        """The rows through the loader; every refused line keeps its line number."""
        dataset = self._datasets()[run.dataset]
        rejected: dict[int, str] = {}
        good_all, rejects = dataset.copy_rows(read.rows)
        by_id = {id(raw): line for raw, line in zip(read.rows, read.lines, strict=True)}
        numbered = [*read.rejects]
        for raw, reason in rejects:
            line = by_id.get(id(raw))
            rejected[id(raw)] = reason
            numbered.append((raw, f"line {line}: {reason}" if line else reason))
        good_lines = [
            line for raw, line in zip(read.rows, read.lines, strict=True) if id(raw) not in rejected
        ]
        # only this MDC's registered meters are stored (as for the other transports)
        guard = RowGuard(run.dataset, owned_device_ids(mdc_id=self.mdc.pk))
        kept, refused = guard.split(good_all)
        if refused:
            kept = []
            for row, line in zip(good_all, good_lines, strict=True):
                ok, no = guard.split([row])
                kept.extend(ok)
                numbered.extend((raw, f"line {line}: {reason}") for raw, reason in no)
        return rows_load_split(
            dataset_code=run.dataset,
            mdc_id=self.mdc.pk,
            good=kept,
            rejects=numbered,
            source=source,
            dataset=dataset,
        )
