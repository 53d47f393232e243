"""Which delivered rows an MDC may store: only rows of meters registered at that MDC, and only
inside the time span it was asked for.

An MDC is trusted with its own meters, nothing else: a head end that answers with rows of
another vendor's meter (or of a device nobody registered), or with rows far outside the
requested window, would otherwise overwrite or invent data. Such rows are refused with the
reason and go to the quarantine like malformed ones, so nothing is dropped silently.

Rows are COPY text (``DataSet.copy_rows``): datetimes are ``yyyy-mm-dd HH:MM:SS[.f]+05:00``, so
when every time carries the one offset, text order is time order and a window check is two
string comparisons (min and max) at C speed; only a batch that fails it is looked at row by row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from operator import itemgetter, methodcaller
from typing import Any

from apps.udil.timefmt import PKT
from apps.warehouse.schema import table_for

TextRow = Sequence[str | None]
_PKT_SUFFIX = "+05:00"
_ends_pkt = methodcaller("endswith", _PKT_SUFFIX)


def owned_device_ids(*, mdc_id: int, device_ids: Collection[str] | None = None) -> frozenset[str]:
    """Global device ids registered at the MDC (of ``device_ids`` when given)."""
    from apps.registry.models import Meter

    meters = Meter.objects.filter(mdc_id=mdc_id)
    if device_ids is not None:
        meters = meters.filter(global_device_id__in=list(device_ids))
    return frozenset(meters.values_list("global_device_id", flat=True))


def _text(value: dt.datetime) -> str:
    return value.astimezone(PKT).isoformat(sep=" ")


@dataclass(frozen=True)
class RowGuard:
    """The rows of one answer that may be stored.

    ``owned``: device ids registered at the answering MDC; ``start`` .. ``end``: the requested
    span, both inclusive, already widened by the tolerance (None: no time check).
    """

    dataset_code: str
    owned: frozenset[str]
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def split(self, rows: list[TextRow]) -> tuple[list[TextRow], list[tuple[Any, str]]]:
        """``(kept, refused)``; refused rows are ``(row as a dict, reason)`` pairs. Returns
        ``rows`` itself when every row may be stored (the usual case)."""
        if not rows:
            return rows, []
        # rows are in the order of the definition that split them (2019 or 3.3: told by width)
        dataset = table_for(self.dataset_code).view_of_width(len(rows[0])).dataset
        names = dataset.field_names
        device_of = itemgetter(names.index("global_device_id"))
        time_field = dataset.time_field if self.start is not None else None
        time_of = itemgetter(names.index(time_field)) if time_field else None
        devices_ok = self.owned.issuperset(map(device_of, rows))
        times_ok = True
        if time_of is not None:
            times = list(map(time_of, rows))
            times_ok = (
                all(map(_ends_pkt, times))
                and _text(self.start) <= min(times)
                and max(times) <= _text(self.end)
            )
        if devices_ok and times_ok:
            return rows, []
        kept: list[TextRow] = []
        refused: list[tuple[Any, str]] = []
        for row in rows:
            reason = self._refusal(row, device_of, time_field, time_of)
            if reason is None:
                kept.append(row)
            else:
                refused.append(({n: (v or None) for n, v in zip(names, row, strict=True)}, reason))
        return kept, refused

    def _refusal(self, row, device_of, time_field, time_of) -> str | None:
        device = device_of(row)
        if device not in self.owned:
            return f"global_device_id {device!r} is not a meter registered at this MDC"
        if time_of is None:
            return None
        text = time_of(row)
        when = dt.datetime.fromisoformat(text) if text else None
        if when is None or not (self.start <= when <= self.end):
            # the window itself is in the entry's source: the reason stays the same for the
            # same row in every window, so a repeated row is one entry
            return f"{time_field} {text or 'empty'} is outside the requested window"
        return None
