"""Choices of the registry, with badge colours where they show as a status."""

from __future__ import annotations

from django.db import models

from apps.core.choices import BadgeChoices, IntegerBadgeChoices, badge_colours
from apps.udil.datasets import DATASETS
from apps.udil.datasets_v33 import DATASETS_3_3


class UdilProfile(models.TextChoices):
    """The UDIL revision an MDC speaks (a profile in apps.udil)."""

    UDIL_2019 = "2019", "UDIL 2019"
    UDIL_3_2 = "3.2", "UDIL 3.2.0 (2022)"
    UDIL_3_3 = "3.3", "UDIL 3.3 (2025)"


class Transport(models.TextChoices):
    API = "api", "Web services (API)"
    TABULAR = "tabular", "Database views (tabular)"
    FILE = "file", "Flat files (CSV deliveries)"


class DataFormat(models.TextChoices):
    JSON = "json", "JSON"
    XML = "xml", "XML"


class CredentialsIn(models.TextChoices):
    HEADERS = "headers", "HTTP headers"
    FORM = "form", "Form fields"


class LpEnergyKind(models.TextChoices):
    """What an MDC sends in the load profile's energy fields (NOTES.md "What the values mean");
    consumption is derived from either kind in apps.warehouse.consumption."""

    REGISTER = "register", "Cumulative registers"
    INTERVAL = "interval", "Per-interval consumption"


#: Badge colour of each data set (pages show the code as a badge).
DATASET_COLOURS = {
    "instantaneous": "info",
    "billing": "primary",
    "monthly_billing": "primary",
    "load_profile": "success",
    "events": "warning",
    "meter_visuals": "secondary",
    "device_comm_history": "dark",
}

#: Every data set of every profile (2019, then what 3.3 adds: device communication history).
ALL_DATASETS = {**DATASETS, **{c: ds for c, ds in DATASETS_3_3.items() if c not in DATASETS}}

#: The data set codes, derived from the protocol's definitions (``apps.udil``): the one enum of
#: data sets, used as keys of ``Mdc.window_minutes`` / ``Mdc.pull_intervals`` and by ingestion
#: and the warehouse. A data set added in ``apps.udil`` is a member here.
Dataset = badge_colours(**DATASET_COLOURS)(
    BadgeChoices(
        "Dataset", [(ds.code.upper(), (ds.code, ds.label)) for ds in ALL_DATASETS.values()]
    )
)


def dataset_choices() -> list[tuple[str, str]]:
    """``Dataset.choices`` as a callable: a model field's choices that follow the protocol's data
    sets without a migration per new data set."""
    return Dataset.choices


#: UDIL table ids of each data set (keys of ``Mdc.tabular_views``).
DATASET_TABLE_IDS = {Dataset(ds.code): ds.table for ds in ALL_DATASETS.values()}


@badge_colours(**{"1": "success", "0": "secondary"})
class ActivationStatus(IntegerBadgeChoices):
    ACTIVE = 1, "Active"
    INACTIVE = 0, "Inactive"


class DeviceType(models.IntegerChoices):
    METER = 1, "Meter"
    DCU = 2, "DCU"
    OTHER = 3, "Other"


class Phase(models.IntegerChoices):
    SINGLE = 1, "Single phase"
    THREE = 3, "Three phase"


class MeterType(models.IntegerChoices):
    NORMAL = 1, "Normal"
    WHOLE_CURRENT = 2, "Whole current"
    CTO = 3, "CTO"
    CTPT = 4, "CTPT"


class CommunicationMode(models.IntegerChoices):
    CELLULAR = 1, "GPRS/3G/4G"
    RF = 2, "RF"
    PLC = 3, "PLC"
    ETHERNET = 4, "Ethernet"
    OTHER = 5, "Other"


class CommunicationType(models.IntegerChoices):
    ALWAYS_ON = 0, "Always on"
    PERIODIC = 1, "Periodic on"
    ON_DEMAND = 2, "On demand"


@badge_colours(connected="success", disconnected="danger", unknown="secondary")
class RelayState(BadgeChoices):
    CONNECTED = "connected", "Connected"
    DISCONNECTED = "disconnected", "Disconnected"
    UNKNOWN = "unknown", "Unknown"


class ProfileHint(models.TextChoices):
    DOMESTIC = "domestic", "Domestic"
    COMMERCIAL = "commercial", "Commercial"
    INDUSTRIAL = "industrial", "Industrial"
    AGRICULTURAL = "agricultural", "Agricultural"


@badge_colours(active="success", disconnected="danger", pending="warning", closed="secondary")
class ConnectionStatus(BadgeChoices):
    PENDING = "pending", "Pending (new connection)"
    ACTIVE = "active", "Active"
    DISCONNECTED = "disconnected", "Disconnected"
    CLOSED = "closed", "Closed"
