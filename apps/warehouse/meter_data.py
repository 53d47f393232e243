"""The warehouse part of a meter's page: ``{% include "warehouse/_meter_data.html" %}`` with the
context of ``meter_data_context(meter)`` (the page must load plotly.js for the chart)."""

from __future__ import annotations

import datetime

import plotly.graph_objects as go
from django.utils import timezone

from apps.core.charts import figure_html
from apps.registry.choices import ActivationStatus
from apps.udil.datasets import EVENT_CODES
from apps.warehouse import consumption, selectors
from apps.warehouse.choices import ConsumptionStatus
from apps.warehouse.meter_charts import date_range, range_bounds
from apps.warehouse.visuals_33 import visuals_sections

LOAD_PROFILE_DAYS = 7
RECENT_EVENTS = 10
VISUALS_SHOWN = (
    ("Last communication", "last_communication_datetime"),
    ("Active energy import (kWh)", "last_active_energy_pos_tl"),
    ("Active energy export (kWh)", "last_active_energy_neg_tl"),
    ("Active power import (kW)", "aggregate_active_pwr_pos"),
    ("Signal strength", "last_signal_strength"),
    ("Load limit", "meter_load_limit_set"),
    ("Last contactor on", "last_contactor_on_datetime"),
    ("Last contactor off", "last_contactor_off_datetime"),
    ("Last command", "last_command"),
    ("Last command response", "last_command_resp"),
    ("Activation status", "meter_activation_status"),
)
#: Visuals shown as words with a badge, by the choices that name their values.
VISUALS_BADGED = {"meter_activation_status": ActivationStatus}


def _global_device_id(meter_or_gid) -> str:
    return meter_or_gid if isinstance(meter_or_gid, str) else meter_or_gid.global_device_id


def _load_profile_chart(global_device_id: str, start: datetime.datetime, now: datetime.datetime):
    """kWh per interval from ``start`` to ``now`` (derived consumption, whatever the MDC sends)
    and the readings that gave no consumption, by reason."""
    readings = consumption.interval_consumption(
        start=start, end=now, global_device_ids=[global_device_id]
    )
    issues = consumption.consumption_issues(
        start=start, end=now, global_device_ids=[global_device_id]
    )
    issue_rows = [(ConsumptionStatus(status).label, count) for status, count in issues.items()]
    if not readings:
        return None, issue_rows
    figure = go.Figure()
    for channel in sorted({r.channel_id for r in readings}):
        of_channel = [r for r in readings if r.channel_id == channel]
        figure.add_trace(
            go.Scatter(
                x=[timezone.localtime(r.end) for r in of_channel],
                y=[None if r.active_kwh is None else float(r.active_kwh) for r in of_channel],
                mode="lines",
                line_shape="hv",
                name=f"Channel {channel}",
            )
        )
    figure.update_layout(yaxis_title="kWh per interval", showlegend=len(figure.data) > 1)
    return figure_html(figure, height=240), issue_rows


def meter_data_context(meter_or_gid, request=None) -> dict:
    """Latest visuals, recent events and a load profile chart of one meter (a registry Meter or
    its global_device_id): over the meter page's date range (``?start=&end=``, the grid charts'
    picker) when given the request, else over the last 7 days."""
    global_device_id = _global_device_id(meter_or_gid)
    if request is None:
        until = timezone.now()
        since = until - datetime.timedelta(days=LOAD_PROFILE_DAYS)
        form = first = last = None
    else:
        form, first, last = date_range(request)
        since, until = range_bounds(first, last)
    chart, issues = _load_profile_chart(global_device_id, since, until)
    visuals = selectors.meter_latest_visuals(global_device_id)
    events = selectors.meter_recent_events(global_device_id, limit=RECENT_EVENTS)
    return {
        "warehouse_global_device_id": global_device_id,
        "warehouse_visuals": visuals,
        "warehouse_visuals_rows": [
            (label, getattr(visuals, name), VISUALS_BADGED.get(name))
            for label, name in VISUALS_SHOWN
        ]
        if visuals
        else [],
        # 3.3 settings and state, readable; none for a 2019 meter's visuals
        "warehouse_visuals_33": visuals_sections(visuals),
        "warehouse_events": [(event, EVENT_CODES.get(event.event_code, "")) for event in events],
        "warehouse_load_profile_chart": chart,
        "warehouse_consumption_issues": issues,
        "warehouse_load_profile_days": LOAD_PROFILE_DAYS,
        "warehouse_range_form": form,
        "warehouse_range_start": first,
        "warehouse_range_end": last,
    }
