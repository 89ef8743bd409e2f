"""Growing delays after repeated attempts, held in the shared cache (Redis in production).

`admit()` takes an attempt atomically BEFORE the work it guards: concurrent requests can never get more
than `free_attempts` through, then one per delay (30 s, 60 s, … up to `max_delay_seconds`). An earlier
read-then-count version let every request of a burst see a count under the limit (found by the activation
benchmark: 12 attempts admitted for a limit of 10).

Never a permanent lock: a stranger who knows someone's identifiant or NIR can slow attempts on it, not
block its owner for good. Keys are stored as keyed hashes, so Redis holds no identifier in clear.

A request guarded by several keys (the client address, then the identifiant or the NIR) goes through
`admit_all()`: the keys are taken in order, a refusal stops there, and the attempts already taken on the
keys before it are given back. So a request refused for one key never spends another key's attempts: from
an address already slowed down, requests naming someone's identifiant cannot use up that person's budget.
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
        return self._take(subject)[0]

    def _take(self, subject: str) -> tuple[int, float | None]:
        """(seconds to wait or 0, the slot's value when the attempt was admitted on a delay slot)."""
        count_key, slot_key, level_key = self._keys(subject)
        if self._incr(count_key) < self.free_attempts:
            return 0, None
        # From the last free attempt on, one attempt per slot; each slot granted doubles the next delay.
        level = min(cache.get(level_key, 0), MAX_DOUBLINGS)
        delay = min(self.base_delay_seconds * 2**level, self.max_delay_seconds)
        reopens_at = time.time() + delay
        if cache.add(slot_key, reopens_at, timeout=delay):  # atomic: one winner per slot
            self._incr(level_key)
            return 0, reopens_at
        reopens_at = cache.get(slot_key)
        return max(1, int((reopens_at or time.time()) - time.time() + 0.999)), None

    def _give_back(self, subject: str, slot: float | None) -> None:
        """Undo an admitted attempt that did no work (a later key refused the request): the count, and
        the delay slot with its doubling when the attempt had taken one."""
        self.refund(subject)
        if slot is None:
            return
        _, slot_key, level_key = self._keys(subject)
        if cache.get(slot_key) == slot:  # still the slot this attempt took (milliseconds ago; delays are >= 1 s)
            cache.delete(slot_key)
            try:
                cache.decr(level_key)
            except ValueError:
                pass

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


def admit_all(*attempts: tuple[Throttle, str]) -> int:
    """Take one attempt on each (throttle, subject), in order: 0 when every key admitted it, else the
    seconds to wait. The first refusal stops: later keys are not touched, earlier ones are given back, so
    a refused request spends nobody's attempts. Each key stays atomic against bursts (`Throttle.admit`)."""
    taken: list[tuple[Throttle, str, float | None]] = []
    for throttle, subject in attempts:
        wait, slot = throttle._take(subject)
        if wait:
            for earlier, earlier_subject, earlier_slot in reversed(taken):
                earlier._give_back(earlier_subject, earlier_slot)
            return wait
        taken.append((throttle, subject, slot))
    return 0
