"""The MDC page's health section (registered in ``IngestionConfig.ready``): the MDC's health
summary and its latest runs, with a link to the full health page; a flat-file MDC's latest
deliveries."""

from __future__ import annotations

from apps.ingestion import selectors
from apps.ingestion.choices import DeliveryState, HealthStatus
from apps.ingestion.models import FileDelivery, IngestionRun
from apps.ingestion.transports import FileTransport

RECENT_RUNS = 10
RECENT_DELIVERIES = 5


def mdc_health_context(request, mdc) -> dict:
    summary = selectors.mdc_health(mdcs=type(mdc).objects.filter(pk=mdc.pk))[0]
    runs = IngestionRun.objects.filter(mdc=mdc).order_by("-started_at")[:RECENT_RUNS]
    deliveries = []
    if mdc.transport == FileTransport.name:
        deliveries = list(FileDelivery.objects.filter(mdc=mdc)[:RECENT_DELIVERIES])
    return {
        "health": summary,
        "health_runs": list(runs),
        "HealthStatus": HealthStatus,
        "health_deliveries": deliveries,
        "DeliveryState": DeliveryState,
    }
