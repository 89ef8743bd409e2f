"""Benchmark: the document list of a patient with 500 documents among many, under concurrent load.

    .venv/bin/python -m bench.dossier_page [--others 200000] [--duration 30] [--connections 8]

gunicorn (4 sync workers) runs the production settings module (DEBUG off, cached templates, sessions in
Redis written through to PostgreSQL) on a database of its own; wrk (loopback, bounded in time) loads
`/documents/` with an authenticated patient's session cookie, then an anonymous page through the same
middleware as the baseline. Also reports the page's query count at 20 and at 500 documents.
"""

import argparse
import os

from bench.web import SESSION_CODE, Site, write_result, wrk

SITE = Site("dossier", port=8899)


SEED = (
    SESSION_CODE
    + """
import datetime, uuid, sys
from django.db import connection
from accounts.models import EmailOTPDevice, Patient
from dossier.models import Document
from espace_sante.lib.bulk import copy_insert

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
print(session_cookie(user, device))
"""
)

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--others", type=int, default=200_000, help="documents of other patients")
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=8)
    options = parser.parse_args()

    SITE.reset_database()
    cookie = SITE.shell(SEED, str(options.others)).strip().splitlines()[-1]
    status, queries = SITE.shell(QUERY_COUNT, cookie).strip().splitlines()[-1].split()
    with SITE.gunicorn(workers=4):
        page = wrk(
            SITE.url("/documents/"),
            headers={"Cookie": cookie},
            duration=options.duration,
            connections=options.connections,
        )
        baseline = wrk(SITE.url("/connexion/"), duration=options.duration, connections=options.connections)
    for row in (page, baseline):
        row["errors"] = row["non_2xx_3xx"] + row["socket_errors"]
    path = write_result(
        "dossier-page",
        {
            "machine_load": os.getloadavg(),
            "documents": {"patient": 500, "others": options.others},
            "queries_first_page": int(queries),
            "status": int(status),
            "page": page,
            "baseline_anonymous_login_page": baseline,
            "targets": {"rps": ">= 150", "p99_ms": "<= 100", "errors": 0},
        },
    )
    print(f"{'benchmark':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, row in (("dossier page (500 docs)", page), ("baseline: anonymous page", baseline)):
        print(f"{name:<28} {row['rps']:>8.1f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['errors']:>7}")
    print(f"queries on the first page: {queries} (status {status}); results: {path}")


if __name__ == "__main__":
    main()
