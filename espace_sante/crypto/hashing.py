"""Keyed hashes for secrets that must be compared but never read back (provisional and one-time codes).

An HMAC-SHA-256 with a key kept outside the database, not a password hash: codes are long and random,
so a slow hash buys nothing, and 65 million password hashes would cost days of CPU.
"""

import hashlib
import hmac

from espace_sante.crypto.keys import code_hash_key


def keyed_hash(secret: str, *, purpose: str) -> str:
    """Hex HMAC of `secret`, separated by `purpose` so a hash from one use never matches another."""
    message = f"{purpose}\x00{secret}".encode()
    return hmac.new(code_hash_key(), message, hashlib.sha256).hexdigest()


def keyed_hash_matches(secret: str, expected: str, *, purpose: str) -> bool:
    return hmac.compare_digest(keyed_hash(secret, purpose=purpose), expected)
