"""Changes applied to the product INSIDE a benchmark process only (nothing here is committed to the product).

Each entry is either a hotfix without which the benchmark cannot run at all, or a proposed fix measured
against the product as it is (`--variant`). The report and bench/README.md give the same fixes as
source changes.
"""

import builtins
import io


class _TellableText(io.TextIOWrapper):
    """tell() of the underlying byte buffer: allowed while iterating, exact to within one read-ahead chunk."""

    def tell(self) -> int:
        return self.buffer.tell()


def _open_tellable(file, mode="r", *args, **kwargs):
    if mode != "r":
        return builtins.open(file, mode, *args, **kwargs)
    return _TellableText(builtins.open(file, "rb"), encoding=kwargs.get("encoding"), newline=kwargs.get("newline"))


def hotfix_registry_tell() -> None:
    """activation/services/registry.py `_rows` calls `handle.tell()` on a text file that csv is iterating:
    CPython raises "OSError: telling position disabled by next() call" at row 10,000, so `manage.py
    import_assures` fails on every file of 10,000 rows or more. Proposed fix: `progress(handle.buffer.tell())`.
    Here: the module's `open` returns a text wrapper whose tell() is exactly that."""
    from activation.services import registry

    registry.open = _open_tellable


# --- Proposed fix 1: registry import, the upsert's RETURNING counted by PostgreSQL -------------------------
def variant_registry_count() -> None:
    """`cursor.execute(_UPSERT)` then `for (inserted,) in cursor.fetchall()` brings one row per valid line
    to Python (1 M tuples at 1 M rows) only to count them: memory and time grow with N. Proposed fix: wrap
    the upsert in a CTE and let PostgreSQL count:

        WITH upserted AS (<_UPSERT>) SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT
        inserted) FROM upserted

    Here: the module's `connection` is wrapped so that the cursor sees that statement and hands back a
    short iterator of the same (inserted,) rows' counts without materialising them."""
    from activation.services import registry

    counted = (
        f"WITH upserted AS ({registry._UPSERT}) SELECT count(*) FILTER (WHERE inserted), "  # noqa: S608 — constant
        "count(*) FILTER (WHERE NOT inserted) FROM upserted"
    )

    class _Counts:
        """Iterates as (True,)*created + (False,)*updated without holding them."""

        def __init__(self, created: int, updated: int) -> None:
            self.created, self.updated = created, updated

        def __iter__(self):
            import itertools

            return itertools.chain(itertools.repeat((True,), self.created), itertools.repeat((False,), self.updated))

    class _Cursor:
        def __init__(self, cursor) -> None:
            self._cursor, self._counts = cursor, None

        def __getattr__(self, name):
            return getattr(self._cursor, name)

        def __enter__(self):
            self._cursor.__enter__()
            return self

        def __exit__(self, *exc):
            return self._cursor.__exit__(*exc)

        def execute(self, sql, params=None):
            if sql is registry._UPSERT:
                self._cursor.execute(counted)
                self._counts = _Counts(*self._cursor.fetchone())
                return None
            self._counts = None
            return self._cursor.execute(sql, params)

        def fetchall(self):
            return self._counts if self._counts is not None else self._cursor.fetchall()

    class _Connection:
        def __init__(self, connection) -> None:
            self._connection = connection

        def __getattr__(self, name):
            return getattr(self._connection, name)

        def cursor(self):
            return _Cursor(self._connection.cursor())

    registry.connection = _Connection(registry.connection)


