"""Choices of ingestion, with badge colours where they show as a status."""

from __future__ import annotations

from django.db import models

from apps.core.choices import BadgeChoices, badge_colours


@badge_colours(running="info", succeeded="success", partial="warning", failed="danger")
class RunOutcome(BadgeChoices):
    """How a pull ended.

    ``succeeded``: every window loaded, nothing quarantined. ``partial``: it stopped on an error
    after some windows were committed, or rows were quarantined. ``failed``: nothing committed.
    """

    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Pull now"
    RETRY = "retry", "Retry"
    UPLOAD = "upload", "Upload"
    OTHER = "other", "Other"


@badge_colours(open="warning", filled="success", released="secondary", expired="danger")
class RefillState(BadgeChoices):
    """A window asked for again. ``open``: retried at later pulls (backing off); ``filled``: it
    loaded (a body now usable, or the missing intervals arrived); ``released``: an operator
    resolved its quarantined body; ``expired``: still missing when older than the refill age,
    no longer asked for (the gap stays visible)."""

    OPEN = "open", "Open"
    FILLED = "filled", "Filled"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"


@badge_colours(body="danger", gap="warning")
class RefillReason(BadgeChoices):
    BODY = "body", "Quarantined body"
    GAP = "gap", "Missing intervals"


@badge_colours(healthy="success", degraded="warning", unhealthy="danger")
class HealthStatus(BadgeChoices):
    """An MDC's health. ``healthy``: its last probe succeeded recently and no pull failed in the
    period; ``degraded``: reachable, but pulls failed or were partial; ``unhealthy``: disabled,
    never probed, its last probe failed, or no probe is recent."""

    HEALTHY = "healthy", "Healthy"
    DEGRADED = "degraded", "Degraded"
    UNHEALTHY = "unhealthy", "Unhealthy"


@badge_colours(loaded="success", duplicate="secondary", failed="danger")
class DeliveryState(BadgeChoices):
    """A flat file an MDC delivered. ``loaded``: its rows went through the loader (bad lines
    quarantined with their line numbers); ``duplicate``: the same bytes (sha256) were loaded
    before, so nothing was loaded again; ``failed``: the file could not be read as a delivery
    (name, encoding, header), nothing was loaded."""

    LOADED = "loaded", "Loaded"
    DUPLICATE = "duplicate", "Duplicate"
    FAILED = "failed", "Failed"


class DeliverySource(models.TextChoices):
    DIRECTORY = "directory", "Watched directory"
    UPLOAD = "upload", "Upload"
