"""The patient's side of the record: documents, confidentiality, who has access, history, sharing."""

from collections import OrderedDict

import segno
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Professional
from dossier import services
from dossier.enums import CareTeamRole
from dossier.forms import (
    AddProfessionalForm,
    DocumentFilterForm,
    DocumentUploadForm,
    RecordSettingsForm,
    RenameForm,
    ShareForm,
)
from dossier.models import PREVIEW_TYPES, CareTeamMember
from espace_sante.access import policy
from espace_sante.access.decorators import patient_required
from espace_sante.audit.actions import ActorRole

PAGE_SIZE = 20


def file_response(document, *, inline: bool) -> HttpResponse:
    """The stored file as it was received (for a CDA R2 document, the original XML)."""
    content = services.document_content(document)
    return _bytes_response(content, document.content_type, document.original_filename, inline=inline)


EMBEDDED_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif"}


def shown_response(request: HttpRequest, document) -> HttpResponse:
    """What "Aperçu" opens: the file itself; for a CDA R2 document its page (level 3, the rendered narrative in
    the site's layout, under the site's strict CSP) or its embedded PDF or image (level 1)."""
    if not document.is_cda:
        return file_response(document, inline=document.can_preview)
    view = services.document_cda_view(document)
    if view.html is not None:
        context = {"title": document.title, "document": document, "cda_html": view.html}
        return render(request, "dossier/cda_document.html", context)
    if view.file is not None:
        name = document.original_filename.rsplit(".", 1)[0] + EMBEDDED_EXTENSIONS[view.content_type]
        return _bytes_response(view.file, view.content_type, name, inline=view.content_type in PREVIEW_TYPES)
    return file_response(document, inline=False)


def _bytes_response(content: bytes, content_type: str, filename: str, *, inline: bool) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    filename = filename.replace('"', "")
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    # A previewed file runs nothing and loads nothing, even if it was crafted to.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@patient_required
@require_http_methods(["GET"])
def document_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    patient = actor.acting_for
    form = DocumentFilterForm(request.GET or None)
    documents = policy.documents_visible_to(actor, patient).for_listing()
    if form.is_valid():
        data = form.cleaned_data
        if data["category"]:
            documents = documents.filter(category=data["category"])
        if data["author"]:
            documents = documents.filter(author_kind=data["author"])
        if data["start"]:
            documents = documents.filter(care_date__gte=data["start"])
        if data["end"]:
            documents = documents.filter(care_date__lte=data["end"])
        if data["q"]:
            documents = documents.filter(title__icontains=data["q"])
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "title": "Mes documents",
        "profile": patient,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "representing": actor.is_representing,
    }
    return render(request, "dossier/document_list.html", context)


