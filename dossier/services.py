"""Every write on the medical record: documents, confidentiality, care team, emergency access, sharing."""

import csv
import datetime
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.models import Patient, Professional
from dossier import cda
from dossier.enums import AuthorKind, CareKind, CareTeamRole
from dossier.files import CheckedFile
from dossier.models import (
    EMERGENCY_DURATION,
    HELD_RESULT_NOTICE,
    HELD_RESULT_RELEASE,
    CareTeamMember,
    Document,
    EmergencyAccess,
    MedicalRecord,
    Reimbursement,
    ShareLink,
)
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.crypto.hashing import keyed_hash
from espace_sante.crypto.storage import encrypted_storage, files_removed_on_failure
from espace_sante.outbox.services import email_enqueue


class NotAllowed(Exception):
    """The rule forbids this change (French message in args[0])."""


# --- Documents ----------------------------------------------------------------------------------------------


@transaction.atomic
def document_add(
    *,
    patient: Patient,
    by: Actor,
    file: CheckedFile,
    title: str,
    category: str,
    care_date: datetime.date,
    hidden_from_professionals: bool | None = None,
    hidden_from_representatives: bool = False,
    held_for_announcement: bool = False,
) -> Document:
    """Store a document, encrypted, for the patient (own upload) or by a professional with access."""
    record_ = MedicalRecord.objects.get(patient=patient)
    professional = by.professional if by.is_verified_professional else None
    if hidden_from_professionals is None:
        hidden_from_professionals = record_.hide_new_documents if professional is None else False
    if hidden_from_representatives and (professional is None or not patient.is_minor):
        raise NotAllowed("Seul un professionnel peut rendre le document d’un mineur invisible à ses représentants.")
    if held_for_announcement and professional is None:
        raise NotAllowed("Seul un professionnel peut différer la mise à disposition d’un résultat.")
    public_id = uuid.uuid4()
    with files_removed_on_failure() as saved:
        name = encrypted_storage().save(f"documents/{patient.public_id}/{public_id}", ContentFile(file.content))
        saved.append(name)
        now = timezone.now()
        document = Document(
            public_id=public_id,
            patient=patient,
            title=title.strip(),
            category=category,
            care_date=care_date,
            added_at=now,
            author_kind=AuthorKind.PROFESSIONAL if professional else AuthorKind.PATIENT,
            author_professional=professional,
            added_by=by.user,
            file_name=name,
            content_type=file.content_type,
            size=len(file.content),
            original_filename=file.filename,
            hidden_from_professionals=hidden_from_professionals,
            hidden_from_representatives=hidden_from_representatives,
            visible_to_patient_from=now + HELD_RESULT_RELEASE if held_for_announcement else None,
        )
        document.full_clean()
        document.save()
        record(
            Action.DOCUMENT_ADDED,
            actor=by,
            patient=patient,
            target=document,
            held=held_for_announcement,
            hidden_from_representatives=hidden_from_representatives,
        )
        if professional is not None and not held_for_announcement:
            _notify_new_document(patient, document)
    return document


@transaction.atomic
def document_add_generated(
    *,
    patient: Patient,
    by: Actor,
    content: bytes,
    filename: str,
    content_type: str,
    title: str,
    category: str,
    author_kind: str,
    author_label: str = "",
    care_date: datetime.date | None = None,
    hidden_from_representatives: bool = False,
) -> Document:
    """A document produced by the service itself or taken from another part of the space (a PDF synthesis, a
    message attachment saved by the patient). The content was produced or already checked by the caller.
    `hidden_from_representatives`: taken from something kept from the minor's representatives."""
    public_id = uuid.uuid4()
    with files_removed_on_failure() as saved:
        name = encrypted_storage().save(f"documents/{patient.public_id}/{public_id}", ContentFile(content))
        saved.append(name)
        record_ = MedicalRecord.objects.get(patient=patient)
        document = Document(
            public_id=public_id,
            patient=patient,
            title=title.strip()[:150],
            category=category,
            care_date=care_date or timezone.localdate(),
            author_kind=author_kind,
            author_label=author_label,
            added_by=by.user,
            file_name=name,
            content_type=content_type,
            size=len(content),
            original_filename=filename[:150],
            hidden_from_professionals=record_.hide_new_documents,
            hidden_from_representatives=hidden_from_representatives,
        )
        document.full_clean()
        document.save()
        record(
            Action.DOCUMENT_ADDED,
            actor=by,
            patient=patient,
            target=document,
            hidden_from_representatives=hidden_from_representatives,
        )
    return document


