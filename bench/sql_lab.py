"""`python -m bench.sql_lab [--rows N]`: the import's set-based SQL as it is, and proposed rewrites, timed.

The registry import spends most of its time in PostgreSQL after the COPY (py-spy: ~55 % of the wall time
waiting on the server at 200 k rows). This lab builds the same staging table as
activation/services/registry.py from the generated file (valid rows only), then runs each sequence of
statements on an EMPTY accounts_patient of a freshly migrated scratch database, in one transaction whose
COMMIT (deferred foreign-key checks) is timed, then TRUNCATEs the tables, so every sequence starts from the
same state (a rollback would leave a million dead rows in the heap and indexes and slow the next one down).
Prints one JSON object and writes it to bench/results/.

Sequences:
- `product`: the product's statements (since fixes 1 and 5 went in: attachment changes counted, holders
  upserted, then attached people with their holder resolved, the few unresolved holders, parental links);
  the earlier statements (`as_is`, `count_in_sql`) are in the git history and their figures in README.md;
- `holder_in_upsert`: card holders (rows without `nir_ouvrant_droit`) upserted first, then the attached
  rows with `card_holder_id` resolved by a join in the same upsert; the UPDATE then only touches rows whose
  holder could not be resolved yet (a holder that is itself attached: none here) — no second version of
  every attached row, no full join (proposed fix 5);
- `holder_in_upsert_sorted`: as above, rows inserted in NIR order (sequential inserts into the NIR index);
- `holder_in_upsert_no_like_index`: as `holder_in_upsert` without Django's `accounts_patient_nir_…_like`
  index (proposed fix 6; dropped inside the transaction and recreated after the TRUNCATE).
"""

import argparse
import json
import os
import subprocess
import sys
import time

from bench.paths import ROOT, SERVER_URL

LAB_DB = "bench_espace_sante_lab"
STAGING_DDL = """CREATE TEMPORARY TABLE registry_staging (line integer, nir text, birth_name text, first_names text,
    birth_date date, sex text, insee text, email text, phone text, address text, postal_code text,
    city text, card_type text, serial text, holder_nir text)"""
COLUMNS_RAW = (
    "nir, nom_naissance, prenoms, date_naissance, sexe, lieu_naissance_insee, email, telephone, adresse, "
    "code_postal, commune, type_carte_vitale, numero_serie_vitale, nir_ouvrant_droit"
)

UPSERT_COLUMNS = """INSERT INTO accounts_patient (public_id, nir, birth_name, used_name, first_names, birth_date, sex,
    birth_place_insee, email, phone, address_line, postal_code, city, vitale_card_type, vitale_serial,
    card_holder_id, created_at, updated_at)"""
UPSERT_CONFLICT = """ON CONFLICT (nir) DO UPDATE SET
    birth_name = EXCLUDED.birth_name, first_names = EXCLUDED.first_names, birth_date = EXCLUDED.birth_date,
    sex = EXCLUDED.sex, birth_place_insee = EXCLUDED.birth_place_insee, email = EXCLUDED.email,
    phone = EXCLUDED.phone, address_line = EXCLUDED.address_line, postal_code = EXCLUDED.postal_code,
    city = EXCLUDED.city, vitale_card_type = EXCLUDED.vitale_card_type, vitale_serial = EXCLUDED.vitale_serial,
    card_holder_id = EXCLUDED.card_holder_id, updated_at = now()
WHERE (accounts_patient.birth_name, accounts_patient.first_names, accounts_patient.birth_date,
       accounts_patient.sex, accounts_patient.birth_place_insee, accounts_patient.email, accounts_patient.phone,
       accounts_patient.address_line, accounts_patient.postal_code, accounts_patient.city,
       accounts_patient.vitale_card_type, accounts_patient.vitale_serial, accounts_patient.card_holder_id)
  IS DISTINCT FROM
      (EXCLUDED.birth_name, EXCLUDED.first_names, EXCLUDED.birth_date, EXCLUDED.sex, EXCLUDED.birth_place_insee,
       EXCLUDED.email, EXCLUDED.phone, EXCLUDED.address_line, EXCLUDED.postal_code, EXCLUDED.city,
       EXCLUDED.vitale_card_type, EXCLUDED.vitale_serial, EXCLUDED.card_holder_id)
RETURNING (xmax = 0) AS inserted"""


