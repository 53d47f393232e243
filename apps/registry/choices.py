"""Choices of the registry, with badge colours where they show as a status."""

from __future__ import annotations

from django.db import models

from apps.core.choices import BadgeChoices, IntegerBadgeChoices, badge_colours


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


class Dataset(models.TextChoices):
    """Data set codes used as keys of ``Mdc.window_minutes`` and ``Mdc.pull_intervals``."""

    INSTANTANEOUS = "instantaneous", "Instantaneous data"
    BILLING = "billing", "Billing data"
    MONTHLY_BILLING = "monthly_billing", "Monthly billing data"
    LOAD_PROFILE = "load_profile", "Load profile data"
    EVENTS = "events", "Events"
    METER_VISUALS = "meter_visuals", "Meter visuals"


# UDIL table ids of each data set (keys of ``Mdc.tabular_views``).
DATASET_TABLE_IDS = {
    Dataset.INSTANTANEOUS: "INSTANTANEOUS_DATA",
    Dataset.BILLING: "BILLING_DATA",
    Dataset.MONTHLY_BILLING: "MONTHLY_BILLING_DATA",
    Dataset.LOAD_PROFILE: "LOAD_PROFILE_DATA",
    Dataset.EVENTS: "EVENTS",
    Dataset.METER_VISUALS: "METER_VISUALS",
}


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
