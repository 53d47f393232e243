"""``manage.py simulator_deliver [--mdc CODE] [--until ISO]``: simulated flat-file MDCs write
the CSV deliveries of the rows they stored since their last delivery."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from apps.simulator.files import sim_files_deliver
from apps.simulator.models import SimMdc, Transport


class Command(BaseCommand):
    help = "Write the CSV deliveries of simulated flat-file MDCs."

    def add_arguments(self, parser):
        parser.add_argument("--mdc", help="one simulated MDC's code (default: every file MDC)")
        parser.add_argument("--until", help="ISO time with offset (default: now)")

    def handle(self, *args, mdc=None, until=None, **opts):
        moment = None
        if until:
            try:
                moment = dt.datetime.fromisoformat(until)
            except ValueError as exc:
                raise CommandError(f"--until: {exc}") from exc
            if moment.tzinfo is None:
                raise CommandError("--until needs an offset, e.g. 2026-12-01T10:00+05:00")
        mdcs = SimMdc.objects.filter(transport=Transport.FILE).exclude(file_directory="")
        if mdc:
            mdcs = mdcs.filter(code=mdc)
            if not mdcs.exists():
                raise CommandError(f"no simulated flat-file MDC {mdc} with a directory")
        for sim in mdcs:
            files = sim_files_deliver(mdc=sim, until=moment)
            names = ", ".join(path.name for path in files) or "nothing new"
            self.stdout.write(f"{sim.code}: {names} in {sim.file_directory}")
