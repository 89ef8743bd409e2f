"""Every write of the health profile: atomic, validated, audited (never with medical content in the log)."""

import datetime
import json

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.enums import Profession
from accounts.models import Patient, Professional, User
from catalogue.models import Service
from dossier.enums import AuthorKind, CareTeamRole, DocumentCategory
from dossier.models import Document
from dossier.services import care_team_add, document_add_generated
from espace_sante.access import policy
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.lib.throttle import Throttle
from espace_sante.pdf import render_pdf
from profil import charts
from profil.enums import DirectiveChoice, ProfessionalRole
from profil.measures import CLOCK_SKEW, measure_check
from profil.models import HealthProfile, Measure, ProfileEntry, ProfileProfessional
from profil.sections import SECTIONS, SectionDef, entry_views

MEASURES_KEY = "mesures"
ROLE_PROFESSION = {
    ProfessionalRole.SAGE_FEMME: Profession.SAGE_FEMME,
    ProfessionalRole.PHARMACIEN: Profession.PHARMACIEN,
}


class NotAllowed(Exception):
    """A request the rules refuse, with a French message for the person."""


# PDF rendering costs seconds of CPU: per person (the signed-in user, whichever profile they act for), a few
# documents freely, then growing delays. The directives are rendered in the web worker, the synthesis in a
# Celery task, of which one at a time per person may be waiting or running.
DIRECTIVES_THROTTLE = Throttle(
    scope="pdf:directives", free_attempts=5, base_delay_seconds=60, max_delay_seconds=3600, window_seconds=3600
)
SYNTHESIS_THROTTLE = Throttle(
    scope="pdf:synthesis", free_attempts=10, base_delay_seconds=60, max_delay_seconds=3600, window_seconds=3600
)
SYNTHESIS_PENDING_SECONDS = 15 * 60  # CELERY_TASK_TIME_LIMIT: a lost task frees its place after that
SYNTHESIS_PENDING = (
    "Une synthèse est déjà en préparation : elle apparaîtra dans vos documents dans quelques instants. "
    "Vous pourrez en demander une autre ensuite."
)


