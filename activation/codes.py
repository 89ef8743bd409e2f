"""Provisional codes: 80 random bits in Crockford's base 32, shown as XXXX-XXXX-XXXX-XXXX.

Input is forgiving (lower case, spaces, missing dashes, O/0 and I/L/1 confusions); storage is an HMAC.
"""

import secrets

from espace_sante.crypto.hashing import keyed_hash

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_LENGTH = 16
_CONFUSIONS = str.maketrans({"O": "0", "I": "1", "L": "1"})
HASH_PURPOSE = "provisional-code"


def generate() -> str:
    """A new code, compact form (16 characters, 80 bits from the system's secure random source)."""
    value = int.from_bytes(secrets.token_bytes(10), "big")
    chars = []
    for _ in range(CODE_LENGTH):
        value, index = divmod(value, 32)
        chars.append(ALPHABET[index])
    return "".join(reversed(chars))


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
