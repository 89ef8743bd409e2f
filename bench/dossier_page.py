"""Benchmark: the document list of a patient with 500 documents among many, under concurrent load.

    .venv/bin/python -m bench.dossier_page [--others 200000] [--duration 30] [--connections 8]

gunicorn (4 sync workers) runs the production settings module (DEBUG off, cached templates, sessions in
Redis written through to PostgreSQL) on a database of its own; wrk (loopback, bounded in time) loads
`/documents/` with an authenticated patient's session cookie, then an anonymous page through the same
middleware as the baseline. Also reports the page's query count at 20 and at 500 documents.
"""

import argparse
import base64
import datetime
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SERVER = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
DB_NAME = "bench_dossier"
PORT = 8899
KEYS = {
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "DATA_ENCRYPTION_KEYS": "b1:" + base64.b64encode(b"b" * 32).decode(),
    "CODE_HASH_KEY": base64.b64encode(b"c" * 32).decode(),
}


def _env(settings_module: str) -> dict:
    return {
        **os.environ,
        **KEYS,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": f"{SERVER}/{DB_NAME}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "CACHE_KEY_PREFIX": "mes-bench-dossier",
        "MEDIA_ROOT": "/tmp/bench-dossier-media",  # noqa: S108
        "LOG_LEVEL": "WARNING",
    }


def _manage(*args: str, settings_module: str = "espace_sante.settings.base") -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=_env(settings_module), check=True)


def _reset_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DB_NAME}")
    _manage("migrate", "--noinput", "-v0")
    _manage("demo_seed")


SEED = """
import datetime, uuid, sys
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import connection
from importlib import import_module
import time
from accounts.models import EmailOTPDevice, Patient
from dossier.models import Document
from espace_sante.lib.bulk import copy_insert
from espace_sante.access.middleware import SESSION_LOGIN_AT

others = int(sys.argv[1])
camille = Patient.objects.get(nir="285037505612306")
julien = Patient.objects.get(nir="182063155504233")
fields = ["public_id", "patient", "title", "category", "care_date", "added_at", "author_kind", "file_name",
          "content_type", "size", "original_filename", "hidden_from_professionals", "hidden_from_representatives",
          "author_label"]
now = datetime.datetime.now(datetime.UTC)
def rows(patient, count):
    for i in range(count):
        yield (uuid.uuid4(), patient.pk, f"Document {i}", ["biologie", "ordonnances", "imagerie"][i % 3],
               datetime.date(2020, 1, 1) + datetime.timedelta(days=i % 2000), now, "patient",
               f"documents/{patient.public_id}/{i}", "application/pdf", 1000, "doc.pdf", False, False, "")
copy_insert(Document, fields, rows(camille, 500))
copy_insert(Document, fields, rows(julien, others))
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
user = camille.user
device, _ = EmailOTPDevice.objects.get_or_create(user=user, defaults={"name": "e-mail", "confirmed": True})
store = import_module(settings.SESSION_ENGINE).SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store["otp_device_id"] = device.persistent_id
store[SESSION_LOGIN_AT] = time.time()
store.set_expiry(24 * 3600)
store.save()
print(settings.SESSION_COOKIE_NAME + "=" + store.session_key)
"""

QUERY_COUNT = """
import sys
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client(HTTP_COOKIE=sys.argv[1], HTTP_HOST="127.0.0.1")
client.get("/documents/")
with CaptureQueriesContext(connection) as captured:
    response = client.get("/documents/")
print(response.status_code, len(captured.captured_queries))
"""


def _shell(code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup()\n{code}", *args],
        cwd=ROOT,
        env=_env("espace_sante.settings.base"),
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip().splitlines()[-1]


def _wrk(url: str, cookie: str | None, *, duration: int, connections: int) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=duration + 30).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def latency(percentile: str) -> float:
        value, unit = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)", output).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(map(int, socket_errors.groups())) if socket_errors else 0
    )
    return {"rps": rate, "p50_ms": latency("50"), "p99_ms": latency("99"), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--others", type=int, default=200_000, help="documents of other patients")
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=8)
    options = parser.parse_args()

    _reset_database()
    _manage("collectstatic", "--noinput", "-v0")
    cookie = _shell(SEED, str(options.others))
    status, queries = _shell(QUERY_COUNT, cookie).split()
    server = subprocess.Popen(  # noqa: S603
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "espace_sante.wsgi:application",
            "-w",
            "4",
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=_env("espace_sante.settings.base"),
    )
    try:
        time.sleep(4)
        page = _wrk(
            f"http://127.0.0.1:{PORT}/documents/", cookie, duration=options.duration, connections=options.connections
        )
        baseline = _wrk(
            f"http://127.0.0.1:{PORT}/connexion/", None, duration=options.duration, connections=options.connections
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
    result = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(),
        "machine": {"nproc": os.cpu_count(), "load": os.getloadavg()},
        "documents": {"patient": 500, "others": options.others},
        "queries_first_page": int(queries),
        "status": int(status),
        "page": page,
        "baseline_anonymous_login_page": baseline,
        "targets": {"rps": ">= 150", "p99_ms": "<= 100", "errors": 0},
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{datetime.datetime.now():%Y%m%d-%H%M%S}-dossier-page-{uuid.uuid4().hex[:4]}.json"  # noqa: DTZ005
    path.write_text(json.dumps(result, indent=2))
    print(f"{'benchmark':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, row in (("dossier page (500 docs)", page), ("baseline: anonymous page", baseline)):
        print(f"{name:<28} {row['rps']:>8.1f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['errors']:>7}")
    print(f"queries on the first page: {queries} (status {status}); results: {path}")


if __name__ == "__main__":
    main()
