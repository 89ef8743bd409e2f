"""The access policy: every decision on medical data and on who may enter which space.

Predicates `can_<verb>_<object>(actor, obj) -> bool` decide; fetchers `<object>_for(actor, public_id)`
return the object or raise Http404 (missing and forbidden look the same) and trace the access.
Agents never get medical content. The domain issues add their predicates and fetchers here.
"""

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from accounts.models import Patient
from activation.enums import SpaceStatus
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import ActorRole


def can_enter_patient_space(actor: Actor) -> bool:
    """The patient portal (dashboard, record, profile, messages, agenda, catalogue, settings):
    - a patient whose second factor was verified, with an insured profile,
    - whose own space is active (a closed space shows only its closure page).
    Professionals and agents have their own portals.
    """
    if not actor.is_verified_patient:
        return False
    return has_active_space(actor.patient)


def has_active_space(patient: Patient) -> bool:
    space = getattr(patient, "space", None)
    return space is not None and space.status == SpaceStatus.ACTIVE


def can_manage_closed_space(actor: Actor) -> bool:
    """The closure page (reopen, receipts): a verified patient whose own space is closed."""
    if not actor.is_verified_patient:
        return False
    space = getattr(actor.patient, "space", None)
    return space is not None and space.status == SpaceStatus.CLOSED


def can_enter_professional_space(actor: Actor) -> bool:
    """The professional portal (/pro/): a professional whose second factor (TOTP) was verified."""
    return actor.is_verified_professional


def can_enter_agent_space(actor: Actor) -> bool:
    """The agents' back-office (/admin/): an active staff agent account with a verified second factor."""
    if actor.role != ActorRole.AGENT:
        return False
    if not actor.verified:
        return False
    return actor.user is not None and actor.user.is_active and actor.user.is_staff


def can_act_for(actor: Actor, patient: Patient) -> bool:
    """May act for `patient` in the patient portal:
    - the patient themself;
    - a legal representative with an open representation (parent of a minor, tutor).
    """
    return actor.acts_for(patient)


def represented_profile_for(actor: Actor, public_id: UUID) -> Patient:
    """A profile the actor may switch to (their own or a represented one); 404 otherwise."""
    for patient in actor.profiles:
        if patient.public_id == public_id and can_act_for(actor, patient):
            return patient
    raise Http404


# --- Administrative documents of a space (receipts): not medical, but personal ------------------------------


def attached_children_for(actor: Actor) -> list[Patient]:
    """The children attached to the actor's own Vitale card, whatever the state of their space."""
    if not actor.is_verified_patient:
        return []
    return list(
        Patient.objects.filter(card_holder=actor.patient, deceased_on__isnull=True)
        .select_related("space")
        .order_by("birth_date", "pk")
    )


def attached_child_for(actor: Actor, public_id: UUID) -> Patient:
    for child in attached_children_for(actor):
        if child.public_id == public_id:
            return child
    raise Http404


def can_view_space_receipts(actor: Actor, patient: Patient) -> bool:
    """Receipts (opposition, closure) of a space may be downloaded by:
    - the person, or a representative acting for them;
    - the holder of the Vitale card the person is attached to (a parent who opposed for a child).
    Agents get them in the admin, not here.
    """
    if not actor.is_verified_patient:
        return False
    if actor.patient.pk == patient.pk:
        return True
    if patient.card_holder_id == actor.patient.pk:
        return True
    return can_act_for(actor, patient)


def opposition_for(actor: Actor, public_id: UUID):
    from activation.models import Opposition

    opposition = Opposition.objects.select_related("space__patient").filter(public_id=public_id).first()
    if opposition is None or not can_view_space_receipts(actor, opposition.space.patient):
        raise Http404
    return opposition


def closure_for(actor: Actor, public_id: UUID):
    from activation.models import Closure

    closure = Closure.objects.select_related("space__patient").filter(public_id=public_id).first()
    if closure is None or not can_view_space_receipts(actor, closure.space.patient):
        raise Http404
    return closure


# --- The medical record (dossier) ---------------------------------------------------------------------------


def _record_open(patient: Patient) -> bool:
    space = getattr(patient, "space", None)
    return space is not None and space.status in (SpaceStatus.OPEN, SpaceStatus.ACTIVE)


def care_team_member(professional, patient: Patient):
    from dossier.models import CareTeamMember

    return CareTeamMember.objects.filter(patient=patient, professional=professional).first()


def active_emergency(actor: Actor, patient: Patient):
    """The emergency access this professional started in this session for this patient, if still running."""
    from dossier.models import EmergencyAccess

    if not actor.is_verified_professional or not actor.emergency_ids:
        return None
    return (
        EmergencyAccess.objects.filter(
            public_id__in=actor.emergency_ids,
            patient=patient,
            professional=actor.professional,
            expires_at__gt=timezone.now(),
        )
        .order_by("-started_at")
        .first()
    )


@dataclass(frozen=True)
class ProfessionalAccess:
    """What a professional may do on one patient's record, decided once per request."""

    allowed: bool
    blocked: bool = False
    sees_hidden: bool = False
    emergency: object | None = None
    categories: frozenset = frozenset()
    history_of_care: bool = False