def _pdf_wait_message(seconds: int, what: str) -> str:
    minutes = max(1, (seconds + 59) // 60)
    plural = "s" if minutes > 1 else ""
    return f"Vous avez demandé {what} plusieurs fois en peu de temps. Réessayez dans {minutes} minute{plural}."


def _pending_synthesis_key(user_id: int) -> str:
    return f"profil:synthesis-pending:{user_id}"


def synthesis_finished(*, user_id: int) -> None:
    """The task is over (done, refused or failed): the person may ask for another synthesis."""
    cache.delete(_pending_synthesis_key(user_id))


def _settings(patient: Patient) -> HealthProfile:
    profile, _ = HealthProfile.objects.select_for_update().get_or_create(patient=patient)
    return profile


# --- Questionnaire sections ----------------------------------------------------------------------------------


@transaction.atomic
def entry_save(
    *, patient: Patient, definition: SectionDef, values: dict, by: Actor, entry: ProfileEntry | None = None
) -> ProfileEntry:
    """Add an entry to a section, or change `entry`. Adding one clears the section's "not concerned"."""
    created = entry is None
    if created:
        if definition.single and ProfileEntry.objects.filter(patient=patient, section=definition.key).exists():
            raise NotAllowed("Cette rubrique ne contient qu’une seule information : modifiez celle qui existe.")
        entry = ProfileEntry(patient=patient, section=definition.key)
    entry.content = json.dumps(values, ensure_ascii=False)
    entry.sort_date = definition.sort_date(values)
    entry.updated_at = timezone.now()
    entry.full_clean()
    entry.save()
    settings = _settings(patient)
    if settings.not_concerned.pop(definition.key.value, None):
        settings.save(update_fields=["not_concerned"])
    action = Action.PROFILE_ENTRY_ADDED if created else Action.PROFILE_ENTRY_CHANGED
    record(action, actor=by, patient=patient, target=entry, section=definition.key.value)
    return entry


@transaction.atomic
def entry_delete(*, entry: ProfileEntry, by: Actor) -> None:
    record(Action.PROFILE_ENTRY_DELETED, actor=by, patient=entry.patient, target=entry, section=entry.section)
    entry.delete()


@transaction.atomic
def not_concerned_set(*, patient: Patient, definition: SectionDef, value: bool, by: Actor) -> None:
    """The dated "Je ne suis pas concerné(e)" switch of a section."""
    settings = _settings(patient)
    key = definition.key.value
    if value:
        settings.not_concerned[key] = timezone.localdate().isoformat()
    else:
        settings.not_concerned.pop(key, None)
    settings.save(update_fields=["not_concerned"])
    record(
        Action.PROFILE_NOT_CONCERNED,
        actor=by,
        patient=patient,
        target_label="profil médical",
        section=key,
        value=value,
    )


# --- Measures ------------------------------------------------------------------------------------------------


@transaction.atomic
def measure_add(*, patient: Patient, kind: str, value, value2, measured_on, by: Actor) -> Measure:
    """A measure the patient (or a representative) typed in the form."""
    measure_check(kind, value, value2, is_minor=patient.is_minor)
    measure = Measure(patient=patient, kind=kind, value=value, value2=value2, measured_on=measured_on)
    measure.full_clean()
    measure.save()
    record(Action.MEASURE_ADDED, actor=by, patient=patient, target=measure)
    return measure


class DuplicateIdentifier(NotAllowed):
    """The service already sent a measure with this identifier for this patient: nothing is stored."""


@transaction.atomic
def measure_add_from_service(
    *,
    patient: Patient,
    service: Service,
    kind: str,
    value,
    value2=None,
    measured_at: datetime.datetime | None = None,
    measured_on: datetime.date | None = None,
    identifier: str = "",
    by: Actor,
) -> Measure:
    """A measure sent by a connected service (FHIR Observation) that the patient authorised: the caller has
    checked the connection and its scope. The same plausibility rules as the patient's form apply
    (measure_check, no date in the future); `measured_on` is the local date of `measured_at` when given.
    A second measure with the same non-empty `identifier` from the same service raises DuplicateIdentifier,
    and nothing is stored. Traced like the patient's own measures, under the service's name."""
    if measured_at is not None:
        if timezone.is_naive(measured_at):
            raise ValidationError({"measured_on": "La date et l’heure de la mesure doivent avoir un fuseau horaire."})
        if measured_at > timezone.now() + CLOCK_SKEW:
            raise ValidationError({"measured_on": "La date de la mesure ne peut pas être dans le futur."})
        measured_on = timezone.localdate(measured_at)
    elif measured_on is None:
        raise ValidationError({"measured_on": "Indiquez la date de la mesure."})
    elif measured_on > timezone.localdate():
        raise ValidationError({"measured_on": "La date de la mesure ne peut pas être dans le futur."})
    measure_check(kind, value, value2, is_minor=patient.is_minor)
    identifier = (identifier or "").strip()
    duplicate = DuplicateIdentifier(
        "Ce service a déjà transmis une mesure avec cet identifiant pour ce patient : "
        "elle n’est pas ajoutée deux fois."
    )
    if identifier and Measure.objects.filter(patient=patient, source=service, source_identifier=identifier).exists():
        raise duplicate
    now = timezone.now()
    measure = Measure(
        patient=patient,
        kind=kind,
        value=value,
        value2=value2,
        measured_on=measured_on,
        measured_at=measured_at,
        source=service,
        source_identifier=identifier,
        created_at=now,
        updated_at=now,
    )
    measure.full_clean()
    try:
        with transaction.atomic():  # a concurrent twin hits the unique constraint: same answer
            measure.save()
    except IntegrityError as error:
        raise duplicate from error
    record(Action.MEASURE_ADDED, actor=by, patient=patient, target=measure)
    return measure


@transaction.atomic
def measure_delete(*, measure: Measure, by: Actor) -> None:
    record(Action.MEASURE_DELETED, actor=by, patient=measure.patient, target=measure)
    measure.delete()


# --- Entourage and wishes ------------------------------------------------------------------------------------


@transaction.atomic
def professional_designate(*, patient: Patient, role: str, rpps: str, by: Actor) -> ProfileProfessional:
    """Name the sage-femme référente or the pharmacien correspondant, and add them to the record's care team
    so that the profile and the record agree."""
    professional = Professional.objects.select_related("user").filter(rpps=rpps).first()
    if professional is None:
        raise NotAllowed("Aucun professionnel de santé ne correspond à ce numéro RPPS.")
    expected = ROLE_PROFESSION[ProfessionalRole(role)]
    if professional.profession != expected:
        raise NotAllowed(f"Ce professionnel n’est pas {expected.label} : choisissez un ou une {expected.label}.")
    member = policy.care_team_member(professional, patient)
    if member is not None and member.blocked_at is not None:
        raise NotAllowed(
            "Vous avez bloqué ce professionnel : débloquez-le d’abord dans « Qui a accès à mon dossier »."
        )
    designation, _ = ProfileProfessional.objects.update_or_create(
        patient=patient, role=role, defaults={"professional": professional, "designated_at": timezone.now()}
    )
    care_team_add(patient=patient, professional=professional, by=by, role=CareTeamRole.ADDED_BY_PATIENT)
    record(
        Action.PROFILE_PROFESSIONAL_SET,
        actor=by,
        patient=patient,
        target=professional,
        role=role,
    )
    return designation


@transaction.atomic
def professional_remove(*, designation: ProfileProfessional, by: Actor) -> None:
    """Remove the designation only: the professional stays in the care team until the patient removes them."""
    record(
        Action.PROFILE_PROFESSIONAL_REMOVED,
        actor=by,
        patient=designation.patient,
        target=designation.professional,
        role=designation.role,
    )
    designation.delete()


@transaction.atomic
def organ_donation_acknowledge(*, patient: Patient, by: Actor) -> None:
    settings = _settings(patient)
    settings.organ_donation_acknowledged_at = timezone.now()
    settings.save(update_fields=["organ_donation_acknowledged_at"])
    record(Action.ORGAN_DONATION_ACKNOWLEDGED, actor=by, patient=patient)


@transaction.atomic
def directives_write(*, patient: Patient, answers: dict, by: Actor) -> Document:
    """Turn the guided form into a dated PDF in the documents, category "Directives anticipées"."""
    if not policy.can_write_directives(by, patient):
        raise NotAllowed("Les directives anticipées sont rédigées par la personne majeure elle-même.")
    wait = DIRECTIVES_THROTTLE.admit(str(by.user.pk))
    if wait:
        raise NotAllowed(_pdf_wait_message(wait, "le document de vos directives anticipées"))
    today = timezone.localdate()
    choices = [
        (label, DirectiveChoice(answers[key]).label)
        for key, label in (
            ("reanimation", "Réanimation cardio-respiratoire"),
            ("ventilation", "Respiration artificielle"),
            ("nutrition", "Alimentation et hydratation artificielles"),
            ("sedation", "Sédation profonde et continue jusqu’au décès"),
        )
    ]
    context = {"patient": patient, "today": today, "answers": answers, "choices": choices}
    content = render_pdf("profil/pdf/directives.html", context)
    document = document_add_generated(
        patient=patient,
        by=by,
        content=content,
        filename=f"directives-anticipees-{today:%Y-%m-%d}.pdf",
        content_type="application/pdf",
        title=f"Directives anticipées du {today:%d/%m/%Y}",
        category=DocumentCategory.DIRECTIVES,
        author_kind=AuthorKind.PATIENT,
        author_label=patient.display_name,
    )
    record(Action.DIRECTIVES_WRITTEN, actor=by, patient=patient, target=document)
    return document


# --- Synthesis -----------------------------------------------------------------------------------------------


def synthesis_choices() -> list[tuple[str, str]]:
    return [(key, s.label) for key, s in SECTIONS.items()] + [(MEASURES_KEY, "Mesures (dernières valeurs)")]


@transaction.atomic
def synthesis_request(*, patient: Patient, sections: list[str], by: Actor) -> None:
    """Queue the PDF synthesis of the chosen sections (keys only: no personal data in the broker)."""
    from profil.tasks import synthesis_generate_task

    allowed = {key for key, _ in synthesis_choices()}
    if not sections or not set(sections) <= allowed:
        raise NotAllowed("Choisissez au moins une rubrique.")
    pending = _pending_synthesis_key(by.user.pk)
    if not cache.add(pending, 1, timeout=SYNTHESIS_PENDING_SECONDS):  # atomic: one waiting task per person
        raise NotAllowed(SYNTHESIS_PENDING)
    wait = SYNTHESIS_THROTTLE.admit(str(by.user.pk))
    if wait:
        cache.delete(pending)
        raise NotAllowed(_pdf_wait_message(wait, "une synthèse"))
    record(Action.SYNTHESIS_REQUESTED, actor=by, patient=patient, sections=sections)
    synthesis_generate_task.delay_on_commit(patient.pk, by.user.pk, sections)


def linked_labels(by: Actor, patient: Patient) -> dict[str, str]:
    """Names of the entries a treatment may be linked to, by public id."""
    entries = policy.profile_entries_for(by, patient, ("maladies", "allergies"))
    return {str(e.public_id): e.values.get("name", "") for e in entries}


def synthesis_context(*, by: Actor, patient: Patient, sections: list[str]) -> dict:
    labels = linked_labels(by, patient)
    settings = policy.health_profile_settings(by, patient)
    not_concerned = settings.not_concerned if settings else {}
    blocks = []
    for key, definition in SECTIONS.items():
        if key not in sections:
            continue
        entries = policy.profile_entries_for(by, patient, [key])
        blocks.append(
            {
                "label": definition.label,
                "empty": definition.empty,
                "not_concerned": not_concerned.get(key),
                "entries": entry_views(definition, entries, labels=labels),
            }
        )
    measures = None
    if MEASURES_KEY in sections:
        all_measures = list(policy.measures_for(by, patient))
        measures = {"latest": charts.latest_by_kind(all_measures), "bmi": charts.body_mass_index(all_measures)}
    return {"patient": patient, "today": timezone.localdate(), "blocks": blocks, "measures": measures}


def synthesis_generate(*, patient_id: int, user_id: int, sections: list[str]) -> Document | None:
    """Render the synthesis and save it in the documents ("Synthèse médicale"). Nothing when the requester may no
    longer act for the patient (a representation that ended meanwhile)."""
    patient = Patient.objects.select_related("space").get(pk=patient_id)
    user = User.objects.get(pk=user_id)
    actor = Actor.for_user(user, verified=True, acting_for_id=patient_id)
    if not policy.can_edit_health_profile(actor, patient):
        return None
    context = synthesis_context(by=actor, patient=patient, sections=sections)
    content = render_pdf("profil/pdf/synthese.html", context)
    today = context["today"]
    return document_add_generated(
        patient=patient,
        by=actor,
        content=content,
        filename=f"synthese-profil-medical-{today:%Y-%m-%d}.pdf",
        content_type="application/pdf",
        title=f"Synthèse du profil médical du {today:%d/%m/%Y}",
        category=DocumentCategory.SYNTHESE_MEDICALE,
        author_kind=AuthorKind.SERVICE,
        author_label="Mon espace santé, à partir de votre profil médical",
    )


def vaccination_add(*, patient: Patient, vaccine: str, given_on, by: Actor) -> ProfileEntry:
    """Record a vaccination in one step (from the agenda's prevention calendar), through the section's form
    so the same rules apply as on the profile page."""
    from profil.enums import DoseType, Section
    from profil.sections import section_def

    definition = section_def(Section.VACCINATIONS)
    form = definition.form(
        {
            "name": vaccine,
            "date": given_on.isoformat(),
            "dose_type": DoseType.PRIMO if patient.age < 2 else DoseType.RAPPEL,
        },
        related=[],
    )
    if not form.is_valid():
        raise NotAllowed(
            "Cette vaccination ne peut pas être ajoutée au profil : "
            + " ".join(str(error) for errors in form.errors.values() for error in errors)
        )
    return entry_save(patient=patient, definition=definition, values=form.values(), by=by)
