"""Tables of the billing pages (the API and CSV give every field)."""

import django_tables2 as tables

from apps.billing.choices import AccountStatus, ReadingMode, RunStatus, VeeFlag
from apps.billing.models import (
    BillingAccount,
    BillingRun,
    Determinant,
    MirrorBill,
    ReadingCycle,
    Tariff,
)
from apps.core.tables import BadgeColumn, DeviceIdColumn, MdmTable

ATTRS = {"class": "table table-sm table-hover"}


class BillingRunTable(MdmTable):
    id = tables.Column(linkify=True, verbose_name="#")
    cycle = tables.Column(orderable=False)
    status = BadgeColumn(RunStatus)
    progress = tables.Column(accessor="progress_percent", orderable=False, verbose_name="%")

    class Meta:
        model = BillingRun
        fields = ("id", "cycle", "kind", "supplements", "status", "progress", "consumers_total",
                  "started_by", "created_at", "approved_by", "approved_at")  # fmt: skip
        attrs = ATTRS


class ReadingCycleTable(MdmTable):
    class Meta:
        model = ReadingCycle
        fields = ("batch", "reading_date", "cutoff", "source")
        attrs = ATTRS


class BillingAccountTable(MdmTable):
    reference_no = tables.Column(accessor="consumer__reference_no", verbose_name="Reference")
    name = tables.Column(accessor="consumer__name", orderable=False)
    status = BadgeColumn(AccountStatus)
    edit = tables.LinkColumn(
        "billing:account-edit", args=[tables.A("pk")], text="Edit", orderable=False,
        verbose_name="", exclude_from_export=True,
    )  # fmt: skip

    class Meta:
        model = BillingAccount
        fields = ("reference_no", "name", "tariff", "sanctioned_load_kw", "reading_batch",
                  "status", "edit")  # fmt: skip
        attrs = ATTRS
        order_by = ("reference_no",)


class TariffTable(MdmTable):
    bands = tables.Column(empty_values=(), orderable=False, verbose_name="Register bands")

    class Meta:
        model = Tariff
        fields = ("code", "name", "category", "time_of_use", "bands")
        attrs = ATTRS

    def render_bands(self, record):
        return "; ".join(
            f"{m.season} {m.start_month}-{m.end_month} from {m.valid_from}: "
            f"T1 {m.t1_band}, T2 {m.t2_band}, T3 {m.t3_band}, T4 {m.t4_band}"
            for m in record.band_maps.all()
        )


class DeterminantTable(MdmTable):
    global_device_id = DeviceIdColumn()
    reading_mode = BadgeColumn(ReadingMode)
    vee_flag = BadgeColumn(VeeFlag)
    discrepancies = tables.Column(orderable=False)

    class Meta:
        model = Determinant
        fields = ("reference_no", "global_device_id", "multiplying_factor", "previous_datetime",
                  "present_datetime", "units_off_peak", "units_peak", "units_total",
                  "units_kvarh", "power_factor", "mdi_total", "days", "reading_mode",
                  "vee_flag", "discrepancies")  # fmt: skip
        attrs = ATTRS
        order_by = ("reference_no",)

    def render_discrepancies(self, value):
        return ", ".join(value)

    def value_discrepancies(self, value):
        return "|".join(value)


class MirrorBillTable(MdmTable):
    reference_no = tables.Column(accessor="consumer__reference_no", verbose_name="Reference")
    paid = tables.Column(verbose_name="Paid", orderable=False)

    class Meta:
        model = MirrorBill
        fields = ("reference_no", "month", "billed_units", "bill_amount", "due_date", "paid",
                  "arrears", "defaulter")  # fmt: skip
        attrs = ATTRS
