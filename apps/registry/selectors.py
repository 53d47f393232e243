"""Reads of the registry that other apps and pages reuse."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from apps.registry.choices import ActivationStatus
from apps.registry.models import Disco, Mdc, Meter


def mdc_client(mdc: Mdc, **overrides):
    """An ``apps.udil.client.MdcClient`` set up from an MDC's registration (URL, credentials,
    format, where credentials travel, path overrides, UDIL profile, timeout, key lifetime).
    ``overrides`` go to the client as they are (e.g. a shared ``http`` pool). Close it after
    use (it is a context manager)."""
    from apps.udil.client import MdcClient
    from apps.udil.profiles import get_profile

    options = {
        "username": mdc.username,
        "password": mdc.password,
        "code": mdc.auth_code,
        "fmt": mdc.data_format,
        "credentials_in": mdc.credentials_in,
        "path_overrides": dict(mdc.path_overrides or {}),
        "profile": get_profile(mdc.udil_profile),
        "timeout": float(mdc.timeout_seconds),
        "key_lifetime": datetime.timedelta(minutes=mdc.key_lifetime_minutes),
    }
    options.update(overrides)
    return MdcClient(mdc.base_url, **options)


def mdcs_enabled() -> QuerySet[Mdc]:
    return Mdc.objects.filter(enabled=True)


def meters_for_pull(mdc: Mdc) -> QuerySet[Meter]:
    """The active meters an MDC should be read for, in a stable order."""
    return Meter.objects.for_mdc(mdc).active().order_by("global_device_id")


def meter_batches(mdc: Mdc) -> list[list[str]]:
    """Active global device ids of an MDC in lists of at most ``mdc.batch_size``."""
    ids = list(meters_for_pull(mdc).values_list("global_device_id", flat=True))
    size = max(1, mdc.batch_size)
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def meter_hierarchy_path(meter: Meter) -> list:
    """``[disco, circle, division, subdivision, feeder, transformer]`` (empty if unplaced)."""
    transformer = meter.transformer
    if transformer is None:
        return []
    feeder = transformer.feeder
    subdivision = feeder.subdivision
    division = subdivision.division
    circle = division.circle
    return [circle.disco, circle, division, subdivision, feeder, transformer]


@dataclass(frozen=True)
class MdcCount:
    mdc: Mdc
    total: int
    active: int

    @property
    def inactive(self) -> int:
        return self.total - self.active


def meter_counts_by_mdc() -> list[MdcCount]:
    active = Q(meters__activation_status=ActivationStatus.ACTIVE)
    rows = Mdc.objects.annotate(total=Count("meters"), active=Count("meters", filter=active))
    return [MdcCount(mdc=row, total=row.total, active=row.active) for row in rows]


def hierarchy_tree() -> QuerySet[Disco]:
    """DISCOs with every level below prefetched, and meter counts per transformer."""
    from django.db.models import Prefetch

    from apps.registry.models import Transformer

    transformers = Transformer.objects.annotate(meter_count=Count("meters"))
    return Disco.objects.prefetch_related(
        "circles__divisions__subdivisions__feeders",
        Prefetch("circles__divisions__subdivisions__feeders__transformers", transformers),
    )
