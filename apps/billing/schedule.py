"""The beat entry that fails billing runs whose worker was lost (state in the database: the
sweep finds them by their heartbeat, whatever restarted in between)."""

from __future__ import annotations

from django.conf import settings

STALE_TASK_NAME = "billing: fail runs whose worker was lost (no progress)"
STALE_TASK = "billing.runs_fail_stale"


def beat_schedule_ensure() -> None:
    """Create or update the django-celery-beat entry of the sweep (idempotent). It looks four
    times per stale period (at least a minute apart), so a lost run fails within 1.25 periods."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(
        every=max(60, settings.BILLING_RUN_STALE_MINUTES * 60 // 4), period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=STALE_TASK_NAME, defaults={"task": STALE_TASK, "interval": every, "enabled": True}
    )
