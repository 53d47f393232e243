"""The beat entry that moves work orders on when their commands are final (state in the
database: a restart of beat or workers loses nothing)."""

from __future__ import annotations

from django.conf import settings

TICK_TASK_NAME = "workflows: advance work orders whose commands are final"
TICK_TASK = "apps.workflows.tasks.workflows_tick"


def beat_schedule_ensure() -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(
        every=settings.WORKFLOW_TICK_SECONDS, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=TICK_TASK_NAME, defaults={"task": TICK_TASK, "interval": every, "enabled": True}
    )
