"""``manage.py simulator_create --mdcs 2 --meters 100 --days 30 --format json --transport api``

Creates simulated MDCs ``<prefix>1`` .. ``<prefix>N`` with their fleets and prints each base
URL and its credentials. Tabular MDCs get their schema filled up to now, flat-file MDCs write
their first deliveries into ``--file-directory``/<code> (default ``$MDM_DATA_DIR/deliveries``).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.simulator.files import sim_files_deliver
from apps.simulator.models import Format, LpEnergyMode, SimMdc, Transport
from apps.simulator.services import sim_mdc_create
from apps.simulator.tabular import sim_tabular_sync


def _served(mdc: SimMdc) -> str:
    return f"/sim/{mdc.code}/"


def _tables_filled(mdc: SimMdc) -> str:
    written = sim_tabular_sync(mdc=mdc)
    return f"{_served(mdc)} and schema {mdc.tabular_schema} ({sum(written.values())} rows)"


def _files_delivered(mdc: SimMdc) -> str:
    files = sim_files_deliver(mdc=mdc)
    return f"{mdc.file_directory} ({len(files)} files delivered)"


#: What a new MDC of each transport delivers at once (API MDCs serve their data on request).
FIRST_DELIVERY = {Transport.TABULAR: _tables_filled, Transport.FILE: _files_delivered}


class Command(BaseCommand):
    help = "Create simulated UDIL MDCs with deterministic fleets."

    def add_arguments(self, parser):
        parser.add_argument("--mdcs", type=int, default=1)
        parser.add_argument("--meters", type=int, default=100)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--format", choices=Format.values, default=Format.JSON)
        parser.add_argument("--transport", choices=Transport.values, default=Transport.API)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--prefix", default="sim", help="MDC codes are <prefix><n>.")
        parser.add_argument("--lp-interval", type=int, choices=(15, 30), default=None)
        parser.add_argument(
            "--lp-energy",
            choices=LpEnergyMode.values,
            default=LpEnergyMode.REGISTER,
            help="Load profile energy fields: cumulative registers or per-interval kWh.",
        )
        parser.add_argument(
            "--pace", type=float, default=10.0, help="Seconds per command status level."
        )
        parser.add_argument(
            "--file-directory",
            default=None,
            help="flat-file MDCs deliver into <this>/<code> (default $MDM_DATA_DIR/deliveries)",
        )

    def handle(self, *args, **opts):
        for n in range(1, opts["mdcs"] + 1):
            code = f"{opts['prefix']}{n}"
            if SimMdc.objects.filter(code=code).exists():
                raise CommandError(f"simulated MDC {code} exists already")
            extra = {}
            if opts["transport"] == Transport.FILE:
                root = Path(opts["file_directory"] or Path(settings.DATA_DIR) / "deliveries")
                extra["file_directory"] = str((root / code).resolve())
            mdc, meters = sim_mdc_create(
                code=code,
                fmt=opts["format"],
                transport=opts["transport"],
                meters=opts["meters"],
                days=opts["days"],
                seed=opts["seed"] + n - 1,
                lp_interval=opts["lp_interval"],
                command_pace_seconds=opts["pace"],
                lp_energy_mode=opts["lp_energy"],
                **extra,
            )
            where = FIRST_DELIVERY.get(mdc.transport, _served)(mdc)
            self.stdout.write(
                f"{code}: {len(meters)} meters ({meters[0].global_device_id} .. "
                f"{meters[-1].global_device_id}) {mdc.fmt}/{mdc.transport}, "
                f"load profile energy as {mdc.lp_energy_mode} at {where}; "
                f"username={mdc.username} password={mdc.password} code={mdc.auth_code}"
            )
