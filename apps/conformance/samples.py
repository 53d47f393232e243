"""Valid sample requests of any service, built from its parameter definitions: each value is
the first candidate of the parameter's kind that the service's own validator accepts, so the
suite needs no hand-written request per command. Values that describe a meter (phase,
meter_type ...) are the registered meter's own, so a real MDC is not told anything new."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from apps.udil.catalog import Param, Service
from apps.udil.errors import FieldError, ValidationErrors
from apps.udil.timefmt import format_datetime

_CANDIDATES: dict[str, tuple[Any, ...]] = {
    "int": ("15", "1", "0", "30", "60"),
    "decimal": ("1",),
    "str": ("conformance",),
    "time": ("00:00:00",),
    "hhmm": ("00:00",),
    "phone": ("03001234567",),
    "ip": ("10.0.0.1",),
}
#: 3.3 update_time_of_use (``tou`` parameters, by name): one day, week, season and holiday
#: profile naming each other.
_TOU = {
    "day_profile": ([{"name": "d1", "tariff_slabs": ["00:00", "17:00"]}],),
    "week_profile": ([{"name": "w1", "weekly_day_profile": ["d1"] * 7}],),
    "season_profile": ([{"name": "s1", "week_profile_name": "w1", "start_date": "01-01"}],),
    "holiday_profile": ([{"name": "h1", "date": "23-03", "day_profile_name": "d1"}],),
}


def _array_candidates(meters: Sequence[Any]) -> tuple[Any, ...]:
    return (
        [{"dsn": str(m.msn), "global_device_id": m.global_device_id} for m in meters],
        [{"action_time": "00:00:00", "relay_operate": "1"}],
        ["00:00", "06:00"],
        ["conformance00000000000000"],  # transaction ids
        ["111", "121"],  # event codes (3.3 major alarms)
        [111, 121],
    )


def _first_valid(param: Param, candidates: Sequence[Any]) -> Any:
    for value in candidates:
        try:
            if param.clean(value) is not None:
                return value
        except FieldError:
            continue
    return None


def sample_value(param: Param, meters: Sequence[Any], now: dt.datetime, index: int) -> Any:
    if param.name == "global_device_id":
        return [m.global_device_id for m in meters]
    meter_value = getattr(meters[0], param.name, None) if meters else None
    if meter_value is not None and param.kind in ("choice", "flag", "int"):
        found = _first_valid(param, (str(meter_value),))
        if found is not None:
            return found
    if param.kind == "datetime":
        # later parameters a minute later: "on" before "off", "start" before "end"
        return format_datetime(now + dt.timedelta(minutes=index))
    if param.kind in ("choice", "flag"):
        # the last choice: Connect, Active ... rather than Disconnect, Inactive
        return _first_valid(param, [str(c) for c, _ in reversed(param.choices or ())])
    if param.kind == "array":
        return _first_valid(param, _array_candidates(meters))
    if param.kind == "tou":
        return _first_valid(param, _TOU.get(param.name, ()))
    return _first_valid(param, _CANDIDATES.get(param.kind, ("1",)))


def sample_params(
    svc: Service, meters: Sequence[Any], now: dt.datetime, **given: Any
) -> dict[str, Any]:
    """Valid parameters of ``svc`` (required ones, plus the optional ones a cross-field rule
    asks for). ``given`` values win. Raises ValidationErrors if none can be built."""
    params: dict[str, Any] = {}
    for i, p in enumerate(svc.params):
        if p.name in given:
            params[p.name] = given[p.name]
        elif p.required:
            params[p.name] = sample_value(p, meters, now, i)
    for _ in range(len(svc.params)):
        try:
            svc.validate(params)
            return params
        except ValidationErrors as exc:
            missing = [n for n in exc.errors if n in {p.name for p in svc.params} - set(params)]
            if not missing:
                raise
            for i, p in enumerate(svc.params):
                if p.name in missing:
                    params[p.name] = sample_value(p, meters, now, i)
    svc.validate(params)
    return params


def malformed_params(
    svc: Service, meters: Sequence[Any], now: dt.datetime
) -> tuple[dict[str, Any], str]:
    """Sample parameters with one thing broken, and what was broken: a datetime not in
    ``yyyy-MM-dd HH:mm:ss`` where the service has one, else a required parameter left out."""
    params = sample_params(svc, meters, now)
    for p in svc.params:
        if p.kind == "datetime" and p.name in params:
            params[p.name] = "31/12/2026 25:61"
            return params, f"{p.name} is '31/12/2026 25:61'"
    for p in svc.params:
        if p.required:
            params.pop(p.name, None)
            return params, f"required {p.name} left out"
    params["global_device_id"] = "{not json"
    return params, "global_device_id is not JSON"
