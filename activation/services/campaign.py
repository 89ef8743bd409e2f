"""The information campaign: one provisional code per person, by e-mail when known, else by letter.

`campaign_start` freezes who is eligible into chunks; each chunk is processed by one Celery task in ONE
database transaction that holds a lock on the chunk row: spaces, code hashes, e-mails (outbox) and the
chunk's print file are all or nothing. A worker killed mid-chunk loses its connection, PostgreSQL rolls
back and releases the lock, and the redelivered task (late acknowledgement) redoes the chunk. Print files
are written as `.partial` inside the transaction and renamed after commit, so a batch exists once.
"""

import contextlib
import csv
import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Patient
from activation import codes
from activation.enums import ChunkStatus, CodeChannel, RunStatus, SpaceStatus
from activation.models import (
    CODE_VALIDITY,
    CampaignChunk,
    CampaignRun,
    HealthSpace,
    InformationMessage,
    ProvisionalCode,
)
from espace_sante.lib.bulk import InArray, copy_insert
from espace_sante.outbox.enums import Channel, OutboxStatus
from espace_sante.outbox.models import OutboxMessage
from espace_sante.pdf import render_pdf

DEFAULT_CHUNK_SIZE = 5000
PRINT_COLUMNS = [
    "reference",
    "destinataire",
    "adresse",
    "code_postal",
    "commune",
    "personne_concernee",
    "code_provisoire",
    "date_expiration",
]
_PLACEHOLDERS = {name: f"\x00{name}\x00" for name in ("salutation", "concerned", "code", "expires")}


class CampaignAlreadyRunning(Exception):
    pass


def print_dir(run: CampaignRun) -> Path:
    return Path(settings.MEDIA_ROOT) / "impression" / str(run.public_id)


def eligible_patients(*, departements: list[str] | None = None):
    """Alive insured people with no space yet (each child counts: its code goes to the card holder)."""
    queryset = Patient.objects.filter(space__isnull=True, deceased_on__isnull=True)
    if departements:
        condition = Q()
        for code in departements:
            condition |= Q(postal_code__startswith=code)
        queryset = queryset.filter(condition)
    return queryset.order_by("pk")


@transaction.atomic
def campaign_start(
    *,
    departements: list[str] | None = None,
    limit: int | None = None,
    render_pdf_letters: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> CampaignRun:
    """Freeze the eligible people into chunks and queue one task per chunk (after commit)."""
    from activation.tasks import process_campaign_chunk_task

    if CampaignRun.objects.select_for_update().filter(status=RunStatus.RUNNING).exists():
        raise CampaignAlreadyRunning
    run = CampaignRun.objects.create(departements=departements or [], limit=limit, render_pdf=render_pdf_letters)
    ids = eligible_patients(departements=departements).values_list("pk", flat=True)
    if limit is not None:
        ids = ids[:limit]
    # Chunks are written as they fill: holding every chunk's id list until the end made memory grow with N.
    pending, batch, number, people = [], [], 0, 0
    for pk in ids.iterator(chunk_size=20000):
        batch.append(pk)
        if len(batch) == chunk_size:
            number += 1
            people += len(batch)
            pending.append(CampaignChunk(run=run, number=number, patient_ids=batch))
            batch = []
            if len(pending) == 20:
                CampaignChunk.objects.bulk_create(pending)
                pending = []
    if batch:
        number += 1
        people += len(batch)
        pending.append(CampaignChunk(run=run, number=number, patient_ids=batch))
    CampaignChunk.objects.bulk_create(pending)
    run.people = people
    run.save(update_fields=["people"])
    for chunk_id in CampaignChunk.objects.filter(run=run).values_list("pk", flat=True):
        process_campaign_chunk_task.delay_on_commit(chunk_id)
    if not number:
        run.status, run.finished_at = RunStatus.DONE, timezone.now()
        run.save(update_fields=["status", "finished_at"])
    return run


def campaign_resume() -> int:
    """Re-queue every unfinished chunk (its task no-ops if another worker holds it) and finish print files."""
    from activation.tasks import process_campaign_chunk_task, render_batch_proof_task

    queued = 0
    for chunk in CampaignChunk.objects.filter(run__status=RunStatus.RUNNING).select_related("run"):
        if chunk.status == ChunkStatus.DONE:
            _publish_print_files(chunk)
            if chunk.letters:
                render_batch_proof_task.delay(chunk.pk)  # idempotent: a proof lost with its worker is redone
        else:
            process_campaign_chunk_task.delay(chunk.pk)
            queued += 1
    _close_finished_runs()
    return queued


def _close_finished_runs() -> None:
    for run in CampaignRun.objects.filter(status=RunStatus.RUNNING):
        if not run.chunks.exclude(status=ChunkStatus.DONE).exists():
            # A worker that died between its commit and its rename left a committed batch as `.partial`;
            # campaign_resume only looks at running runs, so publish every batch before closing this one.
            # Only the numbers: loading every chunk's id list here made memory grow with N.
            for chunk in run.chunks.filter(letters__gt=0).only("pk", "run_id", "number").iterator():
                chunk.run = run
                _publish_print_files(chunk)
            CampaignRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                status=RunStatus.DONE, finished_at=timezone.now()
            )