DROP_LIKE = """DO $$ DECLARE name text; BEGIN
    FOR name IN SELECT indexname FROM pg_indexes WHERE tablename = 'accounts_patient' AND indexname LIKE '%\\_like'
    LOOP EXECUTE format('DROP INDEX %I', name); END LOOP; END $$"""


def _counted(upsert: str) -> str:
    return (
        f"WITH upserted AS ({upsert}) SELECT count(*) FILTER (WHERE inserted), "  # noqa: S608 — constant SQL
        "count(*) FILTER (WHERE NOT inserted) FROM upserted"
    )


def _holder_upserts(order: str) -> list[tuple[str, str]]:
    select = """SELECT gen_random_uuid(), s.nir, s.birth_name, '', s.first_names, s.birth_date, s.sex, s.insee,
        s.email, s.phone, s.address, s.postal_code, s.city, s.card_type, s.serial, {holder}, now(), now()
        FROM registry_staging s {join} WHERE {where} {order}"""
    holders = select.format(holder="NULL::bigint", join="", where="s.holder_nir = ''", order=order)
    attached = select.format(
        holder="h.id",
        join="LEFT JOIN accounts_patient h ON h.nir = s.holder_nir",
        where="s.holder_nir <> ''",
        order=order.replace("nir", "s.nir"),
    )
    return [
        ("upsert holders", _counted(f"{UPSERT_COLUMNS} {holders} {UPSERT_CONFLICT}")),
        ("upsert attached", _counted(f"{UPSERT_COLUMNS} {attached} {UPSERT_CONFLICT}")),
        (
            "update unresolved holders",
            """UPDATE accounts_patient p SET card_holder_id = h.id, updated_at = now()
            FROM registry_staging s JOIN accounts_patient h ON h.nir = s.holder_nir
            WHERE s.holder_nir <> '' AND p.nir = s.nir AND p.card_holder_id IS NULL""",
        ),
    ]


