"""Transports as classes, chosen from one mapping by ``Mdc.transport`` (the healthchecks
pattern): the API (web services), tabular (database views) and flat files (CSV deliveries).

``transport_for(mdc)`` is the one place the MDM chooses how an MDC is read; the registry's
connection test reaches ``transport_probe`` through ``settings.REGISTRY_TRANSPORT_PROBE``
(the registry sits below ingestion and may not import it).
"""

from __future__ import annotations

from apps.ingestion.transports.api import ApiTransport
from apps.ingestion.transports.base import Transport
from apps.ingestion.transports.file import FileTransport
from apps.ingestion.transports.tabular import TabularCheckFailed, TabularTransport

TRANSPORTS: dict[str, type[Transport]] = {
    "api": ApiTransport,
    "tabular": TabularTransport,
    "file": FileTransport,
}

__all__ = [
    "TRANSPORTS",
    "ApiTransport",
    "FileTransport",
    "TabularCheckFailed",
    "TabularTransport",
    "Transport",
    "transport_for",
    "transport_probe",
]


def transport_for(mdc) -> Transport:
    """The transport of a registered MDC."""
    try:
        cls = TRANSPORTS[mdc.transport]
    except KeyError:
        raise ValueError(f"MDC {mdc.code} has an unknown transport {mdc.transport!r}.") from None
    return cls(mdc)


def transport_probe(mdc) -> str:
    """Try the MDC over its transport: a sentence on success; raises with what failed."""
    return transport_for(mdc).probe()