class _Person(NamedTuple):
    """What one person's information needs: their own and their card holder's columns, and the new code."""

    patient_id: int
    concerned: str  # the child's name when the code goes to the card holder, else ""
    holder_id: int
    holder_first_name: str
    holder_last_name: str
    email: str
    address: str
    postal_code: str
    city: str
    code: str

    @property
    def channel(self) -> str:
        return CodeChannel.EMAIL if self.email else CodeChannel.LETTER


_PERSON_COLUMNS = (
    "pk",
    "first_names",
    "birth_name",
    "used_name",
    "email",
    "address_line",
    "postal_code",
    "city",
    "card_holder_id",
    "card_holder__first_names",
    "card_holder__birth_name",
    "card_holder__used_name",
    "card_holder__email",
    "card_holder__address_line",
    "card_holder__postal_code",
    "card_holder__city",
)


def _people(chunk: CampaignChunk) -> list[_Person]:
    """The chunk's people still to inform, as plain values (model instances cost more than the rest)."""
    rows = (
        Patient.objects.filter(InArray(F("pk"), chunk.patient_ids), space__isnull=True, deceased_on__isnull=True)
        .order_by("pk")
        .values_list(*_PERSON_COLUMNS)
    )
    rows = list(rows)
    people = []
    for row, code in zip(rows, codes.generate_many(len(rows)), strict=True):
        pk, first_names, birth_name, used_name, *own, holder_id = row[:9]
        first_name, last_name = (first_names.split() or [""])[0], used_name or birth_name
        if holder_id is None:
            people.append(_Person(pk, "", pk, first_name, last_name, *own, code))
        else:
            h_first_names, h_birth_name, h_used_name, *contact = row[9:]
            h_first_name, h_last_name = (h_first_names.split() or [""])[0], h_used_name or h_birth_name
            concerned = f"{first_name} {last_name}"
            people.append(_Person(pk, concerned, holder_id, h_first_name, h_last_name, *contact, code))
    return people


def _email_template(run: CampaignRun) -> tuple[str, str]:
    """Render the e-mail once per chunk with placeholders; people differ only in a few strings."""
    context = {"run": run, **_PLACEHOLDERS, "phone": "3422"}
    subject = render_to_string("emails/activation/campaign.subject.txt", context).strip()
    body = render_to_string("emails/activation/campaign.txt", context)
    return subject, body


