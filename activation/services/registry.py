"""Import of the insured registry: validate row by row, upsert by NIR, attach children to card holders.

On PostgreSQL valid rows stream through COPY into a temporary table, then a few set-based statements
upsert them (an unchanged row is not touched, so a second run changes nothing). Memory stays flat: rows
are never held all at once. Rejected rows go to a report with their reason; the good ones go on.
"""

import csv
import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from stdnum.fr import nir as nir_check

from accounts.enums import RepresentationKind, Sex, VitaleCardType
from accounts.models import MAJORITY_AGE, LegalRepresentation, Patient
from espace_sante.lib.dates import today

COLUMNS = [
    "nir",
    "nom_naissance",
    "prenoms",
    "date_naissance",
    "sexe",
    "lieu_naissance_insee",
    "email",
    "telephone",
    "adresse",
    "code_postal",
    "commune",
    "type_carte_vitale",
    "numero_serie_vitale",
    "nir_ouvrant_droit",
]
CARD_TYPES = set(VitaleCardType.values)
SEXES = set(Sex.values)
OLDEST = datetime.date(1890, 1, 1)


class RowError(ValueError):
    pass


@dataclass
class ImportReport:
    read: int = 0
    valid: int = 0
    rejected: int = 0
    created: int = 0
    updated: int = 0
    attached: int = 0
    representations: int = 0
    rejects_path: Path | None = None
    reasons: dict[str, int] = field(default_factory=dict)


def validate_row(values: list[str], now: datetime.date) -> tuple:
    """One line's values (in the order of COLUMNS) as database values, or RowError with a French reason."""
    (
        nir,
        birth_name,
        first_names,
        birth_date,
        sex,
        insee,
        email,
        phone,
        address,
        postal_code,
        city,
        card_type,
        serial,
        holder,
    ) = values
    nir = nir.strip().upper()
    if not nir_check.is_valid(nir):
        raise RowError("NIR invalide (clé ou format)")
    birth_name, first_names = birth_name.strip(), first_names.strip()
    if not birth_name or not first_names or len(birth_name) > 100 or len(first_names) > 150:
        raise RowError("nom de naissance ou prénoms manquants ou trop longs")
    try:
        birth_date = datetime.date.fromisoformat(birth_date.strip())
    except ValueError:
        raise RowError("date de naissance invalide (AAAA-MM-JJ attendu)") from None
    if not OLDEST <= birth_date <= now:
        raise RowError("date de naissance hors limites")
    sex = sex.strip().upper()
    if sex not in SEXES:
        raise RowError("sexe inconnu (M ou F attendu)")
    insee = insee.strip().upper()
    if len(insee) != 5:
        raise RowError("code INSEE du lieu de naissance invalide")
    email = email.strip()
    if email and ("@" not in email or len(email) > 254 or " " in email):
        raise RowError("adresse e-mail invalide")
    phone = "".join(phone.split())
    if len(phone) > 20:
        raise RowError("téléphone invalide")
    postal_code = postal_code.strip()
    if postal_code and (len(postal_code) != 5 or not postal_code.isdigit()):
        raise RowError("code postal invalide")
    card_type = card_type.strip()
    if card_type not in CARD_TYPES:
        raise RowError("type de carte Vitale inconnu (avec_photo ou sans_photo attendu)")
    serial = serial.strip()
    if not serial.isdigit() or not 8 <= len(serial) <= 20:
        raise RowError("numéro de série de carte Vitale invalide")
    holder = holder.strip().upper()
    if holder and (not nir_check.is_valid(holder) or holder == nir):
        raise RowError("NIR de l’ouvrant droit invalide")
    address = address.strip()[:200]
    city = city.strip()[:100]
    return (
        nir,
        birth_name,
        first_names,
        birth_date,
        sex,
        insee,
        email,
        phone,
        address,
        postal_code,
        city,
        card_type,
        serial,
        holder,
    )


def _rows(path: Path, rejects: csv.writer, report: ImportReport, progress: Callable[[int], None] | None) -> Iterator:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        # csv.reader and positions looked up once: a dict per line (DictReader) cost 6 % of the import.
        reader = csv.reader(handle)
        header = next(reader, [])
        missing = set(COLUMNS) - set(header)
        if missing:
            raise RowError(f"colonnes manquantes : {', '.join(sorted(missing))}")
        positions = [header.index(name) for name in COLUMNS]
        width = max(positions) + 1
        now = today()  # once per file: per row it cost 9 % of the import
        for line, values in enumerate(reader, start=2):
            if not values:
                continue  # a blank line, as DictReader skipped them
            report.read += 1
            if progress and report.read % 10000 == 0:
                progress(handle.buffer.tell())  # the text layer cannot tell() while csv iterates
            if len(values) < width:
                values = values + [""] * (width - len(values))
            try:
                row = validate_row([values[i] for i in positions], now)
            except RowError as error:
                _reject(rejects, report, line, values[positions[0]], str(error))
                continue
            report.valid += 1
            yield (line, *row)


