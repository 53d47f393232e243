"""The UDIL services of sections 3.2-3.5, defined as data.

Each :class:`Service` lists its :class:`Param` s (with a human description and,
where there is one, a list of choices, so a web form can be generated from
these definitions) and validates a request: :meth:`Service.validate` turns wire
values (strings, JSON text for arrays) into typed values, collecting every
error into :class:`~apps.udil.errors.ValidationErrors`.

``transactionid`` and ``privatekey`` travel as HTTP headers (section 4): they
are not ``params`` of a service, except the ``transactionid`` set of
``transaction_status``. See :mod:`apps.udil.codec` for the wire.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from .datasets import DATASETS, ON_DEMAND_TYPES, DataSet
from .errors import FieldError, ValidationErrors
from .timefmt import format_datetime, format_time
from .validators import (
    SERVICE_KINDS,
    Validator,
    _blank,
    encode_json_text,
    v_code_choice,
    v_datetime,
    v_device_identity,
    v_device_ids,
    v_int_choice,
    v_int_range,
    v_ip,
    v_load_shedding_slabs,
    v_phone,
    v_positive_decimal,
    v_str,
    v_time,
    v_time_slab,
    v_transaction_ids,
)
from .values import (
    format_value,
)


# ------------------------------------------------------------------ model
@dataclass(frozen=True)
class Param:
    """One input parameter of a service.

    ``kind`` names the widget/value type: str, int, decimal, datetime, time,
    hhmm, choice, flag, ip, phone, array. ``choices`` lists ``(value, label)``.
    ``is_array`` parameters travel as JSON text in the form field.
    """

    name: str
    kind: str
    required: bool
    validator: Validator
    description: str
    choices: tuple[tuple[Any, str], ...] | None = None
    is_array: bool = False
    #: "hhmm": array items are times written as HH:mm (time_slab)
    item_kind: str | None = None

    def clean(self, value: Any) -> Any:
        """Wire value -> typed value (None when blank). Raises FieldError."""
        if _blank(value):
            return None
        return self.validator(value, self.name)

    def encode(self, value: Any) -> str:
        """Typed (or already text) value -> form field text."""
        if value is None:
            return ""
        if self.is_array:
            if isinstance(value, str):
                return value
            if self.item_kind == "hhmm":
                value = [format_time(v, seconds=False) if isinstance(v, time) else v for v in value]
            return encode_json_text(value)
        if isinstance(value, time):
            return format_time(value, seconds=self.kind != "hhmm")
        if isinstance(value, datetime):
            return format_datetime(value)
        if isinstance(value, Decimal):
            text = format(value.normalize(), "f")
            return text
        return format_value(value)


Check = Callable[[dict[str, Any]], dict[str, str]]


@dataclass(frozen=True)
class Service:
    """A UDIL service: ``path`` (relative, lower case), ``kind`` (auth, write,
    on_demand, status, cancel, read), ``params``, ``checks`` (cross-field rules),
    ``dataset`` (for read services)."""

    name: str
    path: str
    kind: str
    params: tuple[Param, ...]
    description: str
    spec_section: str
    checks: tuple[Check, ...] = ()
    dataset: DataSet | None = None
    #: At most this many devices per request (3.3's on-demand reads name one device).
    max_devices: int | None = None
    _by_name: dict[str, Param] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in SERVICE_KINDS:
            raise ValueError(f"unknown service kind {self.kind!r}")
        object.__setattr__(self, "_by_name", {p.name: p for p in self.params})

    @property
    def needs_transactionid(self) -> bool:
        """Writes, on-demand requests and cancels carry a transactionid header."""
        return self.kind in ("write", "on_demand", "cancel")

    @property
    def needs_privatekey(self) -> bool:
        return self.kind != "auth"

    def param(self, name: str) -> Param:
        return self._by_name[name]

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Wire (or typed) values -> typed values for every param (None when absent).

        Unknown keys are ignored. Raises ValidationErrors listing every bad field.
        """
        if not isinstance(params, Mapping):
            raise ValidationErrors({"params": f"must be a mapping, got {type(params).__name__}"})
        errors: dict[str, str] = {}
        typed: dict[str, Any] = {}
        for p in self.params:
            raw = params.get(p.name)
            try:
                value = p.clean(raw)
            except FieldError as exc:
                errors[p.name] = exc.reason if exc.field == p.name else str(exc)
                typed[p.name] = None
                continue
            if value is None and p.required:
                errors[p.name] = "is required"
            typed[p.name] = value
        for check in self.checks:
            for name, reason in check(typed).items():
                errors.setdefault(name, reason)
        if errors:
            raise ValidationErrors(errors)
        return typed


