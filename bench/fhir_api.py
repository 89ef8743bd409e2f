"""Benchmark: the FHIR server (/api/v1/) as a connected service uses it, beside the bare authenticated view.

    .venv/bin/python -m bench.fhir_api [--duration 20] [--connections 8] [--measures 1000]

gunicorn (4 sync workers, production settings) on a database of its own with the demo personas; Camille has
`--measures` measures (half her own, half sent by the service) and a connected service whose bearer token
may read and write measures. wrk then loads, interleaved in the same run:
- search: the 10 pages of `Observation?_count=100` (the page URLs followed from `next` links beforehand,
  cycled by a Lua script: each request is a page of 100 resources among 1,000, with an exact `total`);
- write: `POST Observation` (a weight, no identifier, so every request stores a new row), counted afterwards;
- baseline: `GET /bench/bare`, a view that authenticates the same token through the same middleware and
  answers an empty JSON object (bench-only URL, added by `application` below, never in the product).
The per-token rate limit is lifted for the run (BENCH setting through the environment).
"""

import argparse
import json
import os
from urllib.parse import urlsplit

from bench.web import Browser, Site, log, measured, write_result, wrk

SITE = Site("fhir", port=8897)


def application():
    """The product's WSGI application plus /bench/bare (the authenticated bare view)."""
    import django
    from django.conf import settings

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings.base")
    django.setup()
    settings.ROOT_URLCONF = "bench.fhir_urls"
    settings.CATALOGUE_API_RATE_PER_MINUTE = 10**9
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


SEED = """
import datetime, json, sys, uuid
from decimal import Decimal
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from accounts.models import Patient
from catalogue.models import Connection, Purpose, Service
from catalogue.services import service_application_ensure
from profil.models import Measure

count = int(sys.argv[1])
camille = Patient.objects.get(nir="285037505612306")
service = Service.objects.create(
    name="Tensio Banc", publisher="Banc d’essai", short_description="Banc d’essai", description="Banc d’essai",
    category="chronique", website="https://banc.example",
)
Purpose.objects.create(service=service, label="Mesures", scopes="measures:read measures:write")
service = service_application_ensure(service=service, redirect_uris="https://banc.example/callback")
connection = Connection.objects.create(service=service, patient=camille, connected_by=camille.user)
connection.purposes.set(service.purposes.all())
now = timezone.now()
Measure.objects.bulk_create(
    Measure(
        patient=camille,
        kind="poids",
        value=Decimal("60") + Decimal(i % 100) / 10,
        measured_at=now - datetime.timedelta(hours=i + 1),
        measured_on=(now - datetime.timedelta(hours=i + 1)).date(),
        source=service if i % 2 else None,
    )
    for i in range(count)
)
raw = "jeton-banc-" + uuid.uuid4().hex
AccessToken.objects.create(
    user=camille.user, application=Application.objects.get(client_id=service.oauth_client_id), token=raw,
    expires=now + datetime.timedelta(days=1),
    scope=f"patient/Observation.rs patient/Observation.c measures:read measures:write {connection.scope_tag}",
)
print(json.dumps({"token": raw, "patient": str(camille.public_id)}))
"""

WRITE_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/fhir+json"
wrk.body = [[%s]]
"""

PAGES_LUA = """
local pages = {}
for line in io.lines("%s") do pages[#pages + 1] = line end
local index = 0
request = function()
  index = index %% #pages + 1
  return wrk.format("GET", pages[index])
end
"""


def _pages(browser: Browser, token: str) -> list[str]:
    """The paths of every page of the search, followed from `next` links."""
    path, pages = "/api/v1/Observation?_count=100", []
    while path:
        status, _, body = browser.get(path)
        assert status == 200, (status, body[:300])
        bundle = json.loads(body)
        pages.append(path)
        following = [item["url"] for item in bundle["link"] if item["relation"] == "next"]
        path = None
        if following:  # links name the public site (SITE_URL): keep the path and the query
            parts = urlsplit(following[0])
            path = f"{parts.path}?{parts.query}"
    return pages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--measures", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()

    log(f"database {SITE.db_name}: reset, demo personas, {options.measures} measures")
    SITE.reset_database()
    seeded = SITE.shell_json(SEED, str(options.measures))
    token, patient = seeded["token"], seeded["patient"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    weight = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-01-15T08:00:00+01:00",
        "valueQuantity": {"value": 72.4, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    }
    write_script = SITE.work_dir / "write.lua"
    write_script.write_text(WRITE_LUA % json.dumps(weight))
    rounds = []
    with SITE.gunicorn(workers=4, app="bench.fhir_api:application()") as server:
        browser = Browser(SITE.port, headers=headers)
        pages = _pages(browser, token)
        assert len(pages) >= -(-options.measures // 100), pages  # plus the demo persona's own measures
        pages_file = SITE.work_dir / "pages.txt"
        pages_file.write_text("\n".join(pages) + "\n")
        pages_script = SITE.work_dir / "pages.lua"
        pages_script.write_text(PAGES_LUA % pages_file)
        for round_ in range(options.rounds):
            row = {}
            for name, url, script in (
                ("baseline_bare_authenticated", SITE.url("/bench/bare"), None),
                ("search_page_of_100", SITE.url(pages[0]), pages_script),
                ("write_observation", SITE.url("/api/v1/Observation"), write_script),
            ):
                log(f"round {round_ + 1}: {name}")
                with measured(server) as facts:
                    result = wrk(
                        url, headers=headers, duration=options.duration, connections=options.connections, script=script
                    )
                result.update(facts)
                result["errors"] = result["non_2xx_3xx"] + result["socket_errors"]
                row[name] = result
            rounds.append(row)
        written = SITE.shell_json(
            "from profil.models import Measure; import json; "
            "print(json.dumps(Measure.objects.filter(source__name='Tensio Banc', measured_on='2026-01-15').count()))"
        )
    path = write_result(
        "fhir-api",
        {
            "machine_load": os.getloadavg(),
            "measures": options.measures,
            "pages": len(pages),
            "rounds": rounds,
            "writes_stored": written,
            "writes_answered": sum(r["write_observation"]["requests"] for r in rounds),
        },
    )
    print(f"{'round':<6} {'request':<30} {'req/s':>8} {'× bare':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for index, row in enumerate(rounds, 1):
        bare = row["baseline_bare_authenticated"]["rps"]
        for name, result in row.items():
            ratio = result["rps"] / bare if bare else float("nan")
            print(
                f"{index:<6} {name:<30} {result['rps']:>8.1f} {ratio:>7.2f} {result['p50_ms']:>8.1f} "
                f"{result['p99_ms']:>8.1f} {result['errors']:>7}"
            )
    print(f"writes stored: {written} (answered 201: see JSON); results: {path}")


if __name__ == "__main__":
    main()
