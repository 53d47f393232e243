"""What a command does to its meters when they execute it (status level 5): one handler per
write service (:data:`EFFECTS`), on-demand reads and device creation, applied set-based."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Case, F, Q, Value, When

from apps.audit.services import audit_record
from apps.simulator import generator as gen
from apps.simulator.models import Profile, SimCommand, SimMdc, SimMeter, SimTransaction, Tamper

from .common import PendingRow, _jsonb, _JsonbConcat, _parse, _pk_any
from .fleet import _build_meter, _meter_attributes
from .handlers import HANDLERS

log = logging.getLogger("apps.simulator.services")

#: Write services that change a meter's parameters: the meter logs a parameterization event.
PARAMETERIZATION = {
    "sanctioned_load_control",
    "load_shedding_scheduling",
    "time_of_use_change",
    "update_ip_port",
    "meter_data_sampling",
    "activate_meter_optical_port",
    "wake_up_sim_number_update",
    "update_device_metadata",
    "update_mdi_reset_date",
    "apms_tripping_events",
    "update_major_alarms",
    "parameterization_cancellation",
}


class Effect:
    """What one command does to each of its meters at level 5 (time ``t5``): dated history
    entries to append (``[epoch, key, value]``) and fields to set, the same for every meter."""

    def __init__(self, t5: dt.datetime):
        self.t5 = t5
        self.history: list[list] = []
        self.fields: dict[str, Any] = {}
        #: entries merged into the meter's ``settings`` (what a parameter read answers)
        self.settings: dict[str, Any] = {}

    def dated(self, key: str, value: Any, when: dt.datetime | None = None) -> None:
        self.history.append([gen.epoch_of(when or self.t5), key, value])


def _relay(p: dict, effect: Effect) -> None:
    value = int(p["relay_operate"])
    effect.dated("relay", value)
    effect.fields["relay_state"] = value


def _clock(p: dict, effect: Effect) -> None:
    effect.dated("clock", 0)


_LOAD_CONTROL_KEYS = (
    "load_limit",
    "maximum_retries",
    "retry_interval",
    "threshold_duration",
    "retry_clear_interval",
)


def _load_limit(p: dict, effect: Effect) -> None:
    effect.dated("load_limit", p["load_limit"])
    effect.fields["load_limit"] = Decimal(p["load_limit"])
    control = {k: p[k] for k in _LOAD_CONTROL_KEYS}
    effect.fields["settings"] = _JsonbConcat(F("settings"), _jsonb({"load_control": control}))


def _load_shedding(p: dict, effect: Effect) -> None:
    start = gen.epoch_of(_parse(p["start_datetime"]))
    end = gen.epoch_of(_parse(p["end_datetime"]))
    slabs = [[s["action_time"], int(s["relay_operate"])] for s in p["load_shedding_slabs"]]
    effect.dated("ls", {"start": start, "end": end, "slabs": slabs})
    _remember(effect, "lsch", p)


def _tou_of_day_profile(slabs: list[str]) -> dict[str, Any]:
    """A 3.3 day profile (tariff start times; tariff n from the n-th start until the next, the
    last one through midnight to the first) as the generator's slabs."""
    pairs = [[slabs[i][:5], slabs[i + 1][:5], i + 1] for i in range(len(slabs) - 1)]
    return {"slabs": pairs, "default": len(slabs)}


