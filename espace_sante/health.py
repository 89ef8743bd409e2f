"""Health of the dependencies, for load balancers (/sante/) and operators (manage.py health)."""

import time
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection

from espace_sante.crypto.canary import canary_problem
from espace_sante.crypto.storage import encrypted_storage


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


def _timed(name: str, probe) -> Check:
    started = time.monotonic()
    try:
        detail = probe() or "ok"
        ok = detail == "ok"
    except Exception as error:  # noqa: BLE001 — a health check reports any failure, it never raises
        ok, detail = False, type(error).__name__
    return Check(name=name, ok=ok, detail=detail, seconds=time.monotonic() - started)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _cache() -> str:
    key = f"health:{uuid.uuid4()}"
    cache.set(key, "1", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    return "ok" if value == "1" else "cache read-back failed"


def _storage() -> str:
    storage = encrypted_storage()
    name = storage.save(f"sante/{uuid.uuid4()}", ContentFile(b"ok"))
    try:
        with storage.open(name) as handle:
            return "ok" if handle.read() == b"ok" else "storage read-back failed"
    finally:
        storage.delete(name)


def _keys() -> str:
    return canary_problem() or "ok"


def run_checks() -> list[Check]:
    return [
        _timed("database", _database),
        _timed("cache", _cache),
        _timed("storage", _storage),
        _timed("keys", _keys),
    ]
