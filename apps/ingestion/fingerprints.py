"""Re-reading a window already loaded costs a hash, not a merge.

Pulls read windows again (the lookback, a forgotten watermark, refills), and the answers are
mostly what was loaded before. Merging them (COPY to staging, INSERT … ON CONFLICT, UPDATE …
IS DISTINCT FROM) costs more than the first load, which COPYs straight into the table. So the
last clean answer to each request is remembered (``AnswerFingerprint``: a digest of the body and
of which rows were accepted); an answer with the same digest, while the warehouse still holds
that many rows of the MDC for those devices in the answer's span (one index count: rows deleted
since, or never committed, make it differ), cannot change a row and is counted unchanged without
a merge. Any other answer takes the normal merge, which stays the authority.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from operator import itemgetter

from apps.ingestion.fetch import FetchedBody, SplitRows
from apps.ingestion.models import AnswerFingerprint
from apps.warehouse.schema import table_for
from apps.warehouse.services import rows_stored_count

Key = tuple[dt.datetime, dt.datetime, str]


def devices_key(device_ids: list[str]) -> str:
    return hashlib.blake2b("\t".join(device_ids).encode(), digest_size=20).hexdigest()


def fingerprints_for(
    *, mdc_id: int, dataset_code: str, start: dt.datetime, until: dt.datetime
) -> dict[Key, tuple[str, int]]:
    """The remembered answers of a pull's windows (one query per pull)."""
    rows = AnswerFingerprint.objects.filter(
        mdc_id=mdc_id, dataset=dataset_code, start__gte=start, end__lte=until
    ).values_list("start", "end", "devices", "digest", "rows")
    return {(s, e, d): (digest, n) for s, e, d, digest, n in rows}


def answer_unchanged(
    known: dict[Key, tuple[str, int]], *, mdc_id: int, dataset_code: str, fetched: FetchedBody
) -> bool:
    """True when ``fetched`` is the answer last loaded for its request and its rows are all
    still stored: merging it would change nothing."""
    result = fetched.result
    if fetched.digest is None or not isinstance(result, SplitRows) or not result.good:
        return False
    key = (fetched.window.start, fetched.window.end, devices_key(fetched.device_ids))
    if known.get(key) != (fetched.digest, len(result.good)):
        return False
    # the definition the rows were split with (2019 or 3.3, told by width)
    dataset = table_for(dataset_code).view_of_width(len(result.good[0])).dataset
    if dataset.time_field is None:
        return False
    times = list(map(itemgetter(dataset.field_names.index(dataset.time_field)), result.good))
    devices = sorted(
        set(map(itemgetter(dataset.field_names.index("global_device_id")), result.good))
    )
    stored = rows_stored_count(
        dataset_code=dataset_code,
        mdc_id=mdc_id,
        device_ids=devices,
        first=min(times),
        last=max(times),
    )
    return stored == len(result.good)


def fingerprint_record(
    known: dict[Key, tuple[str, int]], *, mdc_id: int, dataset_code: str, fetched: FetchedBody
) -> None:
    """Remember a clean answer just loaded (in the transaction of its rows)."""
    result = fetched.result
    if fetched.digest is None or not isinstance(result, SplitRows):
        return
    if table_for(dataset_code).time_column is None:
        return
    key = (fetched.window.start, fetched.window.end, devices_key(fetched.device_ids))
    if known.get(key) == (fetched.digest, len(result.good)):
        return
    AnswerFingerprint.objects.bulk_create(
        [
            AnswerFingerprint(
                mdc_id=mdc_id,
                dataset=dataset_code,
                start=key[0],
                end=key[1],
                devices=key[2],
                digest=fetched.digest,
                rows=len(result.good),
            )
        ],
        update_conflicts=True,
        unique_fields=["mdc", "dataset", "start", "end", "devices"],
        update_fields=["digest", "rows", "loaded_at"],
    )
    known[key] = (fetched.digest, len(result.good))


#: Fingerprints of windows older than this are forgotten (a re-pull that far back just merges).
KEEP = dt.timedelta(days=35)


def fingerprints_prune(*, mdc_id: int, dataset_code: str, now: dt.datetime) -> int:
    """Forget fingerprints of windows that started more than ``KEEP`` before ``now``."""
    deleted, _ = AnswerFingerprint.objects.filter(
        mdc_id=mdc_id, dataset=dataset_code, start__lt=now - KEEP
    ).delete()
    return deleted
