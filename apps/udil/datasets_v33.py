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
* DEVICE_COMMUNICATION_HISTORY (3.1.7), a seventh data set.

Meter visuals keep the 2019 definition (3.3 renames most of its columns: see the notes).
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
        DEVICE_COMMUNICATION_HISTORY,
    )
}
