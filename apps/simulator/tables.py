import django_tables2 as tables

from apps.core.tables import MdmTable
from apps.simulator.models import SimMdc


class SimMdcTable(MdmTable):
    code = tables.Column(linkify=True)
    meters = tables.Column(accessor="meters__count", verbose_name="Meters", orderable=False)

    class Meta:
        model = SimMdc
        fields = (
            "code",
            "fmt",
            "transport",
            "meters",
            "credentials_in",
            "key_lifetime_seconds",
            "command_pace_seconds",
            "failure_rate",
            "latency_ms",
            "error_500_rate",
            "malformed_rate",
            "truncated_rate",
            "number_style",
            "quirk_id_whitespace",
            "quirk_shuffle_fields",
            "quirk_extra_fields",
        )
        attrs = {"class": "table table-sm table-hover"}
