"""The data sets of UDIL section 3.1 (read requests, tabular) and the
TRANSACTION_STATUS table of section 3.5.2, with the OCR fixes of NOTES.md
(totals are ``_tl``; billing and monthly billing have 40 register fields).

How a data set is defined and read (:class:`Field`, :class:`DataSet`, :class:`Row`) is in
:mod:`apps.udil.definition`; its names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Iterable

from .definition import DataSet, Field, Row
from .errors import FieldError
from .values import show


# ------------------------------------------------------------------ builders
def _dec(name: str, description: str = "", unit: str = "", label: str = "") -> Field:
    return Field(name, "decimal", description, label=label, unit=unit)


#: Register prefix -> (spec wording, human label, unit).
Groups = Iterable[tuple[str, str, str, str]]
_TARIFFS = (("t1", "T1"), ("t2", "T2"), ("t3", "T3"), ("t4", "T4"), ("tl", "total"))


def _registers(groups: Groups) -> tuple[Field, ...]:
    """T1..T4 and total of each group: ``active_energy_pos_t1`` .. ``active_energy_pos_tl``."""
    return tuple(
        _dec(
            f"{prefix}_{t}",
            f"{t.upper()} {wording}" if t != "tl" else f"Total {wording}",
            unit,
            f"{label}, {tariff}",
        )
        for prefix, wording, label, unit in groups
        for t, tariff in _TARIFFS
    )


def _phases(prefix: str, wording: str, unit: str = "", label: str = "") -> tuple[Field, ...]:
    return tuple(
        _dec(
            f"{prefix}_{p}",
            f"{wording} {p[-1].upper()}",
            unit,
            f"{label or wording} {p[-1].upper()}",
        )
        for p in ("phase_a", "phase_b", "phase_c")
    )


MSN = Field("msn", "bigint", "Meter Serial Number")
GLOBAL_DEVICE_ID = Field("global_device_id", "str", "Unique ID for each device by MDM")
METER_DATETIME = Field("meter_datetime", "datetime", "Meter Date & Time")
MDC_READ_DATETIME = Field("mdc_read_datetime", "datetime", "Reading Date & Time of MDC")
DB_DATETIME = Field("db_datetime", "datetime", "Record Entry Date & Time in Database")

INSTANTANEOUS = DataSet(
    code="instantaneous",
    label="Instantaneous data",
    table="INSTANTANEOUS_DATA",
    read_path="instantaneous_data",
    on_demand_type="INST",
    key=("global_device_id", "meter_datetime"),
    time_field="meter_datetime",
    description="Instantaneous data (3.1.1): grid and meter values at a moment",
    fields=(
        Field("current_tariff_register", "int", "Current Tariff Register"),
        _dec("signal_strength", "Signal Strength"),
        MSN,
        GLOBAL_DEVICE_ID,
        METER_DATETIME,
        *_phases("current", "Current Phase", "A", "Current"),
        *_phases("voltage", "Voltage Phase", "V", "Voltage"),
        _dec("aggregate_active_pwr_pos", "Aggregate Active Power Import", "kW"),
        _dec("aggregate_active_pwr_neg", "Aggregate Active Power Export", "kW"),
        _dec("aggregate_reactive_pwr_pos", "Aggregate Reactive Power Import", "kVAR"),
        _dec("aggregate_reactive_pwr_neg", "Aggregate Reactive Power Export", "kVAR"),
        _dec("average_pf", "Average Power Factor"),
        MDC_READ_DATETIME,
        DB_DATETIME,
    ),
)

_BILLING_GROUPS = (
    ("active_energy_pos", "Active kWh (Import)", "Active energy import", "kWh"),
    ("active_energy_neg", "Active kWh (Export)", "Active energy export", "kWh"),
    ("reactive_energy_pos", "Reactive kVARh (Import)", "Reactive energy import", "kVARh"),
    ("reactive_energy_neg", "Reactive kVARh (Export)", "Reactive energy export", "kVARh"),
    ("active_mdi_pos", "Active MDI kW (Import)", "Active MDI import", "kW"),
    ("active_mdi_neg", "Active MDI kW (Export)", "Active MDI export", "kW"),
    ("cumulative_mdi_pos", "Cumulative Active MDI kW (Import)", "Cumulative MDI import", "kW"),
    ("cumulative_mdi_neg", "Cumulative Active MDI kW (Export)", "Cumulative MDI export", "kW"),
)

BILLING = DataSet(
    code="billing",
    label="Billing data",
    table="BILLING_DATA",
    read_path="billing_data",
    on_demand_type="BILL",
    key=("global_device_id", "meter_datetime"),
    time_field="meter_datetime",
    description="Billing data (3.1.2): tariff registers at defined intervals",
    fields=(
        MSN,
        GLOBAL_DEVICE_ID,
        METER_DATETIME,
        *_registers(_BILLING_GROUPS),
        MDC_READ_DATETIME,
        DB_DATETIME,
    ),
)

MONTHLY_BILLING = DataSet(
    code="monthly_billing",
    label="Monthly billing data",
    table="MONTHLY_BILLING_DATA",
    read_path="monthly_billing_data",
    on_demand_type="MBIL",
    key=("global_device_id", "meter_datetime"),
    time_field="meter_datetime",
    description="Monthly billing data (3.1.3): monthly registers and MDI reset count",
    fields=(
        MSN,
        GLOBAL_DEVICE_ID,
        METER_DATETIME,
        *_registers(_BILLING_GROUPS),
        Field("mdi_reset_datetime", "datetime", "MDI Reset Date & Time"),
        Field("reset_count", "int", "MDI Reset Count Number"),
        MDC_READ_DATETIME,
        DB_DATETIME,
    ),
)

LOAD_PROFILE = DataSet(
    code="load_profile",
    label="Load profile data",
    table="LOAD_PROFILE_DATA",
    read_path="load_profile_data",
    on_demand_type="LPRO",
    key=("global_device_id", "meter_datetime"),
    extra_key=("channel_id",),
    time_field="meter_datetime",
    description="Load profile data (3.1.4): meter and grid profile at intervals",
    fields=(
        MSN,
        GLOBAL_DEVICE_ID,
        METER_DATETIME,
        Field("channel_id", "int", "Load Profile Channel ID where applicable"),
        Field("interval", "int", "Interval of Profile"),
        *_registers(
            (
                ("active_energy", "Active kWh", "Active energy", "kWh"),
                ("reactive_energy", "Reactive kVARh", "Reactive energy", "kVARh"),
                ("active_mdi", "Active MDI", "Active MDI", "kW"),
                ("cumulative_mdi", "Cumulative Active MDI", "Cumulative MDI", "kW"),
            )
        ),
        *_phases("current", "Current Phase", "A", "Current"),
        *_phases("voltage", "Voltage Phase", "V", "Voltage"),
        *_phases("active_pwr_pos", "Active Power Import Phase", "kW", "Active power import"),
        _dec("aggregate_active_pwr_pos", "Aggregate Active Power Import", "kW"),
        *_phases("active_pwr_neg", "Active Power Export Phase", "kW", "Active power export"),
        _dec("aggregate_active_pwr_neg", "Aggregate Active Power Export", "kW"),
        *_phases(
            "reactive_pwr_pos", "Reactive Power Import Phase", "kVAR", "Reactive power import"
        ),
        _dec("aggregate_reactive_pwr_pos", "Aggregate Reactive Power Import", "kVAR"),
        *_phases(
            "reactive_pwr_neg", "Reactive Power Export Phase", "kVAR", "Reactive power export"
        ),
        _dec("aggregate_reactive_pwr_neg", "Aggregate Reactive Power Export", "kVAR"),
        _dec("average_pf", "Average Power Factor"),
        MDC_READ_DATETIME,
        DB_DATETIME,
    ),
)

#: Event codes in use (3.1.5). Vendors may send others: keep them.
EVENT_CODES: dict[int, str] = {
    101: "MDI reset",
    102: "Parameterization",
    111: "Power fail start",
    112: "Power fail end",
    113: "Phase failure",
    114: "Over voltage",
    115: "Under voltage",
    116: "Demand over load",
    117: "Reverse energy (active energy)",
    118: "Reverse polarity",
    121: "CT bypass",
}

EVENTS = DataSet(
    code="events",
    label="Events",
    table="EVENTS",
    read_path="events",
    on_demand_type="EVNT",
    key=("global_device_id", "event_datetime", "event_code"),
    time_field="event_datetime",
    description="Events (3.1.5): alerts and alarms generated by the meter",
    fields=(
        MSN,
        GLOBAL_DEVICE_ID,
        # Example 4.14 sends meter_datetime / read_datetime for these.
        Field(
            "event_datetime",
            "datetime",
            "Meter Date & Time when event occurred",
            aliases=("meter_datetime",),
        ),
        Field("event_code", "int", "Event Code"),
        Field("event_description", "str", "Event Name/Description"),
        Field(
            "mdc_read_datetime",
            "datetime",
            "Reading Date & Time of MDC",
            aliases=("read_datetime",),
        ),
        DB_DATETIME,
    ),
)

METER_VISUALS = DataSet(
    code="meter_visuals",
    label="Meter visuals",
    table="METER_VISUALS",
    read_path="meter_visuals",
    on_demand_type="VISL",
    key=("global_device_id",),
    time_field=None,
    description="Meter visuals (3.1.6): latest known state, one row per device",
    fields=(
        MSN,
        GLOBAL_DEVICE_ID,
        Field("last_command", "str", "Last Command Sent to Meter"),
        Field("last_command_datetime", "datetime", "Date & Time of Last Command"),
        Field("last_command_resp", "str", "Response of Last Command"),
        Field("last_command_resp_datetime", "datetime", "Response Date & Time of Last Command"),
        _dec("last_active_energy_pos_tl", "Last Value of Positive Absolute kWh", "kWh"),
        Field("last_active_energy_pos_tl_datetime", "datetime", "Latest Reporting Time for kWh"),
        _dec("last_active_energy_neg_tl", "Last Value of Negative Absolute kWh", "kWh"),
        Field("last_active_energy_neg_tl_datetime", "datetime", "Latest Reporting Time for kWh"),
        _dec("last_reactive_energy_pos_tl", "Last Value of Positive Absolute kVARh", "kVARh"),
        Field(
            "last_reactive_energy_pos_tl_datetime", "datetime", "Latest Reporting Time for kVARh"
        ),
        _dec("last_reactive_energy_neg_tl", "Last Value of Negative Absolute kVARh", "kVARh"),
        Field(
            "last_reactive_energy_neg_tl_datetime", "datetime", "Latest Reporting Time for kVARh"
        ),
        _dec("aggregate_active_pwr_pos", "Aggregate Active Power Import", "kW"),
        Field("aggregate_active_pwr_pos_datetime", "datetime", "Latest Time for positive kW"),
        _dec("aggregate_active_pwr_neg", "Aggregate Active Power Export", "kW"),
        Field("aggregate_active_pwr_neg_datetime", "datetime", "Latest Time for negative kW"),
        _dec("aggregate_reactive_pwr_pos", "Aggregate Reactive Power Import", "kVAR"),
        Field("aggregate_reactive_pwr_pos_datetime", "datetime", "Latest Time for positive kVAR"),
        _dec("aggregate_reactive_pwr_neg", "Aggregate Reactive Power Export", "kVAR"),
        Field("aggregate_reactive_pwr_neg_datetime", "datetime", "Latest Time for negative kVAR"),
        Field("last_contactor_on_datetime", "datetime", "Last Contactor On Date & Time"),
        Field("last_contactor_off_datetime", "datetime", "Last Contactor Off Date & Time"),
        Field("last_communication_datetime", "datetime", "Last Communication Date & Time"),
        _dec("last_signal_strength", "Latest Signal Strength"),
        _dec("meter_load_limit_set", "Latest Sanctioned Load Limit set in the meter", "kW"),
        Field("meter_ls_schedule_startdatetime", "datetime", "Start Date time for Load Shedding"),
        Field("meter_ls_schedule_enddatetime", "datetime", "End Date time for Load Shedding"),
        # Arrays as text: longer than varchar(50) in practice.
        Field(
            "meter_ls_schedule_slabs",
            "str",
            "Array containing action time & relay operate",
            max_length=None,
        ),
        Field("meter_last_comm_datetime", "datetime", "Meter Date & Time of last communication"),
        Field(
            "meter_tariff_identification",
            "str",
            "Array containing tariff identification & time slabs",
            max_length=None,
        ),
        Field("meter_activation_status", "int", "1 for Active, 0 for Inactive"),
    ),
)

#: Status levels of TRANSACTION_STATUS (3.5.2).
STATUS_LEVELS: dict[int, str] = {
    0: "Waiting for processing",
    1: "Command processing started",
    2: "Communication request sent to meter",
    3: "Communication established with meter",
    4: "Command sent to meter",
    5: "Command executed by meter",
}
#: A cancel is honoured only at these status levels (3.5.3).
CANCELLABLE_STATUS_LEVELS = frozenset({0, 1, 2})

TRANSACTION_STATUS = DataSet(
    code="transaction_status",
    label="Transaction status",
    table="TRANSACTION_STATUS",
    read_path=None,
    on_demand_type=None,
    key=("transactionid", "global_device_id"),
    time_field="command_receiving_datetime",
    description=(
        "Transaction status (3.5.2): one row per device and transaction. On-demand rows "
        "arrive in 'response_data' (kept in Row.extras by decode_row)."
    ),
    fields=(
        Field("transactionid", "str", "Transaction ID of command from MDM", max_length=None),
        Field("msn", "str", "Meter Serial Number", max_length=None),
        Field("global_device_id", "str", "Unique ID for each device by MDM", max_length=None),
        Field("type", "str", "Type of Request", max_length=None),
        Field("type_parameters", "str", "Type Parameters sent for the request", max_length=None),
        Field("command_receiving_datetime", "datetime", "Date & Time command received by MDC"),
        Field("status_level", "int", "Status level 0-5 (latest)"),
        Field("status_1_datetime", "datetime", "Command processing started by MDC"),
        Field("status_2_datetime", "datetime", "Request forwarded to meter from MDC"),
        Field("status_3_datetime", "datetime", "Meter connected with MDC (hand shake)"),
        Field("status_4_datetime", "datetime", "Command sent to meter"),
        Field("status_5_datetime", "datetime", "Meter successfully executed command"),
        Field("indv_status", "int", "1 success, 0 failure"),
        Field("request_cancelled", "int", "1 if the MDC cancelled the request"),
        Field("request_cancel_reason", "str", "Reason for cancelation", max_length=None),
        Field("request_cancel_datetime", "datetime", "Date & time of cancelation"),
    ),
)

DATASETS: dict[str, DataSet] = {
    ds.code: ds
    for ds in (INSTANTANEOUS, BILLING, MONTHLY_BILLING, LOAD_PROFILE, EVENTS, METER_VISUALS)
}

#: on_demand_request ``type`` values (3.5.1).
ON_DEMAND_TYPES: dict[str, DataSet] = {ds.on_demand_type: ds for ds in DATASETS.values()}


def by_on_demand_type(type_code: str) -> DataSet:
    """``"LPRO"`` -> LOAD_PROFILE (case and whitespace tolerant); FieldError("type") if unknown."""
    key = type_code.strip().upper() if isinstance(type_code, str) else type_code
    try:
        return ON_DEMAND_TYPES[key]
    except (KeyError, TypeError):
        raise FieldError(
            "type", f"must be one of {', '.join(ON_DEMAND_TYPES)}, got {show(type_code)}"
        ) from None


def by_table(table: str) -> DataSet:
    """``"LOAD_PROFILE_DATA"`` -> LOAD_PROFILE (KeyError if unknown)."""
    for ds in (*DATASETS.values(), TRANSACTION_STATUS):
        if ds.table == table.upper():
            return ds
    raise KeyError(table)


__all__ = [
    "BILLING",
    "CANCELLABLE_STATUS_LEVELS",
    "DATASETS",
    "EVENTS",
    "EVENT_CODES",
    "INSTANTANEOUS",
    "LOAD_PROFILE",
    "METER_VISUALS",
    "MONTHLY_BILLING",
    "ON_DEMAND_TYPES",
    "STATUS_LEVELS",
    "TRANSACTION_STATUS",
    "DataSet",
    "Field",
    "Row",
    "by_on_demand_type",
    "by_table",
]
