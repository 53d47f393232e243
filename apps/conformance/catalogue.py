"""The check catalogue, as data derived from the MDC's UDIL profile: the read APIs, write
commands, on-demand types and services come from ``apps.udil`` definitions, never a hand list,
so a new profile (3.3) gets its own checks without touching this module."""

from __future__ import annotations

from dataclasses import dataclass

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


def write_commands(profile: Profile) -> list[str]:
    return [name for name, svc in profile.services.items() if svc.kind == "write"]


def on_demand_types(profile: Profile) -> list[str]:
    svc = next((s for s in profile.services.values() if s.kind == "on_demand"), None)
    if svc is None:
        return []
    return [code for code, _ in svc.param("type").choices or ()]


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
    for type_code in on_demand_types(profile):
        checks.append(
            CheckDef(
                f"on_demand.{type_code}",
                ON_DEMAND,
                f"on_demand_request {type_code}: tracked, response_data rows in their format",
                type_code,
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