def _time_of_use(p: dict, effect: Effect) -> None:
    if p.get("day_profile"):  # 3.3: the calendar; the meter runs the first week's Monday
        days = {d["name"]: d["tariff_slabs"] for d in p["day_profile"]}
        weeks = {w["name"]: w["weekly_day_profile"] for w in p.get("week_profile") or []}
        first_week = next(iter(weeks.values()), None)
        monday = days.get(first_week[0]) if first_week else None
        tou = _tou_of_day_profile(monday or next(iter(days.values())))
        effect.dated("tou", tou, when=max(effect.t5, _parse(p["activation_datetime"])))
        _remember(effect, "tiou", p)
        return
    slab = p["time_slab"]
    tariff = int(p["tariff_identification"])
    pairs = [[slab[i][:5], slab[i + 1][:5], tariff] for i in range(0, len(slab), 2)]
    tou = {
        "slabs": pairs,
        "default": 1 if tariff != 1 else 2,
        "season": p.get("season"),
        "days": p.get("days"),
    }
    effect.dated("tou", tou, when=max(effect.t5, _parse(p["activation_datetime"])))


def _ip_port(p: dict, effect: Effect) -> None:
    effect.fields["primary_ip"] = p["primary_ip_address"]
    effect.fields["secondary_ip"] = p.get("secondary_ip_address") or ""
    effect.fields["primary_port"] = p["primary_port"]
    effect.fields["secondary_port"] = p.get("secondary_port")


def _sampling(p: dict, effect: Effect) -> None:
    when = max(effect.t5, _parse(p["activation_datetime"]))
    interval = int(p["sampling_interval"])
    if p["data_type"] == "LPRO":
        effect.dated("lp", [interval, int(p["sampling_initial_time"]) % interval], when=when)
        effect.fields["lp_interval"] = interval
    else:
        effect.dated("inst" if p["data_type"] == "INST" else "bill", interval, when=when)
    _remember(effect, "mdsm", p)


def _optical_port(p: dict, effect: Effect) -> None:
    effect.fields["optical_port_on"] = _parse(p["optical_port_on_datetime"])
    effect.fields["optical_port_off"] = _parse(p["optical_port_off_datetime"])


def _wakeup_numbers(p: dict, effect: Effect) -> None:
    numbers = [p.get(f"wakeup_number_{i}") or "" for i in (1, 2, 3)]
    effect.fields["wakeup_numbers"] = _jsonb(numbers)


def _meter_status(p: dict, effect: Effect) -> None:
    value = int(p["meter_activation_status"])
    effect.dated("active", value)
    effect.fields["activation_status"] = value


def _remember(effect: Effect, key: str, p: dict) -> None:
    """Keep a command's parameters in the meter's settings (what a 3.3 parameter read of
    them answers), with when they were programmed."""
    value = {k: v for k, v in p.items() if k not in ("global_device_id", "request_datetime")}
    value["at"] = gen.dt_text(gen.epoch_of(effect.t5))
    effect.settings[key] = value


def _metadata(p: dict, effect: Effect) -> None:
    effect.fields["communication_mode"] = int(p["communication_mode"])
    effect.fields["communication_type"] = int(p["communication_type"])
    effect.fields["communication_interval"] = p.get("communication_interval")
    effect.fields["phase"] = int(p["phase"])
    effect.fields["meter_type"] = int(p["meter_type"])
    _remember(effect, "dmdt", p)


def _mdi_reset(p: dict, effect: Effect) -> None:
    hh, mm, ss = (int(x) for x in p["mdi_reset_time"].split(":"))
    effect.fields["mdi_reset_date"] = int(p["mdi_reset_date"])
    effect.fields["mdi_reset_time"] = dt.time(hh, mm, ss)


def _tripping(p: dict, effect: Effect) -> None:
    _remember(effect, p["type"].lower(), p)


def _major_alarms(p: dict, effect: Effect) -> None:
    _remember(effect, "pmal", p)


def _parameterization_cancel(p: dict, effect: Effect) -> None:
    """The programmed operation returns to the meter's factory default."""
    kind = p["type"]
    if kind == "SANC":
        effect.dated("load_limit", None)
        effect.fields["load_limit"] = None
    elif kind == "LSCH":
        effect.dated("ls", None)
    elif kind == "TIOU":
        effect.dated("tou", dict(gen.DEFAULT_TOU))
    effect.settings[kind.lower()] = {"cancelled": gen.dt_text(gen.epoch_of(effect.t5))}


