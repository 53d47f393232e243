"""The simulated fleet's data, computed on the fly and deterministic from (seed, meter, time).

Nothing here touches the database: :func:`spec_of` turns a meter row into a hashable
:class:`MeterSpec` (its settings and their effective-dated history), and the row functions
generate UDIL rows as tuples of wire text in the order of ``FIELDS[dataset]`` (the protocol's
wire order, :attr:`apps.udil.datasets.DataSet.wire_order`).

Physics
    Time is cut into 15-minute *ticks* (local PKT time). Each tick has a true demand from the
    consumer profile (daily shape x season x weekday x noise), reduced by whatever cut the supply
    in that tick (relay off, load-shedding schedule, power failure) and clipped at the sanctioned
    load. Energies are integer Wh, so every register is an exact sum: cumulative registers are the
    initial reading plus the ticks so far, ``tl`` is the sum of T1..T4 and a load profile row's
    energy is exactly the difference of the registers at its two ends (a tick's energy is spread
    linearly inside it for intervals shorter than 15 minutes).

Registers and MDI
    T1..T4 accumulate by the TOU schedule in force; the demand of a tick (its import energy x 4,
    i.e. 15-minute demand in W) feeds the MDI of its tariff and of ``tl``. The MDI resets monthly
    on ``mdi_reset_date`` at ``mdi_reset_time`` (rounded down to 15 minutes): the period's MDI is
    added to the cumulative MDI, the reset count goes up, a monthly billing row and event 101 are
    written.

Load profile rows are stamped at the *end* of their interval (the 00:15 row covers
00:00-00:15). Instantaneous readings at time t describe the tick that ended at t.

Load profile energy (``active_energy_*``, ``reactive_energy_*``) is, as UDIL means it, the
import registers at the row's time: the same counters BILLING_DATA and MONTHLY_BILLING_DATA
carry, so the difference of two rows is the energy between them and a day's rows add up to the
day's billing register rise. An MDC with ``lp_energy_mode="interval"`` sends instead the energy
of each row's interval (a vendor variant the MDM must handle as a per-MDC setting).

Caches: the state at each day start and each day's ticks are cached per process (bounded);
a meter's spec changes (and its caches with it) whenever a command changes its history.

Modules: ``base`` (constants, shapes, event codes, field order, time and text helpers), ``spec``
(the meter spec), ``days`` (a meter-day and the register state), ``load_profile`` and ``rows``
(the row functions), ``v33``, ``v33_visuals`` and ``screen`` (the UDIL 3.3 layouts). Every name
is importable from this package.
"""

from apps.udil.timefmt import PKT

#: Use the fast load-profile path where it applies (tests compare both paths).
FAST_PATH = True