def _reject(rejects, report: ImportReport, line: int, nir: str, reason: str) -> None:
    report.rejected += 1
    report.reasons[reason] = report.reasons.get(reason, 0) + 1
    rejects.writerow([line, nir, reason])


def registry_import(
    *, path: Path, rejects_path: Path | None = None, progress: Callable[[int], None] | None = None
) -> ImportReport:
    report = ImportReport(rejects_path=rejects_path or path.with_name(path.name + ".rejets.csv"))
    with open(report.rejects_path, "w", encoding="utf-8", newline="") as handle:
        rejects = csv.writer(handle, delimiter=";")
        rejects.writerow(["ligne", "nir", "motif"])
        rows = _rows(path, rejects, report, progress)
        if connection.vendor == "postgresql":
            _import_postgresql(rows, rejects, report)
        else:
            _import_orm(rows, rejects, report)
    return report


STAGING = "registry_staging"
_PATIENT_COLUMNS = """birth_name, first_names, birth_date, sex, birth_place_insee, email, phone, address_line,
    postal_code, city, vitale_card_type, vitale_serial, card_holder_id"""


def _upsert(source: str) -> str:
    """Insert or update people from `source` (staging rows with `holder_id` resolved), counted by PostgreSQL.

    An unchanged person is not touched, so a second run changes nothing; counting in SQL keeps memory flat.
    """
    changed = ", ".join(f"accounts_patient.{c.strip()}" for c in _PATIENT_COLUMNS.split(","))
    incoming = ", ".join(f"EXCLUDED.{c.strip()}" for c in _PATIENT_COLUMNS.split(","))
    assignments = ", ".join(f"{c.strip()} = EXCLUDED.{c.strip()}" for c in _PATIENT_COLUMNS.split(","))
    return f"""
WITH upserted AS (
    INSERT INTO accounts_patient (public_id, nir, used_name, {_PATIENT_COLUMNS}, created_at, updated_at)
    SELECT gen_random_uuid(), nir, '', birth_name, first_names, birth_date, sex, insee, email, phone, address,
        postal_code, city, card_type, serial, holder_id, now(), now()
    FROM ({source}) AS incoming
    ON CONFLICT (nir) DO UPDATE SET {assignments}, updated_at = now()
    WHERE ({changed}) IS DISTINCT FROM ({incoming})
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
"""


# Card holders first, then the people attached to them with their holder's id already resolved: each
# attached person is written once (not inserted, then updated), which saves a fifth of the SQL time.
_UPSERT_HOLDERS = _upsert(f"SELECT s.*, NULL::bigint AS holder_id FROM {STAGING} s WHERE s.holder_nir = ''")
_UPSERT_ATTACHED = _upsert(
    f"""SELECT s.*, h.id AS holder_id FROM {STAGING} s LEFT JOIN accounts_patient h ON h.nir = s.holder_nir
    WHERE s.holder_nir <> ''"""
)
# Attachments that will change, counted before the upserts (a new holder has no id yet: it is a change).
_COUNT_ATTACHMENTS = f"""
SELECT count(*) FROM {STAGING} s
LEFT JOIN accounts_patient p ON p.nir = s.nir
LEFT JOIN accounts_patient h ON h.nir = NULLIF(s.holder_nir, '')
WHERE (s.holder_nir = '' AND p.card_holder_id IS NOT NULL)
   OR (s.holder_nir <> '' AND (h.id IS NULL OR p.card_holder_id IS DISTINCT FROM h.id))
"""