#: The handler of each write service's effect on a meter (services not here change nothing
#: on the meter: on-demand reads and device creation have their own steps).
EFFECTS: dict[str, Callable[[dict, Effect], None]] = {
    "aux_relay_operations": _relay,
    "time_synchronization": _clock,
    "sanctioned_load_control": _load_limit,
    "load_shedding_scheduling": _load_shedding,
    "time_of_use_change": _time_of_use,
    "update_ip_port": _ip_port,
    "meter_data_sampling": _sampling,
    "activate_meter_optical_port": _optical_port,
    "wake_up_sim_number_update": _wakeup_numbers,
    "meter_status_update": _meter_status,
    "update_device_metadata": _metadata,
    "update_mdi_reset_date": _mdi_reset,
    "apms_tripping_events": _tripping,
    "update_major_alarms": _major_alarms,
    "parameterization_cancellation": _parameterization_cancel,
}
assert set(EFFECTS) <= set(HANDLERS)


def _effect(service: str, p: dict, t5: dt.datetime) -> Effect:
    """The history entries and fields a command sets on each of its meters at level 5."""
    effect = Effect(t5)
    handler = EFFECTS.get(service)
    if handler is not None:
        handler(p, effect)
    if service in PARAMETERIZATION:
        effect.dated("param", service)
    return effect


def _meters_response(service: str, meter_ids: list, resp: str, when: dt.datetime) -> int:
    """The meters' answer to their last command (when that command is ``service``)."""
    ids = [m for m in meter_ids if m is not None]
    if not ids:
        return 0
    return SimMeter.objects.filter(_pk_any(SimMeter, ids), last_command=service).update(
        last_command_resp=resp, last_command_resp_datetime=when
    )


def _rows_fail(rows: list[PendingRow], message: str) -> None:
    """These devices stop at level 4: the meter did not execute the command."""
    SimTransaction.objects.filter(_pk_any(SimTransaction, [r.id for r in rows])).update(
        status_level=4,
        status_5_datetime=None,
        indv_status=0,
        effects_applied=False,
        message=message[:200],
    )


def _effects_apply_isolated(
    mdc: SimMdc, command: SimCommand, rows: list[PendingRow], t5: dt.datetime
) -> None:
    """Apply one command's effects in a savepoint. If they cannot be applied (a database
    constraint, a value the meter cannot take), that command's devices fail at level 4 with the
    reason; the error must not roll back every advance of the MDC, which would leave all its
    later commands stuck below level 5 (what a conformance client saw)."""
    try:
        with transaction.atomic():
            _effects_apply(mdc, command, rows, t5)
    except Exception as exc:  # any failure of one command stays that command's
        log.warning("simulator %s: effects of %s failed: %s", mdc.code, command.transactionid, exc)
        _rows_fail(rows, f"the meter could not execute the command: {exc}")
        _meters_response(command.service, [r.meter_id for r in rows], "failed", t5)


def _effects_apply(
    mdc: SimMdc, command: SimCommand, rows: list[PendingRow], t5: dt.datetime
) -> None:
    """What a command does to its meters when they execute it (at level 5, time t5).

    ``rows`` are the command's transaction rows reaching level 5 now. One UPDATE of all their
    meters (history appended in SQL, so each meter's dated settings keep every earlier entry);
    on-demand reads and device creation, whose result differs per device, write their rows in
    bulk.
    """
    service = command.service
    if service == "device_creation":
        _devices_create(mdc, command, rows, t5)
        return
    meter_ids = [r.meter_id for r in rows if r.meter_id is not None]
    if not meter_ids:
        return
    if service in ("on_demand_request", "on_demand_parameter_read"):
        _on_demand_answer(mdc, command, rows, meter_ids, t5)
    _meters_update(service, _effect(service, command.params, t5), meter_ids, t5)


