"""Provisional codes: 80 random bits in Crockford's base 32, shown as XXXX-XXXX-XXXX-XXXX.

Input is forgiving (lower case, spaces, missing dashes, O/0 and I/L/1 confusions); storage is an HMAC.
"""

import base64
import secrets
from collections.abc import Callable

from espace_sante.crypto.hashing import keyed_hash, keyed_hasher

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_LENGTH = 16
_CONFUSIONS = str.maketrans({"O": "0", "I": "1", "L": "1"})
HASH_PURPOSE = "provisional-code"
_RFC4648_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET)


def generate_many(count: int) -> list[str]:
    """`count` new codes, compact form: 80 bits each from ONE read of the system's secure random source.

    Base 32 turns every 10 bytes into exactly 16 characters, so the codes are the random bytes' base-32
    text cut every 16 characters, in Crockford's alphabet (the campaign makes millions of them).
    """
    text = base64.b32encode(secrets.token_bytes(10 * count)).decode("ascii").translate(_RFC4648_TO_CROCKFORD)
    return [text[i : i + CODE_LENGTH] for i in range(0, CODE_LENGTH * count, CODE_LENGTH)]


def generate() -> str:
    """A new code, compact form (16 characters, 80 bits from the system's secure random source)."""
    return generate_many(1)[0]


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalize(raw: str) -> str | None:
    """The compact code a person meant, or None if it cannot be one."""
    compact = "".join(raw.split()).replace("-", "").upper().translate(_CONFUSIONS)
    if len(compact) != CODE_LENGTH or any(c not in ALPHABET for c in compact):
        return None
    return compact


def code_hash(compact: str) -> str:
    return keyed_hash(compact, purpose=HASH_PURPOSE)


def code_hasher() -> Callable[[str], str]:
    """`code_hash` with the key looked up once, for hashing many codes."""
    return keyed_hasher(HASH_PURPOSE)
