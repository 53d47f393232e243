"""Status choices that carry a badge colour, so every status renders the same way everywhere.

@badge_colours(running="info", succeeded="success", failed="danger")
class RunStatus(BadgeChoices):
    RUNNING = "running", "Running"
    ...
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models


class BadgeChoices(models.TextChoices):
    @classmethod
    def colour_of(cls, value: object) -> str:
        return getattr(cls, "_badge_colours", {}).get(str(value), "secondary")


class IntegerBadgeChoices(models.IntegerChoices):
    @classmethod
    def colour_of(cls, value: object) -> str:
        return getattr(cls, "_badge_colours", {}).get(str(value), "secondary")


def badge_colours(**colours: str) -> Callable[[type], type]:
    """Attach Bootstrap colours to the values of a choices class (keys are the values as text)."""

    def decorate(choices: type) -> type:
        values = {str(member.value) for member in choices}
        unknown = set(colours) - values
        if unknown:
            raise ValueError(f"{choices.__name__} has no values {sorted(unknown)}")
        choices._badge_colours = dict(colours)
        return choices

    return decorate