def sequences() -> dict[str, list[tuple[str, str]]]:
    sys.path.insert(0, str(ROOT))
    from activation.services import registry

    links = """INSERT INTO accounts_legalrepresentation
                (public_id, representative_id, represented_id, kind, started_on, created_at, updated_at)
            SELECT gen_random_uuid(), h.id, c.id, 'parent', CURRENT_DATE, now(), now()
            FROM registry_staging s JOIN accounts_patient c ON c.nir = s.nir
            JOIN accounts_patient h ON h.id = c.card_holder_id
            WHERE c.birth_date > CURRENT_DATE - interval '18 years'
            ON CONFLICT (representative_id, represented_id) WHERE ended_on IS NULL DO NOTHING"""
    product = [
        ("count attachments", registry._COUNT_ATTACHMENTS),
        ("upsert holders", registry._UPSERT_HOLDERS),
        ("upsert attached", registry._UPSERT_ATTACHED),
        (
            "update unresolved holders",
            """UPDATE accounts_patient p SET card_holder_id = h.id, updated_at = now()
            FROM registry_staging s JOIN accounts_patient h ON h.nir = s.holder_nir
            WHERE s.holder_nir <> '' AND p.nir = s.nir AND p.card_holder_id IS NULL""",
        ),
        ("links", links),
    ]
    return {
        "product": product,
        "holder_in_upsert": [*_holder_upserts(""), ("links", links)],
        "holder_in_upsert_sorted": [*_holder_upserts("ORDER BY nir"), ("links", links)],
        "holder_in_upsert_no_like_index": [
            ("drop nir _like index", DROP_LIKE),
            *_holder_upserts(""),
            ("links", links),
        ],
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sql_lab")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args(argv)
    import psycopg

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from bench.paths import WORK_DIR
    from bench.registry_csv import default_path, generate

    path = default_path(WORK_DIR / "csv", options.rows, options.seed)
    if not path.exists():
        generate(path, options.rows, seed=options.seed)
    server = SERVER_URL.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{LAB_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{LAB_DB}"')
    environment = dict(os.environ, DJANGO_SETTINGS_MODULE="espace_sante.settings.test")
    environment["DATABASE_URL"] = f"{server}/{LAB_DB}"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment, check=True)
    results: dict = {"rows": options.rows, "file": str(path), "sequences": {}}
    with psycopg.connect(f"{server}/{LAB_DB}") as connection:
        connection.execute("CREATE TEMPORARY TABLE raw_registry (" + COLUMNS_RAW.replace(",", " text,") + " text)")
        with connection.cursor().copy("COPY raw_registry FROM STDIN (FORMAT csv, HEADER true)") as copy:
            with open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    copy.write(block)
        connection.execute(STAGING_DDL)
        connection.execute(
            """INSERT INTO registry_staging SELECT row_number() OVER () + 1, nir, nom_naissance, prenoms,
            date_naissance::date, sexe, lieu_naissance_insee, coalesce(email, ''),
            replace(coalesce(telephone, ''), ' ', ''), coalesce(adresse, ''), coalesce(code_postal, ''),
            coalesce(commune, ''), type_carte_vitale, numero_serie_vitale, coalesce(nir_ouvrant_droit, '')
            FROM raw_registry
            WHERE date_naissance NOT LIKE '%-02-3%' AND type_carte_vitale IN ('avec_photo', 'sans_photo')
              AND right(nir, 2)::int = 97 - left(nir, 13)::bigint % 97"""
        )
        connection.execute("DROP TABLE raw_registry")
        connection.execute("CREATE INDEX ON registry_staging (nir, line)")
        connection.execute("ANALYZE registry_staging")
        results["staged"] = connection.execute("SELECT count(*) FROM registry_staging").fetchone()[0]
        connection.commit()
        for name, steps in list(sequences().items()) * options.repeat:
            timings = {}
            started = time.perf_counter()
            for label, sql in steps:
                begun = time.perf_counter()
                cursor = connection.execute(sql)
                if cursor.description:
                    cursor.fetchall()
                timings[label] = round(time.perf_counter() - begun, 3)
            begun = time.perf_counter()
            connection.commit()  # runs the deferred FK checks
            timings["commit (deferred FK checks)"] = round(time.perf_counter() - begun, 3)
            total = round(time.perf_counter() - started, 3)
            attached = connection.execute("SELECT count(card_holder_id) FROM accounts_patient").fetchone()[0]
            links = connection.execute("SELECT count(*) FROM accounts_legalrepresentation").fetchone()[0]
            # The same empty tables for the next sequence (a rollback would leave 1 M dead rows behind).
            connection.execute("TRUNCATE accounts_patient, accounts_legalrepresentation CASCADE")
            if "no_like" in name:
                connection.execute(
                    "CREATE INDEX accounts_patient_nir_like ON accounts_patient (nir varchar_pattern_ops)"
                )
            connection.commit()
            results["sequences"].setdefault(name, []).append(
                {"seconds": total, "steps": timings, "attached": attached, "links": links}
            )
            sys.stderr.write(f"{name}: {total} s {timings} attached={attached} links={links}\n")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{LAB_DB}" WITH (FORCE)')
    import datetime

    from bench.paths import RESULTS_DIR

    results["finished"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    results["loadavg1"] = os.getloadavg()[0]
    name = f"{datetime.datetime.now(datetime.UTC):%Y%m%d-%H%M%S}-sql_lab-{options.rows}.json"
    (RESULTS_DIR / name).write_text(json.dumps(results, indent=1))
    sys.stdout.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
