import django_tables2 as tables

from apps.core.tables import BadgeColumn, MdmTable
from apps.ingestion.choices import DeliveryState, RunOutcome
from apps.ingestion.models import FileDelivery, IngestionRun


class IngestionRunTable(MdmTable):
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


class FileDeliveryTable(MdmTable):
    received_at = tables.DateTimeColumn(format="Y-m-d H:i:s")
    mdc = tables.Column(verbose_name="MDC", accessor="mdc__code", order_by=("mdc__code",))
    state = BadgeColumn(DeliveryState)
    run = tables.Column(
        verbose_name="Run",
        linkify=lambda record: record.run.get_absolute_url() if record.run else None,
    )
    sha256 = tables.Column(verbose_name="sha256")

    class Meta:
        model = FileDelivery
        fields = (
            "received_at",
            "mdc",
            "name",
            "dataset",
            "source",
            "state",
            "rows_received",
            "rows_inserted",
            "rows_updated",
            "rows_unchanged",
            "rows_quarantined",
            "size",
            "sha256",
            "run",
            "error",
        )
        attrs = {"class": "table table-sm table-hover"}

    def render_sha256(self, value):
        return value[:12]

    def render_run(self, value):
        return value.pk

    def render_error(self, value):
        return value if len(value) <= 80 else value[:77] + "..."