# --- Proposed fix 2: registry import, the row path without DictReader and stdnum ----------------------------
def variant_registry_reader() -> None:
    """`_rows` builds a dict per line (csv.DictReader) and `validate_row` checks each NIR through
    python-stdnum (compact/clean/validate: several function calls and a regex-free but generic path).
    Proposed fix: csv.reader with the column positions looked up once, and the NIR rule inlined (15
    characters, département digits or 2A/2B, key = 97 - n % 97): same rules, same reasons, same order of
    checks. Measured on its own: see bench/README.md."""
    import csv

    from activation.services import registry

    original_validate = registry.validate_row
    today = registry.today

    def nir_ok(nir: str) -> bool:
        if len(nir) != 15 or not nir.isascii():
            return False
        head, dept, tail = nir[:5], nir[5:7], nir[7:]
        if not (head.isdigit() and tail.isdigit()):
            return False
        if dept == "2A":
            number = head + "19" + nir[7:13]
        elif dept == "2B":
            number = head + "18" + nir[7:13]
        elif dept.isdigit():
            number = nir[:13]
        else:
            return False
        return 97 - int(number) % 97 == int(nir[13:])

    oldest = registry.OLDEST
    sexes, card_types, row_error = registry.SEXES, registry.CARD_TYPES, registry.RowError
    fromisoformat = registry.datetime.date.fromisoformat

    def validate(values: list[str], positions: list[int], now) -> tuple:
        (
            nir,
            birth_name,
            first_names,
            born,
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
        ) = [values[i] if i < len(values) else "" for i in positions]
        nir = nir.strip().upper()
        if not nir_ok(nir):
            raise row_error("NIR invalide (clé ou format)")
        birth_name, first_names = birth_name.strip(), first_names.strip()
        if not birth_name or not first_names or len(birth_name) > 100 or len(first_names) > 150:
            raise row_error("nom de naissance ou prénoms manquants ou trop longs")
        try:
            birth_date = fromisoformat(born.strip())
        except ValueError:
            raise row_error("date de naissance invalide (AAAA-MM-JJ attendu)") from None
        if not oldest <= birth_date <= now:
            raise row_error("date de naissance hors limites")
        sex = sex.strip().upper()
        if sex not in sexes:
            raise row_error("sexe inconnu (M ou F attendu)")
        insee = insee.strip().upper()
        if len(insee) != 5:
            raise row_error("code INSEE du lieu de naissance invalide")
        email = email.strip()
        if email and ("@" not in email or len(email) > 254 or " " in email):
            raise row_error("adresse e-mail invalide")
        phone = "".join(phone.split())
        if len(phone) > 20:
            raise row_error("téléphone invalide")
        postal_code = postal_code.strip()
        if postal_code and (len(postal_code) != 5 or not postal_code.isdigit()):
            raise row_error("code postal invalide")
        card_type = card_type.strip()
        if card_type not in card_types:
            raise row_error("type de carte Vitale inconnu (avec_photo ou sans_photo attendu)")
        serial = serial.strip()
        if not serial.isdigit() or not 8 <= len(serial) <= 20:
            raise row_error("numéro de série de carte Vitale invalide")
        holder = holder.strip().upper()
        if holder and (not nir_ok(holder) or holder == nir):
            raise row_error("NIR de l’ouvrant droit invalide")
        return (
            nir,
            birth_name,
            first_names,
            birth_date,
            sex,
            insee,
            email,
            phone,
            address.strip()[:200],
            postal_code,
            city.strip()[:100],
            card_type,
            serial,
            holder,
        )

    def rows(path, rejects, report, progress):
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            missing = set(registry.COLUMNS) - set(header)
            if missing:
                raise row_error(f"colonnes manquantes : {', '.join(sorted(missing))}")
            positions = [header.index(name) for name in registry.COLUMNS]
            now = today()
            nir_at = positions[0]
            for line, values in enumerate(reader, start=2):
                report.read += 1
                if progress and report.read % 10000 == 0:
                    progress(handle.buffer.tell())
                if not values:  # DictReader skips blank lines without counting them
                    report.read -= 1
                    continue
                try:
                    row = validate(values, positions, now)
                except row_error as error:
                    nir = values[nir_at] if nir_at < len(values) else ""
                    registry._reject(rejects, report, line, nir, str(error))
                    continue
                report.valid += 1
                yield (line, *row)

    registry._rows = rows
    registry._validate_row_original = original_validate


