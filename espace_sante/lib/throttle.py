"""Growing delays after repeated attempts, held in the shared cache (Redis in production).

`admit()` takes an attempt atomically BEFORE the work it guards: concurrent requests can never get more
than `free_attempts` through, then one per delay (30 s, 60 s, … up to `max_delay_seconds`). An earlier
read-then-count version let every request of a burst see a count under the limit (found by the activation
benchmark: 12 attempts admitted for a limit of 10).

Never a permanent lock: a stranger who knows someone's identifiant or NIR can slow attempts on it, not
block its owner for good. Keys are stored as keyed hashes, so Redis holds no identifier in clear.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache

from espace_sante.crypto.hashing import keyed_hash

MAX_DOUBLINGS = 20


@dataclass(frozen=True)
class Throttle:
    scope: str
    free_attempts: int = 5
    base_delay_seconds: int = 30
    max_delay_seconds: int = 3600
    window_seconds: int = 3600

    def _keys(self, subject: str) -> tuple[str, str, str]:
        digest = keyed_hash(subject, purpose=f"throttle:{self.scope}")[:32]
        base = f"throttle:{self.scope}:{digest}"
        return f"{base}:n", f"{base}:slot", f"{base}:level"

    def _incr(self, key: str) -> int:
        cache.add(key, 0, timeout=self.window_seconds)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=self.window_seconds)
            return 1

    def admit(self, subject: str) -> int:
        """Take an attempt on `subject`: 0 when admitted (and counted), else the seconds to wait."""
        count_key, slot_key, level_key = self._keys(subject)
        if self._incr(count_key) < self.free_attempts:
            return 0
        # From the last free attempt on, one attempt per slot; each slot granted doubles the next delay.
        level = min(cache.get(level_key, 0), MAX_DOUBLINGS)
        delay = min(self.base_delay_seconds * 2**level, self.max_delay_seconds)
        if cache.add(slot_key, time.time() + delay, timeout=delay):  # atomic: one winner per slot
            self._incr(level_key)
            return 0
        reopens_at = cache.get(slot_key)
        return max(1, int((reopens_at or time.time()) - time.time() + 0.999))

    def refund(self, subject: str) -> None:
        """The admitted attempt went well (a right password from a shared address): do not hold it against
        the subject's next attempts."""
        count_key = self._keys(subject)[0]
        try:
            if cache.decr(count_key) < 0:
                cache.set(count_key, 0, timeout=self.window_seconds)
        except ValueError:  # nothing counted any more
            pass

    def reset(self, subject: str) -> None:
        cache.delete_many(list(self._keys(subject)))
