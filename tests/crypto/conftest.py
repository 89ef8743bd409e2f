"""Helpers for the encryption-at-rest tests: fresh keys, a TOTP device, the raw bytes of a column."""

import base64
import os

import pytest
from django.db import connection

from accounts.enums import UserKind
from accounts.services import totp_device_add, user_create

TOTP_KEY_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f001234567"


def new_key() -> str:
    """A random AES-256 key, base64, as DATA_ENCRYPTION_KEYS expects it."""
    return base64.b64encode(os.urandom(32)).decode()


def raw_column(table: str, column: str, pk: int) -> bytes:
    """The bytes PostgreSQL holds, read past the ORM (no from_db_value)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [pk])  # noqa: S608 (test constants)
        return bytes(cursor.fetchone()[0])


def write_raw_column(table: str, column: str, pk: int, value: bytes) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s', [value, pk])  # noqa: S608


def make_totp_device(username: str = "alex.durand", key_hex: str = TOTP_KEY_HEX):
    user = user_create(
        username=username,
        kind=UserKind.PROFESSIONAL,
        email=f"{username}@example.org",
        first_name="Alex",
        last_name="Durand",
        password=None,
    )
    return totp_device_add(user=user, key_hex=key_hex)


@pytest.fixture
def totp_device(db):
    return make_totp_device()
