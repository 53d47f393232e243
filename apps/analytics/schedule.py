"""The beat entry of the daily reports (django-celery-beat, in the database; idempotent)."""

from __future__ import annotations

REPORTS_TASK_NAME = "analytics: daily reports (yesterday; last month's feeder loss on the 1st)"
REPORTS_TASK = "analytics.reports_daily"


def beat_schedule_ensure() -> None:
    """Schedule the daily reports at 02:30 Pakistan time (after the night's pulls and the
    partition upkeep at 01:15)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="Asia/Karachi",
    )  # fmt: skip
    PeriodicTask.objects.update_or_create(
        name=REPORTS_TASK_NAME,
        defaults={"task": REPORTS_TASK, "crontab": schedule, "interval": None, "enabled": True},
    )
