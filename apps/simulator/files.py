"""Flat-file transport: a simulated MDC that delivers CSV files (UDIL 2019 "flat file").

For an MDC with ``transport="file"`` and a ``file_directory``, :func:`sim_files_deliver` writes
one file per data set with the rows the MDC stored (``db_datetime``) since its last delivery up
to ``until`` (meter visuals: every meter's current row), named
``<data set>_<yyyyMMddTHHmm>.csv`` as the MDM reads them (``apps.ingestion.flatfiles``): a
header of the spec's field names, values in the protocol's text. Each file is written as
``<name>.part`` and renamed into place once complete, so the MDM never reads half a file.
``SimMdc.tabular_synced_until`` is the delivery watermark (the same one the tabular transport
keeps: a simulated MDC has one transport).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

from django.db import transaction

from apps.simulator.models import SimMdc, Transport
from apps.simulator.services import sim_transactions_advance
from apps.simulator.tabular import TABLES, TABLES_3_3, _sync_rows
from apps.udil.timefmt import PKT

PART_SUFFIX = ".part"
_CODES = {table: code for code, table in {**TABLES, **TABLES_3_3}.items()}


def delivery_name(dataset_code: str, until: dt.datetime) -> str:
    return f"{dataset_code}_{until.astimezone(PKT):%Y%m%dT%H%M%S}.csv"


def _file_writer(directory: Path, until: dt.datetime, written_files: list[Path]):
    def replace(table: str) -> None:  # every delivery is a new file: nothing to replace
        return None

    def append(table: str, fields: tuple[str, ...], kinds: list[str], rows) -> int:
        code = _CODES.get(table)
        if code is None:  # TRANSACTION_STATUS is not a delivery
            return 0
        target = directory / delivery_name(code, until)
        part = target.with_name(target.name + PART_SUFFIX)
        count = 0
        with part.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(fields)
            for row in rows:
                writer.writerow(["" if value is None else value for value in row])
                count += 1
        if count:
            os.replace(part, target)  # complete: into place in one step
            written_files.append(target)
        else:
            part.unlink()
        return count

    return replace, append


def sim_files_deliver(*, mdc: SimMdc, until: dt.datetime | None = None) -> list[Path]:
    """Write the MDC's deliveries of (last delivery, until]; returns the files written (none
    for a data set without new rows). Idempotent for a given ``until``."""
    if mdc.transport != Transport.FILE or not mdc.file_directory:
        raise ValueError(f"Simulated MDC {mdc.code} does not deliver flat files.")
    until = (until or dt.datetime.now(tz=dt.UTC)).replace(microsecond=0)
    directory = Path(mdc.file_directory)
    directory.mkdir(parents=True, exist_ok=True)
    sim_transactions_advance(mdc=mdc, now=until)
    files: list[Path] = []
    with transaction.atomic():
        mdc = SimMdc.objects.select_for_update().get(pk=mdc.pk)
        since = mdc.tabular_synced_until
        if since is not None and since >= until:
            return []
        _sync_rows(mdc, since, until, *_file_writer(directory, until, files))
        mdc.tabular_synced_until = until
        mdc.save(update_fields=["tabular_synced_until"])
    return files


def sim_files_deliver_all(*, until: dt.datetime | None = None) -> int:
    """Deliver for every simulated flat-file MDC (the simulator's tick); returns files written."""
    written = 0
    for mdc in SimMdc.objects.filter(transport=Transport.FILE).exclude(file_directory=""):
        written += len(sim_files_deliver(mdc=mdc, until=until))
    return written
