"""The beat entry that keeps commands moving. All state is in the database, so a worker or beat
restart loses nothing: the tick finds what is due and enqueues it again."""

from __future__ import annotations

from django.conf import settings

TICK_TASK_NAME = "commands: poll open transactions, release scheduled, recover lost dispatches"
TICK_TASK = "apps.commands.tasks.commands_tick"


def beat_schedule_ensure() -> None:
    """Create or update the django-celery-beat entry of the tick (idempotent)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(
        every=settings.COMMAND_TICK_SECONDS, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=TICK_TASK_NAME,
        defaults={"task": TICK_TASK, "interval": every, "enabled": True},
    )
