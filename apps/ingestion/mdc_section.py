"""The MDC page's health section (registered in ``IngestionConfig.ready``): the MDC's health
summary and its latest runs, with a link to the full health page."""

from __future__ import annotations

from apps.ingestion import selectors
from apps.ingestion.choices import HealthStatus
from apps.ingestion.models import IngestionRun

RECENT_RUNS = 10


def mdc_health_context(request, mdc) -> dict:
    summary = selectors.mdc_health(mdcs=type(mdc).objects.filter(pk=mdc.pk))[0]
    runs = IngestionRun.objects.filter(mdc=mdc).order_by("-started_at")[:RECENT_RUNS]
    return {"health": summary, "health_runs": list(runs), "HealthStatus": HealthStatus}
