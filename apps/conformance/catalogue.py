"""The check catalogue, as data derived from the MDC's UDIL profile: the read APIs, write
commands, on-demand types and services come from ``apps.udil`` definitions, never a hand list,
so a new profile (3.3) gets its own checks without touching this module."""

from __future__ import annotations

from dataclasses import dataclass

from apps.udil.datasets import EVENT_CODES
from apps.udil.profiles import Profile

AUTH, READ, WRITE, ON_DEMAND, TRACKING, CANCEL, RESEND, MALFORMED, EVENTS = (
    "authorization",
    "read",
    "write",
    "on_demand",
    "tracking",
    "cancel",
    "resend",
    "malformed",
    "events",
)


@dataclass(frozen=True)
class CheckDef:
    """One check: ``code`` is stable across runs (runs are compared by it); ``target`` names
    the service, data set or on-demand type the check is about."""

    code: str
    group: str
    title: str
    target: str = ""


def event_codes(profile: Profile) -> frozenset[int]:
    """The event codes the profile defines: 2019's, or for a later revision 3.3's table
    (about 110 codes; the 2019 codes keep their numbers in it)."""
    from apps.udil.profiles import PROFILE_2019

    if profile.name == PROFILE_2019.name:
        return frozenset(EVENT_CODES)
    try:
        from apps.udil.events_v33 import EVENT_CODES_3_3
    except ImportError:  # the 3.3 code table is the protocol package's; 2019's until it lands
        return frozenset(EVENT_CODES)
    return frozenset(EVENT_CODES_3_3)


def write_commands(profile: Profile) -> list[str]:
    return [name for name, svc in profile.services.items() if svc.kind == "write"]


def on_demand_services(profile: Profile) -> list:
    return [s for s in profile.services.values() if s.kind == "on_demand"]


def on_demand_types(profile: Profile) -> list[str]:
    """Types of the profile's first on-demand service (2019 on_demand_request, 3.3
    on_demand_data_read): their checks keep the codes ``on_demand.<type>`` in every profile."""
    services = on_demand_services(profile)
    if not services:
        return []
    return [code for code, _ in services[0].param("type").choices or ()]


def on_demand_checks(profile: Profile) -> list[tuple[str, str, str]]:
    """(code, service, type) of every type of every on-demand service of the profile (3.3's
    on_demand_parameter_read too, as ``on_demand.<service>.<type>``)."""
    out = []
    for i, svc in enumerate(on_demand_services(profile)):
        for type_code, _ in svc.param("type").choices or ():
            code = f"on_demand.{type_code}" if i == 0 else f"on_demand.{svc.name}.{type_code}"
            out.append((code, svc.name, type_code))
    return out


def catalogue(profile: Profile) -> list[CheckDef]:
    checks = [
        CheckDef("auth.wrong_password", AUTH, "A wrong password is refused with HTTP 401"),
        CheckDef("auth.key_works", AUTH, "The private key from authorization_service works"),
        CheckDef("auth.bad_key", AUTH, "An unknown private key is refused with HTTP 401"),
        CheckDef("auth.renew_on_401", AUTH, "After a 401, a renewed key is issued and accepted"),
    ]
    for svc in profile.services.values():
        if svc.kind == "read" and svc.dataset is not None:
            checks.append(
                CheckDef(
                    f"read.{svc.dataset.code}",
                    READ,
                    f"{svc.name}: answer parses, every field of {svc.dataset.table} present "
                    "and in its format",
                    svc.dataset.code,
                )
            )
    for name in write_commands(profile):
        checks.append(
            CheckDef(
                f"write.{name}",
                WRITE,
                f"{name}: accepted with its transactionid and tracked to a final status level",
                name,
            )
        )
    for code, service, type_code in on_demand_checks(profile):
        checks.append(
            CheckDef(
                code,
                ON_DEMAND,
                f"{service} {type_code}: answered or tracked, rows in their format",
                f"{service}:{type_code}",
            )
        )
    checks += [
        CheckDef(
            "tracking.format",
            TRACKING,
            "transaction_status rows: every field present and in its format, levels 0-5 "
            "never going back",
        ),
        CheckDef("cancel.rules", CANCEL, "transaction_cancel honoured only at levels 0, 1, 2"),
        CheckDef("resend.same_transactionid", RESEND, "A resent transactionid does not act twice"),
    ]
    for svc in profile.services.values():
        if svc.kind != "auth":
            checks.append(
                CheckDef(
                    f"malformed.{svc.name}",
                    MALFORMED,
                    f"{svc.name}: a malformed request is answered 400 with a message",
                    svc.name,
                )
            )
    checks.append(CheckDef("events.codes", EVENTS, "Every event code sent is a known UDIL code"))
    return checks
