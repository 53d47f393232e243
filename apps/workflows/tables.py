import django_tables2 as tables

from apps.core.tables import BadgeColumn, MdmTable
from apps.workflows.choices import WorkOrderState
from apps.workflows.models import WorkOrder
from apps.workflows.selectors import is_overdue


class WorkOrderTable(MdmTable):
    id = tables.Column(linkify=True, verbose_name="#")
    procedure = tables.Column(verbose_name="Type")
    consumer = tables.Column(accessor="consumer__reference_no", verbose_name="Consumer")
    cycle = tables.Column(accessor="cycle", verbose_name="Cycle (CP10)")
    meter = tables.Column(accessor="meter__global_device_id", verbose_name="Meter")
    subdivision = tables.Column(accessor="subdivision__code", verbose_name="Subdivision")
    state = BadgeColumn(WorkOrderState)
    overdue = tables.BooleanColumn(empty_values=(), orderable=False, verbose_name="Overdue")

    class Meta:
        model = WorkOrder
        fields = (
            "id",
            "created_at",
            "procedure",
            "consumer",
            "cycle",
            "meter",
            "subdivision",
            "state",
            "current_step",
            "step_since",
            "overdue",
            "reason",
            "started_by_name",
        )
        attrs = {"class": "table table-sm table-hover"}
        # Overdue orders stand out: their current step has been current longer than allowed.
        row_attrs = {"class": lambda record: "table-danger" if is_overdue(record) else ""}

    def render_overdue(self, record):
        return "overdue" if is_overdue(record) else ""

    def value_overdue(self, record):
        return "yes" if is_overdue(record) else ""
