"""The access policy: every decision on medical data and on who may enter which space.

Predicates `can_<verb>_<object>(actor, obj) -> bool` decide; fetchers `<object>_for(actor, public_id)`
return the object or raise Http404 (missing and forbidden look the same) and trace the access.
Agents never get medical content. The domain issues add their predicates and fetchers here.
"""

import datetime
from dataclasses import dataclass
from uuid import UUID

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from accounts.enums import Organisation
from accounts.models import Patient, department_q
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


def patients_for_agent(actor: Actor, queryset, *, path: str = ""):
    """The insured an agent may look up in the back-office (`path` reaches the Patient from `queryset`).

    - A CPAM serves the insured of its circonscription: its agents and supervisors see the people whose
      address is in the caisse's département(s) (Agent.departments), nobody else.
    - France services desks help whoever comes to them, wherever they live: no territory; the person is
      found only by an exact search (NIR, e-mail, or birth name and birth date), never listed.
    - Any other account (no agent profile, unverified, not staff) sees nobody.
    Administrative data only: agents never get medical content (nothing medical is in the admin).
    """
    if not can_enter_agent_space(actor) or actor.agent is None:
        return queryset.none()
    agent = actor.agent
    if agent.organisation == Organisation.FRANCE_SERVICES:
        return queryset
    if agent.organisation == Organisation.CPAM and agent.department_codes:
        return queryset.filter(department_q(agent.department_codes, path=path))
    return queryset.none()


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


def _decided_for_ids(representative: Patient) -> set[int]:
    """People `representative` legally decides for today, whatever the state of their space: an active
    representation as parent of a person still minor, or as tutor of a protected adult."""
    from accounts.enums import RepresentationKind
    from accounts.models import LegalRepresentation

    links = (
        LegalRepresentation.objects.active()
        .filter(representative=representative, kind__in=[RepresentationKind.PARENT, RepresentationKind.TUTEUR])
        .select_related("represented")
    )
    return {
        link.represented_id for link in links if link.kind == RepresentationKind.TUTEUR or link.represented.is_minor
    }


def can_decide_space_for(actor: Actor, patient: Patient) -> bool:
    """May activate a space, or oppose its creation, for another person from their own account (« Profils
    rattachés »): a verified patient with an active representation of that person (parent of a minor, tutor of
    a protected adult). Being the holder of the Vitale card the person is attached to gives no such power: an
    adult attached to a card decides for themself."""
    if not actor.is_verified_patient or actor.patient.pk == patient.pk:
        return False
    return patient.pk in _decided_for_ids(actor.patient)


def attached_children_for(actor: Actor) -> list[Patient]:
    """The profiles attached to the actor's own Vitale card that the actor decides for
    (`can_decide_space_for`), whatever the state of their space."""
    if not actor.is_verified_patient:
        return []
    return list(
        Patient.objects.filter(
            card_holder=actor.patient, deceased_on__isnull=True, pk__in=_decided_for_ids(actor.patient)
        )
        .select_related("space")
        .order_by("birth_date", "pk")
    )


def attached_child_for(actor: Actor, public_id: UUID) -> Patient:
    """A profile of `attached_children_for`, to activate or oppose for; 404 for anyone else."""
    for child in attached_children_for(actor):
        if child.public_id == public_id and can_decide_space_for(actor, child):
            return child
    raise Http404


def can_view_space_receipts(actor: Actor, patient: Patient) -> bool:
    """Receipts (opposition, closure) of a space may be downloaded by:
    - the person, or a representative acting for them;
    - a representative who decides for them (a parent who opposed for a child, `can_decide_space_for`).
    Holding the Vitale card the person is attached to is not enough. Agents get them in the admin, not here.
    """
    if not actor.is_verified_patient:
        return False
    if actor.patient.pk == patient.pk:
        return True
    return can_act_for(actor, patient) or can_decide_space_for(actor, patient)


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
    """The emergency access this professional started in this session for this patient, if still running.
    A SAMU access counts only while its professional is a régulateur (`may_open_emergency_kind`)."""
    from dossier.enums import EmergencyKind
    from dossier.models import EmergencyAccess

    if not actor.is_verified_professional or not actor.emergency_ids:
        return None
    accesses = EmergencyAccess.objects.filter(
        public_id__in=actor.emergency_ids,
        patient=patient,
        professional=actor.professional,
        expires_at__gt=timezone.now(),
    )
    kinds = [kind for kind in EmergencyKind.values if may_open_emergency_kind(actor.professional, kind)]
    return accesses.filter(kind__in=kinds).order_by("-started_at").first()


# --- Emergency access (L.1111-17): break-glass and the SAMU's regulation -----------------------------------


def may_open_emergency_kind(professional, kind: str) -> bool:
    """Which kind of emergency access a professional may open, whatever the patient:
    - « régulation du SAMU »: only a médecin régulateur of the SAMU (centre 15), as recorded on the professional
      by an operator (`manage.py regulateur_samu`), never self-declared;
    - « bris de glace »: any professional facing a person unable to express their will.
    """
    from dossier.enums import EmergencyKind

    if kind == EmergencyKind.SAMU:
        return bool(professional.samu_regulator)
    return kind == EmergencyKind.BREAK_GLASS


