"""Meters: registration, changes, their state, and device creation at their MDC."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.registry.choices import (
    ActivationStatus,
    RelayState,
)
from apps.registry.device_ids import device_id_problem, device_ids_next
from apps.registry.models import (
    Mdc,
    Meter,
)
from apps.registry.services._common import (
    METER_FIELDS,
    _audit_changes,
    _reject_unknown,
    _save_validated,
)

# --- meters ------------------------------------------------------------------------------------


def _check_explicit_device_id(global_device_id: str) -> None:
    problem = device_id_problem(global_device_id)
    if problem:
        raise ValidationError({"global_device_id": problem})
    if Meter.objects.filter(global_device_id=global_device_id).exists():
        raise ValidationError({"global_device_id": f"{global_device_id} is already registered."})


@transaction.atomic
def meter_register(
    *, actor, msn: int, mdc: Mdc, global_device_id: str | None = None, **attrs: Any
) -> Meter:
    """Register a device with an MDC. The MDM assigns ``global_device_id`` unless given."""
    _reject_unknown(attrs, METER_FIELDS - {"mdc"})
    if global_device_id:
        _check_explicit_device_id(global_device_id)
    else:
        global_device_id = device_ids_next(1)[0]
    meter = Meter(global_device_id=global_device_id, msn=msn, mdc=mdc, **attrs)
    _save_validated(meter)
    audit_record(
        actor=actor,
        action="registry.meter.register",
        target=meter,
        summary=f"Registered {meter.global_device_id} (msn {msn}) with MDC {mdc.code}",
        detail={"global_device_id": global_device_id, "msn": msn, "mdc": mdc.code}
        | _audit_changes(attrs),
    )
    return meter


@transaction.atomic
def meter_update(*, actor, meter: Meter, **changes: Any) -> Meter:
    """Change a meter's registration. ``global_device_id`` never changes; ``msn`` may be
    corrected. Relay, load limit and device settings change through :func:`meter_state_record`."""
    _reject_unknown(changes, METER_FIELDS | {"msn"})
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    changed = {k: v for k, v in changes.items() if getattr(meter, k) != v}
    for name, value in changed.items():
        setattr(meter, name, value)
    if changed:
        _save_validated(meter)
        audit_record(
            actor=actor,
            action="registry.meter.update",
            target=meter,
            summary=f"Changed {meter.global_device_id}: {', '.join(sorted(changed))}",
            detail=_audit_changes(changed),
        )
    return meter


@transaction.atomic
def meter_state_record(
    *,
    actor,
    meter: Meter,
    transactionid: str,
    at: datetime.datetime,
    relay_state: str | None = None,
    load_limit_kw: Decimal | None = None,
    settings: dict[str, Any] | None = None,
) -> Meter:
    """Record device state confirmed by an MDC transaction (for the commands app).

    ``settings`` maps a setting name (``load_shedding``, ``time_of_use``, ``ip_port``,
    ``sampling``, ``wake_up_numbers``, ``optical_port``...) to its new value; each is stored
    as ``{"value": ..., "transactionid": ..., "at": iso datetime}``.
    """
    if at.tzinfo is None:
        raise ValidationError({"at": "Must be timezone-aware."})
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    changed: dict[str, Any] = {}
    if relay_state is not None:
        if relay_state not in RelayState.values:
            raise ValidationError({"relay_state": f"Unknown relay state {relay_state!r}."})
        meter.relay_state = changed["relay_state"] = relay_state
    if load_limit_kw is not None:
        meter.load_limit_kw = changed["load_limit_kw"] = Decimal(load_limit_kw)
    for name, value in (settings or {}).items():
        entry = {"value": value, "transactionid": transactionid, "at": at.isoformat()}
        meter.device_settings = {**meter.device_settings, name: entry}
        changed[f"settings.{name}"] = value
    if changed:
        meter.save(update_fields=["relay_state", "load_limit_kw", "device_settings", "updated_at"])
        audit_record(
            actor=actor,
            action="registry.meter.state",
            target=meter,
            summary=f"{meter.global_device_id}: {', '.join(changed)} from {transactionid}",
            detail={"transactionid": transactionid, **_audit_changes(changed)},
        )
    return meter


class _JsonbMerge(models.Func):
    """``device_settings || <jsonb>``: keys on the right replace those on the left."""

    template = "(COALESCE(%(expressions)s))"
    arg_joiner = ", '{}'::jsonb) || ("
    output_field = models.JSONField()


def _meter_ids(meters) -> list[int]:
    if isinstance(meters, models.QuerySet):
        return list(meters.order_by().values_list("pk", flat=True))
    return [m.pk if isinstance(m, Meter) else int(m) for m in meters]


@transaction.atomic
def meters_state_record(
    *,
    actor,
    meters,
    transactionid: str,
    at: datetime.datetime,
    relay_state: str | None = None,
    load_limit_kw: Decimal | None = None,
    activation_status: int | None = None,
    settings: dict[str, Any] | None = None,
    target: models.Model | None = None,
) -> int:
    """Record the same device state, confirmed by one MDC transaction, for a set of meters.

    The set-based form of :func:`meter_state_record` (for the commands app): ``meters`` is a
    queryset, meter ids or Meter instances; whatever their number, one UPDATE writes them and
    one audit row (``target``: the command's transaction, if given) summarises the call.
    Settings are stored as in :func:`meter_state_record`: ``device_settings[name] =
    {"value": ..., "transactionid": ..., "at": iso datetime}``, other settings kept.
    Returns the number of meters updated.
    """
    if at.tzinfo is None:
        raise ValidationError({"at": "Must be timezone-aware."})
    changed: dict[str, Any] = {}
    if relay_state is not None:
        if relay_state not in RelayState.values:
            raise ValidationError({"relay_state": f"Unknown relay state {relay_state!r}."})
        changed["relay_state"] = str(relay_state)
    if load_limit_kw is not None:
        changed["load_limit_kw"] = Decimal(load_limit_kw)
    if activation_status is not None:
        if activation_status not in ActivationStatus.values:
            raise ValidationError(
                {"activation_status": f"Unknown activation status {activation_status!r}."}
            )
        changed["activation_status"] = int(activation_status)
    entries = {
        name: {"value": value, "transactionid": transactionid, "at": at.isoformat()}
        for name, value in (settings or {}).items()
    }
    ids = _meter_ids(meters)
    if not ids or not (changed or entries):
        return 0
    update: dict[str, Any] = {**changed, "updated_at": timezone.now()}
    if entries:
        update["device_settings"] = _JsonbMerge(
            models.F("device_settings"), models.Value(entries, output_field=models.JSONField())
        )
    count = Meter.objects.filter(pk__in=ids).update(**update)
    names = [*changed, *(f"settings.{n}" for n in entries)]
    audit_record(
        actor=actor,
        action="registry.meters.state",
        target=target,
        summary=f"{count} meters: {', '.join(names)} from {transactionid}",
        detail={
            "transactionid": transactionid,
            "meters": count,
            "at": at.isoformat(),
            **_audit_changes(changed),
            "settings": sorted(entries),
        },
    )
    return count


# --- CSV import --------------------------------------------------------------------------------


@transaction.atomic
def meter_register_at_mdc(*, actor, send_device_creation: bool = False, **registration) -> Meter:
    """:func:`meter_register`, then (when asked) device_creation at its MDC, as one unit: if
    the command cannot be sent (parameters the MDC would refuse, no permission to send
    commands), nothing is registered and the error names ``send_device_creation``."""
    from django.core.exceptions import PermissionDenied

    meter = meter_register(actor=actor, **registration)
    if send_device_creation:
        try:
            meters_device_creation_send(actor=actor, meters=[meter.pk])
        except PermissionDenied as exc:
            raise ValidationError({"send_device_creation": str(exc)}) from exc
        except ValidationError as exc:
            reason = "; ".join(exc.messages)
            raise ValidationError(
                {"send_device_creation": f"device_creation cannot be sent: {reason}"}
            ) from exc
    return meter


def meters_device_creation_send(*, actor, meters) -> list:
    """Create these registered meters at their MDCs (UDIL ``device_creation``) through the
    commands app's service (``settings.REGISTRY_DEVICE_CREATION_SEND``): audited and tracked
    as a command; the meter page shows the MDC's confirmation. Returns the requests made."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    return import_string(settings.REGISTRY_DEVICE_CREATION_SEND)(actor=actor, meters=meters)