def _recipient(patient: Patient) -> str:
    """Who gets the record's e-mails: the person, or for someone without a login, the card holder."""
    if patient.user_id and patient.user.email:
        return patient.user.email
    holder = patient.card_holder or patient
    return holder.email


def _document_recipient(document: Document) -> str:
    """Who may be told about this document: as `_recipient`, but a document kept from the representatives
    (a minor's secret, R.1111-50) is told to the minor's own address only, never to the card holder."""
    patient = document.patient
    if document.hidden_from_representatives:
        return patient.user.email if patient.user_id and patient.user.email else ""
    return _recipient(patient)


def _notify_new_document(patient: Patient, document: Document) -> None:
    to = _document_recipient(document)
    if not to:
        return
    email_enqueue(
        to=to,
        subject="Un nouveau document dans Mon espace santé",
        body=render_to_string("emails/dossier/new_document.txt", {"patient": patient}),
        dedupe_key=f"new-document:{document.public_id}",
    )


def document_content(document: Document) -> bytes:
    with encrypted_storage().open(document.file_name) as handle:
        return handle.read()


@dataclass(frozen=True)
class CdaView:
    """What the record shows of a CDA R2 document: its page (level 3) or its embedded file (level 1); neither
    when the stored document cannot be read (then only the download is offered)."""

    level: int | None
    html: SafeString | None = None
    file: bytes | None = None
    content_type: str = ""


def document_cda_view(document: Document) -> CdaView:
    content = document_content(document)
    try:
        if cda.level(content) == 3:
            return CdaView(level=3, html=cda.render_html(content))
        data, content_type = cda.embedded_file(content)
    except ValidationError:
        return CdaView(level=None)
    return CdaView(level=1, file=data, content_type=content_type)


@transaction.atomic
def document_rename(*, document: Document, title: str, by: Actor) -> None:
    if document.author_kind != AuthorKind.PATIENT:
        raise NotAllowed("Seuls les documents que vous avez ajoutés peuvent être renommés.")
    document.title = title.strip()
    document.full_clean()
    document.save(update_fields=["title"])
    record(Action.DOCUMENT_RENAMED, actor=by, patient=document.patient, target=document)


@transaction.atomic
def document_delete(*, document: Document, by: Actor) -> None:
    """Delete a document the patient side added. A professional's document can only be hidden (R.1111-51)."""
    if document.author_kind != AuthorKind.PATIENT:
        raise NotAllowed(
            "Vous ne pouvez pas supprimer ce document car il a été ajouté par un professionnel de santé ou par "
            "Mon espace santé. Vous pouvez le masquer."
        )
    name = document.file_name
    ShareLink.objects.filter(document=document).delete()
    document.delete()  # keeps its public_id: the event names the object it was, by kind and id
    record(Action.DOCUMENT_DELETED, actor=by, patient=document.patient, target=document)
    transaction.on_commit(lambda: encrypted_storage().delete(name))


@transaction.atomic
def document_set_hidden(*, document: Document, hidden: bool, by: Actor) -> None:
    updated = Document.objects.filter(pk=document.pk, hidden_from_professionals=not hidden).update(
        hidden_from_professionals=hidden
    )
    document.hidden_from_professionals = hidden
    if updated:
        action = Action.DOCUMENT_HIDDEN if hidden else Action.DOCUMENT_UNHIDDEN
        record(action, actor=by, patient=document.patient, target=document)


