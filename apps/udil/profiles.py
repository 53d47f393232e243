"""Protocol profiles: which revision of UDIL an MDC speaks.

A :class:`Profile` bundles the service definitions (names, paths, params) and
the data-set definitions (fields) of one revision. The revision is a property
of each registered MDC; the MDM looks the profile up by name with
:func:`get_profile` and resolves paths with :meth:`Profile.path_for`, applying
that MDC's per-service path overrides (real vendors differ from NOTES.md).

``PROFILE_2019`` is the 2019 text; ``PROFILE_3_3`` (UDIL 3.3, 2025) is derived from it,
a new Profile, not a rewrite::

    PROFILE_3_3 = PROFILE_2019.derive(
        "3.3",
        services={...renamed/added Service objects, e.g. "update_time_of_use"...},
        datasets={...DataSet objects with id/is_synced and the new fields...},
        aliases={"time_of_use_change": "update_time_of_use", ...},
    )
    register(PROFILE_3_3)

``aliases`` maps the 2019 service names the MDM code uses to the profile's own,
so callers keep calling ``client.call("time_of_use_change", ...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .catalog import SERVICES, Service, read_service_of
from .catalog_v33 import ALIASES_3_3, REMOVED_3_3, SERVICES_3_3
from .datasets import DATASETS, TRANSACTION_STATUS, DataSet
from .datasets_v33 import DATASETS_3_3
from .errors import UdilError


@dataclass(frozen=True)
class Profile:
    """One UDIL revision: ``services`` by name, ``datasets`` by code,
    ``transaction_status`` table, and ``aliases`` (common name -> own name)."""

    name: str
    services: Mapping[str, Service]
    datasets: Mapping[str, DataSet]
    transaction_status: DataSet = TRANSACTION_STATUS
    description: str = ""
    aliases: Mapping[str, str] = field(default_factory=dict)
    #: transaction_status ``indv_status`` as the MDC writes it -> the 2019 meaning the MDM
    #: keeps (1 going well or done, 0 failed); values not named keep their 2019 meaning.
    indv_status_map: Mapping[int, int] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Does this profile have the service (or alias) ``name``."""
        key = name.strip().lower()
        return self.aliases.get(key, key) in self.services

    def common_name(self, own: str) -> str:
        """The name MDM code uses for one of this profile's services (its alias, if any)."""
        key = own.strip().lower()
        return next((common for common, mine in self.aliases.items() if mine == key), key)

    def indv_status(self, value: int | None) -> int | None:
        """A transaction_status ``indv_status`` in the 2019 meaning (see ``indv_status_map``)."""
        return self.indv_status_map.get(value, value) if value is not None else None

    def service(self, name: str) -> Service:
        """Service by name (or alias). UdilError if this profile lacks it."""
        key = name.strip().lower()
        key = self.aliases.get(key, key)
        try:
            return self.services[key]
        except KeyError:
            raise UdilError(f"profile {self.name} has no service {name!r}") from None

    def dataset(self, code: str) -> DataSet:
        try:
            return self.datasets[code]
        except KeyError:
            raise UdilError(f"profile {self.name} has no data set {code!r}") from None

    def read_service(self, dataset_code: str) -> Service:
        """The read API service of a data set (``load_profile`` -> load_profile_data)."""
        ds = self.dataset(dataset_code)
        for svc in self.services.values():
            if svc.kind == "read" and svc.dataset is not None and svc.dataset.code == ds.code:
                return svc
        raise UdilError(f"profile {self.name} has no read service for {dataset_code!r}")

    def path_for(self, service_name: str, overrides: Mapping[str, str] | None = None) -> str:
        """Path of a service (no leading slash), with a per-MDC override applied.

        ``overrides`` maps a service name (or the profile's own name) to a path
        or to an absolute URL (``https://...``), which callers use as is.
        """
        svc = self.service(service_name)
        if overrides:
            for key in (service_name, svc.name):
                path = overrides.get(key)
                if path:
                    return path if "://" in path else path.strip().lstrip("/")
        return svc.path

    def derive(
        self,
        name: str,
        *,
        services: Mapping[str, Service] | None = None,
        datasets: Mapping[str, DataSet] | None = None,
        remove_services: tuple[str, ...] = (),
        aliases: Mapping[str, str] | None = None,
        description: str = "",
        indv_status_map: Mapping[int, int] | None = None,
    ) -> Profile:
        """A new profile: this one's definitions updated with the given ones."""
        merged = {k: v for k, v in self.services.items() if k not in remove_services}
        merged.update(services or {})
        for ds in (datasets or {}).values():  # read services follow their data set's definition
            reads = [k for k, v in merged.items() if v.kind == "read" and v.dataset.code == ds.code]
            for key in reads:
                merged[key] = replace(merged[key], dataset=ds)
            if not reads and ds.read_path:
                merged[ds.read_path] = read_service_of(ds)
        return Profile(
            name=name,
            services=merged,
            datasets={**self.datasets, **(datasets or {})},
            transaction_status=self.transaction_status,
            description=description,
            aliases={k: v for k, v in {**self.aliases, **(aliases or {})}.items() if v in merged},
            indv_status_map={**self.indv_status_map, **(indv_status_map or {})},
        )


PROFILE_2019 = Profile(
    name="2019",
    services=dict(SERVICES),
    datasets=dict(DATASETS),
    description="UDIL, USAID/SEP, February 19, 2019, with the fixes of NOTES.md",
)

#: UDIL 3.3 (PITC, September 2025): renamed and new services (apps.udil.catalog_v33), the
#: 3.3 data sets (apps.udil.datasets_v33), and transaction_status indv_status 0 in progress,
#: 1 done, 2 failed (docs/udil-notes.md, "3.3 services").
PROFILE_3_3 = PROFILE_2019.derive(
    "3.3",
    services=SERVICES_3_3,
    datasets=DATASETS_3_3,
    remove_services=REMOVED_3_3,
    aliases=ALIASES_3_3,
    indv_status_map={0: 1, 1: 1, 2: 0},
    description="UDIL 3.3, PITC, September 2025",
)

DEFAULT_PROFILE = PROFILE_2019

PROFILES: dict[str, Profile] = {p.name: p for p in (PROFILE_2019, PROFILE_3_3)}


def register(profile: Profile) -> Profile:
    """Add a profile to :data:`PROFILES` (replacing one of the same name)."""
    PROFILES[profile.name] = profile
    return profile


def get_profile(name: str | None) -> Profile:
    """Profile by name ("2019"); None or "" gives the default. UdilError if unknown."""
    if not name:
        return DEFAULT_PROFILE
    try:
        return PROFILES[name.strip()]
    except KeyError:
        raise UdilError(
            f"unknown UDIL profile {name!r} (known: {', '.join(sorted(PROFILES))})"
        ) from None
