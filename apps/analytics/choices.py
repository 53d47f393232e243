"""Choices of analytics, each with the colour it is shown in."""

from __future__ import annotations

from django.db import models

from apps.core.choices import BadgeChoices, badge_colours


@badge_colours(mdc="primary", subdivision="info", feeder="secondary", transformer="dark")
class NodeLevel(BadgeChoices):
    MDC = "mdc", "MDC"
    SUBDIVISION = "subdivision", "Subdivision"
    FEEDER = "feeder", "Feeder"
    TRANSFORMER = "transformer", "Transformer"


class LossBand(BadgeChoices):
    """The loss categories DISCOs report feeders in (% of input energy)."""

    B0_10 = "0-10", "0-10 %"
    B10_20 = "10-20", "10-20 %"
    B20_30 = "20-30", "20-30 %"
    B30_40 = "30-40", "30-40 %"
    B40_60 = "40-60", "40-60 %"
    B60_80 = "60-80", "60-80 %"
    B80 = ">80", "> 80 %"


# values with a dash are no keyword arguments of badge_colours
LossBand._badge_colours = {
    "0-10": "success",
    "10-20": "info",
    "20-30": "warning",
    "30-40": "warning",
    "40-60": "danger",
    "60-80": "danger",
    ">80": "dark",
}

#: upper bound (exclusive) of each band, in order
LOSS_BAND_LIMITS: tuple[tuple[int, str], ...] = (
    (10, LossBand.B0_10),
    (20, LossBand.B10_20),
    (30, LossBand.B20_30),
    (40, LossBand.B30_40),
    (60, LossBand.B40_60),
    (80, LossBand.B60_80),
)


class SuspectReason(models.TextChoices):
    TAMPER = "tamper", "Tamper events"
    MDI_RESET = "mdi_reset", "Unscheduled MDI reset"
    DROP = "drop", "Consumption drop vs own history and transformer peers, no outage"
    ZERO_WITH_VOLTAGE = "zero_voltage", "Zero consumption with voltage present"
    RELAY_OPEN_USAGE = "relay_open", "Usage while the relay is open"
    MDI_OVER_SANCTIONED = "mdi_over", "Demand above sanctioned load"
    TRANSFORMER_LOSS = "transformer_loss", "Its transformer's energy balance"


class ReportKind(models.TextChoices):
    FEEDER_LOSS = "feeder_loss", "Feeder loss"
    COMMUNICATION = "communication", "Communication health"
    EVENTS = "events", "Events"
    COMPLETENESS = "completeness", "Completeness"


@badge_colours(queued="secondary", running="info", done="success", failed="danger")
class ReportState(BadgeChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ReportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PDF = "pdf", "PDF"
