"""The network hierarchy (DISCO to transformer) and consumers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from apps.audit.services import audit_record
from apps.registry import field_lists
from apps.registry.models import (
    Circle,
    Consumer,
    Disco,
    Division,
    Feeder,
    Subdivision,
    Transformer,
)
from apps.registry.services._common import (
    CONSUMER_FIELDS,
    _audit_changes,
    _jsonable,
    _reject_unknown,
    _save_validated,
)

# --- network hierarchy -------------------------------------------------------------------------

HIERARCHY_LEVELS: list[tuple[str, type[models.Model], str | None]] = [
    ("disco", Disco, None),
    ("circle", Circle, "disco"),
    ("division", Division, "circle"),
    ("subdivision", Subdivision, "division"),
    ("feeder", Feeder, "subdivision"),
    ("transformer", Transformer, "feeder"),
]
_PARENT_OF = {model: parent for _, model, parent in HIERARCHY_LEVELS}


def _node_create(model, *, actor, code: str, name: str, parent=None, **extra) -> models.Model:
    parent_field = _PARENT_OF[model]
    kwargs: dict[str, Any] = {"code": code, "name": name, **extra}
    if parent_field:
        if parent is None:
            raise ValidationError({parent_field: "This field is required."})
        kwargs[parent_field] = parent
    node = model(**kwargs)
    _save_validated(node)
    label = model._meta.verbose_name
    audit_record(
        actor=actor,
        action=f"registry.{model._meta.model_name}.create",
        target=node,
        summary=f"Created {label} {code}" + (f" under {parent}" if parent is not None else ""),
        detail={k: _jsonable(v) for k, v in kwargs.items()},
    )
    return node


@transaction.atomic
def disco_create(*, actor, code: str, name: str) -> Disco:
    return _node_create(Disco, actor=actor, code=code, name=name)


@transaction.atomic
def circle_create(*, actor, disco: Disco, code: str, name: str) -> Circle:
    return _node_create(Circle, actor=actor, parent=disco, code=code, name=name)


@transaction.atomic
def division_create(*, actor, circle: Circle, code: str, name: str) -> Division:
    return _node_create(Division, actor=actor, parent=circle, code=code, name=name)


@transaction.atomic
def subdivision_create(*, actor, division: Division, code: str, name: str) -> Subdivision:
    return _node_create(Subdivision, actor=actor, parent=division, code=code, name=name)


@transaction.atomic
def feeder_create(*, actor, subdivision: Subdivision, code: str, name: str) -> Feeder:
    return _node_create(Feeder, actor=actor, parent=subdivision, code=code, name=name)


@transaction.atomic
def transformer_create(
    *, actor, feeder: Feeder, code: str, name: str, capacity_kva: Decimal | None = None
) -> Transformer:
    return _node_create(
        Transformer, actor=actor, parent=feeder, code=code, name=name, capacity_kva=capacity_kva
    )


@transaction.atomic
def hierarchy_node_update(*, actor, node: models.Model, **changes: Any) -> models.Model:
    """Rename a node (``name``, ``code``; ``capacity_kva`` for transformers)."""
    allowed = {"code", "name"} | ({"capacity_kva"} if isinstance(node, Transformer) else set())
    _reject_unknown(changes, frozenset(allowed))
    changed = {k: v for k, v in changes.items() if getattr(node, k) != v}
    for name, value in changed.items():
        setattr(node, name, value)
    if changed:
        _save_validated(node)
        audit_record(
            actor=actor,
            action=f"registry.{node._meta.model_name}.update",
            target=node,
            summary=f"Changed {node._meta.verbose_name} {node.code}",
            detail={k: _jsonable(v) for k, v in changed.items()},
        )
    return node


@transaction.atomic
def hierarchy_path_ensure(
    *,
    actor,
    disco: str,
    circle: str,
    division: str,
    subdivision: str,
    feeder: str,
    transformer: str,
    capacity_kva: Decimal | None = None,
) -> Transformer:
    """Get or create a whole branch by codes (names default to the codes); returns the
    transformer. Handy for seeding and for imports from a CIS."""
    codes = [disco, circle, division, subdivision, feeder, transformer]
    parent = None
    for (_, model, parent_field), code in zip(HIERARCHY_LEVELS, codes, strict=True):
        lookup = {"code": code}
        if parent_field:
            lookup[parent_field] = parent
        node = model.objects.filter(**lookup).first()
        if node is None:
            extra = {"capacity_kva": capacity_kva} if model is Transformer else {}
            node = _node_create(model, actor=actor, code=code, name=code, parent=parent, **extra)
        parent = node
    return parent


# --- consumers ---------------------------------------------------------------------------------


@transaction.atomic
def consumer_create(*, actor, reference_no: str, name: str, **attrs: Any) -> Consumer:
    _reject_unknown(attrs, CONSUMER_FIELDS)
    consumer = Consumer(reference_no=reference_no, name=name, **attrs)
    _save_validated(consumer)
    audit_record(
        actor=actor,
        action="registry.consumer.create",
        target=consumer,
        summary=f"Created consumer {reference_no}",
        detail={"reference_no": reference_no, **_audit_changes(attrs)},
    )
    return consumer


@transaction.atomic
def consumer_update(*, actor, consumer: Consumer, **changes: Any) -> Consumer:
    _reject_unknown(changes, CONSUMER_FIELDS | {field_lists.CONSUMER_KEY})
    changed = {k: v for k, v in changes.items() if getattr(consumer, k) != v}
    for name, value in changed.items():
        setattr(consumer, name, value)
    if changed:
        _save_validated(consumer)
        audit_record(
            actor=actor,
            action="registry.consumer.update",
            target=consumer,
            summary=f"Changed consumer {consumer.reference_no}: {', '.join(sorted(changed))}",
            detail=_audit_changes(changed),
        )
    return consumer