# --- Proposed fix 3: campaign chunk, fewer Python objects per person ----------------------------------------
def variant_campaign_fast() -> None:
    """`_prepare` as it is costs ~150 µs of Python per person (py-spy, bench/README.md): full Patient
    instances ×2 (select_related), `pk__in` with 5,000 placeholders (twice), Django field preparation of
    every value of every COPY row, one os.urandom syscall per UUID, nonce and code, a fresh AESGCM object
    per e-mail. Proposed fix, same rows, same files, same transaction:
    - one raw query for the chunk: the person's and the card holder's few columns, `p.id = ANY(%s)`;
    - UUIDs, codes and nonces from one os.urandom call per chunk (codes: base32 of 10 random bytes,
      translated to Crockford's alphabet: the same 80 bits → the same 16 characters as codes.generate);
    - `hmac.digest` (one-shot C path) for the code hashes; one AESGCM object per chunk;
    - COPY rows written with psycopg directly (timestamps and constants formatted once per chunk).
    """
    import base64
    import csv
    import hashlib
    import hmac
    import io
    import os
    import uuid

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from django.db import connection
    from django.utils import timezone

    from activation import codes
    from activation.enums import ChunkStatus, CodeChannel, SpaceStatus
    from activation.models import CODE_VALIDITY, CampaignChunk
    from activation.services import campaign
    from espace_sante.crypto import aead
    from espace_sante.crypto.keys import code_hash_key, keyring
    from espace_sante.outbox.enums import Channel, OutboxStatus

    to_crockford = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", codes.ALPHABET)
    body_context = b"outbox.OutboxMessage.body"

    def new_uuids(count: int) -> list[uuid.UUID]:
        raw = os.urandom(16 * count)
        return [uuid.UUID(bytes=raw[i : i + 16], version=4) for i in range(0, 16 * count, 16)]

    def new_codes(count: int) -> list[str]:
        text = base64.b32encode(os.urandom(10 * count)).decode().translate(to_crockford)
        return [text[i : i + 16] for i in range(0, 16 * count, 16)]

    def prepare(chunk) -> None:
        run = chunk.run
        now = timezone.now()
        expires_at = now + CODE_VALIDITY
        expires_on = timezone.localdate(expires_at).strftime("%d/%m/%Y")
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT p.id, p.first_names, p.birth_name, p.used_name, h.id, h.first_names, h.birth_name,
                    h.used_name, h.email, h.address_line, h.postal_code, h.city, p.email, p.address_line,
                    p.postal_code, p.city
                FROM accounts_patient p LEFT JOIN accounts_patient h ON h.id = p.card_holder_id
                WHERE p.id = ANY(%s) AND p.deceased_on IS NULL
                  AND NOT EXISTS (SELECT 1 FROM activation_healthspace s WHERE s.patient_id = p.id)
                ORDER BY p.id""",
                [chunk.patient_ids],
            )
            people = []
            for (
                pk,
                first_names,
                birth_name,
                used_name,
                h_pk,
                h_first,
                h_birth,
                h_used,
                h_email,
                h_address,
                h_postal,
                h_city,
                email,
                address,
                postal,
                city,
            ) in cursor.fetchall():
                if h_pk is None:  # own card: the holder is the person
                    h_pk, h_first, h_birth, h_used = pk, first_names, birth_name, used_name
                    h_email, h_address, h_postal, h_city = email, address, postal, city
                people.append(
                    (
                        pk,
                        first_names,
                        used_name or birth_name,
                        h_pk,
                        h_first,
                        h_used or h_birth,
                        h_email,
                        h_address,
                        h_postal,
                        h_city,
                    )
                )
        count = len(people)
        space_uuids, code_uuids = new_uuids(count), new_uuids(count)
        person_codes = new_codes(count)
        key = code_hash_key()
        purpose = (codes.HASH_PURPOSE + "\x00").encode()
        channels = [CodeChannel.EMAIL.value if p[6] else CodeChannel.LETTER.value for p in people]
        raw = connection.connection
        with raw.cursor() as cursor:
            with cursor.copy(
                "COPY activation_healthspace (public_id, patient_id, status, informed_at, updated_at) FROM STDIN"
            ) as copy:
                informed = SpaceStatus.INFORMED.value
                for person, public_id in zip(people, space_uuids, strict=True):
                    copy.write_row((public_id, person[0], informed, now, now))
            with cursor.copy(
                "COPY activation_provisionalcode (public_id, patient_id, code_hash, channel, issued_at, "
                "expires_at, failed_attempts, chunk_id) FROM STDIN"
            ) as copy:
                for person, public_id, code, channel in zip(people, code_uuids, person_codes, channels, strict=True):
                    digest = hmac.digest(key, purpose + code.encode(), hashlib.sha256).hex()
                    copy.write_row((public_id, person[0], digest, channel, now, expires_at, 0, chunk.pk))
            cursor.execute(
                "SELECT patient_id, id FROM activation_healthspace WHERE patient_id = ANY(%s)",
                [[p[0] for p in people]],
            )
            space_ids = dict(cursor.fetchall())
            with cursor.copy(
                "COPY activation_informationmessage (space_id, channel, recipient_id, chunk_id, prepared_at) "
                "FROM STDIN"
            ) as copy:
                for person, channel in zip(people, channels, strict=True):
                    copy.write_row((space_ids[person[0]], channel, person[3], chunk.pk, now))
            email_people = [(p, c) for p, c in zip(people, person_codes, strict=True) if p[6]]
            if email_people:
                subject, body = campaign._email_template(run)
                marks = campaign._PLACEHOLDERS
                ring = keyring()
                cipher = AESGCM(ring.current)
                prefix = aead.FIELD_VERSION + aead._pack_key_id(ring.current_id)
                nonces = os.urandom(12 * len(email_people))
                outbox_uuids = new_uuids(len(email_people))
                own = "Ce message concerne votre propre profil."
                attached = "rattaché à votre carte Vitale."
                with cursor.copy(
                    "COPY outbox_outboxmessage (public_id, channel, recipient, subject, body, dedupe_key, status, "
                    "created_at, attempts, attachment_name, attachment_filename, last_error) FROM STDIN"
                ) as copy:
                    for index, ((person, code), public_id) in enumerate(zip(email_people, outbox_uuids, strict=True)):
                        pk, first_names, last_name, h_pk, h_first, h_last, h_email = person[:7]
                        if pk == h_pk:
                            concerned = own
                        else:
                            child = f"{first_names.split()[0] if first_names else ''} {last_name}"
                            concerned = f"Ce message concerne le profil de votre enfant {child}, {attached}"
                        holder_first = h_first.split()[0] if h_first else ""
                        text = (
                            body.replace(marks["salutation"], f"Bonjour {holder_first} {h_last},")
                            .replace(marks["concerned"], concerned)
                            .replace(marks["code"], codes.display(code))
                            .replace(marks["expires"], expires_on)
                        )
                        nonce = nonces[12 * index : 12 * index + 12]
                        sealed = prefix + nonce + cipher.encrypt(nonce, text.encode(), body_context)
                        copy.write_row(
                            (
                                public_id,
                                Channel.EMAIL.value,
                                h_email,
                                subject,
                                sealed,
                                f"campaign:{space_ids[pk]}",
                                OutboxStatus.QUEUED.value,
                                now,
                                0,
                                "",
                                "",
                                "",
                            )
                        )
        letters = [(p, c) for p, c in zip(people, person_codes, strict=True) if not p[6]]
        base = campaign.print_dir(run) / f"lot-{chunk.number:05d}"
        for stale in getattr(campaign, "_batch_partials", lambda base: [])(base):  # as the product does
            stale.unlink()
        if letters:
            buffer = io.StringIO()
            writer = csv.writer(buffer, delimiter=";")
            writer.writerow(campaign.PRINT_COLUMNS)
            rows = []
            for index, (person, code) in enumerate(letters, 1):
                pk, first_names, last_name, h_pk, h_first, h_last, _, address, postal, city = person
                holder_first = h_first.split()[0] if h_first else ""
                concerned = "" if pk == h_pk else f"{first_names.split()[0] if first_names else ''} {last_name}"
                rows.append(
                    [
                        f"{chunk.number:05d}-{index:05d}",
                        f"{holder_first} {h_last}".upper(),
                        address,
                        postal,
                        city.upper(),
                        concerned,
                        codes.display(code),
                        expires_on,
                    ]
                )
            writer.writerows(rows)
            campaign._write_partial(base.with_suffix(".csv"), buffer.getvalue().encode("utf-8"))
            if run.render_pdf:
                pdf = campaign.render_pdf(
                    "activation/pdf/letters.html",
                    {"letters": [dict(zip(campaign.PRINT_COLUMNS, r, strict=True)) for r in rows], "proof": False},
                )
                campaign._write_partial(base.with_suffix(".pdf"), pdf)
        done = {
            "status": ChunkStatus.DONE,
            "finished_at": timezone.now(),
            "emails": len(email_people),
            "letters": len(letters),
            "skipped": len(chunk.patient_ids) - count,
        }
        if hasattr(chunk, "attempts"):  # older schema
            done["attempts"] = chunk.attempts + 1
        CampaignChunk.objects.filter(pk=chunk.pk).update(**done)

    campaign._prepare = prepare


# --- Proposed fix 3b: campaign start, chunks written as they fill -----------------------------------------
def variant_campaign_stream() -> None:
    """Two places hold every chunk's id list (1 M Python ints, ~40 MB at 1 M people) at once.

    1. `campaign_start` keeps every CampaignChunk (and so every eligible id, as Python ints in lists) in
    one list until a single bulk_create at the end: ~40 MB more per million people, growing with N.
    Proposed fix: bulk_create every 20 chunks (100,000 ids) as soon as they are full, count people on the way.
    Same rows, same transaction, same queued tasks.
    2. `_close_finished_runs`, after the last chunk: `for chunk in run.chunks.filter(letters__gt=0)` loads
    every chunk with its `patient_ids` to publish print files. Proposed fix:
    `.only("pk", "run_id", "number").iterator()`."""
    import inspect

    from django.db import transaction
    from django.utils import timezone

    from activation.enums import ChunkStatus, RunStatus
    from activation.models import CampaignChunk, CampaignRun
    from activation.services import campaign

    @transaction.atomic
    def campaign_start(*, departements=None, limit=None, render_pdf_letters=False, chunk_size=5000):
        from activation.tasks import process_campaign_chunk_task

        if CampaignRun.objects.select_for_update().filter(status=RunStatus.RUNNING).exists():
            raise campaign.CampaignAlreadyRunning
        run = CampaignRun.objects.create(departements=departements or [], limit=limit, render_pdf=render_pdf_letters)
        ids = campaign.eligible_patients(departements=departements).values_list("pk", flat=True)
        if limit is not None:
            ids = ids[:limit]
        pending, batch, number, people = [], [], 0, 0
        for pk in ids.iterator(chunk_size=20000):
            batch.append(pk)
            if len(batch) == chunk_size:
                number += 1
                pending.append(CampaignChunk(run=run, number=number, patient_ids=batch))
                people += len(batch)
                batch = []
                if len(pending) == 20:  # 100,000 ids at the default chunk size
                    CampaignChunk.objects.bulk_create(pending)
                    pending = []
        if batch:
            number += 1
            pending.append(CampaignChunk(run=run, number=number, patient_ids=batch))
            people += len(batch)
        CampaignChunk.objects.bulk_create(pending)
        run.people = people
        run.save(update_fields=["people"])
        for chunk_id in CampaignChunk.objects.filter(run=run).values_list("pk", flat=True):
            process_campaign_chunk_task.delay_on_commit(chunk_id)
        if not number:
            run.status, run.finished_at = RunStatus.DONE, timezone.now()
            run.save(update_fields=["status", "finished_at"])
        return run

    campaign.campaign_start = campaign_start

    def close_finished_runs() -> None:
        """As the product's `_close_finished_runs`, without loading every chunk's id list: the publishing
        loop only needs each chunk's number (and run)."""
        for run in CampaignRun.objects.filter(status=RunStatus.RUNNING):
            if not run.chunks.exclude(status=ChunkStatus.DONE).exists():
                for chunk in run.chunks.filter(letters__gt=0).only("pk", "run_id", "number").iterator():
                    chunk.run = run
                    campaign._publish_print_files(chunk)
                CampaignRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                    status=RunStatus.DONE, finished_at=timezone.now()
                )

    if "for chunk in run.chunks.filter(letters__gt=0)" in inspect.getsource(campaign._close_finished_runs):
        campaign._close_finished_runs = close_finished_runs
    # lancer_campagne imported the name before the variant was applied
    from activation.management.commands import lancer_campagne

    lancer_campagne.campaign_start = campaign_start