@transaction.atomic
def document_show_to_representatives(*, document: Document, by: Actor) -> None:
    """A professional makes a minor's secret document visible to the representatives. Irreversible."""
    if document.author_professional_id != getattr(by.professional, "pk", None):
        raise NotAllowed("Seul l’auteur du document peut le rendre visible aux représentants légaux.")
    Document.objects.filter(pk=document.pk).update(hidden_from_representatives=False)
    document.hidden_from_representatives = False
    record(Action.DOCUMENT_SHOWN_TO_REPRESENTATIVES, actor=by, patient=document.patient, target=document)


def held_results_process(*, now: datetime.datetime | None = None) -> int:
    """R.1111-53: two weeks after a held result, tell the patient to see their doctor (no content)."""
    now = now or timezone.now()
    due = Document.objects.select_related("patient__user", "patient__card_holder").filter(
        visible_to_patient_from__isnull=False,
        held_notice_sent_at__isnull=True,
        added_at__lte=now - HELD_RESULT_NOTICE,
    )
    sent = 0
    for document in due:
        with transaction.atomic():
            claimed = Document.objects.filter(pk=document.pk, held_notice_sent_at__isnull=True).update(
                held_notice_sent_at=now
            )
            if not claimed:
                continue
            to = _document_recipient(document)
            if to:
                email_enqueue(
                    to=to,
                    subject="Un résultat vous attend : prenez rendez-vous avec votre médecin",
                    body=render_to_string("emails/dossier/held_result.txt", {"patient": document.patient}),
                    dedupe_key=f"held-result:{document.public_id}",
                )
                sent += 1
    return sent


# --- Settings, care team, emergency ------------------------------------------------------------------------

RECORD_SETTINGS = (
    "hide_new_documents",
    "history_hidden",
    "emergency_samu",
    "emergency_break_glass",
    "emergency_hidden_documents",
    "notify_each_access",
)


@transaction.atomic
def record_settings_update(*, record_: MedicalRecord, by: Actor, **values: bool) -> None:
    changed = {
        name: value for name, value in values.items() if name in RECORD_SETTINGS and getattr(record_, name) != value
    }
    if not changed:
        return
    for name, value in changed.items():
        setattr(record_, name, value)
    record_.save(update_fields=list(changed))
    record(Action.RECORD_SETTINGS_CHANGED, actor=by, patient=record_.patient, **changed)


@transaction.atomic
def care_team_add(*, patient: Patient, professional: Professional, by: Actor, role: str) -> CareTeamMember:
    member, created = CareTeamMember.objects.get_or_create(
        patient=patient, professional=professional, defaults={"role": role}
    )
    if member.blocked_at is not None and role == CareTeamRole.CONSENT_IN_CONSULTATION:
        raise NotAllowed("Ce patient a bloqué votre accès à son dossier.")
    if created:
        action = Action.CONSENT_DECLARED if role == CareTeamRole.CONSENT_IN_CONSULTATION else Action.PROFESSIONAL_ADDED
        record(action, actor=by, patient=patient, target=professional)
    return member


@transaction.atomic
def professional_block(*, patient: Patient, professional: Professional, by: Actor, blocked: bool) -> None:
    """Block (or unblock) a professional. Unblocking does not re-authorise: the team entry is removed."""
    member = CareTeamMember.objects.select_for_update().filter(patient=patient, professional=professional).first()
    if blocked:
        if member is None:
            member = CareTeamMember.objects.create(
                patient=patient, professional=professional, role=CareTeamRole.ADDED_BY_PATIENT
            )
        if member.blocked_at is None:
            member.blocked_at = timezone.now()
            member.is_administrator = False
            member.save(update_fields=["blocked_at", "is_administrator"])
            record(Action.PROFESSIONAL_BLOCKED, actor=by, patient=patient, target=professional)
    elif member is not None and member.blocked_at is not None:
        member.delete()
        record(Action.PROFESSIONAL_UNBLOCKED, actor=by, patient=patient, target=professional)


