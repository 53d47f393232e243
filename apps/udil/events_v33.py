"""UDIL 3.3 event codes (section 3.1.5): about 110 codes with their names, what they mean, the
devices they apply to, and which are "major alarms" (reported at once whatever the meter's
communication type; Power Fail Start as a last gasp).

The 2019 codes (``apps.udil.datasets.EVENT_CODES``) keep their numbers in 3.3. Points settled
from the text (``docs/udil-notes.md``, "3.3 data sets"): the name and description columns run
together in the text and are split here by hand; ``{{?}}`` stands for the parameter's values;
311 "Over Load Function Programmed" reads "Under Current Limit Updated" in the text (a copy of
310's wording): stored as "Overload Limit Updated in Meter"; codes 178, 181-186, 199-200,
204-205 are not defined.
"""

from __future__ import annotations

from typing import NamedTuple


class EventCode(NamedTuple):
    code: int
    name: str
    description: str
    #: The devices it applies to, as the text says ("All Devices", "3P, APMS", "APMS", ...).
    devices: str


EVENTS_3_3: tuple[EventCode, ...] = (
    EventCode(101, "MDI Reset", "Monthly MDI RESET", "All Devices"),
    EventCode(102, "Parameterization", "Update Parameter of Meter", "All Devices"),
    EventCode(111, "Power Fail Start", "Power Supply Down", "All Devices"),
    EventCode(112, "Power Fail End", "Power Supply Up", "All Devices"),
    EventCode(113, "Phase Failure", "Any Phase Supply Down", "All Devices"),
    EventCode(114, "Over Voltage", "Voltage more than Limit", "All Devices"),
    EventCode(115, "Under Voltage", "Voltage less than Limit", "All Devices"),
    EventCode(
        116, "Demand Overload", "Connected load is more than programmed value", "All Devices"
    ),
    EventCode(117, "Reverse Energy", "Reverse direction of current", "3P, APMS"),
    EventCode(118, "Reverse Polarity", "Phase and Neutral interchange", "3P, APMS"),
    EventCode(121, "CT Bypass", "Current not flowing through CT Start", "3P, APMS"),
    EventCode(122, "CT Bypass End", "Current not flowing through CT End", "3P, APMS"),
    EventCode(131, "Phase Failure L1 Start", "L1 Phase Supply Down", "3P, APMS"),
    EventCode(132, "Phase Failure L1 End", "L1 Phase Supply Up", "3P, APMS"),
    EventCode(133, "Phase Failure L2 Start", "L2 Phase Supply Down", "3P, APMS"),
    EventCode(134, "Phase Failure L2 End", "L2 Phase Supply Up", "3P, APMS"),
    EventCode(135, "Phase Failure L3 Start", "L3 Phase Supply Down", "3P, APMS"),
    EventCode(136, "Phase Failure L3 End", "L3 Phase Supply Up", "3P, APMS"),
    EventCode(137, "Phase Failure Trip", "Trip on Any Phase Supply Down", "APMS"),
    EventCode(138, "Over Voltage L1 Start", "L1 Voltage more than Limit", "APMS"),
    EventCode(139, "Over Voltage L1 End", "L1 Voltage within Limit", "APMS"),
    EventCode(140, "Over Voltage L2 Start", "L2 Voltage more than Limit", "APMS"),
    EventCode(141, "Over Voltage L2 End", "L2 Voltage within Limit", "APMS"),
    EventCode(142, "Over Voltage L3 Start", "L3 Voltage more than Limit", "APMS"),
    EventCode(143, "Over Voltage L3 End", "L3 Voltage within Limit", "APMS"),
    EventCode(144, "Over Voltage Trip", "Trip on Voltage more than Limit", "APMS"),
    EventCode(145, "Under Voltage L1 Start", "L1 Voltage less than Limit", "APMS"),
    EventCode(146, "Under Voltage L1 End", "L1 Voltage within Limit", "APMS"),
    EventCode(147, "Under Voltage L2 Start", "L2 Voltage less than Limit", "APMS"),
    EventCode(148, "Under Voltage L2 End", "L2 Voltage within Limit", "APMS"),
    EventCode(149, "Under Voltage L3 Start", "L3 Voltage less than Limit", "APMS"),
    EventCode(150, "Under Voltage L3 End", "L3 Voltage within Limit", "APMS"),
    EventCode(151, "Under Voltage Trip", "Trip on Voltage less than Limit", "APMS"),
    EventCode(152, "Phase Over Current L1 Start", "L1 Current more than Limit", "APMS"),
    EventCode(153, "Phase Over Current L1 End", "L1 Current within Limit", "APMS"),
    EventCode(154, "Phase Over Current L2 Start", "L2 Current more than Limit", "APMS"),
    EventCode(155, "Phase Over Current L2 End", "L2 Current within Limit", "APMS"),
    EventCode(156, "Phase Over Current L3 Start", "L3 Current more than Limit", "APMS"),
    EventCode(157, "Phase Over Current L3 End", "L3 Current within Limit", "APMS"),
    EventCode(158, "Phase Over Current Trip", "Trip on Current more than Limit", "APMS"),
    EventCode(
        159, "Demand Overload End", "Connected load is less than programmed value", "All Devices"
    ),
    EventCode(160, "Overload Start", "Connected load is more than Overload Limit", "APMS"),
    EventCode(161, "Overload End", "Connected load is within Overload Limit", "APMS"),
    EventCode(162, "Over Load Trip", "Trip on Load more than Overload Limit", "APMS"),
    EventCode(
        163,
        "Voltage Unbalance Start",
        "Difference in Voltage of any two phases more than programmed limit",
        "APMS",
    ),
    EventCode(
        164,
        "Voltage Unbalance End",
        "Difference in Voltage of any two phases is within limit",
        "APMS",
    ),
    EventCode(
        165,
        "Current Unbalance Start",
        "Difference in current of any two phases more than programmed limit",
        "APMS",
    ),
    EventCode(
        166,
        "Current Unbalance End",
        "Difference in current of any two phases is within limit",
        "APMS",
    ),
    EventCode(167, "High Apparent Power Start", "Value of Apparent Power more than Limit", "APMS"),
    EventCode(168, "High Apparent Power End", "Value of Apparent Power is within Limit", "APMS"),
    EventCode(169, "Remote Switch ON", "Relay Connected Remotely", "APMS"),
    EventCode(170, "Remote Switch OFF", "Relay Dis-connected Remotely", "APMS"),
    EventCode(171, "Automatic Switch ON", "Relay Automatically Connected", "APMS"),
    EventCode(172, "Automatic Switch OFF", "Relay Automatically Dis-connected", "APMS"),
    EventCode(173, "Manual Switch ON", "Relay Manually Connected", "APMS"),
    EventCode(174, "Manual Switch OFF", "Relay Manually Dis-connected", "APMS"),
    EventCode(
        175, "Residual Current Alarm Start", "Value of Residual Current more than Limit", "APMS"
    ),
    EventCode(
        176, "Residual Current Alarm End", "Value of Residual Current is within Limit", "APMS"
    ),
    EventCode(
        177, "Residual Current Trip", "Trip on Value of Residual Current more than Limit", "APMS"
    ),
    EventCode(179, "Short Circuit Trip", "Trip on Short Circuit Occur", "APMS"),
    EventCode(180, "MCCB Trip", "Main Breaker Trip", "APMS"),
    EventCode(
        187, "Reverse Energy L1 Start", "Reverse direction of current flowing through L1", "3P"
    ),
    EventCode(
        188, "Reverse Energy L1 End", "Forward direction of current flowing through L1", "3P"
    ),
    EventCode(
        189, "Reverse Energy L2 Start", "Reverse direction of current flowing through L2", "3P"
    ),
    EventCode(
        190, "Reverse Energy L2 End", "Forward direction of current flowing through L2", "3P"
    ),
    EventCode(
        191, "Reverse Energy L3 Start", "Reverse direction of current flowing through L3", "3P"
    ),
    EventCode(
        192, "Reverse Energy L3 End", "Forward direction of current flowing through L3", "3P"
    ),
    EventCode(193, "Reverse Polarity L1 Start", "Phase L1 and Neutral interchange", "3P"),
    EventCode(194, "Reverse Polarity L1 End", "Phase L1 and Neutral in accurate terminal", "3P"),
    EventCode(195, "Reverse Polarity L2 Start", "Phase L2 and Neutral interchange", "3P"),
    EventCode(196, "Reverse Polarity L2 End", "Phase L2 and Neutral in accurate terminal", "3P"),
    EventCode(197, "Reverse Polarity L3 Start", "Phase L3 and Neutral interchange", "3P"),
    EventCode(198, "Reverse Polarity L3 End", "Phase L3 and Neutral in accurate terminal", "3P"),
    EventCode(201, "Time Synchronization", "Meter Datetime adjusted", "All Devices"),
    EventCode(202, "Contactor ON", "Meter's Relay Connect", "All Devices with Relay / Breaker"),
    EventCode(
        203, "Contactor OFF", "Meter's Relay Dis-Connect", "All Devices with Relay / Breaker"
    ),
    EventCode(206, "Door Open", "BOX Door Open", "All Devices"),
    EventCode(207, "Battery Low", "Meter's Battery Low", "All Devices"),
    EventCode(208, "Memory Failure", "Meter's Memory got failed", "All Devices"),
    EventCode(209, "Sim Card Removed", "Sim Card Removed from Meter", "All Devices"),
    EventCode(210, "Sim Card Inserted", "Sim Card Inserted into Meter", "All Devices"),
    EventCode(
        301,
        "Optical Port Login",
        "Optical Port connected and successful login with Meter",
        "All Devices",
    ),
    EventCode(
        302,
        "Optical Port Login Failure",
        "Optical Port connected and login attempt failed with Meter",
        "All Devices",
    ),
    EventCode(303, "Sanction Load Control Programmed", "Sanction Load Limit is {{?}}", "3P, 1P"),
    EventCode(
        304, "Load Shedding Schedule Programmed", "Load Shedding Schedule is {{?}}", "3P, 1P"
    ),
    EventCode(305, "IP & Port Programmed", "New IP & Ports are {{?}}", "All Devices"),
    EventCode(
        306, "Time of use Programmed", "Time of Use information updated in Meter", "3P, APMS"
    ),
    EventCode(307, "Wakeup SIM Programmed", "Wakeup SIM Numbers Updated in Meter", "All Devices"),
    EventCode(
        308, "Over Voltage Function Programmed", "Over Voltage Limit Updated in Meter", "APMS"
    ),
    EventCode(
        309, "Under Voltage Function Programmed", "Under Voltage Limit Updated in Meter", "APMS"
    ),
    EventCode(
        310, "Over Current Function Programmed", "Over Current Limit Updated in Meter", "APMS"
    ),
    EventCode(311, "Over Load Function Programmed", "Overload Limit Updated in Meter", "APMS"),
    EventCode(
        312,
        "Phase Failure Function Programmed",
        "Phase Failure threshold value Updated in Meter",
        "APMS",
    ),
    EventCode(
        313,
        "Voltage Unbalance Function Programmed",
        "Voltage Unbalance threshold percentage Updated in Meter",
        "APMS",
    ),
    EventCode(
        314,
        "Current Unbalance Function Programmed",
        "Current Unbalance threshold percentage Updated in Meter",
        "APMS",
    ),
    EventCode(
        315,
        "High Apparent Power Function Programmed",
        "High Apparent Power threshold value Updated in Meter",
        "APMS",
    ),
    EventCode(316, "Over Voltage Function Cancelled", "Over Voltage Function Cancelled", "APMS"),
    EventCode(317, "Under Voltage Function Cancelled", "Under Voltage Function Cancelled", "APMS"),
    EventCode(318, "Over Current Function Cancelled", "Over Current Function Cancelled", "APMS"),
    EventCode(319, "Over Load Function Cancelled", "Over Load Function Cancelled", "APMS"),
    EventCode(320, "Phase Failure Function Cancelled", "Phase Failure Function Cancelled", "APMS"),
    EventCode(
        321, "Voltage Unbalance Function Cancelled", "Voltage Unbalance Function Cancelled", "APMS"
    ),
    EventCode(
        322, "Current Unbalance Function Cancelled", "Current Unbalance Function Cancelled", "APMS"
    ),
    EventCode(
        323,
        "High Apparent Power Function Cancelled",
        "High Apparent Power Function Cancelled",
        "APMS",
    ),
    EventCode(324, "Sanction Load Control Cancelled", "Sanction Load Control Cancelled", "1P, 3P"),
    EventCode(
        325, "Load Shedding Schedule Cancelled", "Load Shedding Schedule Cancelled", "All Devices"
    ),
    EventCode(
        326, "Time of use Programmed Cancelled", "Time of use Programmed Cancelled", "3P, APMS"
    ),
    EventCode(327, "Uni-directional Mode", "Device converted to uni-directional mode", "3P, APMS"),
    EventCode(328, "Bi-directional Mode", "Device converted to bi-directional mode", "3P, APMS"),
    EventCode(329, "Display Sequence Changed", "Device display sequence is changed", "3P, APMS"),
    EventCode(
        330, "MDI RESET Date Programmed", "MDI RESET Date is changed to {{?}}", "All Devices"
    ),
    EventCode(
        331,
        "Data Sampling Rate Programmed",
        "Device Data Sampling Rate has been Programmed for INST/LPRO/BILL",
        "All Devices",
    ),
    EventCode(
        332,
        "Optical Port Activated",
        "Device Optical Port Activated for Interval {{?}}",
        "All Devices",
    ),
)