def _personalise(template: str, person: _Person, expires_on: str) -> str:
    salutation = f"Bonjour {person.holder_first_name} {person.holder_last_name},"
    if person.concerned:
        concerned_text = (
            f"Ce message concerne le profil de votre enfant {person.concerned}, rattaché à votre carte Vitale."
        )
    else:
        concerned_text = "Ce message concerne votre propre profil."
    return (
        template.replace(_PLACEHOLDERS["salutation"], salutation)
        .replace(_PLACEHOLDERS["concerned"], concerned_text)
        .replace(_PLACEHOLDERS["code"], codes.display(person.code))
        .replace(_PLACEHOLDERS["expires"], expires_on)
    )


def _letter_row(person: _Person, expires_on: str, reference: str) -> list[str]:
    return [
        reference,
        f"{person.holder_first_name} {person.holder_last_name}".upper(),
        person.address,
        person.postal_code,
        person.city.upper(),
        person.concerned,
        codes.display(person.code),
        expires_on,
    ]


def _uuids(count: int) -> list[uuid.UUID]:
    """Random (version 4) UUIDs from one read of the system's random source, not one read each."""
    raw = os.urandom(16 * count)
    return [uuid.UUID(bytes=raw[i : i + 16], version=4) for i in range(0, 16 * count, 16)]


def _write_partial(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _batch_partials(base: Path) -> list[Path]:
    """The batch's own files in the making (not the proof, which is rendered and renamed on its own)."""
    return [path for suffix in (".csv", ".pdf") if (path := base.with_name(f"{base.name}{suffix}.partial")).exists()]


def _publish_print_files(chunk: CampaignChunk) -> None:
    """After commit: `.partial` → final (atomic rename). Safe to repeat."""
    folder = print_dir(chunk.run)
    if not folder.exists():
        return
    for partial in _batch_partials(folder / f"lot-{chunk.number:05d}"):
        with contextlib.suppress(FileNotFoundError):  # published meanwhile by campaign_resume or another worker
            os.replace(partial, partial.with_name(partial.name.removesuffix(".partial")))


def campaign_chunk_process(*, chunk_id: int) -> bool:
    """Process one chunk in one transaction; returns False if it was done or is being done elsewhere."""
    with transaction.atomic():
        query = CampaignChunk.objects.select_related("run").filter(pk=chunk_id, status=ChunkStatus.PENDING)
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True, of=("self",))
        chunk = query.first()
        if chunk is None:
            done = CampaignChunk.objects.select_related("run").filter(pk=chunk_id, status=ChunkStatus.DONE).first()
            if done is not None:
                _publish_print_files(done)
            return False
        _prepare(chunk)
    _publish_print_files(chunk)
    _after_chunk(chunk)
    return True


