from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _beat_schedule_ensure(sender, **kwargs) -> None:
    from apps.commands.schedule import beat_schedule_ensure

    beat_schedule_ensure()


class CommandsConfig(AppConfig):
    name = "apps.commands"
    verbose_name = "Commands"
    nav_items = [
        ("Send a command", "commands:request-new", "commands.send_commandrequest"),
        ("Command history", "commands:request-list", "commands.view_commandrequest"),
    ]

    def ready(self) -> None:
        post_migrate.connect(_beat_schedule_ensure, sender=self, dispatch_uid="commands.beat")