# ------------------------------------------------------------------ checks
def _ordered(start: str, end: str) -> Check:
    def check(typed: dict[str, Any]) -> dict[str, str]:
        a, b = typed.get(start), typed.get(end)
        if a is not None and b is not None and a > b:
            return {end: f"must not be before {start} ({format_datetime(a)})"}
        return {}

    return check


def _on_demand_window(typed: dict[str, Any]) -> dict[str, str]:
    kind = typed.get("type")
    if kind is None or kind in ("INST", "VISL"):
        return {}
    return {
        name: f"is required for type {kind}"
        for name in ("start_datetime", "end_datetime")
        if typed.get(name) is None
    }


def _periodic_interval(typed: dict[str, Any]) -> dict[str, str]:
    if typed.get("communication_type") == 1 and typed.get("communication_interval") is None:
        return {"communication_interval": "is required when communication_type is 1 (periodic)"}
    return {}


# ------------------------------------------------------------------ params
RELAY_CHOICES = ((0, "Disconnect"), (1, "Connect"))
ACTIVATION_CHOICES = ((0, "Inactive"), (1, "Active"))
DEVICE_TYPE_CHOICES = ((1, "Meter"), (2, "DCU"), (3, "Other"))
COMMUNICATION_MODE_CHOICES = (
    (1, "GPRS/3G/4G"),
    (2, "RF"),
    (3, "PLC"),
    (4, "Ethernet"),
    (5, "Other"),
)
COMMUNICATION_TYPE_CHOICES = ((0, "Always on"), (1, "Periodic on"), (2, "On demand"))
PHASE_CHOICES = ((1, "Single phase"), (3, "Three phase"))
METER_TYPE_CHOICES = ((1, "Normal"), (2, "Whole current"), (3, "CTO"), (4, "CTPT"))
DATA_TYPE_CHOICES = (
    ("INST", "Instantaneous data"),
    ("BILL", "Billing profiles"),
    ("LPRO", "Load profile"),
)
ON_DEMAND_TYPE_CHOICES = (
    ("INST", "Instantaneous data"),
    ("BILL", "Billing profiles"),
    ("MBIL", "Monthly billing profile"),
    ("LPRO", "Load profile"),
    ("EVNT", "Events"),
    ("VISL", "Visuals"),
)
assert {c for c, _ in ON_DEMAND_TYPE_CHOICES} == set(ON_DEMAND_TYPES)


def _p(
    name: str,
    kind: str,
    validator: Validator,
    description: str,
    *,
    required: bool = True,
    choices: tuple[tuple[Any, str], ...] | None = None,
    is_array: bool = False,
    item_kind: str | None = None,
) -> Param:
    return Param(name, kind, required, validator, description, choices, is_array, item_kind)


def _choice(
    name: str, choices: tuple[tuple[int, str], ...], description: str, *, required: bool = True
) -> Param:
    kind = "flag" if [c for c, _ in choices] == [0, 1] else "choice"
    return _p(name, kind, v_int_choice(choices), description, required=required, choices=choices)