# --- Proposed fix 4: outbox delivery, one SMTP session and one UPDATE per batch -----------------------------
def _outbox_deliver_batched(ids: list[int], *, reuse_connection: bool = True, batch_update: bool = True) -> int:
    from django.core.mail import get_connection
    from django.db.models import F
    from django.utils import timezone

    from espace_sante.outbox import services
    from espace_sante.outbox.enums import Channel, OutboxStatus
    from espace_sante.outbox.models import OutboxMessage

    sent_ids: list[int] = []
    connection = get_connection()
    if reuse_connection:
        connection.open()
    try:
        for message in OutboxMessage.objects.filter(pk__in=ids, status=OutboxStatus.SENDING).order_by("pk"):
            try:
                if message.channel == Channel.EMAIL:
                    services._send_email(connection, message)
                else:
                    services._send_sms(message)
            except Exception as error:  # noqa: BLE001 — as in the product
                failed = message.attempts + 1 >= services.MAX_ATTEMPTS
                OutboxMessage.objects.filter(pk=message.pk).update(
                    status=OutboxStatus.FAILED if failed else OutboxStatus.QUEUED,
                    attempts=message.attempts + 1,
                    last_error=type(error).__name__,
                )
                continue
            if batch_update:
                sent_ids.append(message.pk)
            else:
                OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.SENDING).update(
                    status=OutboxStatus.SENT, sent_at=timezone.now(), body=None, attempts=message.attempts + 1
                )
                sent_ids.append(message.pk)
    finally:
        if reuse_connection:
            connection.close()
        if batch_update and sent_ids:
            OutboxMessage.objects.filter(pk__in=sent_ids, status=OutboxStatus.SENDING).update(
                status=OutboxStatus.SENT, sent_at=timezone.now(), body=None, attempts=F("attempts") + 1
            )
    return len(sent_ids)


