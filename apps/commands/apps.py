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
        _meter_section_register()


def _meter_section_register() -> None:
    """Actions and command history on the meter page (the registry does not import commands)."""
    from apps.commands.meter_section import meter_commands_context
    from apps.core.panels import Section, section_register

    section_register(
        "registry.meter",
        Section(
            name="commands",
            template="commands/_meter_commands.html",
            context=meter_commands_context,
            order=5,
            permission="commands.view_commandrequest",
        ),
    )