@transaction.atomic
def administrator_set(*, member: CareTeamMember, value: bool, by: Actor) -> None:
    if member.blocked_at is not None:
        raise NotAllowed("Un professionnel bloqué ne peut pas être administrateur.")
    if member.is_administrator != value:
        member.is_administrator = value
        member.save(update_fields=["is_administrator"])
        record(
            Action.ADMINISTRATOR_CHANGED,
            actor=by,
            patient=member.patient,
            target=member.professional,
            administrator=value,
        )


def emergency_start(*, patient: Patient, by: Actor, kind: str, reason: str) -> EmergencyAccess:
    """Open an emergency access when the policy allows it (`policy.emergency_refusal`): a SAMU access for a
    régulateur only, a kind the patient accepts, a professional the patient did not block. A refusal is
    traced in the patient's history (outside the transaction the refusal would roll back)."""
    from espace_sante.access import policy

    refusal = policy.emergency_refusal(by, patient, kind)
    if refusal is not None:
        record(Action.ACCESS_DENIED, actor=by, patient=patient, what="emergency", kind=kind)
        raise NotAllowed(refusal)
    return _emergency_open(patient=patient, by=by, kind=kind, reason=reason)


@transaction.atomic
def _emergency_open(*, patient: Patient, by: Actor, kind: str, reason: str) -> EmergencyAccess:
    professional = by.professional
    now = timezone.now()
    access = EmergencyAccess.objects.create(
        patient=patient,
        professional=professional,
        kind=kind,
        reason=reason.strip(),
        started_at=now,
        expires_at=now + EMERGENCY_DURATION,
    )
    record(Action.EMERGENCY_ACCESS_STARTED, actor=by, patient=patient, target=access, kind=kind)
    context = {"patient": patient, "access": access, "professional": professional}
    recipients = {_recipient(patient)}
    if patient.medecin_traitant_id and patient.medecin_traitant_id != professional.pk:
        recipients.add(patient.medecin_traitant.user.email)
    for index, to in enumerate(sorted(filter(None, recipients))):
        email_enqueue(
            to=to,
            subject="Accès en urgence au dossier médical",
            body=render_to_string("emails/dossier/emergency_access.txt", {**context, "to_doctor": index > 0}),
            dedupe_key=f"emergency:{access.public_id}:{hashlib.sha256(to.encode()).hexdigest()[:16]}",
        )
    return access


def professional_access_notify(*, patient: Patient, by: Actor) -> None:
    """The optional e-mail at each professional access: at most one per professional and day."""
    record_ = getattr(patient, "medical_record", None)
    to = _recipient(patient)
    if record_ is None or not record_.notify_each_access or not to:
        return
    day = timezone.localdate().isoformat()
    with transaction.atomic():
        email_enqueue(
            to=to,
            subject="Un professionnel de santé a consulté votre dossier",
            body=render_to_string("emails/dossier/professional_access.txt", {"patient": patient, "by": by.label}),
            dedupe_key=f"access:{patient.public_id}:{by.professional.public_id}:{day}",
        )


# --- History of care --------------------------------------------------------------------------------------


@dataclass
class ReimbursementImport:
    read: int = 0
    imported: int = 0
    rejected: int = 0


REIMBURSEMENT_COLUMNS = ["nir", "date", "nature", "libelle", "prescripteur", "executant", "quantite", "code_cip"]


