"""Tables of the analytics pages (from the core table columns)."""

from __future__ import annotations

from urllib.parse import urlencode

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.analytics.choices import LossBand, ReportState
from apps.core.tables import BadgeColumn, MdmTable


class BalanceTable(MdmTable):
    """Balances, each node's code opening its own balance over the same period."""

    code = tables.Column("Node")
    input_kwh = tables.Column("Input kWh", default="no input meter")
    consumers_kwh = tables.Column("Consumers kWh")
    billed_kwh = tables.Column("Billed kWh", default="—")
    loss_kwh = tables.Column("Loss kWh", default="—")
    loss_pct = tables.Column("Loss %", default="—")
    band = BadgeColumn(LossBand, verbose_name="Band", default="—")
    consumers = tables.Column("Consumers")
    completeness_pct = tables.Column("Complete %", default="—")
    estimated_pct = tables.Column("On estimated data %", default="—")

    class Meta:
        orderable = False
        attrs = {"class": "table table-sm table-striped"}

    def __init__(self, *args, period: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.period = period or {}

    def render_code(self, value, record):
        # by id, not code: codes repeat under different parents
        query = {"level": record.level, "node": record.node_id}
        query.update({k: self.period[k].isoformat() for k in ("start", "end") if k in self.period})
        url = f"{reverse('analytics:balance')}?{urlencode(query)}"
        return format_html('<a class="balance-node" href="{}">{}</a>', url, value)

    def value_code(self, value):
        return value


class SuspectTable(MdmTable):
    global_device_id = tables.Column("Device")
    reference_no = tables.Column("Consumer")
    score = tables.Column("Score")
    reasons = tables.Column("Reasons", orderable=False)

    class Meta:
        orderable = False
        attrs = {"class": "table table-sm table-striped"}

    def render_global_device_id(self, value, record):
        url = reverse("registry:meter-detail", args=[record.meter_id])
        return format_html('<a href="{}">{}</a>', url, value)

    def render_reasons(self, value):
        items = format_html_join("", "<li>{}</li>", ((why,) for _, why in value))
        return format_html("<ul class='mb-0 small'>{}</ul>", items)

    def value_reasons(self, value):
        return "; ".join(why for _, why in value)


class ReportTable(MdmTable):
    id = tables.Column("#")
    kind = tables.Column("Report")
    start = tables.Column("Start")
    end = tables.Column("End")
    level = tables.Column("Per")
    requested_by = tables.Column("Run by", default="schedule")
    state = BadgeColumn(ReportState, verbose_name="State")
    progress = tables.Column("Progress %")
    rows = tables.Column("Rows")
    created_at = tables.DateTimeColumn("Requested")
    download = tables.Column("Download", empty_values=(), orderable=False)

    class Meta:
        orderable = False
        attrs = {"class": "table table-sm table-striped"}
        row_attrs = {"id": lambda record: f"report-{record.pk}"}

    def render_download(self, record):
        if record.state != ReportState.DONE:
            return format_html('<span class="text-muted small">{}</span>', record.error[:120])
        return format_html(
            '<a href="{}">CSV</a> · <a href="{}">PDF</a>',
            reverse("analytics:report-download", args=[record.pk, "csv"]),
            reverse("analytics:report-download", args=[record.pk, "pdf"]),
        )

    def value_download(self, record):
        return ""