def _patient_allows_emergency(record, kind: str) -> bool:
    from dossier.enums import EmergencyKind

    return record.emergency_samu if kind == EmergencyKind.SAMU else record.emergency_break_glass


@dataclass(frozen=True)
class EmergencyChoices:
    """The patient's emergency choices, shown to a professional before they fill the emergency form, and the
    kinds this professional may open now (allowed to them and accepted by the patient)."""

    samu: bool
    break_glass: bool
    hidden_documents: bool
    kinds: tuple[str, ...]


def emergency_choices_for(actor: Actor, patient: Patient) -> EmergencyChoices | None:
    """For a verified professional on an open record who is not blocked; None otherwise (nothing to show)."""
    from dossier.enums import EmergencyKind

    if not actor.is_verified_professional or not _record_open(patient):
        return None
    record = getattr(patient, "medical_record", None)
    member = care_team_member(actor.professional, patient)
    if record is None or (member is not None and member.blocked_at is not None):
        return None
    kinds = tuple(
        kind
        for kind in EmergencyKind.values
        if may_open_emergency_kind(actor.professional, kind) and _patient_allows_emergency(record, kind)
    )
    return EmergencyChoices(
        samu=record.emergency_samu,
        break_glass=record.emergency_break_glass,
        hidden_documents=record.emergency_hidden_documents,
        kinds=kinds,
    )


def emergency_refusal(actor: Actor, patient: Patient, kind: str) -> str | None:
    """Why this professional may not open an emergency access of `kind` on `patient` (French), or None:
    - a SAMU access needs a régulateur, whatever the form offered;
    - the patient must accept that kind (« accès en cas d’urgence » settings) and not have blocked them.
    """
    from dossier.enums import EmergencyKind

    if not actor.is_verified_professional:
        return "Seul un professionnel de santé peut ouvrir un accès en urgence."
    if kind not in EmergencyKind.values:
        return "Indiquez la situation de l’accès en urgence."
    if not may_open_emergency_kind(actor.professional, kind):
        return (
            "L’accès « régulation du SAMU » est réservé aux médecins régulateurs du SAMU (centre 15). "
            "Si le patient ne peut pas exprimer sa volonté, choisissez l’accès en urgence (bris de glace)."
        )
    choices = emergency_choices_for(actor, patient)
    if choices is None or kind not in choices.kinds:
        return "Ce patient n’autorise pas cet accès en urgence à son dossier."
    return None


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


def share_links_for(actor: Actor, document):
    """The share links of an already fetched document, newest first: for the patient side acting for its
    patient (professionals see none)."""
    from dossier.models import ShareLink

    if not actor.acts_for(document.patient):
        return ShareLink.objects.none()
    return ShareLink.objects.filter(document=document).order_by("-created_at")


def own_share_link_for(actor: Actor, public_id: UUID):
    """A share link of a document the acting patient (or representative) manages (`own_document_for`): a
    representative never reaches the links of a document kept from representatives. 404 otherwise."""
    from dossier.models import ShareLink

    link = ShareLink.objects.select_related("document__patient").filter(public_id=public_id).first()
    if link is None:
        raise Http404
    own_document_for(actor, link.document.public_id)
    return link


def can_delete_document(actor: Actor, document) -> bool:
    """Only documents added by the patient side can be deleted; a professional's document can be hidden."""
    from dossier.enums import AuthorKind

    return actor.acts_for(document.patient) and document.author_kind == AuthorKind.PATIENT


def _emergency_data(actor: Actor, patient: Patient) -> dict:
    emergency = active_emergency(actor, patient) if actor.is_verified_professional else None
    return {"emergency": str(emergency.public_id)} if emergency else {}


# --- Finding a patient (professionals): NIR (or INS) and birth date, never by browsing ------------------------


class LookupPurpose:
    RECORD = "dossier"  # /pro/patients/: an open record (opened automatically or activated)
    MESSAGING = "messagerie"  # /pro/messagerie/rechercher/: an active space, which has a mailbox


