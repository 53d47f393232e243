"""UDIL 3.3's time-of-use calendar (3.3.5): day, week, season and holiday profiles, as the
validators of ``update_time_of_use``'s parameters (each error names the row) and the
cross-references between them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import FieldError
from .timefmt import parse_time
from .validators import parse_json_array
from .values import show

_NAME = re.compile(r"[A-Za-z0-9_-]{1,20}", re.ASCII)
_DAY_MONTH = re.compile(r"(\d{2})-(\d{2})", re.ASCII)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
TARIFF_SLABS_MAX = 8
WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _items(value: Any, field: str, keys: tuple[str, ...]) -> list[Mapping[str, Any]]:
    items = parse_json_array(value, field)
    if not items:
        raise FieldError(field, "must contain at least one profile")
    for i, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            raise FieldError(field, f"item {i} must be an object with {', '.join(keys)}")
    return items


def _name(item: Mapping[str, Any], key: str, field: str, i: int) -> str:
    value = item.get(key)
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not _NAME.fullmatch(text):
        raise FieldError(
            field, f"item {i} {key} must be 1 to 20 letters, digits, _ or -, got {show(value)}"
        )
    return text


def _unique(names: list[str], field: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names, 1):
        if name in seen:
            raise FieldError(field, f"item {i} repeats the name {name!r}")
        seen.add(name)


def _day_month(value: Any, field: str, i: int, key: str) -> str:
    text = value.strip() if isinstance(value, str) else value
    match = _DAY_MONTH.fullmatch(text) if isinstance(text, str) else None
    if match:
        day, month = int(match[1]), int(match[2])
        if 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]:
            return text
    raise FieldError(field, f"item {i} {key} must be a date dd-MM, got {show(value)}")


def v_day_profile(value: Any, field: str) -> list[dict[str, Any]]:
    """``[{"name": "d1", "tariff_slabs": ["08:00", "17:00"]}, ...]``: each day profile's tariff
    start times (HH:mm), strictly ascending, 1 to 8 of them."""
    out = []
    for i, item in enumerate(_items(value, field, ("name", "tariff_slabs")), 1):
        name = _name(item, "name", field, i)
        slabs = item.get("tariff_slabs")
        if not isinstance(slabs, list) or not slabs:
            raise FieldError(field, f"item {i} tariff_slabs must be a non-empty array of HH:mm")
        if len(slabs) > TARIFF_SLABS_MAX:
            raise FieldError(field, f"item {i} has more than {TARIFF_SLABS_MAX} tariff_slabs")
        times = []
        for j, slab in enumerate(slabs, 1):
            try:
                slot = parse_time(slab, field, seconds=False)
            except FieldError:
                slot = None
            if slot is None:
                raise FieldError(
                    field, f"item {i} tariff_slabs {j} must be HH:mm, got {show(slab)}"
                )
            if times and slot <= times[-1]:
                raise FieldError(field, f"item {i} tariff_slabs must be in ascending order")
            times.append(slot)
        out.append({"name": name, "tariff_slabs": [t.strftime("%H:%M") for t in times]})
    _unique([d["name"] for d in out], field)
    return out


def v_week_profile(value: Any, field: str) -> list[dict[str, Any]]:
    """``[{"name": "w1", "weekly_day_profile": [7 day profile names, Monday first]}, ...]``."""
    out = []
    for i, item in enumerate(_items(value, field, ("name", "weekly_day_profile")), 1):
        name = _name(item, "name", field, i)
        days = item.get("weekly_day_profile")
        if not isinstance(days, list) or len(days) != 7:
            raise FieldError(
                field, f"item {i} weekly_day_profile must name 7 day profiles (Monday to Sunday)"
            )
        names = [_name({"d": d}, "d", field, i) for d in days]
        out.append({"name": name, "weekly_day_profile": names})
    _unique([w["name"] for w in out], field)
    return out


def v_season_profile(value: Any, field: str) -> list[dict[str, Any]]:
    """``[{"name": "s1", "week_profile_name": "w1", "start_date": "01-01"}, ...]``, starting
    on distinct dates."""
    out = []
    keys = ("name", "week_profile_name", "start_date")
    for i, item in enumerate(_items(value, field, keys), 1):
        out.append(
            {
                "name": _name(item, "name", field, i),
                "week_profile_name": _name(item, "week_profile_name", field, i),
                "start_date": _day_month(item.get("start_date"), field, i, "start_date"),
            }
        )
    _unique([s["name"] for s in out], field)
    starts = [s["start_date"] for s in out]
    if len(set(starts)) != len(starts):
        raise FieldError(field, "two seasons start on the same date")
    return out


def v_holiday_profile(value: Any, field: str) -> list[dict[str, Any]]:
    """``[{"name": "h1", "date": "23-03", "day_profile_name": "d4"}, ...]``."""
    out = []
    for i, item in enumerate(_items(value, field, ("name", "date", "day_profile_name")), 1):
        out.append(
            {
                "name": _name(item, "name", field, i),
                "date": _day_month(item.get("date"), field, i, "date"),
                "day_profile_name": _name(item, "day_profile_name", field, i),
            }
        )
    _unique([h["name"] for h in out], field)
    return out


def _tou_references(typed: dict[str, Any]) -> dict[str, str]:
    """Week profiles name known day profiles, seasons known week profiles, holidays known day
    profiles."""
    days = {d["name"] for d in typed.get("day_profile") or []}
    weeks = {w["name"] for w in typed.get("week_profile") or []}
    errors: dict[str, str] = {}
    for i, week in enumerate(typed.get("week_profile") or [], 1):
        unknown = [d for d in week["weekly_day_profile"] if d not in days]
        if days and unknown:
            errors.setdefault("week_profile", f"item {i} names unknown day profile {unknown[0]!r}")
    for i, season in enumerate(typed.get("season_profile") or [], 1):
        if weeks and season["week_profile_name"] not in weeks:
            errors.setdefault(
                "season_profile",
                f"item {i} names unknown week profile {season['week_profile_name']!r}",
            )
    for i, holiday in enumerate(typed.get("holiday_profile") or [], 1):
        if days and holiday["day_profile_name"] not in days:
            errors.setdefault(
                "holiday_profile",
                f"item {i} names unknown day profile {holiday['day_profile_name']!r}",
            )
    return errors