def _prepare(chunk: CampaignChunk) -> None:
    run = chunk.run
    now = timezone.now()
    expires_at = now + CODE_VALIDITY
    expires_on = timezone.localdate(expires_at).strftime("%d/%m/%Y")
    people = _people(chunk)
    patient_ids = [p.patient_id for p in people]
    informed = SpaceStatus.INFORMED.value
    copy_insert(
        HealthSpace,
        ["public_id", "patient", "status", "informed_at", "updated_at"],
        (
            (public_id, p.patient_id, informed, now, now)
            for p, public_id in zip(people, _uuids(len(people)), strict=True)
        ),
    )
    code_hash = codes.code_hasher()
    copy_insert(
        ProvisionalCode,
        ["public_id", "patient", "code_hash", "channel", "issued_at", "expires_at", "failed_attempts", "chunk"],
        (
            (public_id, p.patient_id, code_hash(p.code), p.channel, now, expires_at, 0, chunk.pk)
            for p, public_id in zip(people, _uuids(len(people)), strict=True)
        ),
    )
    space_ids = dict(HealthSpace.objects.filter(InArray(F("patient_id"), patient_ids)).values_list("patient_id", "pk"))
    copy_insert(
        InformationMessage,
        ["space", "channel", "recipient", "chunk", "prepared_at"],
        ((space_ids[p.patient_id], p.channel, p.holder_id, chunk.pk, now) for p in people),
    )

    emails = [p for p in people if p.channel == CodeChannel.EMAIL]
    if emails:
        subject, body = _email_template(run)
        copy_insert(
            OutboxMessage,
            [
                "public_id",
                "channel",
                "recipient",
                "subject",
                "body",
                "dedupe_key",
                "status",
                "created_at",
                "attempts",
                "attachment_name",
                "attachment_filename",
                "last_error",
            ],
            (
                (
                    public_id,
                    Channel.EMAIL,
                    p.email,
                    subject,
                    _personalise(body, p, expires_on),
                    f"campaign:{space_ids[p.patient_id]}",
                    OutboxStatus.QUEUED,
                    now,
                    0,
                    "",
                    "",
                    "",
                )
                for p, public_id in zip(emails, _uuids(len(emails)), strict=True)
            ),
        )
    letters = [p for p in people if p.channel == CodeChannel.LETTER]
    base = print_dir(run) / f"lot-{chunk.number:05d}"
    # An attempt that died before its commit may have left this chunk's files as `.partial`, with codes that
    # were never stored: drop them, or a retry with no letters left would publish them after its commit.
    for stale in _batch_partials(base):
        stale.unlink()
    if letters:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        writer.writerow(PRINT_COLUMNS)
        rows = [_letter_row(p, expires_on, f"{chunk.number:05d}-{index:05d}") for index, p in enumerate(letters, 1)]
        writer.writerows(rows)
        _write_partial(base.with_suffix(".csv"), buffer.getvalue().encode("utf-8"))
        if run.render_pdf:
            pdf = render_pdf(
                "activation/pdf/letters.html",
                {"letters": [dict(zip(PRINT_COLUMNS, r, strict=True)) for r in rows], "proof": False},
            )
            _write_partial(base.with_suffix(".pdf"), pdf)

    CampaignChunk.objects.filter(pk=chunk.pk).update(
        status=ChunkStatus.DONE,
        finished_at=timezone.now(),
        emails=len(emails),
        letters=len(letters),
        skipped=len(chunk.patient_ids) - len(people),
    )


def _after_chunk(chunk: CampaignChunk) -> None:
    from activation.tasks import render_batch_proof_task
    from espace_sante.outbox.tasks import deliver_outbox_task

    chunk.refresh_from_db()
    if chunk.emails:
        deliver_outbox_task.delay()
    if chunk.letters:
        render_batch_proof_task.delay(chunk.pk)
    _close_finished_runs()


PROOF_LETTERS = 3


def batch_proof_render(*, chunk_id: int) -> None:
    """A PDF proof of a print batch's first letters, for the print house: layout and addresses, codes masked."""
    chunk = CampaignChunk.objects.select_related("run").get(pk=chunk_id)
    target = print_dir(chunk.run) / f"lot-{chunk.number:05d}.epreuve.pdf"
    source = print_dir(chunk.run) / f"lot-{chunk.number:05d}.csv"
    if target.exists() or not source.exists():
        return
    with open(source, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        letters = [row for _, row in zip(range(PROOF_LETTERS), reader, strict=False)]
    for letter in letters:
        letter["code_provisoire"] = "XXXX-XXXX-XXXX-XXXX"
    pdf = render_pdf("activation/pdf/letters.html", {"letters": letters, "proof": True})
    _write_partial(target, pdf)
    os.replace(target.with_name(target.name + ".partial"), target)


@dataclass
class CampaignReport:
    people: int
    emails: int
    letters: int
    skipped: int
    pending_chunks: int


def campaign_report(run: CampaignRun) -> CampaignReport:
    from django.db.models import Sum

    totals = run.chunks.aggregate(emails=Sum("emails"), letters=Sum("letters"), skipped=Sum("skipped"))
    return CampaignReport(
        people=run.people,
        emails=totals["emails"] or 0,
        letters=totals["letters"] or 0,
        skipped=totals["skipped"] or 0,
        pending_chunks=run.chunks.exclude(status=ChunkStatus.DONE).count(),
    )
