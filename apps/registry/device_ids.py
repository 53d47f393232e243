"""Global device ids: the MDM names every device (UDIL ``global_device_id``).

The pattern is a prefix and a zero-padded number drawn from a PostgreSQL sequence, e.g.
``m00000042``. ``settings.DEVICE_ID_PREFIX`` and ``settings.DEVICE_ID_DIGITS`` (from
``MDM_DEVICE_ID_PREFIX``, default ``m``, and ``MDM_DEVICE_ID_DIGITS``, default 8) set it. An
explicit id may be given instead (e.g. ids a vendor already uses); it must satisfy
:func:`device_id_problem`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

SEQUENCE = "registry_global_device_id_seq"
MAX_LENGTH = 50
_ALLOWED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class DeviceIdPattern:
    prefix: str
    digits: int

    def format(self, number: int) -> str:
        if number >= 10**self.digits:
            raise ImproperlyConfigured(
                f"Device id sequence reached {number}, beyond {self.digits} digits: "
                "raise MDM_DEVICE_ID_DIGITS."
            )
        return f"{self.prefix}{number:0{self.digits}d}"


def device_id_pattern() -> DeviceIdPattern:
    prefix = settings.DEVICE_ID_PREFIX or ""
    try:
        digits = int(settings.DEVICE_ID_DIGITS)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured("MDM_DEVICE_ID_DIGITS must be a whole number.") from exc
    if not 1 <= digits <= 18 or len(prefix) + digits > MAX_LENGTH:
        raise ImproperlyConfigured("MDM_DEVICE_ID_DIGITS must be 1..18 and fit in 50 characters.")
    if prefix and not _ALLOWED.match(prefix):
        raise ImproperlyConfigured("MDM_DEVICE_ID_PREFIX may hold letters, digits, '_.-' only.")
    return DeviceIdPattern(prefix=prefix, digits=digits)


def device_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a global device id, or None when it can."""
    if not value:
        return "global_device_id is empty"
    if len(value) > MAX_LENGTH:
        return f"global_device_id is longer than {MAX_LENGTH} characters"
    if not _ALLOWED.match(value):
        return "global_device_id may hold letters, digits, '_', '.', '-' only"
    return None


def device_ids_next(count: int, *, taken: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """``count`` new ids from the sequence, skipping ids already registered or in ``taken``."""
    from apps.registry.models import Meter

    pattern = device_id_pattern()
    ids: list[str] = []
    while len(ids) < count:
        wanted = count - len(ids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT nextval('{SEQUENCE}') FROM generate_series(1, %s)",
                [wanted],
            )
            candidates = [pattern.format(row[0]) for row in cursor.fetchall()]
        used = set(
            Meter.objects.filter(global_device_id__in=candidates).values_list(
                "global_device_id", flat=True
            )
        )
        ids.extend(c for c in candidates if c not in used and c not in taken)
    return ids
