"""Secrets at rest: a text field stored as Fernet ciphertext.

``settings.CREDENTIALS_KEYS`` is a list of Fernet keys; the first encrypts, every key decrypts,
so keys rotate by putting a new key first and re-saving the rows (``MultiFernet.rotate``).
The database column only ever holds ciphertext; Python code sees plaintext.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

# Ciphertext starts with this so a column can tell encrypted values from legacy plaintext.
PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("CREDENTIALS_KEYS is empty.")
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def credentials_fernet() -> MultiFernet:
    return _fernet(tuple(settings.CREDENTIALS_KEYS))


def encrypt_text(plaintext: str) -> str:
    return PREFIX + credentials_fernet().encrypt(plaintext.encode()).decode()


def decrypt_text(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("Stored credential is not Fernet ciphertext.")
    try:
        return credentials_fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Stored credential cannot be decrypted with CREDENTIALS_KEYS.") from exc


class EncryptedTextField(models.TextField):
    """A TextField whose column holds ``fernet:<token>``; empty stays empty (means "not set")."""

    description = "Text encrypted at rest with CREDENTIALS_KEYS"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt_text(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt_text(str(value))

    def get_internal_type(self) -> str:
        return "TextField"
