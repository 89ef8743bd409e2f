"""Growing delays after repeated failures, held in the shared cache (Redis in production).

Never a permanent lock: a stranger who knows someone's identifiant or NIR can slow attempts on it, not
block its owner for good. Keys are stored as keyed hashes, so Redis holds no identifier in clear.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache

from espace_sante.crypto.hashing import keyed_hash


@dataclass(frozen=True)
class Throttle:
    scope: str
    free_attempts: int = 5
    base_delay_seconds: int = 30
    max_delay_seconds: int = 3600
    window_seconds: int = 3600

    def _keys(self, subject: str) -> tuple[str, str]:
        digest = keyed_hash(subject, purpose=f"throttle:{self.scope}")[:32]
        return f"throttle:{self.scope}:{digest}:n", f"throttle:{self.scope}:{digest}:t"

    def retry_after(self, subject: str) -> int:
        """Seconds to wait before the next attempt on `subject` is admitted (0: admitted now)."""
        count_key, time_key = self._keys(subject)
        values = cache.get_many([count_key, time_key])
        failures = values.get(count_key, 0)
        if failures < self.free_attempts:
            return 0
        delay = min(self.base_delay_seconds * 2 ** (failures - self.free_attempts), self.max_delay_seconds)
        remaining = values.get(time_key, 0) + delay - time.time()
        return max(0, int(remaining + 0.999))

    def failure(self, subject: str) -> int:
        """Count a failure atomically; return the number of failures in the window."""
        count_key, time_key = self._keys(subject)
        cache.add(count_key, 0, timeout=self.window_seconds)
        try:
            failures = cache.incr(count_key)
        except ValueError:  # expired between add and incr
            cache.set(count_key, 1, timeout=self.window_seconds)
            failures = 1
        cache.set(time_key, time.time(), timeout=self.window_seconds)
        return failures

    def reset(self, subject: str) -> None:
        cache.delete_many(list(self._keys(subject)))
