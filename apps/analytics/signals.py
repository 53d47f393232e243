"""Roll-ups after each ingestion run: when a load-profile or events pull finishes with rows
inserted or changed, their refresh is queued once the run's transaction commits."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.ingestion.models import IngestionRun

ROLLED_UP_DATASETS = frozenset({"load_profile", "events"})


@receiver(post_save, sender=IngestionRun, dispatch_uid="analytics.ingestion_run_saved")
def ingestion_run_saved(sender, instance: IngestionRun, raw: bool = False, **kwargs) -> None:
    if raw or not settings.ANALYTICS_ROLLUP_AFTER_INGESTION:
        return
    update_fields = kwargs.get("update_fields")
    if not instance.finished_with_rows(datasets=ROLLED_UP_DATASETS, update_fields=update_fields):
        return
    from apps.analytics.tasks import rollup_ingested

    run_id = instance.pk
    # robust: a broker that is down must not fail the pull that committed its rows
    transaction.on_commit(lambda: rollup_ingested.delay(run_id), robust=True)
