"""Celery tasks of the warehouse: thin wrappers over the services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from apps.warehouse import partitions, services

PARTITIONS_TASK = "warehouse.partitions_maintain"


@shared_task(name=PARTITIONS_TASK)
def partitions_maintain() -> dict:
    """Daily: partitions for this month and the next ones; rows moved out of DEFAULT."""
    today = partitions.today_pkt()
    created = services.partitions_ensure(
        start=today, months_ahead=partitions.AUTO_CREATE_MONTHS_AHEAD
    )
    left_in_default = services.default_partitions_drain(today=today)
    return {"created": created, "left_in_default": left_in_default}


def periodic_task_register() -> None:
    """Schedule ``partitions_maintain`` daily at 01:15 PKT (django-celery-beat; idempotent)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from apps.warehouse.apps import PARTITIONS_TASK_NAME

    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="15",
        hour="1",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Karachi",
    )
    PeriodicTask.objects.update_or_create(
        name=PARTITIONS_TASK_NAME,
        defaults={"task": PARTITIONS_TASK, "crontab": schedule, "interval": None},
    )
