"""UDIL 3.3 (PITC, September 2025) data sets: the 2019 definitions with 3.3's changes.

``DATASETS_3_3`` maps a data set code to its 3.3 definition where 3.3 differs from 2019
(``Profile.derive`` keeps the 2019 definition of every code not named here), spec sections
3.1.1-3.1.7; the points settled are in ``docs/udil-notes.md`` ("3.3 data sets"):

* every 3.3 MDC table has ``id`` (bigint auto-increment) and ``is_synced`` (0 as inserted, set
  to 1 by the MDM after a committed read; the MDC may then purge): they are bookkeeping of the
  MDC's table, not values of a row, so they are :attr:`DataSet.id_column` and
  :attr:`DataSet.synced_column` rather than fields (the tabular transport reads them);
* instantaneous: ``frequency``, ``current_total``, ``voltage_average``, the ``*_abs`` powers and
  the per-phase power factors;
* billing and monthly billing: the ``*_abs_*`` registers (absolute energy and MDI);
  monthly billing also ``longitude``/``latitude`` (the text capitalises them), the two meter
  screen pictures (BLOB: base64 text on the wire) and ``reading_mode``;
* load profile: ``frequency``, the registers split into import/export/absolute like billing
  (3.3's ``active_energy_pos_*`` is the import register 2019 calls ``active_energy_*``: stored in
  the same warehouse column), the absolute aggregate powers;
* events: ``event_counter`` (optional); the 3.3 codes are in :mod:`apps.udil.events_v33`;
* meter visuals (3.1.6): 3.3's own column names; a column whose meaning 2019 has too is stored
  in the 2019 column (``active_energy_pos_tl`` -> ``last_active_energy_pos_tl``, ``lsch_*`` ->
  ``meter_ls_schedule_*``, ...), the others are new columns;
* DEVICE_COMMUNICATION_HISTORY (3.1.7), a seventh data set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from .datasets import (
    _BILLING_GROUPS,
    BILLING,
    DB_DATETIME,
    EVENTS,
    GLOBAL_DEVICE_ID,
    INSTANTANEOUS,
    LOAD_PROFILE,
    MDC_READ_DATETIME,
    METER_DATETIME,
    METER_VISUALS,
    MONTHLY_BILLING,
    MSN,
    DataSet,
    Field,
    _dec,
    _phases,
    _registers,
)

TABULAR_3_3 = {"id_column": "id", "synced_column": "is_synced"}

FREQUENCY = _dec("frequency", "Frequency in Hertz", "Hz")
ACTIVE_PWR_ABS = _dec("aggregate_active_pwr_abs", "Aggregate Active Power Absolute", "kW")
REACTIVE_PWR_ABS = _dec(
    "aggregate_reactive_pwr_abs",
    "Aggregate Reactive Power Absolute as per Pakistan standard",
    "kVAR",
)
LONGITUDE = _dec("longitude", "Longitude of Device", "°")
LATITUDE = _dec("latitude", "Latitude of Device", "°")

#: The absolute register groups 3.3 adds, each after the export group of its quantity.
_ABS_GROUPS = {
    "active_energy_neg": (
        "active_energy_abs",
        "Absolute Active kWh",
        "Active energy absolute",
        "kWh",
    ),
    "reactive_energy_neg": (
        "reactive_energy_abs",
        "Absolute Reactive kVARh as per Pakistan standard",
        "Reactive energy absolute",
        "kVARh",
    ),
    "active_mdi_neg": ("active_mdi_abs", "Absolute Active MDI kW", "Active MDI absolute", "kW"),
    "cumulative_mdi_neg": (
        "cumulative_mdi_abs",
        "Absolute Cumulative Active MDI kW",
        "Cumulative MDI absolute",
        "kW",
    ),
}
#: The twelve register groups of 3.3 (billing, monthly billing, load profile), in spec order.
GROUPS_3_3 = tuple(
    group
    for base in _BILLING_GROUPS
    for group in ((base, _ABS_GROUPS[base[0]]) if base[0] in _ABS_GROUPS else (base,))
)
REGISTERS_3_3 = _registers(GROUPS_3_3)


def with_fields(
    dataset: DataSet,
    *,
    after: Mapping[str, Iterable[Field]] = {},
    replace_fields: Mapping[str, Iterable[Field]] = {},
    **changes,
) -> DataSet:
    """``dataset`` as 3.3 defines it: new fields inserted after the named ones, named fields
    replaced by others, the tabular ``id``/``is_synced`` columns and any other ``changes``."""
    fields: list[Field] = []
    for field in dataset.fields:
        fields.extend(replace_fields.get(field.name, (field,)))
        fields.extend(after.get(field.name, ()))
    return replace(dataset, fields=tuple(fields), **{**TABULAR_3_3, **changes})


INSTANTANEOUS_3_3 = with_fields(
    INSTANTANEOUS,
    after={
        "msn": (FREQUENCY,),
        "current_phase_c": (_dec("current_total", "Total Current in all phases combined", "A"),),
        "voltage_phase_c": (_dec("voltage_average", "Average Voltage in all phases", "V"),),
        "aggregate_active_pwr_neg": (ACTIVE_PWR_ABS,),
        "aggregate_reactive_pwr_neg": (REACTIVE_PWR_ABS,),
        "average_pf": _phases("pf", "Power Factor for Phase", "", "Power factor"),
    },
)

_BILLING_REGISTERS_2019 = tuple(
    f.name for f in BILLING.fields if f.name.endswith(("_t1", "_t2", "_t3", "_t4", "_tl"))
)
_BILLING_BLOCK = {
    _BILLING_REGISTERS_2019[0]: REGISTERS_3_3,
    **{name: () for name in _BILLING_REGISTERS_2019[1:]},
}

BILLING_3_3 = with_fields(BILLING, replace_fields=_BILLING_BLOCK)

MONTHLY_BILLING_3_3 = with_fields(
    MONTHLY_BILLING,
    replace_fields=_BILLING_BLOCK,
    after={
        "cumulative_mdi_neg_tl": (
            LONGITUDE,
            LATITUDE,
            Field("picture_1", "str", "Meter Screen Picture 1 (BLOB, base64)", max_length=None),
            Field("picture_2", "str", "Meter Screen Picture 2 (BLOB, base64)", max_length=None),
            Field("reading_mode", "int", "0 for Manual Reading, 1 for Automatic Reading"),
        )
    },
)


def _lp_register(field: Field) -> Field:
    """A 3.3 load profile register, stored where 2019 keeps its import register
    (``active_energy_pos_t1`` -> column ``active_energy_t1``)."""
    if "_pos_" in field.name:
        return replace(field, column=field.name.replace("_pos_", "_"))
    return field


_LP_REGISTERS_2019 = tuple(
    f.name for f in LOAD_PROFILE.fields if f.name.endswith(("_t1", "_t2", "_t3", "_t4", "_tl"))
)

LOAD_PROFILE_3_3 = with_fields(
    LOAD_PROFILE,
    after={
        "meter_datetime": (FREQUENCY,),
        "aggregate_active_pwr_neg": (ACTIVE_PWR_ABS,),
        "aggregate_reactive_pwr_neg": (REACTIVE_PWR_ABS,),
    },
    replace_fields={
        _LP_REGISTERS_2019[0]: tuple(map(_lp_register, REGISTERS_3_3)),
        **{name: () for name in _LP_REGISTERS_2019[1:]},
    },
)

EVENTS_3_3 = with_fields(
    EVENTS,
    after={"event_code": (Field("event_counter", "bigint", "Optional Event Counter"),)},
    description="Events (3.1.5): alerts and alarms generated by the meter, with a counter",
)


def _dt(name: str, description: str, column: str = "") -> Field:
    return Field(name, "datetime", description, column=column)


def _str(name: str, description: str, *, text: bool = False) -> Field:
    return Field(name, "str", description, max_length=None if text else 50)


def _visual_register(name: str, description: str, unit: str, column: str = "") -> tuple[Field, ...]:
    """A visuals register and its reporting time (stored in 2019's ``last_*`` columns)."""
    return (
        replace(_dec(name, description, unit), column=column),
        _dt(
            f"{name}_datetime",
            f"Latest Reporting Date & Time for {unit}",
            f"{column}_datetime" if column else "",
        ),
    )


def _visual_power(name: str, description: str, unit: str) -> tuple[Field, ...]:
    return (_dec(name, description, unit), _dt(f"{name}_datetime", f"Latest Time of {name}"))


_V19 = {f.name: f for f in METER_VISUALS.fields}

METER_VISUALS_3_3 = replace(
    METER_VISUALS,
    description="Meter visuals (3.1.6, UDIL 3.3 columns): latest known state, one row per device",
    fields=(
        *(
            _V19[n]
            for n in (
                "msn",
                "global_device_id",
                "last_command",
                "last_command_datetime",
                "last_command_resp",
                "last_command_resp_datetime",
            )
        ),
        METER_DATETIME,
        MDC_READ_DATETIME,
        replace(DB_DATETIME, description="Record Entry/Update Date & Time in Database"),
        *_visual_register(
            "active_energy_pos_tl",
            "Value of Positive Absolute kWh",
            "kWh",
            "last_active_energy_pos_tl",
        ),
        *_visual_register(
            "active_energy_neg_tl",
            "Value of Negative Absolute kWh",
            "kWh",
            "last_active_energy_neg_tl",
        ),
        *_visual_register(
            "reactive_energy_pos_tl",
            "Value of Positive Absolute kVARh",
            "kVARh",
            "last_reactive_energy_pos_tl",
        ),
        *_visual_register(
            "reactive_energy_neg_tl",
            "Value of Negative Absolute kVARh",
            "kVARh",
            "last_reactive_energy_neg_tl",
        ),
        # The text says kVARh for the active total: it is kWh (the name and the others say so).
        *_visual_register("aggregate_active_energy_abs_tl", "Total absolute Active kWh", "kWh"),
        *_visual_power("aggregate_active_pwr_pos", "Aggregate Active Power Import", "kW"),
        *_visual_power("aggregate_active_pwr_neg", "Aggregate Active Power Export", "kW"),
        *_visual_power("aggregate_reactive_pwr_pos", "Aggregate Reactive Power Import", "kVAR"),
        *_visual_power("aggregate_reactive_pwr_neg", "Aggregate Reactive Power Export", "kVAR"),
        # The text capitalises it (``Aggregate_reactive_energy_abs_tl``): lower case like the rest.
        *_visual_register(
            "aggregate_reactive_energy_abs_tl",
            "Total Reactive kVARh as per Pakistan standard",
            "kVARh",
        ),
        *_phases("current", "Current Phase", "A", "Current"),
        *_phases("voltage", "Voltage Phase", "V", "Voltage"),
        FREQUENCY,
        *_phases("pf", "Power Factor for Phase", "", "Power factor"),
        _dec("average_pf", "Average Power Factor"),
        *(
            _V19[n]
            for n in (
                "last_contactor_on_datetime",
                "last_contactor_off_datetime",
                "last_communication_datetime",
                "last_signal_strength",
            )
        ),
        Field("power_status", "int", "0 for power off, 1 for power on"),
        _dt("power_status_datetime", "Time the power failure start or end event occurred"),
        _dt("auxr_datetime", "Time the meter relay was investigated"),
        Field("auxr_status", "int", "Current contactor status: 1 On, 0 Off"),
        _dt("dvtm_datetime", "Time the meter clock was investigated"),
        _dt("dvtm_meter_clock", "Actual Meter Date Time", "meter_last_comm_datetime"),
        _dt("sanc_datetime", "Time the sanctioned load was investigated"),
        # Varchar in the text; the 2019 column is the kW value (Decimal).
        replace(
            _dec("sanc_load_limit", "Threshold Limit for kW", "kW"), column="meter_load_limit_set"
        ),
        _str("sanc_maximum_retries", "Maximum Retries in number"),
        _str("sanc_retry_interval", "Time Interval for retry in seconds"),
        _str("sanc_threshold_duration", "Duration to accept threshold crossing in seconds"),
        _str("sanc_retry_clear_interval", "Time after retries count is cleared in seconds"),
        _dt("lsch_datetime", "Time the load shedding schedule was investigated"),
        _dt(
            "lsch_start_datetime",
            "Start of the load shedding schedule",
            "meter_ls_schedule_startdatetime",
        ),
        _dt(
            "lsch_end_datetime",
            "End of the load shedding schedule",
            "meter_ls_schedule_enddatetime",
        ),
        replace(
            _str("lsch_load_shedding_slabs", "Array of action time & relay operate", text=True),
            column="meter_ls_schedule_slabs",
        ),
        _dt("tiou_datetime", "Time the time of use was investigated"),
        _str("tiou_day_profile", "Day profiles: name and tariff slab start times", text=True),
        _str("tiou_week_profile", "Week profiles: name and day profiles Monday..Sunday", text=True),
        _str("tiou_season_profile", "Season profiles: name, week profile, start date", text=True),
        _str("tiou_holiday_profile", "Holiday profiles: name, date, day profile", text=True),
        _dt("tiou_activation_datetime", "Activation Date Time of the time of use"),
        _dt("ippo_datetime", "Time IP & Port were investigated"),
        _str("ippo_primary_ip_address", "Primary IP Address"),
        _str("ippo_secondary_ip_address", "Secondary IP Address"),
        _str("ippo_primary_port", "Primary Port"),
        _str("ippo_secondary_port", "Secondary Port"),
        _dt("mdsm_datetime", "Time meter data sampling was investigated"),
        _dt("mdsm_activation_datetime", "Activation Date Time of the sampling"),
        _str("mdsm_data_type", "INST, BILL or LPRO"),
        _str("mdsm_sampling_interval", "Sampling Interval in Minutes (1-59)"),
        _str("mdsm_sampling_initial_time", "Start Time Slot (0-59)"),
        _dt("oppo_datetime", "Time the optical port was investigated"),
        _dt("oppo_optical_port_on_datetime", "Date & Time to enable Optical Port"),
        _dt("oppo_optical_port_off_datetime", "Date & Time to disable Optical Port"),
        _dt("wsim_datetime", "Time the wake-up SIM numbers were investigated"),
        *(_str(f"wsim_wakeup_number_{i}", f"SIM NUMBER{i} for wakeup") for i in (1, 2, 3)),
        _dt("mtst_datetime", "Time the meter status was investigated"),
        # Varchar '1'/'0' in the text; the 2019 column is the same flag (integer).
        Field(
            "mtst_meter_activation_status",
            "int",
            "1 for Active, 0 for Inactive Meters",
            column="meter_activation_status",
        ),
        _dt("dmdt_datetime", "Time the device metadata was investigated"),
        _str("dmdt_communication_mode", "1 GPRS/3G/4G, 2 RF, 3 PLC, 4 Ethernet, 5 other"),
        _str("dmdt_bidirectional_device", "0 False, 1 True"),
        _str("dmdt_communication_type", "1 Mode-I/Non-Keep-alive, 2 Mode-II/Keep-alive"),
        _str("dmdt_communication_interval", "Communication Interval in Minutes"),
        _str("dmdt_initial_communication_time", "Initial Communication Time (HH:mm:ss)"),
        _str("dmdt_phase", "1 Single, 2 other, 3 Three-phase"),
        _str("dmdt_meter_type", "1 Normal, 2 Whole Current, 3 CTO, 4 CTPT, 5 other"),
        Field("mdi_reset_date", "int", "Date of Every Month Ranges from 1 to 28"),
        _str("mdi_reset_time", "Time at which MDI Reset Occurs"),
        _str("msim_id", "SIM ID of SIM that is used by meter for communication"),
    ),
    **TABULAR_3_3,
)

DEVICE_COMMUNICATION_HISTORY = DataSet(
    code="device_comm_history",
    label="Device communication history",
    table="DEVICE_COMMUNICATION_HISTORY",
    read_path="device_communication_history",
    on_demand_type=None,
    key=("global_device_id", "meter_datetime"),
    time_field="meter_datetime",
    description=(
        "Device communication history (3.1.7): every communication attempt of a device, its "
        "outcome and the debug log"
    ),
    fields=(
        MSN,
        GLOBAL_DEVICE_ID,
        METER_DATETIME,
        Field("communication_status", "int", "1 for Successful, 0 for Failure"),
        Field(
            "message_log",
            "str",
            "Message Log showing communication insights using UDIL Codes, with timestamps",
            max_length=None,
        ),
        LONGITUDE,
        LATITUDE,
        Field("bytes_sent", "int", "Size of Total Data sent to Meter", unit="bytes"),
        Field("bytes_received", "int", "Size of Total Data received from Meter", unit="bytes"),
        Field("bytes_remaining", "int", "Remaining bytes of data package in SIM", unit="bytes"),
        Field("sim_id", "str", "Inserted SIM ID in Meter Modem"),
        Field(
            "connection_duration",
            "int",
            "Total Duration of Meter Connection with MDC",
            unit="s",
        ),
        MDC_READ_DATETIME,
        DB_DATETIME,
    ),
    **TABULAR_3_3,
)

DATASETS_3_3: dict[str, DataSet] = {
    ds.code: ds
    for ds in (
        INSTANTANEOUS_3_3,
        BILLING_3_3,
        MONTHLY_BILLING_3_3,
        LOAD_PROFILE_3_3,
        EVENTS_3_3,
        METER_VISUALS_3_3,
        DEVICE_COMMUNICATION_HISTORY,
    )
}
