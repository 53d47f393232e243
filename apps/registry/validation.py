"""Validation rules for MDC settings that live in JSON fields (shared by model, forms, API)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError

from apps.registry.choices import DATASET_TABLE_IDS, Dataset, Transport

DATASET_CODES = frozenset(Dataset.values)
TABLE_IDS = frozenset(DATASET_TABLE_IDS.values())


def minutes_by_dataset(value, *, field: str) -> None:
    """``{dataset_code: positive whole minutes}``."""
    if not isinstance(value, dict):
        raise ValidationError({field: "Must be an object of {dataset_code: minutes}."})
    problems = []
    for key, minutes in value.items():
        if key not in DATASET_CODES:
            problems.append(f"unknown data set {key!r} (use {', '.join(sorted(DATASET_CODES))})")
        elif isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
            problems.append(f"{key}: minutes must be a whole number of at least 1")
    if problems:
        raise ValidationError({field: problems})


def path_overrides(value) -> None:
    """``{service_name: path}`` with plain relative paths."""
    if not isinstance(value, dict):
        raise ValidationError({"path_overrides": "Must be an object of {service_name: path}."})
    problems = []
    for key, path in value.items():
        if not isinstance(key, str) or not key.strip():
            problems.append("service names must be non-empty text")
        elif not isinstance(path, str) or not path.strip() or "://" in path or ".." in path:
            problems.append(f"{key}: path must be a relative path such as 'v2/events'")
    if problems:
        raise ValidationError({"path_overrides": problems})


def tabular_views(value) -> None:
    """``{TABLE_ID: view name}``."""
    if not isinstance(value, dict):
        raise ValidationError({"tabular_views": "Must be an object of {TABLE_ID: view name}."})
    problems = []
    for key, view in value.items():
        if key not in TABLE_IDS:
            problems.append(f"unknown table {key!r} (use {', '.join(sorted(TABLE_IDS))})")
        elif not isinstance(view, str) or not view.strip():
            problems.append(f"{key}: view name must be non-empty text")
    if problems:
        raise ValidationError({"tabular_views": problems})


def tabular_database_url(value: str) -> None:
    """A tabular MDC's database URL names an engine this MDM reads, with its driver installed
    (``apps.udil.engines``); the URL itself is never echoed (it may hold a password)."""
    from apps.udil.engines import url_problem

    problem = url_problem(value) if value else None
    if problem:
        raise ValidationError({"tabular_database_url": problem})


# --- MDC addresses -----------------------------------------------------------------------------
# MDCs live on the utility's private networks, so private ranges stay allowed. Link-local
# addresses and cloud metadata services are never a head end: a URL pointing there would make
# the portal fetch its host's cloud credentials for whoever registers the MDC.
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "metadata.azure.com"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("fd00:ec2::254", "100.100.100.200", "168.63.129.16", "192.0.0.192")
)


def url_host_problem(url: str) -> str | None:
    """Why ``url`` may not be an MDC address, or None. The host is judged as written (a name
    is not resolved here: the client connects to what DNS says at the time)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return "This is not a valid URL."
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return (
            "Put the MDC's username and password in their own fields, not in the URL "
            "(user:password@host is refused: it would be stored and shown in clear)."
        )
    if host in METADATA_HOSTS or host.endswith(".metadata.google.internal"):
        return f"{host} is a cloud metadata service, not an MDC."
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    for candidate in filter(None, (address, mapped)):
        if candidate in METADATA_ADDRESSES:
            return f"{host} is a cloud metadata service address, not an MDC."
        if candidate.is_link_local:
            return (
                f"{host} is a link-local address (169.254.0.0/16, fe80::/10), where cloud "
                "metadata services live; an MDC has a routable address (private ranges are fine)."
            )
        if candidate.is_unspecified or candidate.is_multicast:
            return f"{host} cannot be an MDC's address."
    return None


def mdc_base_url(value: str) -> None:
    problem = url_host_problem(value) if value else None
    if problem:
        raise ValidationError({"base_url": problem})


def url_without_userinfo(url: str) -> str:
    """``url`` as shown to people: any ``user:password@`` stored before the rule is dropped."""
    if not url or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc))


# --- meter and consumer values (one rule for the API, the pages and the CSV import) ---------------
MSN_MAX = 2**63 - 1
ADDRESS_MAX_LENGTH = 500


def msn_problem(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"msn {value!r} is not a positive whole number"
    if not 0 < value <= MSN_MAX:
        return f"msn {value} is out of range 1..{MSN_MAX}"
    return None


def text_problem(value, *, name: str, max_length: int | None = None) -> str | None:
    """NUL characters cannot be stored (PostgreSQL refuses them); lengths are checked before
    the database is asked."""
    if not isinstance(value, str):
        return None
    if "\x00" in value:
        return f"{name} contains a NUL character"
    if max_length is not None and len(value) > max_length:
        return f"{name} is longer than {max_length} characters"
    return None


def import_file_size(upload) -> None:
    """An uploaded import may be at most ``settings.IMPORT_MAX_BYTES``."""
    from django.conf import settings

    limit = settings.IMPORT_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError(
            f"The file is larger than {limit:,} bytes ({size:,}); split it into parts."
        )


#: What each transport needs on the registration, with the message when it is missing.
TRANSPORT_REQUIRED = {
    Transport.API: {"base_url": "An API MDC needs a base URL."},
    Transport.TABULAR: {"tabular_database_url": "A tabular MDC needs a database URL."},
    Transport.FILE: {"file_directory": "A flat-file MDC needs its delivery directory."},
}


def transport_settings(mdc) -> None:
    """The fields the MDC's transport needs are set; a delivery directory is an absolute path."""
    errors = {
        name: message
        for name, message in TRANSPORT_REQUIRED.get(mdc.transport, {}).items()
        if not getattr(mdc, name)
    }
    directory = (mdc.file_directory or "").strip()
    if directory and "file_directory" not in errors and not directory.startswith("/"):
        errors["file_directory"] = "The delivery directory must be an absolute path."
    if errors:
        raise ValidationError(errors)
