"""What every step of a command's life shares: permissions, the actor's name, new
transactionids, the per-process MDC clients and enqueueing dispatch after commit."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from apps.registry.selectors import mdc_client
from apps.udil.commands import AUTO_PARAMS as AUTO_PARAMS
from apps.udil.profiles import get_profile

SEND_PERMISSION = "commands.send_commandrequest"
APPROVE_PERMISSION = "commands.approve_commandrequest"
CANCEL_PERMISSION = "commands.cancel_commandrequest"


def transactionid_new() -> str:
    """A fresh MDM transactionid: 32 URL-safe characters from ``secrets`` (192 random bits)."""
    return secrets.token_urlsafe(24)


def _actor_name(actor) -> str:
    return actor.get_username() if getattr(actor, "is_authenticated", False) else "system"


def _require(actor, permission: str) -> None:
    if not (getattr(actor, "is_authenticated", False) and actor.has_perm(permission)):
        raise PermissionDenied(f"You need the permission {permission}.")


def _enqueue_dispatch(transaction_ids: Iterable[int]) -> None:
    """Enqueue one dispatch task per transaction once the current DB transaction commits."""
    ids = list(transaction_ids)
    if not ids:
        return

    def send() -> None:
        # Imported here: apps.commands.tasks imports this package at its top (the tasks call
        # the services), so a top-level import would be a cycle.
        from apps.commands.tasks import command_dispatch_task

        for tx_id in ids:
            command_dispatch_task.delay(tx_id)

    transaction.on_commit(send)


_clients: dict[tuple[int, Any], Any] = {}
_clients_lock = threading.Lock()


def mdc_client_for(mdc):
    """A client of the MDC, shared per process (it caches the MDC's private key)."""
    key = (mdc.pk, mdc.updated_at, mdc.base_url)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            for old in [k for k in _clients if k[0] == mdc.pk]:
                _clients.pop(old).close()
            client = mdc_client(
                mdc,
                profile=get_profile(mdc.udil_profile),
                key_lifetime=timedelta(minutes=mdc.key_lifetime_minutes),
            )
            _clients[key] = client
    return client
