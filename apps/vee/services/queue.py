"""The exception queue's actions, each over any set of exceptions (one, or a whole filter):
accept the estimate, estimate with another method, type a value, mark a real event.

Each action runs in one transaction and writes one audit row naming the exceptions."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.audit.services import audit_record
from apps.vee.choices import ESTIMATION_METHODS, ExceptionStatus, Explanation
from apps.vee.models import ValidationException
from apps.vee.services import estimation


class ActionRefused(ValueError):
    """The action does not apply (a clear message for the person who asked)."""


#: Statuses that can still be acted on (a cleared exception has nothing left to decide).
ACTIONABLE = (
    ExceptionStatus.OPEN,
    ExceptionStatus.ESTIMATED,
    ExceptionStatus.ACCEPTED,
    ExceptionStatus.EDITED,
    ExceptionStatus.EXPLAINED,
)


def _ids(exceptions: QuerySet[ValidationException]) -> list[int]:
    return list(exceptions.filter(status__in=ACTIONABLE).values_list("pk", flat=True))


def _decide(ids: list[int], *, actor, status: str, **fields) -> int:
    return ValidationException.objects.filter(pk__in=ids).update(
        status=status, decided_by=actor, decided_at=timezone.now(), updated_at=timezone.now(),
        **fields,
    )  # fmt: skip


def exceptions_accept(*, exceptions: QuerySet[ValidationException], actor, note: str = "") -> int:
    """Accept the current estimates of estimated exceptions (the others are left alone)."""
    with transaction.atomic():
        ids = list(exceptions.filter(status=ExceptionStatus.ESTIMATED).values_list("pk", flat=True))
        if not ids:
            raise ActionRefused("None of these exceptions has an estimate to accept.")
        count = _decide(ids, actor=actor, status=ExceptionStatus.ACCEPTED, note=note)
        audit_record(
            actor=actor,
            action="vee.exceptions_accept",
            summary=f"Accepted the estimates of {count} exceptions.",
            detail={"exceptions": ids[:1000], "count": count, "note": note},
        )
    return count


def exceptions_estimate(
    *, exceptions: QuerySet[ValidationException], actor, method: str, reason: str = ""
) -> int:
    """Estimate the exceptions' intervals again with ``method``; returns the intervals."""
    if method not in ESTIMATION_METHODS:
        allowed = ", ".join(ESTIMATION_METHODS)
        raise ActionRefused(f"Unknown estimation method {method!r} (one of {allowed}).")
    with transaction.atomic():
        ids = _ids(exceptions)
        if not ids:
            raise ActionRefused("None of these exceptions can be estimated.")
        count = estimation.estimates_make(
            exceptions=ValidationException.objects.filter(pk__in=ids),
            method=method,
            actor=actor,
            reason=reason,
            audit=False,
        )
        audit_record(
            actor=actor,
            action="vee.exceptions_estimate",
            summary=f"Estimated {count} intervals of {len(ids)} exceptions by {method}.",
            detail={"exceptions": ids[:1000], "method": method, "intervals": count},
        )
    return count


_EDIT = """
DROP TABLE IF EXISTS vee_estimates;
CREATE TEMP TABLE vee_estimates ON COMMIT DROP AS
SELECT t.*, %(value)s::numeric AS value,
       (SELECT max(v.version) FROM vee_valueversion v
        WHERE v.meter_id = t.meter_id AND v.channel_id = t.channel_id
          AND v.meter_datetime = t.at AND v.quantity = 'active_kwh') AS last_version
FROM vee_targets t;
"""

_EDIT_INSERT = """
INSERT INTO vee_valueversion
    (meter_id, channel_id, meter_datetime, quantity, version, kind, value, method, inputs,
     reason, exception_id, actor_id, actor_name, is_current, created_at)
SELECT x.meter_id, x.channel_id, x.at, 'active_kwh', COALESCE(x.last_version, 0) + 1,
       'edited', x.value, 'typed', jsonb_build_object('typed', x.value),
       %(reason)s, x.exception_id, %(actor_id)s, %(actor_name)s, true, now()
FROM vee_estimates x;
"""


def exception_edit(*, exception: ValidationException, actor, value, reason: str) -> int:
    """Set every interval of the exception's period to ``value`` kWh, typed by a person with a
    reason; the previous values stay as versions. Returns the intervals changed."""
    try:
        kwh = Decimal(str(value)).quantize(Decimal("0.001"))
    except (InvalidOperation, ValueError):
        raise ActionRefused(f"{value!r} is not a number of kWh.") from None
    if kwh < 0:
        raise ActionRefused("An interval's energy cannot be negative.")
    if not reason.strip():
        raise ActionRefused("Say why the value is typed (the reason is kept with it).")
    if exception.status not in ACTIONABLE:
        raise ActionRefused("This exception is cleared: new data already replaced it.")
    with transaction.atomic():
        params = {
            "ids": [exception.pk],
            "method": "typed",
            "linear_max": 0,
            "value": kwh,
            "reason": reason.strip(),
            "actor_id": actor.pk,
            "actor_name": actor.get_username(),
        }
        with connection.cursor() as cursor:
            cursor.execute(estimation.TARGETS, params)
            estimation.history_for_targets(cursor, like_days=False)
            cursor.execute(_EDIT, params)
            cursor.execute(estimation.ORIGINALS, params)
            cursor.execute(estimation.SUPERSEDE, params)
            cursor.execute(_EDIT_INSERT, params)
            count = cursor.rowcount
        _decide([exception.pk], actor=actor, status=ExceptionStatus.EDITED, note=reason.strip())
        audit_record(
            actor=actor,
            action="vee.exception_edit",
            target=exception,
            summary=f"Typed {kwh} kWh for {count} intervals: {reason.strip()}",
            detail={"value": str(kwh), "intervals": count, "reason": reason.strip()},
        )
    return count


def exceptions_explain(
    *, exceptions: QuerySet[ValidationException], actor, explanation: str, note: str = ""
) -> int:
    """Mark the exceptions as explained by a real event (outage, disconnection, real use)."""
    if explanation not in Explanation.values:
        allowed = ", ".join(Explanation.values)
        raise ActionRefused(f"Unknown explanation {explanation!r} (one of {allowed}).")
    with transaction.atomic():
        ids = _ids(exceptions)
        if not ids:
            raise ActionRefused("None of these exceptions can be marked.")
        count = _decide(
            ids, actor=actor, status=ExceptionStatus.EXPLAINED, explanation=explanation, note=note
        )
        audit_record(
            actor=actor,
            action="vee.exceptions_explain",
            summary=f"Marked {count} exceptions as explained ({explanation}).",
            detail={"exceptions": ids[:1000], "explanation": explanation, "note": note},
        )
    return count
