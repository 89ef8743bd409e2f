"""The professional portal: find a patient by NIR and birth date, read what is allowed, add documents."""

from collections import OrderedDict

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Patient
from dossier import services
from dossier.enums import CareTeamRole, DocumentCategory
from dossier.forms import ConsentForm, EmergencyForm, PatientSearchForm, ProfessionalUploadForm
from espace_sante.access import policy
from espace_sante.access.decorators import professional_required
from espace_sante.access.middleware import SESSION_EMERGENCIES
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record

SESSION_SEARCHED = "pro_searched_patients"


def _searched_patient(request: HttpRequest, public_id) -> Patient:
    """A patient this professional found by NIR and birth date in this session: no browsing by id."""
    if str(public_id) not in request.session.get(SESSION_SEARCHED, []):
        raise Http404
    patient = Patient.objects.select_related("space", "medical_record").filter(public_id=public_id).first()
    if patient is None:
        raise Http404
    return patient


@professional_required
@require_http_methods(["GET", "POST"])
def patient_search(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(request.POST or None)
    if form.is_valid():
        lookup = policy.patient_lookup(
            request.actor,
            nir=form.cleaned_data["nir"],
            birth_date=form.cleaned_data["birth_date"],
            purpose=policy.LookupPurpose.RECORD,
        )
        patient = lookup.patient
        if lookup.retry_after:
            form.add_error(None, lookup.throttle_message)
        elif patient is None:
            form.add_error(None, "Aucun dossier médical ne correspond à ce numéro et à cette date de naissance.")
        else:
            searched = [*request.session.get(SESSION_SEARCHED, [])[-49:], str(patient.public_id)]
            request.session[SESSION_SEARCHED] = searched
            return redirect("pro_record", public_id=patient.public_id)
    return render(request, "dossier/pro/search.html", {"title": "Rechercher un patient", "form": form})


@professional_required
@require_http_methods(["GET"])
def patient_record(request: HttpRequest, public_id) -> HttpResponse:
    actor = request.actor
    patient = _searched_patient(request, public_id)
    access = policy.professional_access(actor, patient)
    if not access.allowed:
        if access.blocked:
            record(Action.ACCESS_DENIED, actor=actor, patient=patient, what="record", blocked=True)
        return redirect("pro_access_request", public_id=public_id)
    patient, access = policy.patient_for_professional(actor, public_id)
    services.professional_access_notify(patient=patient, by=actor)
    documents = policy.documents_visible_to(actor, patient).for_listing()
    by_category: OrderedDict = OrderedDict((value, []) for value in DocumentCategory.values)
    for document in documents[:500]:
        by_category[document.category].append(document)
    context = {
        "title": f"Dossier de {patient.display_name}",
        "patient": patient,
        "access": access,
        "sections": [(DocumentCategory(key).label, docs) for key, docs in by_category.items() if docs],
        "directives": by_category[DocumentCategory.DIRECTIVES],
        "reimbursements": policy.reimbursements_visible_to(actor, patient).order_by("-care_date")[:100],
    }
    return render(request, "dossier/pro/record.html", context)


@professional_required
@require_http_methods(["GET"])
def access_request(request: HttpRequest, public_id) -> HttpResponse:
    """No access yet: declare the patient's consent, or open an emergency access. Shows no medical data."""
    actor = request.actor
    patient = _searched_patient(request, public_id)
    access = policy.professional_access(actor, patient)
    if access.allowed:
        return redirect("pro_record", public_id=public_id)
    emergency = policy.emergency_choices_for(actor, patient)
    context = {
        "title": "Accès au dossier",
        "patient": patient,
        "blocked": access.blocked,
        "consent_form": ConsentForm(),
        "emergency": emergency,
        "emergency_form": EmergencyForm(kinds=emergency.kinds) if emergency and emergency.kinds else None,
    }
    return render(request, "dossier/pro/access_request.html", context)


@professional_required
@require_POST
def declare_consent(request: HttpRequest, public_id) -> HttpResponse:
    actor = request.actor
    patient = _searched_patient(request, public_id)
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            services.care_team_add(
                patient=patient, professional=actor.professional, by=actor, role=CareTeamRole.CONSENT_IN_CONSULTATION
            )
        except services.NotAllowed as error:
            messages.error(request, str(error))
            return redirect("pro_access_request", public_id=public_id)
        return redirect("pro_record", public_id=public_id)
    messages.error(request, "Le consentement du patient est obligatoire.")
    return redirect("pro_access_request", public_id=public_id)


@professional_required
@require_POST
def emergency_access(request: HttpRequest, public_id) -> HttpResponse:
    actor = request.actor
    patient = _searched_patient(request, public_id)
    form = EmergencyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Indiquez la situation et un motif d’au moins 10 caractères.")
        return redirect("pro_access_request", public_id=public_id)
    try:
        access = services.emergency_start(
            patient=patient, by=actor, kind=form.cleaned_data["kind"], reason=form.cleaned_data["reason"]
        )
    except services.NotAllowed as error:
        messages.error(request, str(error))
        return redirect("pro_access_request", public_id=public_id)
    request.session[SESSION_EMERGENCIES] = [*request.session.get(SESSION_EMERGENCIES, []), str(access.public_id)]
    messages.warning(
        request, "Accès en urgence ouvert pour 4 heures. Le patient et son médecin traitant en sont informés."
    )
    return redirect("pro_record", public_id=public_id)


@professional_required
@require_http_methods(["GET", "POST"])
def add_document(request: HttpRequest, public_id) -> HttpResponse:
    actor = request.actor
    patient, access = policy.patient_for_professional(actor, public_id)
    form = ProfessionalUploadForm(request.POST or None, request.FILES or None)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.document_add(
                patient=patient,
                by=actor,
                file=data["file"],
                title=data["title"],
                category=data["category"],
                care_date=data["care_date"],
                hidden_from_representatives=data["hidden_from_representatives"],
                held_for_announcement=data["held_for_announcement"],
            )
        except services.NotAllowed as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Le document a été ajouté au dossier.")
            return redirect("pro_record", public_id=public_id)
    context = {"title": f"Ajouter un document — {patient.display_name}", "patient": patient, "form": form}
    return render(request, "dossier/pro/add_document.html", context)


@professional_required
@require_http_methods(["GET"])
def document(request: HttpRequest, public_id) -> HttpResponse:
    document_ = policy.document_for(request.actor, public_id, purpose="view")
    context = {
        "title": document_.title,
        "document": document_,
        "patient": document_.patient,
        "cda": services.document_cda_view(document_) if document_.is_cda else None,
    }
    return render(request, "dossier/pro/document.html", context)
