"""The health profile pages: one generic set of views for the questionnaire sections (driven by
profil/sections.py), measures with charts, entourage and wishes, the synthesis, and the professionals' view."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dossier.views.pro import _searched_patient
from espace_sante.access import policy
from espace_sante.access.decorators import patient_required, professional_required
from profil import charts, services
from profil.enums import MeasureKind
from profil.forms import (
    DirectivesForm,
    MeasureForm,
    NotConcernedForm,
    OrganDonationForm,
    ProfessionalForm,
    SynthesisForm,
)
from profil.measures import MEASURES
from profil.sections import ENTOURAGE, QUESTIONNAIRE, SECTIONS, SectionDef, entry_views, related_choices

REFUSAL_REGISTER_URL = "https://www.registrenationaldesrefus.fr/"


def _posted(request: HttpRequest):
    """The submitted data, even when empty (an empty form must be bound to show its errors)."""
    return request.POST if request.method == "POST" else None


def _definition(section: str) -> SectionDef:
    definition = SECTIONS.get(section)
    if definition is None:
        raise Http404
    return definition


def _not_concerned(request: HttpRequest, patient) -> dict:
    settings = policy.health_profile_settings(request.actor, patient)
    return settings.not_concerned if settings else {}


@patient_required
@require_http_methods(["GET"])
def index(request: HttpRequest) -> HttpResponse:
    patient = request.actor.acting_for
    sections = policy.profile_entries_for(request.actor, patient, SECTIONS).values_list("section", flat=True)
    counts = dict.fromkeys(SECTIONS, 0)
    for key in sections:
        counts[key] += 1
    not_concerned = _not_concerned(request, patient)
    cards = [
        {"definition": d, "count": counts[key], "not_concerned": not_concerned.get(key)} for key, d in SECTIONS.items()
    ]
    context = {
        "title": "Mon profil médical",
        "profile": patient,
        "questionnaire": [c for c in cards if c["definition"].group == QUESTIONNAIRE],
        "entourage": [c for c in cards if c["definition"].group == ENTOURAGE],
        "latest": charts.latest_by_kind(policy.measures_for(request.actor, patient)),
    }
    return render(request, "profil/index.html", context)


@patient_required
@require_http_methods(["GET"])
def section(request: HttpRequest, section: str) -> HttpResponse:
    definition = _definition(section)
    patient = request.actor.acting_for
    entries = policy.profile_entries_for(request.actor, patient, [definition.key])
    labels = services.linked_labels(request.actor, patient) if definition.related else {}
    since = _not_concerned(request, patient).get(definition.key.value)
    context = {
        "title": definition.label,
        "profile": patient,
        "definition": definition,
        "entries": entry_views(definition, entries, labels=labels),
        "not_concerned_since": since,
        "switch": NotConcernedForm(initial={"not_concerned": bool(since)}),
    }
    return render(request, "profil/section.html", context)


def _entry_form(request: HttpRequest, definition: SectionDef, entry=None) -> HttpResponse:
    actor, patient = request.actor, request.actor.acting_for
    related = related_choices(definition, policy.profile_entries_for(actor, patient, definition.related))
    initial = entry.values if entry else None
    form = definition.form(_posted(request), initial=initial, related=related)
    if form.is_valid():
        try:
            services.entry_save(patient=patient, definition=definition, values=form.values(), by=actor, entry=entry)
        except services.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "L’information a été enregistrée.")
            return redirect("profil:section", section=definition.key.value)
    verb = "Modifier" if entry else "Ajouter"
    context = {
        "title": f"{verb} {definition.singular}",
        "profile": patient,
        "definition": definition,
        "form": form,
        "submit_label": "Enregistrer",
    }
    return render(request, "profil/entry_form.html", context)


@patient_required
@require_http_methods(["GET", "POST"])
def entry_add(request: HttpRequest, section: str) -> HttpResponse:
    return _entry_form(request, _definition(section))


@patient_required
@require_http_methods(["GET", "POST"])
def entry_edit(request: HttpRequest, section: str, public_id) -> HttpResponse:
    definition = _definition(section)
    entry = policy.profile_entry_for(request.actor, public_id, section=definition.key.value)
    return _entry_form(request, definition, entry)


@patient_required
@require_http_methods(["GET", "POST"])
def entry_delete(request: HttpRequest, section: str, public_id) -> HttpResponse:
    definition = _definition(section)
    entry = policy.profile_entry_for(request.actor, public_id, section=definition.key.value)
    if request.method == "POST":
        services.entry_delete(entry=entry, by=request.actor)
        messages.success(request, "L’information a été supprimée.")
        return redirect("profil:section", section=definition.key.value)
    view = entry_views(definition, [entry])[0]
    context = {"title": "Supprimer cette information", "definition": definition, "entry": view}
    return render(request, "profil/entry_delete.html", context)


@patient_required
@require_POST
def not_concerned(request: HttpRequest, section: str) -> HttpResponse:
    definition = _definition(section)
    form = NotConcernedForm(request.POST)
    form.is_valid()
    value = bool(form.cleaned_data.get("not_concerned"))
    services.not_concerned_set(patient=request.actor.acting_for, definition=definition, value=value, by=request.actor)
    messages.success(request, "Votre réponse a été enregistrée.")
    return redirect("profil:section", section=definition.key.value)


@patient_required
@require_http_methods(["GET", "POST"])
def measures(request: HttpRequest) -> HttpResponse:
    actor, patient = request.actor, request.actor.acting_for
    form = MeasureForm(_posted(request), is_minor=patient.is_minor, initial={"kind": request.GET.get("mesure")})
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.measure_add(
                patient=patient,
                kind=data["kind"],
                value=data["value"],
                value2=data.get("value2"),
                measured_on=data["measured_on"],
                by=actor,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "La mesure a été enregistrée.")
            return redirect("profil:measures")
    history = list(policy.measures_for(actor, patient)[:500])
    kinds = [k for k in MeasureKind.values if any(m.kind == k for m in history)]
    chart_list = [charts.growth_chart(patient, history)] if patient.is_minor else []
    chart_list += [charts.measure_chart(kind, history) for kind in kinds]
    context = {
        "title": "Mes mesures",
        "profile": patient,
        "form": form,
        "submit_label": "Enregistrer la mesure",
        "charts": [c for c in chart_list if c is not None],
        "history": history[:100],
        "latest": charts.latest_by_kind(history),
        "bmi": charts.body_mass_index(history),
        "units": [(MeasureKind(k).label, s.unit, s.low, s.high) for k, s in MEASURES.items()],
    }
    return render(request, "profil/measures.html", context)


@patient_required
@require_POST
def measure_delete(request: HttpRequest, public_id) -> HttpResponse:
    measure = policy.measure_for(request.actor, public_id)
    services.measure_delete(measure=measure, by=request.actor)
    messages.success(request, "La mesure a été supprimée.")
    return redirect("profil:measures")


@patient_required
@require_http_methods(["GET", "POST"])
def professionals(request: HttpRequest) -> HttpResponse:
    actor, patient = request.actor, request.actor.acting_for
    form = ProfessionalForm(_posted(request))
    if form.is_valid():
        try:
            services.professional_designate(patient=patient, by=actor, **form.cleaned_data)
        except services.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Le professionnel a été désigné et ajouté à votre équipe de soins.")
            return redirect("profil:professionals")
    context = {
        "title": "Mes professionnels de santé",
        "profile": patient,
        "medecin_traitant": patient.medecin_traitant,
        "designations": policy.profile_professionals_for(actor, patient),
        "form": form,
        "submit_label": "Désigner",
    }
    return render(request, "profil/professionals.html", context)


@patient_required
@require_POST
def professional_remove(request: HttpRequest, public_id) -> HttpResponse:
    designation = policy.profile_professional_for(request.actor, public_id)
    services.professional_remove(designation=designation, by=request.actor)
    messages.success(request, "La désignation a été retirée. Le professionnel reste dans votre équipe de soins.")
    return redirect("profil:professionals")


@patient_required
@require_http_methods(["GET", "POST"])
def organ_donation(request: HttpRequest) -> HttpResponse:
    actor, patient = request.actor, request.actor.acting_for
    form = OrganDonationForm(_posted(request))
    if form.is_valid():
        services.organ_donation_acknowledge(patient=patient, by=actor)
        messages.success(request, "Votre lecture a été enregistrée.")
        return redirect("profil:organ_donation")
    settings = policy.health_profile_settings(actor, patient)
    context = {
        "title": "Don d’organes et de tissus",
        "profile": patient,
        "form": form,
        "submit_label": "Confirmer",
        "acknowledged_at": settings.organ_donation_acknowledged_at if settings else None,
        "register_url": REFUSAL_REGISTER_URL,
    }
    return render(request, "profil/organ_donation.html", context)


@patient_required
@require_http_methods(["GET", "POST"])
def directives(request: HttpRequest) -> HttpResponse:
    actor, patient = request.actor, request.actor.acting_for
    allowed = policy.can_write_directives(actor, patient)
    form = DirectivesForm(_posted(request))
    if request.method == "POST" and allowed and form.is_valid():
        try:
            document = services.directives_write(patient=patient, answers=form.cleaned_data, by=actor)
        except services.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Vos directives anticipées ont été enregistrées dans vos documents.")
            return redirect("dossier:document_detail", public_id=document.public_id)
    context = {
        "title": "Mes directives anticipées",
        "profile": patient,
        "form": form,
        "allowed": allowed,
        "submit_label": "Créer le document",
    }
    return render(
        request, "profil/directives.html", context, status=403 if request.method == "POST" and not allowed else 200
    )


@patient_required
@require_http_methods(["GET", "POST"])
def synthesis(request: HttpRequest) -> HttpResponse:
    actor, patient = request.actor, request.actor.acting_for
    form = SynthesisForm(_posted(request), choices=services.synthesis_choices())
    if form.is_valid():
        try:
            services.synthesis_request(patient=patient, sections=form.cleaned_data["sections"], by=actor)
        except services.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                "Votre synthèse est en préparation : elle apparaîtra dans quelques instants dans vos documents.",
            )
            return redirect("dossier:index")
    context = {
        "title": "Synthèse de mon profil médical",
        "profile": patient,
        "form": form,
        "submit_label": "Créer la synthèse",
    }
    return render(request, "profil/synthesis.html", context)


@professional_required
@require_http_methods(["GET"])
def pro_profile(request: HttpRequest, public_id) -> HttpResponse:
    """The shared sections of a patient's profile, for a professional who may read the record."""
    patient = _searched_patient(request, public_id)
    shared = policy.profile_for_professional(request.actor, patient)
    blocks = []
    for key, definition in SECTIONS.items():
        if definition.shared:
            entries = [e for e in shared["entries"] if e.section == key]
            blocks.append({"definition": definition, "entries": entry_views(definition, entries)})
    context = {
        "title": f"Profil médical de {patient.display_name}",
        "patient": patient,
        "blocks": blocks,
        "directives": shared["directives"],
    }
    return render(request, "profil/pro_profile.html", context)