GLOBAL_DEVICE_IDS = _p(
    "global_device_id",
    "array",
    v_device_ids,
    "Unique IDs of the devices (assigned by the MDM)",
    is_array=True,
)
# device_creation's list of devices, the same in 2019 and 3.3 (catalog_v33 uses it too).
DEVICE_IDENTITY = _p(
    "device_identity",
    "array",
    v_device_identity,
    'Array of {"dsn": meter serial number, "global_device_id": MDM device id}',
    is_array=True,
)
REQUEST_DATETIME = _p(
    "request_datetime", "datetime", v_datetime, "Date & time at which the request is made"
)


def _write(
    name: str, section: str, description: str, *params: Param, checks: tuple[Check, ...] = ()
) -> Service:
    return Service(
        name=name,
        path=name,
        kind="write",
        params=(GLOBAL_DEVICE_IDS, REQUEST_DATETIME, *params),
        description=description,
        spec_section=section,
        checks=checks,
    )


AUTHORIZATION_SERVICE = Service(
    name="authorization_service",
    path="authorization_service",
    kind="auth",
    params=(
        _p("username", "str", v_str(None), "Username for the web service"),
        _p("password", "str", v_str(None), "Password for the web service"),
        _p("code", "str", v_str(None), "Special code for the web service"),
    ),
    description="Get a private key (valid at least 30 minutes) for the other services",
    spec_section="3.2.1",
)