@dataclass(frozen=True)
class PatientLookup:
    patient: Patient | None = None
    retry_after: int = 0  # seconds, when the professional's lookup budget is spent

    @property
    def throttle_message(self) -> str:
        minutes = max(1, (self.retry_after + 59) // 60)
        return (
            "Trop de recherches de patients sans résultat. Pour protéger les assurés, les recherches sont "
            f"ralenties : réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."
        )


def _lookup_throttle():
    from django.conf import settings

    from espace_sante.lib.throttle import Throttle

    return Throttle("patient-lookup", **settings.PATIENT_LOOKUP_THROTTLE)


def _findable(patient: Patient, purpose: str) -> bool:
    if patient.deceased_on is not None:
        return False
    if purpose == LookupPurpose.MESSAGING:
        return can_receive_messages(patient)
    return _record_open(patient) and getattr(patient, "medical_record", None) is not None


def _first_find_today(professional, patient: Patient, window_seconds: int) -> bool:
    """True the first time in the throttle's window that this professional finds this patient (keyed hash:
    Redis holds no identifier in clear)."""
    from django.core.cache import cache

    from espace_sante.crypto.hashing import keyed_hash

    digest = keyed_hash(f"{professional.public_id}:{patient.public_id}", purpose="patient-lookup-found")[:32]
    return cache.add(f"patient-lookup-found:{digest}", 1, timeout=window_seconds)


def patient_lookup(actor: Actor, *, nir: str, birth_date, purpose: str) -> PatientLookup:
    """A professional looks a patient up by NIR (or INS) and birth date. Traced (in the person's history when
    a person matched). The NIR gives the year and month of birth, so the lookup is an oracle to protect:
    - one budget per professional for every lookup (record and messagerie share it): each lookup takes an
      attempt before the query, and only the first find of a patient in the window gives it back, so failed
      lookups count and finding the same known patient again refunds nothing; past the free attempts, one
      lookup per growing delay (settings.PATIENT_LOOKUP_THROTTLE);
    - a person the search is not for (no open record for the dossier, no active space for the messagerie: a
      child still « informé », a person who opposed or closed, a deceased person) gets the very answer of a
      NIR and date that match nobody.
    """
    from django.conf import settings

    from espace_sante.audit import log
    from espace_sante.audit.actions import Action

    if not actor.is_verified_professional:
        return PatientLookup()
    subject = str(actor.professional.public_id)
    throttle = _lookup_throttle()
    wait = throttle.admit(subject)
    if wait:
        log.record(Action.PATIENT_SEARCHED, actor=actor, found=False, throttled=True, purpose=purpose)
        return PatientLookup(retry_after=wait)
    patient = Patient.objects.select_related("space", "medical_record").filter(nir=nir, birth_date=birth_date).first()
    found = patient is not None and _findable(patient, purpose)
    log.record(Action.PATIENT_SEARCHED, actor=actor, patient=patient, found=found, purpose=purpose)
    if not found:
        return PatientLookup()
    window = settings.PATIENT_LOOKUP_THROTTLE.get("window_seconds", 3600)
    if _first_find_today(actor.professional, patient, window):
        throttle.refund(subject)
    return PatientLookup(patient=patient)


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
    """A share link opened by anyone holding it: usable links only; refused openings are traced.
    404 when the patient's space is no longer active (closed, deleted, death): closure revokes the links, and
    this check holds even for a link that escaped the revocation."""
    from dossier.models import ShareLink
    from espace_sante.crypto.hashing import keyed_hash

    link = (
        ShareLink.objects.select_related("document__patient__space")
        .filter(token_hash=keyed_hash(token, purpose="share-link"))
        .first()
    )
    if link is None:
        raise Http404
    patient = link.document.patient
    if patient.deceased_on is not None or not has_active_space(patient):
        raise Http404
    return link


# --- The access history ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the access history as this reader may see it."""

    occurred_at: object
    who: str
    action: str
    label: str
    emergency: bool


def _ids(queryset) -> list[str]:
    return [str(public_id) for public_id in queryset.values_list("public_id", flat=True)]


def _history_hidden_targets(actor: Actor, patient: Patient) -> dict[str, list[str]]:
    """The objects of `patient` this reader may not know of, by type: events about them are not shown.
    - a result held for announcement (R.1111-53), to everyone on the patient's side until its release;
    - for a legal representative: the minor's documents, conversations, messages and their attachments kept
      from representatives (R.1111-50), whoever acted on them."""
    from dossier.models import Document
    from messagerie.models import Attachment, Conversation, Message

    representing = actor.patient is None or actor.patient.pk != patient.pk
    secret_documents = Q(visible_to_patient_from__gt=timezone.now())
    if representing:
        secret_documents |= Q(hidden_from_representatives=True)
    hidden = {"dossier.Document": _ids(Document.objects.filter(patient=patient).filter(secret_documents))}
    if representing:
        confidential = Q(hidden_from_representatives=True) | Q(conversation__hidden_from_representatives=True)
        messages = Message.objects.filter(conversation__patient=patient).filter(confidential)
        hidden["messagerie.Conversation"] = _ids(
            Conversation.objects.filter(patient=patient, hidden_from_representatives=True)
        )
        hidden["messagerie.Message"] = _ids(messages)
        hidden["messagerie.Attachment"] = _ids(Attachment.objects.filter(message__in=messages))
    return hidden


def history_events_for(actor: Actor, patient: Patient):
    """The access-log events of `patient` the actor may read, newest first (a QuerySet, possibly empty):
    the patient or a representative acting for them, without the events about objects hidden from this
    reader (`_history_hidden_targets`): those are not shown at all, not even as "a document was added"."""
    from espace_sante.audit.models import AuditEvent

    if not actor.acts_for(patient):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.for_patient(patient)
    for target_type, ids in _history_hidden_targets(actor, patient).items():
        if ids:
            events = events.exclude(target_type=target_type, target_id__in=ids)
    return events


def history_entries_for(actor: Actor, patient: Patient, events) -> list[HistoryEntry]:
    """Lines of the history for events already filtered by `history_events_for`. The log holds no medical
    content: the object's label is resolved now, for this reader (a document's current title if they may
    open it, the professional of a conversation); otherwise the kind stored with the event."""
    from espace_sante.audit.actions import Action
    from messagerie.models import Conversation
    from profil.enums import Section

    events = list(events)
    wanted = {(event.target_type, event.target_id) for event in events if event.target_id}
    document_ids = [target_id for kind, target_id in wanted if kind == "dossier.Document"]
    conversation_ids = [target_id for kind, target_id in wanted if kind == "messagerie.Conversation"]
    documents = {
        str(document.public_id): document.title
        for document in documents_visible_to(actor, patient).filter(public_id__in=document_ids)
    }
    conversations = {
        str(conversation.public_id): f"conversation avec {conversation.professional.label}"
        for conversation in Conversation.objects.filter(patient=patient, public_id__in=conversation_ids)
        .filter(pk__in=conversations_visible_to(actor).values("pk"))
        .select_related("professional__user")
    }
    entries = []
    for event in events:
        label = event.target_label
        if event.target_type == "dossier.Document":
            label = documents.get(event.target_id, label)
        elif event.target_type == "messagerie.Conversation":
            label = conversations.get(event.target_id, label)
        elif event.action == Action.PROFILE_NOT_CONCERNED and event.data.get("section") in Section.values:
            label = Section(event.data["section"]).label
        entries.append(
            HistoryEntry(
                occurred_at=event.occurred_at,
                who=event.public_actor_label,
                action=event.action_label,
                label=label,
                emergency=bool(event.data.get("emergency")),
            )
        )
    return entries


# --- messagerie ---


def _messaging_side(actor: Actor) -> str | None:
    """ "professional" for a verified professional, "patient" for a verified patient (or representative)."""
    if actor.is_verified_professional:
        return "professional"
    if actor.is_verified_patient and actor.acting_for is not None:
        return "patient"
    return None


def can_receive_messages(patient: Patient) -> bool:
    """A patient has a mailbox while their space is active (an opposition or a closure means none)."""
    return patient.deceased_on is None and has_active_space(patient)


def is_messaging_blocked(patient: Patient, professional) -> bool:
    from messagerie.models import MessagingBlock

    return MessagingBlock.objects.filter(patient=patient, professional=professional).exists()


def _visible_messages_q(actor: Actor, prefix: str = "", conversation: str = "conversation__") -> Q:
    """The messages of a visible conversation the actor may read:
    - the professional: every message of their conversations;
    - the patient side: messages sent after the patient's copy was deleted (if it was);
    - a legal representative: besides, not the messages marked confidential for the minor.
    """
    from django.db.models import F

    if _messaging_side(actor) != "patient":
        return Q()
    condition = Q(**{f"{conversation}patient_deleted_at__isnull": True}) | Q(
        **{f"{prefix}sent_at__gt": F(f"{conversation}patient_deleted_at")}
    )
    if actor.is_representing:
        condition &= Q(**{f"{prefix}hidden_from_representatives": False})
    return condition


def conversations_visible_to(actor: Actor):
    """The conversations `actor` may list and open (a QuerySet, possibly empty):
    - a professional: the conversations they are part of;
    - a patient (or legal representative): those of the profile they act for, except a copy deleted with no
      newer message; a representative never sees a conversation confidential for the minor.
    Agents and everyone else: none.
    """
    from django.db.models import F

    from messagerie.models import Conversation

    side = _messaging_side(actor)
    if side == "professional":
        return Conversation.objects.filter(professional=actor.professional)
    if side != "patient":
        return Conversation.objects.none()
    conversations = Conversation.objects.filter(patient=actor.acting_for).filter(
        Q(patient_deleted_at__isnull=True) | Q(last_message_at__gt=F("patient_deleted_at"))
    )
    if actor.is_representing:
        conversations = conversations.filter(hidden_from_representatives=False)
    return conversations


def conversations_with_unread(actor: Actor):
    """`conversations_visible_to` annotated with `unread` (messages from the other side not read yet)."""
    from django.db.models import Count

    other = "patient" if _messaging_side(actor) == "professional" else "professional"
    unread = Count(
        "messages",
        filter=Q(messages__sender_kind=other, messages__read_at__isnull=True)
        & _visible_messages_q(actor, "messages__", conversation=""),
    )
    return conversations_visible_to(actor).annotate(unread=unread)


def unread_messages_count(actor: Actor) -> int:
    """Unread messages for the header and the dashboard: one query, remembered for the request."""
    from messagerie.models import Message

    if "messagerie_unread" not in actor._cache:
        side = _messaging_side(actor)
        if side is None:
            count = 0
        else:
            other = "patient" if side == "professional" else "professional"
            count = (
                Message.objects.filter(conversation__in=conversations_visible_to(actor), sender_kind=other)
                .filter(read_at__isnull=True)
                .filter(_visible_messages_q(actor))
                .count()
            )
        actor._cache["messagerie_unread"] = count
    return actor._cache["messagerie_unread"]


def conversation_for(actor: Actor, public_id: UUID, *, purpose: str = "view"):
    """The conversation if `actor` is one of its participants (or represents the patient), else 404.
    Opening it ("view") is traced in the patient's access history."""
    from espace_sante.audit import log
    from espace_sante.audit.actions import Action

    conversation = (
        conversations_visible_to(actor)
        .select_related("patient__space", "professional__user")
        .filter(public_id=public_id)
        .first()
    )
    if conversation is None:
        raise Http404
    if purpose == "view":
        log.record(
            Action.CONVERSATION_VIEWED,
            actor=actor,
            patient=conversation.patient,
            target=conversation,
        )
    return conversation


def messages_visible_to(actor: Actor, conversation):
    """The messages of an already fetched conversation that `actor` may read, oldest first."""
    from messagerie.models import Message

    return (
        Message.objects.filter(conversation=conversation)
        .filter(_visible_messages_q(actor))
        .prefetch_related("attachments")
        .order_by("sent_at", "pk")
    )


def attachment_for(actor: Actor, public_id: UUID, *, purpose: str = "download"):
    """An attachment of a message `actor` may read, traced when opened; else 404 (missing or forbidden)."""
    from espace_sante.audit import log
    from espace_sante.audit.actions import Action
    from messagerie.models import Attachment, Message

    attachment = (
        Attachment.objects.select_related("message__conversation__patient", "message__conversation__professional")
        .filter(public_id=public_id)
        .first()
    )
    if attachment is None:
        raise Http404
    conversation = attachment.message.conversation
    if not conversations_visible_to(actor).filter(pk=conversation.pk).exists():
        raise Http404
    if not Message.objects.filter(pk=attachment.message_id).filter(_visible_messages_q(actor)).exists():
        raise Http404
    if purpose != "download":
        return attachment
    log.record(
        Action.ATTACHMENT_DOWNLOADED,
        actor=actor,
        patient=conversation.patient,
        target=attachment,
        target_label="pièce jointe de la messagerie",
    )
    return attachment


def messaging_correspondents_for(actor: Actor, patient: Patient) -> list:
    """The professionals a patient (or their representative) may start a conversation with:
    - their médecin traitant;
    - a professional who already wrote to them in a conversation that professional did not end; for a
      representative, only in what they may read (a professional known from a minor's confidential
      conversation or message is not theirs to write to);
    never one the patient blocked.
    """
    from accounts.models import Professional
    from messagerie.enums import SenderKind
    from messagerie.models import Message

    if not actor.acts_for(patient):
        return []
    wrote = Message.objects.filter(
        conversation__patient=patient, conversation__ended_at__isnull=True, sender_kind=SenderKind.PROFESSIONAL
    )
    if actor.is_representing:
        wrote = wrote.filter(hidden_from_representatives=False, conversation__hidden_from_representatives=False)
    professionals = (
        Professional.objects.filter(
            Q(pk=patient.medecin_traitant_id) | Q(pk__in=wrote.values("conversation__professional_id"))
        )
        .exclude(messaging_blocks__patient=patient)
        .select_related("user")
        .distinct()
        .order_by("user__last_name", "user__first_name", "pk")
    )
    return list(professionals)


def professional_write_refusal(actor: Actor, patient: Patient) -> str | None:
    """Why this professional may not write to `patient` (French), or None. A professional writes to any
    patient with an active space (found by NIR and birth date), unless the patient blocked them."""
    if not actor.is_verified_professional:
        return "Seul un professionnel de santé peut écrire à un patient."
    if not can_receive_messages(patient):
        return "Ce patient n’a pas de messagerie active dans Mon espace santé."
    if is_messaging_blocked(patient, actor.professional):
        return "Ce patient a choisi de ne plus recevoir vos messages. Vous ne pouvez pas lui écrire."
    return None


def reply_refusal(actor: Actor, conversation) -> str | None:
    """Why `actor` may not answer in this (already fetched) conversation, or None. May answer:
    - its professional, unless they ended it or the patient blocked them;
    - the patient or a representative acting for them, unless the professional ended it or the patient
      blocked that professional.
    """
    if conversation.is_ended:
        return f"{conversation.ended_by_label} a mis fin à cet échange : il n’est plus possible d’y répondre."
    side = _messaging_side(actor)
    if side == "professional":
        if conversation.professional_id != actor.professional.pk:
            return "Cette conversation ne vous concerne pas."
        return professional_write_refusal(actor, conversation.patient)
    if side == "patient" and actor.acts_for(conversation.patient):
        if is_messaging_blocked(conversation.patient, conversation.professional):
            return "Vous avez bloqué les messages de ce professionnel : débloquez-le pour lui répondre."
        if not can_receive_messages(conversation.patient):
            return "La messagerie de ce profil n’est pas active."
        return None
    return "Cette conversation ne vous concerne pas."


def can_end_conversation(actor: Actor, conversation) -> bool:
    """Only the conversation's professional ends it, once."""
    if not actor.is_verified_professional:
        return False
    if conversation.is_ended:
        return False
    return conversation.professional_id == actor.professional.pk


def messaging_recipient_for(actor: Actor, public_id: UUID, *, searched: list[str]) -> Patient:
    """A patient the professional found by NIR (or INS) and birth date in this session: no browsing by id."""
    if not actor.is_verified_professional or str(public_id) not in searched:
        raise Http404
    patient = Patient.objects.select_related("space").filter(public_id=public_id, deceased_on__isnull=True).first()
    if patient is None:
        raise Http404
    return patient


def messaging_blocks_for(actor: Actor, patient: Patient) -> tuple[list, list]:
    """For the patient's settings: (professionals who wrote and are not blocked, blocked professionals)."""
    from accounts.models import Professional

    if not actor.acts_for(patient):
        raise Http404
    blocked = list(
        Professional.objects.filter(messaging_blocks__patient=patient).select_related("user").order_by("pk")
    )
    writers = list(
        Professional.objects.filter(conversations__in=conversations_visible_to(actor))
        .exclude(pk__in=[p.pk for p in blocked])
        .select_related("user")
        .distinct()
        .order_by("pk")
    )
    return writers, blocked


# --- profil ---


def can_edit_health_profile(actor: Actor, patient: Patient) -> bool:
    """The health profile is written and read in full by:
    - the patient;
    - a legal representative acting for them (parent of a minor, tutor).
    Professionals see only the shared sections (`profile_for_professional`); agents never.
    """
    return actor.acts_for(patient)


def can_write_directives(actor: Actor, patient: Patient) -> bool:
    """Advance directives (L.1111-11) are written by an adult patient themself: never by a representative."""
    if not actor.acts_for(patient):
        return False
    if actor.is_representing:
        return False
    return not patient.is_minor


def health_profile_settings(actor: Actor, patient: Patient):
    """The profile's settings (sections without object, organ donation), or None before the first write."""
    from profil.models import HealthProfile

    if not can_edit_health_profile(actor, patient):
        raise Http404
    return HealthProfile.objects.filter(patient=patient).first()


def profile_entries_for(actor: Actor, patient: Patient, sections):
    """Entries of `sections` the actor may list: all of them for the patient's side, none otherwise
    (professionals go through `profile_for_professional`)."""
    from profil.models import ProfileEntry

    entries = ProfileEntry.objects.filter(patient=patient, section__in=list(sections)).in_order()
    if not can_edit_health_profile(actor, patient):
        return entries.none()
    return entries


def profile_entry_for(actor: Actor, public_id: UUID, *, section: str):
    """An entry of the acting profile's `section`, for editing or deleting; 404 for anything else."""
    from profil.models import ProfileEntry

    entry = ProfileEntry.objects.select_related("patient").filter(public_id=public_id, section=section).first()
    if entry is None or not can_edit_health_profile(actor, entry.patient):
        raise Http404
    if actor.acting_for is None or entry.patient_id != actor.acting_for.pk:
        raise Http404  # only the profile currently selected in the header
    return entry


def measures_for(actor: Actor, patient: Patient):
    """Every measure of the patient, the patient's own and those connected services sent (with their source),
    for the patient's side; none otherwise."""
    from profil.models import Measure

    measures = Measure.objects.filter(patient=patient).select_related("source").in_order()
    if not can_edit_health_profile(actor, patient):
        return measures.none()
    return measures


def measure_for(actor: Actor, public_id: UUID):
    from profil.models import Measure

    measure = Measure.objects.select_related("patient").filter(public_id=public_id).first()
    if measure is None or actor.acting_for is None or measure.patient_id != actor.acting_for.pk:
        raise Http404
    if not can_edit_health_profile(actor, measure.patient):
        raise Http404
    return measure


def profile_professionals_for(actor: Actor, patient: Patient):
    from profil.models import ProfileProfessional

    designations = ProfileProfessional.objects.filter(patient=patient).select_related("professional__user")
    if not can_edit_health_profile(actor, patient):
        return designations.none()
    return designations.order_by("role")


def profile_professional_for(actor: Actor, public_id: UUID):
    from profil.models import ProfileProfessional

    designation = ProfileProfessional.objects.select_related("patient").filter(public_id=public_id).first()
    if designation is None or actor.acting_for is None or designation.patient_id != actor.acting_for.pk:
        raise Http404
    if not can_edit_health_profile(actor, designation.patient):
        raise Http404
    return designation


def profile_for_professional(actor: Actor, patient: Patient) -> dict:
    """The shared part of the health profile for a professional who may read the record (same rules as
    `professional_access`): vaccinations, diseases, hospitalisations, allergies, and the advance directives
    among the documents they may see. Traced in the patient's history; 404 otherwise."""
    from dossier.enums import AuthorKind, DocumentCategory
    from espace_sante.audit import log
    from espace_sante.audit.actions import Action
    from profil.models import ProfileEntry
    from profil.sections import SHARED_SECTIONS

    access = professional_access(actor, patient)
    if not access.allowed:
        if actor.is_verified_professional:
            log.record(Action.ACCESS_DENIED, actor=actor, patient=patient, what="profil", blocked=access.blocked)
        raise Http404
    log.record(
        Action.PROFILE_VIEWED,
        actor=actor,
        patient=patient,
        target_label="profil médical",
        **_emergency_data(actor, patient),
    )
    entries = ProfileEntry.objects.filter(patient=patient, section__in=SHARED_SECTIONS).in_order()
    # A connected service never files directives (can_service_file_document); one filed before that rule is
    # not shown to professionals as the patient's will.
    directives = (
        documents_visible_to(actor, patient)
        .filter(category=DocumentCategory.DIRECTIVES)
        .exclude(author_kind=AuthorKind.SERVICE)
        .order_by("-care_date")
    )
    return {"entries": list(entries), "directives": list(directives)}


# --- agenda ---


def agenda_profiles(actor: Actor) -> list[Patient]:
    """Profiles whose agenda a person sees together:
    - their own;
    - those they legally represent with an open space (a parent sees the children's entries, with each
      child's name).
    Professionals and agents see no agenda.
    """
    if not actor.is_verified_patient:
        return []
    return [profile for profile in actor.profiles if can_act_for(actor, profile)]


def agenda_entries_visible_to(actor: Actor):
    """The agenda entries of every profile in `agenda_profiles` (a QuerySet, possibly empty)."""
    from agenda.models import AgendaEntry

    return AgendaEntry.objects.filter(patient__in=agenda_profiles(actor)).select_related("patient", "source_service")


def can_manage_agenda_entry(actor: Actor, entry) -> bool:
    """May open, edit, cancel, delete or export an agenda entry:
    - the patient themself;
    - a legal representative with an open representation.
    """
    return actor.acts_for(entry.patient)


def agenda_entry_for(actor: Actor, public_id: UUID, *, purpose: str = "view"):
    """An agenda entry the actor may see or manage; 404 for missing and forbidden alike. Opening it is traced."""
    from espace_sante.audit import log
    from espace_sante.audit.actions import Action

    entry = agenda_entries_visible_to(actor).filter(public_id=public_id).first()
    if entry is None or not can_manage_agenda_entry(actor, entry):
        raise Http404
    if purpose == "view":
        log.record(Action.AGENDA_ENTRY_VIEWED, actor=actor, patient=entry.patient, target=entry)
    return entry


def agenda_settings_for(actor: Actor, patient: Patient):
    """A profile's agenda settings (defaults, unsaved, if never changed): the patient or a representative."""
    from agenda.models import AgendaSettings

    if not actor.acts_for(patient):
        raise Http404
    return AgendaSettings.objects.filter(patient=patient).first() or AgendaSettings(patient=patient)


def prevention_items_for(actor: Actor, patient: Patient) -> dict:
    """The states the patient set on prevention suggestions, by rule code: the patient or a representative."""
    from agenda.models import PreventionItem

    if not actor.acts_for(patient):
        raise Http404
    return {item.code: item for item in PreventionItem.objects.filter(patient=patient)}


def agenda_feed_for_token(token: str):
    """The private calendar feed opened by a calendar application with its secret token.

    Returns (settings, owner, entries). 404 for an unknown, renewed or revoked token, and when the owner's
    space is no longer active. The token stands for the owner: the feed covers the profiles the owner may act
    for now, so a representation that ended drops out of the feed at once.
    """
    from agenda.models import AgendaSettings
    from agenda.services import FEED_HASH_PURPOSE
    from espace_sante.crypto.hashing import keyed_hash

    if not token:
        raise Http404
    settings_ = (
        AgendaSettings.objects.select_related("patient__space", "patient__user")
        .filter(feed_token_hash=keyed_hash(token, purpose=FEED_HASH_PURPOSE))
        .first()
    )
    if settings_ is None:
        raise Http404
    owner = settings_.patient
    if owner.user is None or not owner.user.is_active or not has_active_space(owner):
        raise Http404
    owner_actor = Actor.for_user(owner.user, verified=True)
    return settings_, owner, agenda_entries_visible_to(owner_actor)


# --- catalogue ---


def connections_visible_to(actor: Actor, patient: Patient):
    """The live service connections of `patient`: for the patient or a legal representative acting for them."""
    from catalogue.models import Connection

    connections = Connection.objects.live().filter(patient=patient)
    if not actor.acts_for(patient):
        return connections.none()
    return connections.select_related("service").prefetch_related("purposes").order_by("service__name")


def connection_for(actor: Actor, public_id: UUID):
    """A live connection of the profile currently selected in the header; 404 otherwise."""
    from catalogue.models import Connection

    connection = Connection.objects.live().select_related("service", "patient").filter(public_id=public_id).first()
    if connection is None or actor.acting_for is None or connection.patient_id != actor.acting_for.pk:
        raise Http404
    if not actor.acts_for(connection.patient):
        raise Http404
    return connection


def can_service_use(connection, scope: str) -> bool:
    """A connected service may use a data scope of the API when:
    - the connection is active (not ended, not waiting for the young adult's confirmation);
    - the service is online (not suspended, offline or dereferenced);
    - the patient's space is active;
    - one of the purposes the patient accepted grants this scope.
    """
    return can_service_exchange(connection) and scope in connection.granted_scopes()


def service_patient_visible(connection):
    """The Patient resource a connected service may read: the connected profile itself, while the connection
    may exchange data (its identity is what every SMART client reads first)."""
    from accounts.models import Patient

    if not can_service_exchange(connection):
        return Patient.objects.none()
    return Patient.objects.filter(pk=connection.patient_id)


def can_service_exchange(connection) -> bool:
    """The connection is live for data exchange: active, confirmed after majority, service online, space open."""
    from catalogue.enums import ConnectionStatus, ServiceStatus

    return (
        connection.status == ConnectionStatus.ACTIVE
        and not connection.needs_reapproval
        and connection.service.status == ServiceStatus.ONLINE
        and has_active_space(connection.patient)
    )


def service_documents_visible(connection):
    """Documents a connected service may read: those the patient sees, in the categories of the accepted
    purposes; never a document kept from representatives when a representative made the connection, nor one
    the patient masked from professionals (a service sees no more than the care team)."""
    from catalogue.enums import Scope
    from dossier.models import Document

    if not can_service_use(connection, Scope.DOCUMENTS_READ):
        return Document.objects.none()
    documents = Document.objects.filter(patient=connection.patient, category__in=connection.document_categories())
    documents = documents.filter(
        Q(visible_to_patient_from__isnull=True) | Q(visible_to_patient_from__lte=timezone.now())
    )
    documents = documents.filter(hidden_from_professionals=False)
    if connection.connected_by_id != connection.patient.user_id:
        documents = documents.filter(hidden_from_representatives=False)
    return documents.order_by("-care_date", "-added_at")


def service_document_for(connection, public_id: UUID):
    """One document a connected service may read; 404 for missing and forbidden alike."""
    document = service_documents_visible(connection).filter(public_id=public_id).first()
    if document is None:
        raise Http404
    return document


def can_service_file_document(connection, category: str) -> bool:
    """A connected service may file a document (scope documents:write) only in the categories open to services
    (dossier.habilitations.SERVICE_WRITABLE_CATEGORIES): never as the patient's advance directives, never in a
    category reserved to professionals, to the patient or to Mon espace santé itself."""
    from catalogue.enums import Scope
    from dossier.habilitations import SERVICE_WRITABLE_CATEGORIES

    return can_service_use(connection, Scope.DOCUMENTS_WRITE) and category in SERVICE_WRITABLE_CATEGORIES


# Reads by services leave out rows dated outside these bounds: a row stored before the API checked its dates
# (year 1, year 9999) would otherwise break every read of the patient (Python cannot hold year 0).
_SERVICE_READ_EARLIEST = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)
_SERVICE_READ_LATEST = datetime.datetime(2200, 1, 1, tzinfo=datetime.UTC)


