"""AES-256-GCM envelopes, bound to a context (associated data) so a ciphertext cannot be moved.

Field envelope: b"\\x01" | len(key id) | key id | nonce (12) | ciphertext+tag.
File envelope:  b"MESF1" | len(key id) | key id | wrap nonce (12) | wrapped data key (48) | nonce (12) |
                ciphertext+tag. Each file has its own random data key, wrapped by the key ring; both the
                wrap and the body are bound to the file's name, so rotation only re-wraps the header.
"""

import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from espace_sante.crypto.keys import KeyRing, keyring

FIELD_VERSION = b"\x01"
FILE_MAGIC = b"MESF1"
NONCE_SIZE = 12
WRAPPED_KEY_SIZE = 32 + 16


class DecryptionError(Exception):
    """The data was tampered with, moved, or no key of the ring can open it."""


def _pack_key_id(key_id: str) -> bytes:
    raw = key_id.encode()
    return bytes([len(raw)]) + raw


def _read_key_id(blob: bytes, offset: int) -> tuple[str, int]:
    if offset >= len(blob):
        raise DecryptionError("truncated envelope")
    size = blob[offset]
    key_id = blob[offset + 1 : offset + 1 + size].decode(errors="replace")
    return key_id, offset + 1 + size


def _nonce(blob: bytes, offset: int) -> bytes:
    # AESGCM accepts 8 to 128-byte nonces and raises ValueError below that: a short one is a truncation.
    nonce = blob[offset : offset + NONCE_SIZE]
    if len(nonce) != NONCE_SIZE:
        raise DecryptionError("truncated envelope")
    return nonce


def _key(ring: KeyRing, key_id: str) -> bytes:
    try:
        return ring.keys[key_id]
    except KeyError:
        raise DecryptionError(f"no key {key_id!r} in the ring") from None


@functools.lru_cache(maxsize=16)
def _cipher(key: bytes) -> AESGCM:
    """One AESGCM object per key (stateless between calls): building it per field cost 6 % of a campaign."""
    return AESGCM(key)


def envelope_key_id(blob: bytes) -> str:
    """The id of the key that sealed a field or file envelope (without decrypting)."""
    offset = len(FILE_MAGIC) if blob.startswith(FILE_MAGIC) else len(FIELD_VERSION)
    return _read_key_id(blob, offset)[0]


def seal(plaintext: bytes, *, context: str) -> bytes:
    ring = keyring()
    nonce = os.urandom(NONCE_SIZE)
    sealed = _cipher(ring.current).encrypt(nonce, plaintext, context.encode())
    return FIELD_VERSION + _pack_key_id(ring.current_id) + nonce + sealed


def open_sealed(blob: bytes, *, context: str) -> bytes:
    if not blob.startswith(FIELD_VERSION):
        raise DecryptionError("unknown envelope version")
    key_id, offset = _read_key_id(blob, 1)
    nonce, sealed = _nonce(blob, offset), blob[offset + NONCE_SIZE :]
    try:
        return _cipher(_key(keyring(), key_id)).decrypt(nonce, sealed, context.encode())
    except InvalidTag:
        raise DecryptionError("authentication failed") from None


def seal_file(plaintext: bytes, *, name: str) -> bytes:
    ring = keyring()
    data_key = AESGCM.generate_key(bit_length=256)
    wrap_nonce, body_nonce = os.urandom(NONCE_SIZE), os.urandom(NONCE_SIZE)
    associated = name.encode()
    wrapped = AESGCM(ring.current).encrypt(wrap_nonce, data_key, associated)
    body = AESGCM(data_key).encrypt(body_nonce, plaintext, associated)
    return FILE_MAGIC + _pack_key_id(ring.current_id) + wrap_nonce + wrapped + body_nonce + body


def _split_file(blob: bytes) -> tuple[str, bytes, bytes, int]:
    if not blob.startswith(FILE_MAGIC):
        raise DecryptionError("not an encrypted file")
    key_id, offset = _read_key_id(blob, len(FILE_MAGIC))
    wrap_nonce = _nonce(blob, offset)
    wrapped = blob[offset + NONCE_SIZE : offset + NONCE_SIZE + WRAPPED_KEY_SIZE]
    return key_id, wrap_nonce, wrapped, offset + NONCE_SIZE + WRAPPED_KEY_SIZE


def _unwrap(key_id: str, wrap_nonce: bytes, wrapped: bytes, name: str) -> bytes:
    try:
        return AESGCM(_key(keyring(), key_id)).decrypt(wrap_nonce, wrapped, name.encode())
    except InvalidTag:
        raise DecryptionError("the file's data key does not belong to this file or this ring") from None


def open_file(blob: bytes, *, name: str) -> bytes:
    key_id, wrap_nonce, wrapped, offset = _split_file(blob)
    data_key = _unwrap(key_id, wrap_nonce, wrapped, name)
    body_nonce, body = _nonce(blob, offset), blob[offset + NONCE_SIZE :]
    try:
        return AESGCM(data_key).decrypt(body_nonce, body, name.encode())
    except InvalidTag:
        raise DecryptionError("the file's content was altered") from None


def rewrap_file_header(blob: bytes, *, name: str) -> bytes | None:
    """Return the file with its data key wrapped by the current key, or None if it already is."""
    ring = keyring()
    key_id, wrap_nonce, wrapped, offset = _split_file(blob)
    if key_id == ring.current_id:
        return None
    data_key = _unwrap(key_id, wrap_nonce, wrapped, name)
    new_nonce = os.urandom(NONCE_SIZE)
    new_wrapped = AESGCM(ring.current).encrypt(new_nonce, data_key, name.encode())
    return FILE_MAGIC + _pack_key_id(ring.current_id) + new_nonce + new_wrapped + blob[offset:]
