"""The key ring: AES-256 keys read from DATA_ENCRYPTION_KEYS.

The setting reads "id:base64key,id:base64key": the first key encrypts, every key decrypts, so a new key
is added in front, `manage.py rotate_keys` re-encrypts, and the old key is then removed.
"""

import base64
import binascii
import functools
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver


@dataclass(frozen=True)
class KeyRing:
    current_id: str
    keys: dict[str, bytes]

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]


def parse_keys(raw: str) -> KeyRing:
    """Parse the setting; raise ImproperlyConfigured with a clear reason when it is malformed."""
    if not isinstance(raw, str):
        raise ImproperlyConfigured("DATA_ENCRYPTION_KEYS must be set to 'id:base64key,...'")
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id or len(key_id) > 16 or not (key_id.isascii() and key_id.isalnum()):
            raise ImproperlyConfigured(
                "DATA_ENCRYPTION_KEYS entries must read 'id:base64key' (id: 1-16 letters/digits)"
            )
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ImproperlyConfigured(f"DATA_ENCRYPTION_KEYS: key {key_id!r} is not valid base64") from None
        if len(key) != 32:
            raise ImproperlyConfigured(f"DATA_ENCRYPTION_KEYS: key {key_id!r} must be 32 bytes (AES-256)")
        if key_id in keys:
            raise ImproperlyConfigured(f"DATA_ENCRYPTION_KEYS: key id {key_id!r} appears twice")
        keys[key_id] = key
        order.append(key_id)
    if not order:
        raise ImproperlyConfigured("DATA_ENCRYPTION_KEYS holds no key")
    return KeyRing(current_id=order[0], keys=keys)


@functools.cache
def keyring() -> KeyRing:
    return parse_keys(settings.DATA_ENCRYPTION_KEYS)


@functools.cache
def code_hash_key() -> bytes:
    if not isinstance(settings.CODE_HASH_KEY, str):
        raise ImproperlyConfigured("CODE_HASH_KEY must be set (base64 of at least 32 bytes)")
    try:
        key = base64.b64decode(settings.CODE_HASH_KEY, validate=True)
    except binascii.Error:
        raise ImproperlyConfigured("CODE_HASH_KEY must be base64") from None
    if len(key) < 32:
        raise ImproperlyConfigured("CODE_HASH_KEY must hold at least 32 bytes")
    return key


@receiver(setting_changed)
def _clear_cached_keys(*, setting: str, **kwargs) -> None:
    if setting in ("DATA_ENCRYPTION_KEYS", "CODE_HASH_KEY"):
        keyring.cache_clear()
        code_hash_key.cache_clear()