AUX_RELAY_OPERATIONS = _write(
    "aux_relay_operations",
    "3.4.1",
    "Remotely disconnect or reconnect meters",
    _choice("relay_operate", RELAY_CHOICES, "0 for Disconnect, 1 for Connect"),
)
TIME_SYNCHRONIZATION = _write(
    "time_synchronization",
    "3.4.2",
    "Synchronize meter time with the MDC time",
)
_NONNEG = v_int_range(0)
SANCTIONED_LOAD_CONTROL = _write(
    "sanctioned_load_control",
    "3.4.3",
    "Disconnect the supply (with warnings) after the sanctioned load is exceeded",
    _p("load_limit", "decimal", v_positive_decimal, "Threshold limit in kW"),
    _p("maximum_retries", "int", _NONNEG, "Maximum retries (number)"),
    _p("retry_interval", "int", _NONNEG, "Time interval for retry, in seconds"),
    _p(
        "threshold_duration",
        "int",
        _NONNEG,
        "Duration to accept crossing the threshold, in seconds",
    ),
    _p(
        "retry_clear_interval",
        "int",
        _NONNEG,
        "Time after which the retries count is cleared, in seconds",
    ),
)
LOAD_SHEDDING_SCHEDULING = _write(
    "load_shedding_scheduling",
    "3.4.4",
    "Auto disconnect/reconnect the supply at intervals set by the DISCO",
    _p("start_datetime", "datetime", v_datetime, "Date & time the schedule starts"),
    _p("end_datetime", "datetime", v_datetime, "Date & time till the schedule lasts"),
    _p(
        "load_shedding_slabs",
        "array",
        v_load_shedding_slabs,
        'Array of {"action_time": "HH:mm:ss", "relay_operate": 0 Disconnect / 1 Connect}',
        is_array=True,
    ),
    checks=(_ordered("start_datetime", "end_datetime"),),
)
TIME_OF_USE_CHANGE = _write(
    "time_of_use_change",
    "3.4.5",
    "Change the time slots of peak and off-peak tariffs",
    _p("season", "str", v_str(), "Season month range"),
    _p("days", "str", v_str(), "Number of days for tariff"),
    _p(
        "time_slab",
        "array",
        v_time_slab,
        'Starting and ending time slabs, e.g. ["08:00","17:00"]',
        is_array=True,
        item_kind="hhmm",
    ),
    _p("tariff_identification", "str", v_str(), "Tariff number"),
    _p("activation_datetime", "datetime", v_datetime, "Date & time the tariff activates"),
)
DEVICE_CREATION = Service(
    name="device_creation",
    path="device_creation",
    kind="write",
    params=(
        DEVICE_IDENTITY,
        _choice("device_type", DEVICE_TYPE_CHOICES, "Device type"),
        REQUEST_DATETIME,
        _choice("communication_mode", COMMUNICATION_MODE_CHOICES, "Communication mode"),
        # The 4.7 example omits communication_type: optional, liberal.
        _choice(
            "communication_type", COMMUNICATION_TYPE_CHOICES, "Communication type", required=False
        ),
        _p(
            "communication_interval",
            "int",
            v_int_range(1),
            "Communication interval in minutes (required when periodic)",
            required=False,
        ),
        _p("sim_number", "phone", v_phone, "SIM number", required=False),
        _p("sim_id", "str", v_str(), "SIM ID", required=False),
        _p(
            "mdi_reset_date",
            "int",
            v_int_range(1, 28),
            "Day of every month the MDI resets (1 to 28)",
            required=False,
        ),
        _p(
            "mdi_reset_time",
            "time",
            v_time(True),
            "Time at which the MDI resets (HH:mm:ss)",
            required=False,
        ),
        _choice("phase", PHASE_CHOICES, "1 for single phase, 3 for three phase"),
        _choice("meter_type", METER_TYPE_CHOICES, "Meter type"),
    ),
    description="First-time creation of devices in the MDC",
    spec_section="3.4.6",
    checks=(_periodic_interval,),
)
_PORT = v_int_range(1, 65535)
UPDATE_IP_PORT = _write(
    "update_ip_port",
    "3.4.7",
    "Change the IP address and port the meters report to",
    _p("primary_ip_address", "ip", v_ip, "New primary IP address"),
    _p("secondary_ip_address", "ip", v_ip, "New secondary IP address", required=False),
    _p("primary_port", "int", _PORT, "New primary port (1 to 65535)"),
    _p("secondary_port", "int", _PORT, "New secondary port (1 to 65535)", required=False),
)
METER_DATA_SAMPLING = _write(
    "meter_data_sampling",
    "3.4.8",
    "Configure the sampling interval of data stored in meters",
    _p("activation_datetime", "datetime", v_datetime, "Date & time the setting activates"),
    _p(
        "data_type",
        "choice",
        v_code_choice(DATA_TYPE_CHOICES),
        "Data type to sample",
        choices=DATA_TYPE_CHOICES,
    ),
    _p("sampling_interval", "int", v_int_range(1, 59), "Sampling interval in minutes (1 to 59)"),
    _p("sampling_initial_time", "int", v_int_range(0, 59), "Start time slot in minutes (0 to 59)"),
)
ACTIVATE_METER_OPTICAL_PORT = _write(
    "activate_meter_optical_port",
    "3.4.9",
    "Open the optical port of meters for an authorised user for a time window",
    _p("optical_port_on_datetime", "datetime", v_datetime, "Date & time to enable the port"),
    _p("optical_port_off_datetime", "datetime", v_datetime, "Date & time to disable the port"),
    checks=(_ordered("optical_port_on_datetime", "optical_port_off_datetime"),),
)
WAKE_UP_SIM_NUMBER_UPDATE = _write(
    "wake_up_sim_number_update",
    "3.4.10",
    "Change the SIM numbers allowed to wake meters up (SMS or call)",
    _p("wakeup_number_1", "phone", v_phone, "SIM number 1 for wakeup"),
    _p("wakeup_number_2", "phone", v_phone, "SIM number 2 for wakeup", required=False),
    _p("wakeup_number_3", "phone", v_phone, "SIM number 3 for wakeup", required=False),
)
METER_STATUS_UPDATE = _write(
    "meter_status_update",
    "3.4.11",
    "Activate (MDC reads it) or deactivate (MDC stops reading) meters",
    _choice("meter_activation_status", ACTIVATION_CHOICES, "1 for Active, 0 for Inactive"),
)

