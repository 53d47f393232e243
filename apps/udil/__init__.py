"""UDIL - Universal Data Integration Layer (USAID/SEP, 2019) protocol package.

Plain Python (no Django): the data sets of section 3.1, the services of
sections 3.2-3.5, the wire of section 4 (form-encoded requests, JSON/XML
responses), protocol profiles (revisions) and an HTTP client for the MDM.
Read ``docs/udil-notes.md`` (in this repository) for the fixes applied to the OCR'd spec;
every "NOTES.md" cited in the code means that file.

Modules: errors, timefmt, values, datasets (datasets_v33), catalog (the web services; 3.3's in
catalog_v33 and tou), profiles (2019, 3.3), commands (the commands as data), codec, client.
"""

from .catalog import SERVICES, WRITE_COMMANDS, Param, Service, get_service
from .codec import (
    DEFAULT_MAX_BYTES,
    DeviceStatus,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    error_response,
    parse_status,
    response_devices,
    response_rows,
)
from .datasets import (
    BILLING,
    DATASETS,
    EVENTS,
    INSTANTANEOUS,
    LOAD_PROFILE,
    METER_VISUALS,
    MONTHLY_BILLING,
    TRANSACTION_STATUS,
    DataSet,
    Field,
    Row,
    by_on_demand_type,
)
from .errors import (
    FieldError,
    MalformedBody,
    MdcUnavailable,
    UdilError,
    UdilStatusError,
    ValidationErrors,
)
from .profiles import PROFILE_3_3, PROFILE_2019, PROFILES, Profile, get_profile
from .timefmt import PKT, format_datetime, parse_datetime, parse_time

__all__ = [
    "BILLING",
    "DATASETS",
    "DEFAULT_MAX_BYTES",
    "EVENTS",
    "INSTANTANEOUS",
    "LOAD_PROFILE",
    "METER_VISUALS",
    "MONTHLY_BILLING",
    "PKT",
    "PROFILES",
    "PROFILE_3_3",
    "PROFILE_2019",
    "SERVICES",
    "TRANSACTION_STATUS",
    "WRITE_COMMANDS",
    "DataSet",
    "DeviceStatus",
    "Field",
    "FieldError",
    "MalformedBody",
    "MdcClient",
    "MdcUnavailable",
    "Param",
    "Profile",
    "Row",
    "Service",
    "UdilError",
    "UdilStatusError",
    "ValidationErrors",
    "by_on_demand_type",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "error_response",
    "format_datetime",
    "get_profile",
    "get_service",
    "parse_datetime",
    "parse_status",
    "parse_time",
    "response_devices",
    "response_rows",
]


def __getattr__(name: str):
    # The client needs httpx; import it lazily so the simulator need not.
    if name == "MdcClient":
        from .client import MdcClient

        return MdcClient
    raise AttributeError(name)
