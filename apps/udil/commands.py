"""The commands an MDM sends to an MDC, described once, as data.

A :class:`CommandDef` names a command by its *common* name (2019's service name, or the
service's own name where 3.3 introduced it), what it is (write, on-demand read, cancel) and
how people call it. Which service carries it, with which parameters, is the profile's: a
profile offers a command when it has the service (or an alias of it), so
``commands_of(PROFILE_3_3)`` lists 3.3's commands and ``command_service(profile, name)`` gives
the service an MDC of that profile is called with (its own wire name, its own parameters).

Adding a command is an entry in :data:`COMMAND_DEFS` (and its service in the profile's
catalogue); the MDM (``apps.commands.spec``) and the simulator
(``apps.simulator.services.handlers``) add what they do with it, keyed by the same name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .catalog import Param, Service
from .errors import UdilError
from .profiles import PROFILES, Profile

#: Parameters the MDM fills in itself: the devices (from the selection) and the request time.
AUTO_PARAMS = frozenset({"global_device_id", "device_identity", "request_datetime"})


@dataclass(frozen=True)
class CommandDef:
    """One command: ``name`` (common), ``label``, ``kind`` (write, on_demand, cancel) and
    ``sendable`` (a person picks it in the console; a cancel is made from a request)."""

    name: str
    label: str
    kind: str = "write"
    sendable: bool = True

    def profiles(self) -> list[str]:
        """Names of the registered profiles that offer this command."""
        return [p.name for p in PROFILES.values() if p.has(self.name)]


COMMAND_DEFS: tuple[CommandDef, ...] = (
    CommandDef("aux_relay_operations", "Relay operation (connect/disconnect)"),
    CommandDef("time_synchronization", "Time synchronization"),
    CommandDef("sanctioned_load_control", "Sanctioned load control"),
    CommandDef("load_shedding_scheduling", "Load shedding scheduling"),
    CommandDef("time_of_use_change", "Time of use change"),
    CommandDef("device_creation", "Device creation"),
    CommandDef("update_ip_port", "Update IP and port"),
    CommandDef("meter_data_sampling", "Meter data sampling"),
    CommandDef("activate_meter_optical_port", "Activate optical port"),
    CommandDef("wake_up_sim_number_update", "Wake-up SIM numbers"),
    CommandDef("meter_status_update", "Meter status (activate/deactivate)"),
    CommandDef("update_device_metadata", "Device metadata (3.3)"),
    CommandDef("update_mdi_reset_date", "MDI reset date (3.3)"),
    CommandDef("apms_tripping_events", "APMS tripping thresholds (3.3)"),
    CommandDef("parameterization_cancellation", "Cancel a programmed operation (3.3)"),
    CommandDef("update_major_alarms", "Major alarms (3.3)"),
    CommandDef("on_demand_request", "On-demand read", kind="on_demand"),
    CommandDef("on_demand_parameter_read", "On-demand parameter read (3.3)", kind="on_demand"),
    CommandDef("transaction_cancel", "Cancel", kind="cancel", sendable=False),
)
COMMANDS: dict[str, CommandDef] = {c.name: c for c in COMMAND_DEFS}


def get_command(name: str) -> CommandDef:
    """CommandDef by common name. UdilError if there is none."""
    try:
        return COMMANDS[name]
    except KeyError:
        raise UdilError(f"unknown command {name!r}") from None


def commands_of(profile: Profile) -> list[CommandDef]:
    """The commands a profile offers, in :data:`COMMAND_DEFS` order."""
    return [c for c in COMMAND_DEFS if profile.has(c.name)]


def command_service(profile: Profile, name: str) -> Service:
    """The service that carries command ``name`` for an MDC of ``profile``."""
    return profile.service(name)


def command_params(profile: Profile, name: str) -> list[Param]:
    """The parameters a person fills in for a command on this profile."""
    return [p for p in profile.service(name).params if p.name not in AUTO_PARAMS]


def params_union(profiles: Iterable[Profile], name: str) -> list[Param]:
    """Parameters of a command over several profiles (first definition of a name wins): the
    one form of a command sent to MDCs of different revisions."""
    out: dict[str, Param] = {}
    for profile in profiles:
        if profile.has(name):
            for param in command_params(profile, name):
                out.setdefault(param.name, param)
    return list(out.values())


# Every command is offered by at least one profile, and every write or on-demand service of
# a profile is a command.
assert all(c.profiles() for c in COMMAND_DEFS), [c.name for c in COMMAND_DEFS if not c.profiles()]
for _profile in PROFILES.values():
    _missing = {
        _profile.common_name(s.name)
        for s in _profile.services.values()
        if s.kind in ("write", "on_demand", "cancel")
    } - set(COMMANDS)
    assert not _missing, f"profile {_profile.name}: services without a command: {_missing}"