#: Code -> name (the ``event_description`` a 3.3 MDC writes), like 2019's ``EVENT_CODES``.
EVENT_CODES_3_3: dict[int, str] = {event.code: event.name for event in EVENTS_3_3}
EVENT_BY_CODE_3_3: dict[int, EventCode] = {event.code: event for event in EVENTS_3_3}

#: Major alarms by kind of device (3.1.5): reported immediately upon occurrence.
MAJOR_ALARMS_3_3: dict[str, frozenset[int]] = {
    "normal": frozenset({207, 202, 203, 206, 111, 112, 117, 101, 328, 301, 302}),
    "bidirectional": frozenset({207, 202, 203, 206, 111, 112, 101, 327, 301, 302}),
    "apms": frozenset(
        {207, 202, 203, 111, 112, 206, 137, 144, 151, 158, 162, 177, 179, 180, 301, 302}
    ),
}
#: Every code that is a major alarm for some kind of device.
MAJOR_ALARM_CODES_3_3: frozenset[int] = frozenset().union(*MAJOR_ALARMS_3_3.values())


def major_alarms(*, apms: bool = False, bidirectional: bool = False) -> frozenset[int]:
    """The major alarm codes of a device: APMS, else bi-directional meter, else normal meter."""
    if apms:
        return MAJOR_ALARMS_3_3["apms"]
    return MAJOR_ALARMS_3_3["bidirectional" if bidirectional else "normal"]


def is_major_alarm(code: int, *, apms: bool = False, bidirectional: bool = False) -> bool:
    return code in major_alarms(apms=apms, bidirectional=bidirectional)
