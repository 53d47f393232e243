"""Acknowledging events: who saw one event (as the warehouse keys it) and when."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.analytics.models import EventAcknowledgement
from apps.audit.services import audit_record


@transaction.atomic
def event_acknowledge(
    *, actor, global_device_id: str, event_datetime: dt.datetime, event_code: int, note: str = ""
) -> EventAcknowledgement:
    """Acknowledge one event; acknowledging it again keeps the first acknowledgement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM warehouse_event WHERE global_device_id = %s AND event_datetime = %s"
            " AND event_code = %s",
            [global_device_id, event_datetime, event_code],
        )
        if cursor.fetchone() is None:
            raise ValidationError("No such event: nothing to acknowledge.")
    ack, created = EventAcknowledgement.objects.get_or_create(
        global_device_id=global_device_id,
        event_datetime=event_datetime,
        event_code=event_code,
        defaults={"acknowledged_by": actor if getattr(actor, "is_authenticated", False) else None,
                  "acknowledged_at": timezone.now(), "note": note[:200]},
    )  # fmt: skip
    if created:
        audit_record(
            actor=actor,
            action="analytics.event_acknowledge",
            target=ack,
            summary=f"Event {event_code} of {global_device_id} at "
            f"{timezone.localtime(event_datetime):%Y-%m-%d %H:%M:%S %z} acknowledged",
        )
    return ack