@patient_required
@require_http_methods(["GET", "POST"])
def document_upload(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    patient = actor.acting_for
    form = DocumentUploadForm(request.POST or None, request.FILES or None)
    if form.is_valid():
        data = form.cleaned_data
        document = services.document_add(
            patient=patient,
            by=actor,
            file=data["file"],
            title=data["title"],
            category=data["category"],
            care_date=data["care_date"],
        )
        messages.success(request, "Le document a été ajouté.")
        return redirect("dossier:document_detail", public_id=document.public_id)
    return render(request, "dossier/document_upload.html", {"title": "Ajouter un document", "form": form})


@patient_required
@require_http_methods(["GET"])
def document_detail(request: HttpRequest, public_id) -> HttpResponse:
    document = policy.document_for(request.actor, public_id, purpose="view")
    links = policy.share_links_for(request.actor, document)
    context = {
        "title": document.title,
        "document": document,
        "can_delete": policy.can_delete_document(request.actor, document),
        "links": links,
        "share_form": ShareForm(),
        "cda": services.document_cda_view(document) if document.is_cda else None,
    }
    return render(request, "dossier/document_detail.html", context)


@require_http_methods(["GET"])
def document_preview(request: HttpRequest, public_id) -> HttpResponse:
    """Inline preview for the patient side and professionals alike (the policy decides)."""
    document = policy.document_for(request.actor, public_id, purpose="view")
    return shown_response(request, document)


@require_http_methods(["GET"])
def document_download(request: HttpRequest, public_id) -> HttpResponse:
    document = policy.document_for(request.actor, public_id, purpose="download")
    return file_response(document, inline=False)


@patient_required
@require_http_methods(["GET", "POST"])
def document_rename(request: HttpRequest, public_id) -> HttpResponse:
    document = policy.own_document_for(request.actor, public_id)
    form = RenameForm(request.POST or None, initial={"title": document.title})
    if form.is_valid():
        try:
            services.document_rename(document=document, title=form.cleaned_data["title"], by=request.actor)
        except services.NotAllowed as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Le document a été renommé.")
        return redirect("dossier:document_detail", public_id=document.public_id)
    return render(request, "dossier/document_rename.html", {"title": "Renommer", "form": form, "document": document})


@patient_required
@require_http_methods(["GET", "POST"])
def document_delete(request: HttpRequest, public_id) -> HttpResponse:
    document = policy.own_document_for(request.actor, public_id)
    if request.method == "POST":
        try:
            services.document_delete(document=document, by=request.actor)
        except services.NotAllowed as error:
            messages.error(request, str(error))
            return redirect("dossier:document_detail", public_id=document.public_id)
        messages.success(request, "Le document a été supprimé.")
        return redirect("dossier:index")
    context = {
        "title": "Supprimer le document",
        "document": document,
        "can_delete": policy.can_delete_document(request.actor, document),
    }
    return render(request, "dossier/document_delete.html", context)


@patient_required
@require_POST
def document_hide(request: HttpRequest, public_id) -> HttpResponse:
    document = policy.own_document_for(request.actor, public_id)
    hide = request.POST.get("hidden") == "1"
    services.document_set_hidden(document=document, hidden=hide, by=request.actor)
    if hide:
        messages.success(
            request,
            "Ce document est masqué aux professionnels. Il reste visible par son auteur, "
            "votre médecin traitant et vous-même.",
        )
    else:
        messages.success(request, "Ce document est de nouveau visible par les professionnels autorisés.")
    return redirect("dossier:document_detail", public_id=document.public_id)


@patient_required
@require_POST
def document_share(request: HttpRequest, public_id) -> HttpResponse:
    document = policy.own_document_for(request.actor, public_id)
    form = ShareForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choisissez une durée de partage proposée.")
        return redirect("dossier:document_detail", public_id=document.public_id)
    link, token = services.share_create(document=document, by=request.actor, hours=form.cleaned_data["hours"])
    url = request.build_absolute_uri(reverse("share_open", args=[token]))
    context = {
        "title": "Lien de partage créé",
        "document": document,
        "link": link,
        "url": url,
        "qr": segno.make(url, error="m").svg_data_uri(scale=4),
    }
    return render(request, "dossier/share_created.html", context)


@patient_required
@require_POST
def share_revoke(request: HttpRequest, public_id) -> HttpResponse:
    link = policy.own_share_link_for(request.actor, public_id)
    services.share_revoke(link=link, by=request.actor)
    messages.success(request, "Le lien de partage est révoqué : il ne fonctionne plus.")
    return redirect("dossier:document_detail", public_id=link.document.public_id)


@patient_required
@require_http_methods(["GET", "POST"])
def record_settings(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    record_ = policy.record_settings_for(actor, actor.acting_for)
    initial = {name: getattr(record_, name) for name in services.RECORD_SETTINGS}
    form = RecordSettingsForm(request.POST or None, initial=initial)
    if form.is_valid():
        services.record_settings_update(record_=record_, by=actor, **form.cleaned_data)
        messages.success(request, "Vos réglages de confidentialité sont enregistrés.")
        return redirect("dossier:settings")
    return render(request, "dossier/settings.html", {"title": "Confidentialité et accès en urgence", "form": form})


@patient_required
@require_http_methods(["GET", "POST"])
def care_team(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    patient = actor.acting_for
    form = AddProfessionalForm(request.POST or None)
    if form.is_valid():
        professional = Professional.objects.filter(rpps=form.cleaned_data["rpps"]).first()
        if professional is None:
            form.add_error("rpps", "Aucun professionnel de santé ne correspond à ce numéro RPPS.")
        else:
            try:
                services.care_team_add(
                    patient=patient, professional=professional, by=actor, role=CareTeamRole.ADDED_BY_PATIENT
                )
            except services.NotAllowed as error:
                form.add_error("rpps", str(error))
            else:
                messages.success(request, f"{professional.label} peut désormais accéder à votre dossier.")
                return redirect("dossier:care_team")
    members = list(
        CareTeamMember.objects.filter(patient=patient).select_related("professional__user").order_by("added_at")
    )
    context = {
        "title": "Qui a accès à mon dossier",
        "form": form,
        "traitant": patient.medecin_traitant,
        "authorised": [m for m in members if m.blocked_at is None],
        "blocked": [m for m in members if m.blocked_at is not None],
    }
    return render(request, "dossier/care_team.html", context)


def _professional_from_post(request: HttpRequest) -> Professional:
    professional = Professional.objects.filter(public_id=request.POST.get("professional")).first()
    if professional is None:
        raise Http404
    return professional


@patient_required
@require_POST
def care_team_block(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    professional = _professional_from_post(request)
    blocked = request.POST.get("blocked") == "1"
    services.professional_block(patient=actor.acting_for, professional=professional, by=actor, blocked=blocked)
    if blocked:
        messages.success(request, f"{professional.label} n’a plus accès à votre dossier.")
    else:
        messages.success(
            request,
            f"{professional.label} est débloqué : il devra recueillir votre accord lors "
            "d’une consultation pour accéder de nouveau à votre dossier.",
        )
    return redirect("dossier:care_team")


@patient_required
@require_POST
def care_team_administrator(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    professional = _professional_from_post(request)
    member = CareTeamMember.objects.filter(patient=actor.acting_for, professional=professional).first()
    if member is None:
        raise Http404
    try:
        services.administrator_set(member=member, value=request.POST.get("administrator") == "1", by=actor)
    except services.NotAllowed as error:
        messages.error(request, str(error))
    return redirect("dossier:care_team")


TABS = OrderedDict(
    [
        ("professionnels", ("Professionnels de santé", Q(actor_role=ActorRole.PROFESSIONAL))),
        ("representants", ("Représentants légaux", Q(actor_role=ActorRole.PATIENT, acting_for__isnull=False))),
        ("conseillers", ("Conseillers de l’Assurance Maladie", Q(actor_role=ActorRole.AGENT))),
        ("autres", ("Liens de partage et services", Q(actor_role__in=[ActorRole.ANONYMOUS, ActorRole.SYSTEM]))),
        ("moi", ("Mes activités", None)),
    ]
)


@patient_required
@require_http_methods(["GET"])
def access_history(request: HttpRequest) -> HttpResponse:
    """Every access and change, grouped by who acted; the patient's own actions in their own tab."""
    actor = request.actor
    patient = actor.acting_for
    tab = request.GET.get("onglet", "professionnels")
    if tab not in TABS:
        tab = "professionnels"
    events = policy.history_events_for(actor, patient)
    condition = TABS[tab][1]
    if condition is None:
        events = events.filter(actor_user=patient.user) if patient.user_id else events.none()
        events = events.filter(acting_for__isnull=True)
    else:
        events = events.filter(condition)
        if patient.user_id and tab == "representants":
            events = events.exclude(actor_user=patient.user)
    page = Paginator(events, 30).get_page(request.GET.get("page"))
    context = {
        "title": "Historique des accès à mon dossier",
        "tabs": [(key, label) for key, (label, _) in TABS.items()],
        "tab": tab,
        "page": page,
        "entries": policy.history_entries_for(actor, patient, page.object_list),
    }
    return render(request, "dossier/access_history.html", context)


@patient_required
@require_http_methods(["GET"])
def history_of_care(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    lines = policy.reimbursements_visible_to(actor, actor.acting_for).order_by("-care_date", "pk")
    months: OrderedDict = OrderedDict()
    for line in lines[:1000]:
        months.setdefault(line.care_date.replace(day=1), []).append(line)
    context = {
        "title": "Historique de soins",
        "months": months.items(),
        "hidden": actor.acting_for.medical_record.history_hidden,
    }
    return render(request, "dossier/history_of_care.html", context)