def _on_demand_answer(
    mdc: SimMdc, command: SimCommand, rows: list[PendingRow], meter_ids: list[int], t5
) -> None:
    """Each device's rows of an on-demand request, read at level 5, on its transaction row."""
    meters = SimMeter.objects.in_bulk(meter_ids)
    reader = parameter_rows if command.service == "on_demand_parameter_read" else on_demand_rows
    SimTransaction.objects.bulk_update(
        [
            SimTransaction(
                pk=r.id,
                response_data=reader(
                    mdc=mdc, meter=meters[r.meter_id], params=command.params, at=t5
                ),
            )
            for r in rows
            if r.meter_id in meters
        ],
        ["response_data"],
        batch_size=2000,
    )


def _meters_update(service: str, effect: Effect, meter_ids: list[int], t5: dt.datetime) -> None:
    """One UPDATE of the meters: the effect, and "executed" as the answer to their last
    command where that command is still this one."""
    fields = dict(effect.fields)
    if effect.settings:
        base = fields.get("settings", F("settings"))
        fields["settings"] = _JsonbConcat(base, _jsonb(effect.settings))
    if effect.history:
        fields["history"] = _JsonbConcat(F("history"), _jsonb(effect.history))
        fields["version"] = F("version") + len(effect.history)
    executed = Q(last_command=service)
    fields["last_command_resp"] = Case(
        When(executed, then=Value("executed")), default=F("last_command_resp")
    )
    fields["last_command_resp_datetime"] = Case(
        When(executed, then=Value(t5)), default=F("last_command_resp_datetime")
    )
    SimMeter.objects.filter(_pk_any(SimMeter, meter_ids)).update(**fields)


def _created_fields(p: dict) -> dict[str, Any]:
    """Meter fields a device_creation sets from its parameters (the rest is drawn)."""
    reset_time = p.get("mdi_reset_time") or "00:00:00"
    hh, mm, ss = (int(x) for x in reset_time.split(":"))
    meter_type = int(p["meter_type"])
    fields = {
        "phase": int(p["phase"]),
        "meter_type": meter_type,
        "device_type": int(p["device_type"]),
        "communication_mode": int(p["communication_mode"]),
        "communication_type": int(p.get("communication_type") or 0),
        "communication_interval": p.get("communication_interval"),
        "sim_number": p.get("sim_number") or "",
        "sim_id": p.get("sim_id") or "",
        "mdi_reset_date": int(p.get("mdi_reset_date") or 1),
        "mdi_reset_time": dt.time(hh, mm, ss),
        "has_relay": meter_type in (1, 2),
        "tamper": Tamper.NONE,
        "tamper_start": None,
    }
    if meter_type in (3, 4):
        fields["profile"] = Profile.INDUSTRIAL
    return fields


def _creations_refuse_taken(
    mdc: SimMdc, rows: list[PendingRow], dsn_of: dict[str, int]
) -> list[PendingRow]:
    """The rows whose device or msn does not exist yet; the others fail on their own, with
    the reason (made by other means meanwhile): they must never break the insert of the
    others."""
    existing = SimMeter.objects.filter(mdc=mdc).filter(
        Q(global_device_id__in=[r.global_device_id for r in rows])
        | Q(msn__in=list(dsn_of.values()))
    )
    pairs = list(existing.values_list("global_device_id", "msn"))
    taken = {gdi for gdi, _ in pairs}
    taken_msns = {msn for _, msn in pairs}
    refused = [
        r for r in rows if r.global_device_id in taken or dsn_of[r.global_device_id] in taken_msns
    ]
    if refused:
        _rows_fail(refused, "device or msn already exists at the MDC: not created")
    return [r for r in rows if r not in refused]


