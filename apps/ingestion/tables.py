import django_tables2 as tables

from apps.core.tables import BadgeColumn
from apps.ingestion.choices import RunOutcome
from apps.ingestion.models import IngestionRun


class IngestionRunTable(tables.Table):
    started_at = tables.DateTimeColumn(
        format="Y-m-d H:i:s", linkify=lambda record: record.get_absolute_url()
    )
    mdc = tables.Column(verbose_name="MDC", accessor="mdc__code", order_by=("mdc__code",))
    outcome = BadgeColumn(RunOutcome)
    window_start = tables.DateTimeColumn(format="Y-m-d H:i")
    window_end = tables.DateTimeColumn(format="Y-m-d H:i")
    duration_seconds = tables.Column(verbose_name="Seconds")

    class Meta:
        model = IngestionRun
        fields = (
            "started_at",
            "mdc",
            "dataset",
            "trigger",
            "outcome",
            "window_start",
            "window_end",
            "devices",
            "rows_received",
            "rows_inserted",
            "rows_updated",
            "rows_quarantined",
            "duration_seconds",
            "error",
        )
        attrs = {"class": "table table-sm table-hover"}

    def render_duration_seconds(self, value):
        return f"{value:.1f}"

    def render_error(self, value):
        return value if len(value) <= 80 else value[:77] + "..."