def reimbursements_import(*, path: Path, rejects_path: Path) -> ReimbursementImport:
    """Load reimbursement lines; a line already imported (same content) is skipped, bad lines reported."""
    report = ReimbursementImport()
    patients: dict[str, int | None] = {}
    kinds = set(CareKind.values)
    batch: list[Reimbursement] = []
    with open(path, encoding="utf-8-sig", newline="") as handle, open(rejects_path, "w", encoding="utf-8") as out:
        rejects = csv.writer(out, delimiter=";")
        rejects.writerow(["ligne", "motif"])
        reader = csv.DictReader(handle)
        missing = set(REIMBURSEMENT_COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise ValidationError(f"colonnes manquantes : {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            report.read += 1
            nir = (row["nir"] or "").strip()
            if nir not in patients:
                patients[nir] = Patient.objects.filter(nir=nir).values_list("pk", flat=True).first()
            try:
                care_date = datetime.date.fromisoformat(row["date"].strip())
                quantity = int(row["quantite"] or 1)
            except ValueError:
                rejects.writerow([line, "date ou quantité invalide"])
                report.rejected += 1
                continue
            kind = (row["nature"] or "").strip().lower()
            if patients[nir] is None or kind not in kinds or not row["libelle"].strip():
                rejects.writerow([line, "assuré inconnu, nature inconnue ou libellé manquant"])
                report.rejected += 1
                continue
            key = hashlib.sha256("|".join(row.get(c, "") or "" for c in REIMBURSEMENT_COLUMNS).encode()).hexdigest()
            batch.append(
                Reimbursement(
                    patient_id=patients[nir],
                    care_date=care_date,
                    kind=kind,
                    label=row["libelle"].strip()[:200],
                    prescriber=(row["prescripteur"] or "").strip()[:200],
                    deliverer=(row["executant"] or "").strip()[:200],
                    quantity=max(quantity, 1),
                    cip_code=(row["code_cip"] or "").strip()[:13],
                    secret_for_representatives=(row.get("secret") or "").strip() in ("1", "oui", "true"),
                    line_key=key,
                )
            )
            if len(batch) >= 1000:
                report.imported += _flush(batch)
        report.imported += _flush(batch)
    return report


def _flush(batch: list[Reimbursement]) -> int:
    if not batch:
        return 0
    before = Reimbursement.objects.count()
    Reimbursement.objects.bulk_create(batch, ignore_conflicts=True, batch_size=1000)
    batch.clear()
    return Reimbursement.objects.count() - before


# --- Sharing one document ----------------------------------------------------------------------------------

SHARE_DURATIONS_HOURS = (1, 24, 72, 168)


@transaction.atomic
def share_create(*, document: Document, by: Actor, hours: int) -> tuple[ShareLink, str]:
    """A link to one document valid `hours`; returns the row and the token (shown once, stored hashed)."""
    if hours not in SHARE_DURATIONS_HOURS:
        raise NotAllowed("Durée de partage non prévue.")
    token = secrets.token_urlsafe(24)
    link = ShareLink.objects.create(
        document=document,
        token_hash=keyed_hash(token, purpose="share-link"),
        created_by=by.user,
        expires_at=timezone.now() + datetime.timedelta(hours=hours),
    )
    record(Action.SHARE_CREATED, actor=by, patient=document.patient, target=document, hours=hours)
    return link, token


@transaction.atomic
def share_revoke(*, link: ShareLink, by: Actor) -> None:
    if ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        record(Action.SHARE_REVOKED, actor=by, patient=link.document.patient, target=link.document)


@transaction.atomic
def share_links_revoke_all(*, patient: Patient, by: Actor | None, reason: str) -> int:
    """Revoke every live share link of the patient's documents (closure, death, deletion): one trace."""
    revoked = ShareLink.objects.filter(document__patient=patient, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        record(
            Action.SHARE_REVOKED,
            actor=by,
            patient=patient,
            target_label="liens de partage",
            count=revoked,
            reason=reason,
        )
    return revoked


@transaction.atomic
def share_open(*, link: ShareLink, by: Actor) -> bool:
    """Count and trace an opening; False (and a trace) when the link expired or was revoked."""
    from django.db.models import F

    if not link.is_usable:
        record(Action.SHARE_REFUSED, actor=by, patient=link.document.patient, target=link.document)
        return False
    ShareLink.objects.filter(pk=link.pk).update(openings=F("openings") + 1)
    record(Action.SHARE_OPENED, actor=by, patient=link.document.patient, target=link.document)
    return True