def _devices_create(
    mdc: SimMdc, command: SimCommand, rows: list[PendingRow], t5: dt.datetime
) -> None:
    """device_creation at level 5: the new meters (one INSERT), linked to their rows."""
    p = command.params
    dsn_of = {d["global_device_id"]: int(d["dsn"]) for d in p["device_identity"]}
    start_epoch = gen.epoch_of(t5)
    start_epoch += -(start_epoch + gen.PKT_OFFSET) % gen.TICK  # next tick boundary
    start = gen.aware(start_epoch)
    fields = _created_fields(p)
    rows = _creations_refuse_taken(mdc, rows, dsn_of)
    new = []
    for row in rows:
        gdi = row.global_device_id
        msn = dsn_of[gdi]
        seed = gen.mix(mdc.seed, msn) & ((1 << 62) - 1)
        attrs = _meter_attributes(seed, msn, lp_interval=15, data_start=start)
        attrs["active"] = 1
        attrs.update(fields)
        meter = _build_meter(mdc, gdi=gdi, msn=msn, data_start=start, attrs=attrs)
        meter.last_command = "device_creation"
        meter.last_command_datetime = command.received_at
        meter.last_command_resp = "executed"
        meter.last_command_resp_datetime = t5
        meter.settings = {"created_epoch": gen.epoch_of(t5)}
        new.append(meter)
    SimMeter.objects.bulk_create(new)
    SimTransaction.objects.bulk_update(
        [SimTransaction(pk=row.id, meter_id=m.pk) for row, m in zip(rows, new, strict=True)],
        ["meter"],
        batch_size=2000,
    )
    audit_record(
        actor=None,
        action="simulator.meter.add",
        target=command,
        summary=f"{len(new)} meters created on {mdc.code} by device_creation "
        f"{command.transactionid}: " + ", ".join(m.global_device_id for m in new[:20]),
        detail={"transactionid": command.transactionid, "meters": len(new)},
    )


#: The generator's data set of each on-demand type.
ON_DEMAND_DATASET = {
    "INST": "instantaneous",
    "BILL": "billing",
    "MBIL": "monthly_billing",
    "LPRO": "load_profile",
    "EVNT": "events",
    "VISL": "meter_visuals",
}


def on_demand_rows(*, mdc: SimMdc, meter: SimMeter, params: dict, at: dt.datetime) -> list:
    """Rows an on-demand request reads from the meter at ``at`` (read now, so stored now)."""
    spec = gen.spec_of(meter, mdc)
    t = gen.epoch_of(at)
    kind = params["type"]
    code = ON_DEMAND_DATASET[kind]
    fields, row_function = gen.layout(mdc.udil_profile, code)  # the MDC's profile's layout
    far = t + 40 * gen.DAY
    if kind == "VISL":
        row = gen.visuals_row_of(mdc.udil_profile)(spec, meter, t)
        rows = [row] if row else []
    elif kind == "INST":
        tick = t - (t + gen.PKT_OFFSET) % gen.TICK
        rows = list(row_function(spec, tick, tick, far))
    else:
        start = gen.epoch_of(_parse(params["start_datetime"]))
        end = min(gen.epoch_of(_parse(params["end_datetime"])), t)
        rows = list(row_function(spec, start, end, far))
    stamp = gen.dt_text(t)
    out = []
    for row in rows:
        item = dict(zip(fields, row, strict=True))
        if "db_datetime" in item:
            item["mdc_read_datetime"] = stamp
            item["db_datetime"] = stamp
        out.append(item)
    return out


def parameter_rows(*, mdc: SimMdc, meter: SimMeter, params: dict, at: dt.datetime) -> list:
    """3.3 on_demand_parameter_read: one row of the type's meter-visuals columns (3.1.6),
    read from the meter at ``at`` (the values the MDC's visuals show: ``gen.parameter_columns``)."""
    spec = gen.spec_of(meter, mdc)
    row = {"global_device_id": meter.global_device_id, "msn": str(meter.msn)}
    row.update(gen.parameter_columns(meter, spec, params["type"], at))
    return [row]
