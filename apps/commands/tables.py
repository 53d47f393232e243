import django_tables2 as tables

from apps.commands.choices import INDV_STATUS_HELP, IndvStatus, Outcome, RequestState, StatusLevel
from apps.commands.models import CommandDevice, CommandRequest
from apps.core.tables import BadgeColumn, DeviceIdColumn, MdmTable, SearchLinkColumn


class CommandRequestTable(MdmTable):
    id = tables.Column(linkify=True, verbose_name="#")
    command = tables.Column(accessor="command_label", verbose_name="Command", order_by="command")
    state = BadgeColumn(RequestState)

    class Meta:
        model = CommandRequest
        fields = (
            "id",
            "created_at",
            "command",
            "state",
            "device_count",
            "mdc_count",
            "requested_by_name",
            "approval_required",
            "decided_by_name",
            "scheduled_at",
            "finished_at",
        )
        attrs = {"class": "table table-sm table-hover"}


class CommandDeviceTable(MdmTable):
    global_device_id = DeviceIdColumn()
    mdc = SearchLinkColumn(accessor="transaction__mdc__code", verbose_name="MDC")
    transactionid = tables.Column(accessor="transaction__transactionid", verbose_name="Transaction")
    status_level = BadgeColumn(StatusLevel)
    outcome = BadgeColumn(Outcome)
    indv_status = BadgeColumn(
        IndvStatus, verbose_name="Device status", attrs={"th": {"title": INDV_STATUS_HELP}}
    )
    last_poll = tables.DateTimeColumn(
        accessor="transaction__last_polled_at", verbose_name="Last poll", orderable=False
    )

    class Meta:
        model = CommandDevice
        fields = (
            "global_device_id",
            "msn",
            "mdc",
            "transactionid",
            "status_level",
            "outcome",
            "indv_status",
            "status_5_datetime",
            "message",
            "last_poll",
            "finished_at",
        )
        attrs = {"class": "table table-sm table-hover", "id": "device-table"}