def service_measures_visible(connection):
    """Measures a connected service may read (scope measures:read, see `can_service_use`): all the patient's
    measures, those the patient or a representative entered and those any connected service sent. The
    patient's consent to "read my measures" covers their measures, wherever they came from. Measures have no
    restriction towards representatives, so a connection made by a representative reads the same. Rows dated
    outside the readable range (stored before dates were checked) are left out rather than breaking every
    read. Newest first, each with its source service."""
    from catalogue.enums import Scope
    from profil.models import Measure

    if not can_service_use(connection, Scope.MEASURES_READ):
        return Measure.objects.none()
    return (
        Measure.objects.filter(patient=connection.patient)
        .filter(
            Q(measured_at__isnull=True)
            | Q(measured_at__gte=_SERVICE_READ_EARLIEST, measured_at__lt=_SERVICE_READ_LATEST)
        )
        .filter(measured_on__gte=_SERVICE_READ_EARLIEST.date(), measured_on__lt=_SERVICE_READ_LATEST.date())
        .select_related("source")
        .in_order()
    )


def service_appointments_visible(connection):
    """Appointments a connected service may read (scope agenda:read, see `can_service_use`): every appointment
    in the patient's agenda, the patient's own and those any connected service sent, cancelled ones included
    (free reminders are not appointments and stay private). Agenda entries have no restriction towards
    representatives, so a connection made by a representative reads the same. Rows dated outside the readable
    range are left out. In start order, each with its source service."""
    from agenda.enums import EntryKind
    from agenda.models import AgendaEntry
    from catalogue.enums import Scope

    if not can_service_use(connection, Scope.AGENDA_READ):
        return AgendaEntry.objects.none()
    return (
        AgendaEntry.objects.filter(patient=connection.patient, kind=EntryKind.APPOINTMENT)
        .filter(starts_at__gte=_SERVICE_READ_EARLIEST, starts_at__lt=_SERVICE_READ_LATEST)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__lt=_SERVICE_READ_LATEST))
        .select_related("source_service")
        .order_by("starts_at", "pk")
    )
