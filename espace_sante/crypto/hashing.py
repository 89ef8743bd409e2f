"""Keyed hashes for secrets that must be compared but never read back (provisional and one-time codes).

An HMAC-SHA-256 with a key kept outside the database, not a password hash: codes are long and random,
so a slow hash buys nothing, and 65 million password hashes would cost days of CPU.
"""

import hmac
from collections.abc import Callable

from espace_sante.crypto.keys import code_hash_key


def keyed_hasher(purpose: str) -> Callable[[str], str]:
    """A function giving the hex HMAC of a secret for `purpose`, the key looked up once (batch use)."""
    key, prefix = code_hash_key(), f"{purpose}\x00".encode()

    def digest(secret: str) -> str:
        return hmac.digest(key, prefix + secret.encode(), "sha256").hex()

    return digest


def keyed_hash(secret: str, *, purpose: str) -> str:
    """Hex HMAC of `secret`, separated by `purpose` so a hash from one use never matches another."""
    return keyed_hasher(purpose)(secret)


def keyed_hash_matches(secret: str, expected: str, *, purpose: str) -> bool:
    return hmac.compare_digest(keyed_hash(secret, purpose=purpose), expected)