from apps.simulator.generator.base import (  # noqa: E402 - after FAST_PATH
    _DATE_CACHE,
    _F3,
    _TOD,
    DAY,
    DEFAULT_TOU,
    DEMAND_OVER_LOAD,
    F3_SIZE,
    FIELDS,
    MASK,
    MDI_RESET,
    NOMINAL_MV,
    NUMERIC_FIELDS,
    OUTAGE_PER_DAY,
    OVER_VOLTAGE,
    PARAMETERIZATION,
    PHASE_FAILURE,
    PKT_OFFSET,
    POWER_FAIL_END,
    POWER_FAIL_START,
    SEASONS,
    SHAPES,
    SUNDAY,
    SUPPORTED_INTERVALS,
    TAMPER_EVENTS,
    TICK,
    TICKS_PER_DAY,
    UNDER_VOLTAGE,
    _hhmm_to_min,
    _hms_to_sec,
    _tables,
    _tou_ticks,
    aware,
    day_start,
    dt_text,
    epoch_of,
    f3,
    local_day,
    mix,
)
from apps.simulator.generator.days import (  # noqa: E402 - after FAST_PATH
    _STATES,
    _STATES_LOCK,
    _STATES_MAX,
    Incidents,
    State,
    _compute_day,
    _day_ticks,
    _days,
    _draw_incidents,
    _lag,
    _off_segments,
    _supply_cut,
    day_data,
    delivery,
    initial_state,
    is_gap,
    partial,
    readable,
    registers_at,
    reset_times,
    state_at,
    state_at_day,
)
from apps.simulator.generator.load_profile import (  # noqa: E402 - after FAST_PATH
    _Z,
    _load_profile_rows,
    _lp_aligned,
    _lp_general,
    _lp_row,
    _on_tick_grid,
    _RegisterWalk,
    _texts,
    load_profile_rows,
)
from apps.simulator.generator.rows import (  # noqa: E402 - after FAST_PATH
    ROW_FUNCTIONS,
    _grid,
    _ls_text,
    _power_at,
    _register_texts,
    billing_rows,
    clear_caches,
    event_list,
    event_rows,
    instantaneous_rows,
    last_contact,
    monthly_billing_rows,
    signal,
    visuals_row,
)
from apps.simulator.generator.spec import (  # noqa: E402 - after FAST_PATH
    Day,
    MeterSpec,
    _freeze,
    initial_history,
    spec_of,
)
from apps.simulator.generator.v33 import (  # noqa: E402 - after FAST_PATH
    FIELDS_3_3,
    ROW_FUNCTIONS_3_3,
    communication_history_rows,
    event_rows_3_3,
    layout,
    position,
)
from apps.simulator.generator.v33_visuals import (  # noqa: E402 - after FAST_PATH
    parameter_columns,
    parameter_values,
    visuals_row_3_3,
    visuals_row_of,
)

__all__ = [
    "DAY",
    "DEFAULT_TOU",
    "DEMAND_OVER_LOAD",
    "F3_SIZE",
    "FAST_PATH",
    "FIELDS",
    "FIELDS_3_3",
    "MASK",
    "MDI_RESET",
    "NOMINAL_MV",
    "NUMERIC_FIELDS",
    "OUTAGE_PER_DAY",
    "OVER_VOLTAGE",
    "PARAMETERIZATION",
    "PHASE_FAILURE",
    "PKT",
    "PKT_OFFSET",
    "POWER_FAIL_END",
    "POWER_FAIL_START",
    "ROW_FUNCTIONS",
    "ROW_FUNCTIONS_3_3",
    "SEASONS",
    "SHAPES",
    "SUNDAY",
    "SUPPORTED_INTERVALS",
    "TAMPER_EVENTS",
    "TICK",
    "TICKS_PER_DAY",
    "UNDER_VOLTAGE",
    "_DATE_CACHE",
    "_F3",
    "_STATES",
    "_STATES_LOCK",
    "_STATES_MAX",
    "_TOD",
    "_Z",
    "Day",
    "Incidents",
    "MeterSpec",
    "State",
    "_RegisterWalk",
    "_compute_day",
    "_day_ticks",
    "_days",
    "_draw_incidents",
    "_freeze",
    "_grid",
    "_hhmm_to_min",
    "_hms_to_sec",
    "_lag",
    "_load_profile_rows",
    "_lp_aligned",
    "_lp_general",
    "_lp_row",
    "_ls_text",
    "_off_segments",
    "_on_tick_grid",
    "_power_at",
    "_register_texts",
    "_supply_cut",
    "_tables",
    "_texts",
    "_tou_ticks",
    "aware",
    "billing_rows",
    "clear_caches",
    "communication_history_rows",
    "day_data",
    "day_start",
    "delivery",
    "dt_text",
    "epoch_of",
    "event_list",
    "event_rows",
    "event_rows_3_3",
    "f3",
    "initial_history",
    "initial_state",
    "instantaneous_rows",
    "is_gap",
    "last_contact",
    "layout",
    "load_profile_rows",
    "local_day",
    "mix",
    "monthly_billing_rows",
    "parameter_columns",
    "parameter_values",
    "partial",
    "position",
    "readable",
    "registers_at",
    "reset_times",
    "signal",
    "spec_of",
    "state_at",
    "state_at_day",
    "visuals_row",
    "visuals_row_3_3",
    "visuals_row_of",
]