def variant_outbox_connection() -> None:
    """outbox_deliver calls get_connection() but never opens it, so Django's SMTP backend opens and closes
    one SMTP connection (TCP, EHLO, STARTTLS, AUTH, QUIT) PER MESSAGE. Proposed fix: `connection.open()` /
    `close()` around the loop (or `with get_connection() as connection:`). Rows still marked one by one."""
    from espace_sante.outbox import services

    services.outbox_deliver = lambda ids: _outbox_deliver_batched(ids, reuse_connection=True, batch_update=False)


def variant_outbox_batch() -> None:
    """As outbox-connection, and the sent rows of the claimed batch (≤ 200) marked SENT by ONE UPDATE after
    the batch instead of one autocommitted UPDATE (one WAL flush) per message. A worker killed mid-batch
    resends at most that batch later, with the same Message-ID (the relay drops duplicates): delivery was
    already at-least-once."""
    from espace_sante.outbox import services

    services.outbox_deliver = _outbox_deliver_batched


# --- Proposed fix 6: no `_like` index on unique hashes and keys ----------------------------------------
def variant_drop_like_indexes() -> None:
    """Django adds a second b-tree (`varchar_pattern_ops`, for LIKE 'x%') to every CharField with
    unique=True or db_index=True on PostgreSQL: accounts_patient.nir, activation_provisionalcode.code_hash and
    outbox_outboxmessage.dedupe_key each carry one that no query uses (nothing filters them with LIKE or
    startswith). Every inserted row pays for it. Proposed fix: declare those uniques as
    `models.UniqueConstraint(fields=[...], name=...)` in Meta (no `_like` index) instead of `unique=True`.
    Here: the scratch database's `_like` indexes on those tables are dropped before the command runs (the
    database is recreated for every size, so this lasts for that size's import AND campaign)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE '%%\\_like'
            AND tablename IN ('accounts_patient', 'activation_provisionalcode', 'outbox_outboxmessage')"""
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


HOTFIXES = {"registry-tell": hotfix_registry_tell}
VARIANTS = {
    "registry-count": variant_registry_count,
    "registry-reader": variant_registry_reader,
    "campaign-fast": variant_campaign_fast,
    "campaign-stream": variant_campaign_stream,
    "outbox-connection": variant_outbox_connection,
    "outbox-batch": variant_outbox_batch,
    "drop-like-indexes": variant_drop_like_indexes,
}