def professional_access(actor: Actor, patient: Patient) -> ProfessionalAccess:
    """A professional reads a patient's record when:
    - their second factor is verified and the patient's space is open;
    - the patient did not block them;
    - they are the médecin traitant, in the care team, or in a running emergency access;
    and then only the categories of the habilitation matrix. Hidden documents are seen by the médecin
    traitant, administrators, their author, and in an emergency only if the patient allowed it.
    """
    from dossier.habilitations import may_read_history_of_care, readable_categories

    if not actor.is_verified_professional or not _record_open(patient):
        return ProfessionalAccess(allowed=False)
    professional = actor.professional
    member = care_team_member(professional, patient)
    if member is not None and member.blocked_at is not None:
        return ProfessionalAccess(allowed=False, blocked=True)
    is_traitant = patient.medecin_traitant_id == professional.pk
    emergency = active_emergency(actor, patient)
    if not (is_traitant or member is not None or emergency is not None):
        return ProfessionalAccess(allowed=False)
    record = patient.medical_record
    sees_hidden = (
        is_traitant
        or (member is not None and member.is_administrator)
        or (emergency is not None and record.emergency_hidden_documents)
    )
    return ProfessionalAccess(
        allowed=True,
        sees_hidden=sees_hidden,
        emergency=emergency,
        categories=readable_categories(professional.profession),
        history_of_care=may_read_history_of_care(professional.profession) and not record.history_hidden,
    )


def documents_visible_to(actor: Actor, patient: Patient):
    """The documents of `patient` that `actor` may list (a QuerySet, possibly empty)."""
    from dossier.models import Document

    documents = Document.objects.filter(patient=patient)
    if actor.acts_for(patient):
        documents = documents.filter(
            Q(visible_to_patient_from__isnull=True) | Q(visible_to_patient_from__lte=timezone.now())
        )
        if actor.patient.pk != patient.pk:
            documents = documents.filter(hidden_from_representatives=False)
        return documents
    access = professional_access(actor, patient)
    if not access.allowed:
        return documents.none()
    documents = documents.filter(category__in=access.categories)
    if not access.sees_hidden:
        documents = documents.filter(Q(hidden_from_professionals=False) | Q(author_professional=actor.professional))
    return documents


def can_view_document(actor: Actor, document) -> bool:
    """May open a document: see `documents_visible_to` (same rules, one object)."""
    return documents_visible_to(actor, document.patient).filter(pk=document.pk).exists()


def document_for(actor: Actor, public_id: UUID, *, purpose: str):
    """The document if `actor` may open it, traced in the patient's history; else 404 (missing or forbidden)."""
    from dossier.models import Document
    from espace_sante.audit import log
    from espace_sante.audit.actions import Action

    document = (
        Document.objects.select_related("patient__space", "author_professional__user")
        .filter(public_id=public_id)
        .first()
    )
    if document is None or not can_view_document(actor, document):
        if document is not None and actor.is_verified_professional:
            log.record(Action.ACCESS_DENIED, actor=actor, patient=document.patient, what="document")
        raise Http404
    action = Action.DOCUMENT_DOWNLOADED if purpose == "download" else Action.DOCUMENT_VIEWED
    log.record(
        action, actor=actor, patient=document.patient, target=document, **_emergency_data(actor, document.patient)
    )
    return document


def own_document_for(actor: Actor, public_id: UUID):
    """A document the acting patient (or representative) may manage: rename, hide, delete, share."""
    from dossier.models import Document

    document = Document.objects.select_related("patient").filter(public_id=public_id).first()
    if document is None or not documents_visible_to(actor, document.patient).filter(pk=document.pk).exists():
        raise Http404
    if not actor.acts_for(document.patient):
        raise Http404
    return document


def can_delete_document(actor: Actor, document) -> bool:
    """Only documents added by the patient side can be deleted; a professional's document can be hidden."""
    from dossier.enums import AuthorKind

    return actor.acts_for(document.patient) and document.author_kind == AuthorKind.PATIENT


def _emergency_data(actor: Actor, patient: Patient) -> dict:
    emergency = active_emergency(actor, patient) if actor.is_verified_professional else None
    return {"emergency": str(emergency.public_id)} if emergency else {}


def patient_for_professional(actor: Actor, public_id: UUID) -> tuple[Patient, ProfessionalAccess]:
    """A patient's record page for a professional: 404 when there is no access (blocked included), traced."""
    from espace_sante.audit import log
    from espace_sante.audit.actions import Action

    patient = Patient.objects.select_related("space", "medical_record").filter(public_id=public_id).first()
    if patient is None:
        raise Http404
    access = professional_access(actor, patient)
    if not access.allowed:
        if actor.is_verified_professional:
            log.record(Action.ACCESS_DENIED, actor=actor, patient=patient, what="record", blocked=access.blocked)
        raise Http404
    log.record(
        Action.RECORD_VIEWED,
        actor=actor,
        patient=patient,
        target_label="dossier médical",
        **_emergency_data(actor, patient),
    )
    return patient, access


def reimbursements_visible_to(actor: Actor, patient: Patient):
    from dossier.models import Reimbursement

    lines = Reimbursement.objects.filter(patient=patient)
    if actor.acts_for(patient):
        if actor.patient.pk != patient.pk:
            lines = lines.filter(secret_for_representatives=False)
        return lines
    access = professional_access(actor, patient)
    if not access.history_of_care:
        return lines.none()
    return lines


def record_settings_for(actor: Actor, patient: Patient):
    """The record's settings, for the patient or a representative acting for them."""
    if not actor.acts_for(patient):
        raise Http404
    return patient.medical_record


def share_link_for_token(token: str):
    """A share link opened by anyone holding it: usable links only; refused openings are traced."""
    from dossier.models import ShareLink
    from espace_sante.crypto.hashing import keyed_hash

    link = (
        ShareLink.objects.select_related("document__patient")
        .filter(token_hash=keyed_hash(token, purpose="share-link"))
        .first()
    )
    if link is None:
        raise Http404
    return link
