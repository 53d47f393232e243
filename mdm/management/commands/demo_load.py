from django.conf import settings
from django.core.management.base import BaseCommand

from apps.ingestion.services import pull_request
from mdm.demo import demo_load


class Command(BaseCommand):
    help = "Load the demo (simulated vendor MDCs and their meters) once, and queue first pulls."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default=settings.SELF_URL,
            help="where this portal serves /sim/ (mdm up sets MDM_SELF_URL)",
        )
        parser.add_argument("--meters", type=int, default=40, help="meters per simulated MDC")
        parser.add_argument("--days", type=int, default=14, help="days of history")
        parser.add_argument("--no-pull", action="store_true", help="do not queue first pulls")

    def handle(self, *args, base_url, meters, days, no_pull, **options):
        mdcs = demo_load(base_url=base_url, meters_per_mdc=meters, days=days)
        if not mdcs:
            self.stdout.write("The demo is already loaded.")
            return
        self.stdout.write(f"Registered {len(mdcs)} simulated MDCs with {meters} meters each.")
        if not no_pull:
            for mdc in mdcs:
                pull_request(actor=None, mdc=mdc)
            self.stdout.write("First pulls queued; the worker loads them in the background.")