def _import_postgresql(rows, rejects, report: ImportReport) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")  # left over inside an enclosing transaction
        cursor.execute(
            f"""CREATE TEMPORARY TABLE {STAGING} (line integer, nir text, birth_name text, first_names text,
            birth_date date, sex text, insee text, email text, phone text, address text, postal_code text,
            city text, card_type text, serial text, holder_nir text) ON COMMIT DROP"""
        )
        with cursor.cursor.copy(f"COPY {STAGING} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"CREATE INDEX ON {STAGING} (nir, line)")
        cursor.execute(f"ANALYZE {STAGING}")
        # The same NIR twice in the file: the last line wins, earlier ones are reported.
        cursor.execute(
            f"""DELETE FROM {STAGING} s USING {STAGING} later
            WHERE later.nir = s.nir AND later.line > s.line RETURNING s.line, s.nir"""
        )
        for line, nir in cursor.fetchall():
            _reject(rejects, report, line, nir, "NIR présent plusieurs fois dans le fichier (dernière ligne retenue)")
            report.valid -= 1
        # A child's card holder must exist, in the file or already in the registry.
        cursor.execute(
            f"""DELETE FROM {STAGING} s WHERE s.holder_nir <> ''
            AND NOT EXISTS (SELECT 1 FROM {STAGING} h WHERE h.nir = s.holder_nir)
            AND NOT EXISTS (SELECT 1 FROM accounts_patient p WHERE p.nir = s.holder_nir)
            RETURNING s.line, s.nir"""
        )
        for line, nir in cursor.fetchall():
            _reject(rejects, report, line, nir, "ouvrant droit inconnu")
            report.valid -= 1
        cursor.execute(_COUNT_ATTACHMENTS)
        (report.attached,) = cursor.fetchone()
        report.created, report.updated = 0, 0
        for statement in (_UPSERT_HOLDERS, _UPSERT_ATTACHED):
            cursor.execute(statement)
            created, updated = cursor.fetchone()
            report.created += created
            report.updated += updated
        # A holder who is themself attached and new in this file had no id yet when their children were
        # written: resolve those few now.
        cursor.execute(
            f"""UPDATE accounts_patient p SET card_holder_id = h.id, updated_at = now()
            FROM {STAGING} s JOIN accounts_patient h ON h.nir = s.holder_nir
            WHERE s.holder_nir <> '' AND p.nir = s.nir AND p.card_holder_id IS NULL"""
        )
        adult_born_before = _majority_cutoff()
        cursor.execute(
            f"""INSERT INTO accounts_legalrepresentation
                (public_id, representative_id, represented_id, kind, started_on, created_at, updated_at)
            SELECT gen_random_uuid(), h.id, c.id, %s, CURRENT_DATE, now(), now()
            FROM {STAGING} s JOIN accounts_patient c ON c.nir = s.nir
            JOIN accounts_patient h ON h.id = c.card_holder_id
            WHERE c.birth_date > %s
            ON CONFLICT (representative_id, represented_id) WHERE ended_on IS NULL DO NOTHING""",
            [RepresentationKind.PARENT, adult_born_before],
        )
        report.representations = cursor.rowcount


def _majority_cutoff() -> datetime.date:
    now = today()
    try:
        return now.replace(year=now.year - MAJORITY_AGE)
    except ValueError:  # 29 February
        return now.replace(year=now.year - MAJORITY_AGE, day=28)


def _import_orm(rows, rejects, report: ImportReport) -> None:
    """The SQLite demo path: the same rules, row by row (fine for demo-sized files)."""
    by_nir = {}
    for row in rows:
        if row[1] in by_nir:
            previous = by_nir[row[1]]
            _reject(
                rejects,
                report,
                previous[0],
                row[1],
                "NIR présent plusieurs fois dans le fichier (dernière ligne retenue)",
            )
            report.valid -= 1
        by_nir[row[1]] = row
    for line, nir, *_, holder in list(by_nir.values()):
        if holder and holder not in by_nir and not Patient.objects.filter(nir=holder).exists():
            _reject(rejects, report, line, nir, "ouvrant droit inconnu")
            report.valid -= 1
            del by_nir[nir]
    cutoff = _majority_cutoff()
    with transaction.atomic():
        for (
            _,
            nir,
            birth_name,
            first_names,
            birth_date,
            sex,
            insee,
            email,
            phone,
            address,
            postal_code,
            city,
            card_type,
            serial,
            _holder,
        ) in by_nir.values():
            values = {
                "birth_name": birth_name,
                "first_names": first_names,
                "birth_date": birth_date,
                "sex": sex,
                "birth_place_insee": insee,
                "email": email,
                "phone": phone,
                "address_line": address,
                "postal_code": postal_code,
                "city": city,
                "vitale_card_type": card_type,
                "vitale_serial": serial,
            }
            patient = Patient.objects.filter(nir=nir).first()
            if patient is None:
                Patient.objects.create(nir=nir, **values)
                report.created += 1
            elif any(getattr(patient, key) != value for key, value in values.items()):
                Patient.objects.filter(pk=patient.pk).update(**values)
                report.updated += 1
        for _, nir, *_, holder_nir in by_nir.values():
            patient = Patient.objects.get(nir=nir)
            holder = Patient.objects.get(nir=holder_nir) if holder_nir else None
            if patient.card_holder_id != (holder.pk if holder else None):
                Patient.objects.filter(pk=patient.pk).update(card_holder=holder)
                report.attached += 1
            if holder is not None and patient.birth_date > cutoff:
                _, created = LegalRepresentation.objects.get_or_create(
                    representative=holder,
                    represented=patient,
                    ended_on=None,
                    defaults={"kind": RepresentationKind.PARENT},
                )
                report.representations += int(created)
