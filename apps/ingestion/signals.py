"""Keep beat's periodic pulls in step with each MDC's ``pull_intervals`` and ``enabled``."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.ingestion.services import schedules_remove, schedules_sync
from apps.registry.models import Mdc


@receiver(post_save, sender=Mdc, dispatch_uid="ingestion.mdc_saved")
def mdc_saved(sender, instance: Mdc, raw: bool = False, **kwargs) -> None:
    if raw:  # fixtures: the schedule tables are loaded as they are
        return
    schedules_sync(mdc=instance)


@receiver(post_delete, sender=Mdc, dispatch_uid="ingestion.mdc_deleted")
def mdc_deleted(sender, instance: Mdc, **kwargs) -> None:
    schedules_remove(mdc_id=instance.pk)
