"""Make beat's periodic pulls match every MDC's pull intervals (after a restore, say)."""

from django.core.management.base import BaseCommand

from apps.ingestion.services import schedules_sync
from apps.registry.models import Mdc


class Command(BaseCommand):
    help = "Create, update or remove the periodic pull tasks of every MDC."

    def handle(self, *args, **options):
        total = 0
        for mdc in Mdc.objects.all():
            total += len(schedules_sync(mdc=mdc))
        self.stdout.write(f"{total} periodic pulls scheduled.")