ON_DEMAND_REQUEST = Service(
    name="on_demand_request",
    path="on_demand_request",
    kind="on_demand",
    params=(
        GLOBAL_DEVICE_IDS,
        _p(
            "type",
            "choice",
            v_code_choice(ON_DEMAND_TYPE_CHOICES),
            "Data to read from the meter",
            choices=ON_DEMAND_TYPE_CHOICES,
        ),
        _p(
            "start_datetime",
            "datetime",
            v_datetime,
            "Start of the data window (not for INST and VISL)",
            required=False,
        ),
        _p(
            "end_datetime",
            "datetime",
            v_datetime,
            "End of the data window (not for INST and VISL)",
            required=False,
        ),
        _p(
            "request_datetime", "datetime", v_datetime, "Date & time of the request", required=False
        ),
    ),
    description="Ask the MDC to read data from meters now; rows come back in "
    "transaction_status response_data",
    spec_section="3.5",
    checks=(_on_demand_window, _ordered("start_datetime", "end_datetime")),
)
TRANSACTION_STATUS_SERVICE = Service(
    name="transaction_status",
    path="transaction_status",
    kind="status",
    params=(
        _p(
            "transactionid",
            "array",
            v_transaction_ids,
            "Transaction ID(s): one in the header, several as a JSON array",
            is_array=True,
        ),
    ),
    description="Status of commands per device, with on-demand data in response_data",
    spec_section="3.5.2",
)
TRANSACTION_CANCEL = Service(
    name="transaction_cancel",
    path="transaction_cancel",
    kind="cancel",
    params=(
        GLOBAL_DEVICE_IDS,
        _p(
            "request_datetime", "datetime", v_datetime, "Date & time of the request", required=False
        ),
    ),
    description="Cancel a command for devices still at status level 0, 1 or 2",
    spec_section="3.5.3",
)


def read_service_of(ds: DataSet) -> Service:
    """The read API service of a data set (3.3 of its path)."""
    return Service(
        name=ds.read_path or ds.code,
        path=ds.read_path or ds.code,
        kind="read",
        params=(
            GLOBAL_DEVICE_IDS,
            _p("start_datetime", "datetime", v_datetime, "Data start time", required=False),
            _p("end_datetime", "datetime", v_datetime, "Data end time", required=False),
        ),
        description=f"Read {ds.table} rows ({ds.description})",
        spec_section="3.3",
        checks=(_ordered("start_datetime", "end_datetime"),),
        dataset=ds,
    )


WRITE_COMMANDS: tuple[str, ...] = (
    "aux_relay_operations",
    "time_synchronization",
    "sanctioned_load_control",
    "load_shedding_scheduling",
    "time_of_use_change",
    "device_creation",
    "update_ip_port",
    "meter_data_sampling",
    "activate_meter_optical_port",
    "wake_up_sim_number_update",
    "meter_status_update",
)

READ_SERVICES: dict[str, Service] = {ds.code: read_service_of(ds) for ds in DATASETS.values()}

SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        AUTHORIZATION_SERVICE,
        AUX_RELAY_OPERATIONS,
        TIME_SYNCHRONIZATION,
        SANCTIONED_LOAD_CONTROL,
        LOAD_SHEDDING_SCHEDULING,
        TIME_OF_USE_CHANGE,
        DEVICE_CREATION,
        UPDATE_IP_PORT,
        METER_DATA_SAMPLING,
        ACTIVATE_METER_OPTICAL_PORT,
        WAKE_UP_SIM_NUMBER_UPDATE,
        METER_STATUS_UPDATE,
        ON_DEMAND_REQUEST,
        TRANSACTION_STATUS_SERVICE,
        TRANSACTION_CANCEL,
        *READ_SERVICES.values(),
    )
}
assert all(SERVICES[n].kind == "write" for n in WRITE_COMMANDS)


def get_service(service: str | Service) -> Service:
    """A Service, or its name (case-insensitive) -> Service. KeyError if unknown."""
    if isinstance(service, Service):
        return service
    return SERVICES[service.strip().lower()]
