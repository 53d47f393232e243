"""The registry's field lists, declared once (#9). Services accept these fields, forms show
them in this order, serializers and the CSV import derive theirs from them; a field added to a
model is added here (and, if it is a secret, to ``SECRET_FIELDS``)."""

from __future__ import annotations

#: Stored encrypted, never sent back (pages show "set"/"not set"; the API ``<name>_set``).
SECRET_FIELDS = frozenset({"password", "auth_code", "tabular_database_url"})

#: What registering or editing an MDC may set, in the order the form shows them.
MDC_FIELDS = (
    "code",
    "name",
    "vendor",
    "udil_profile",
    "transport",
    "base_url",
    "data_format",
    "credentials_in",
    "username",
    "password",
    "auth_code",
    "path_overrides",
    "timeout_seconds",
    "batch_size",
    "window_minutes",
    "tabular_database_url",
    "tabular_views",
    "tabular_mark_synced",
    "file_directory",
    "pull_intervals",
    "key_lifetime_minutes",
    "lp_energy_kind",
    "energy_register_max",
    "enabled",
)

#: A meter's identity: the MDM's id (never changes once assigned) and its serial number.
METER_IDENTITY = ("global_device_id", "msn")
#: A meter's registration apart from its identity (what an update may change, with ``msn``).
METER_FIELDS = (
    "mdc",
    "device_type",
    "phase",
    "meter_type",
    "communication_mode",
    "communication_type",
    "communication_interval",
    "sim_number",
    "sim_id",
    "mdi_reset_date",
    "mdi_reset_time",
    "activation_status",
    "transformer",
    "consumer",
    "profile_hint",
)
#: The registration form and the CSV import's columns: ``msn`` first (the one required column).
METER_REGISTRATION = ("msn", "global_device_id", *METER_FIELDS)

CONSUMER_KEY = "reference_no"
CONSUMER_FIELDS = ("name", "address", "tariff", "sanctioned_load_kw", "phase", "connection_status")
CONSUMER_REGISTRATION = (CONSUMER_KEY, *CONSUMER_FIELDS)


def with_secret_flags(fields) -> list[str]:
    """``fields`` with ``<secret>_set`` after each secret (the API's read-only flags)."""
    out = []
    for name in fields:
        out.append(name)
        if name in SECRET_FIELDS:
            out.append(f"{name}_set")
    return out
