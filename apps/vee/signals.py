"""Validation after each ingestion batch: when a load-profile or billing pull finishes with rows
loaded, a validation of those rows is queued once the run's transaction commits."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.ingestion.models import IngestionRun

VALIDATED_DATASETS = frozenset({"load_profile", "billing"})


@receiver(post_save, sender=IngestionRun, dispatch_uid="vee.ingestion_run_saved")
def ingestion_run_saved(sender, instance: IngestionRun, raw: bool = False, **kwargs) -> None:
    if raw or not settings.VEE_VALIDATE_AFTER_INGESTION:
        return
    update_fields = kwargs.get("update_fields")
    if not instance.finished_with_rows(datasets=VALIDATED_DATASETS, update_fields=update_fields):
        return
    from apps.vee.tasks import validate_ingested

    run_id = instance.pk
    # robust: a broker that is down must not fail the pull that just committed its rows (the
    # range can be validated again on demand)
    transaction.on_commit(lambda: validate_ingested.delay(run_id), robust=True)
