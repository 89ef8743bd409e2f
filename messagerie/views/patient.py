"""The patient's side of the messagerie (or a legal representative's, for the profile they act for)."""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Professional
from espace_sante.access import policy
from espace_sante.access.decorators import patient_required
from messagerie import services
from messagerie.forms import MessageForm, PatientNewConversationForm
from messagerie.views.common import PAGE_SIZE, words_filter

PICKABLE_DOCUMENTS = 100
SEARCH_FIELDS = (
    "subject",
    "professional__user__first_name",
    "professional__user__last_name",
    "professional__specialty",
    "professional__structure_name",
)


def _pickable_documents(actor, patient) -> list:
    return list(policy.documents_visible_to(actor, patient).for_listing()[:PICKABLE_DOCUMENTS])


def _files(actor, patient, data: dict) -> list:
    """Uploaded files, then the documents picked from the record (read through the policy)."""
    files = list(data["files"])
    picked = data.get("documents") or []
    if picked:
        documents = policy.documents_visible_to(actor, patient).filter(public_id__in=picked).order_by("pk")
        files += [services.attachment_from_document(document) for document in documents]
    return files


@patient_required
@require_http_methods(["GET"])
def index(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    patient = actor.acting_for
    archived = request.GET.get("dossier") == "archives"
    query = request.GET.get("q", "").strip()[:100]
    conversations = policy.conversations_with_unread(actor).for_listing()
    conversations = conversations.filter(patient_archived_at__isnull=not archived)
    if query:
        conversations = conversations.filter(words_filter(query, SEARCH_FIELDS))
    page = Paginator(conversations, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "title": "Archives de la messagerie" if archived else "Ma messagerie",
        "profile": patient,
        "page": page,
        "archived": archived,
        "search": query,
        "query": params.urlencode(),
        "can_write": bool(policy.messaging_correspondents_for(actor, patient)),
    }
    return render(request, "messagerie/index.html", context)


@patient_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    patient = actor.acting_for
    professionals = policy.messaging_correspondents_for(actor, patient)
    form = PatientNewConversationForm(
        request.POST or None,
        request.FILES or None,
        professionals=professionals,
        documents=_pickable_documents(actor, patient),
        initial={"professional": request.GET.get("professionnel", "")},
    )
    if form.is_valid():
        data = form.cleaned_data
        professional = next(p for p in professionals if str(p.public_id) == data["professional"])
        try:
            conversation = services.conversation_start(
                patient=patient,
                professional=professional,
                subject=data["subject"],
                body=data["body"],
                files=_files(actor, patient, data),
                by=actor,
                client_token=data["client_token"],
            )
        except services.AlreadySent as sent:
            messages.info(request, "Ce message a déjà été envoyé.")
            return redirect("messagerie:conversation", public_id=sent.conversation.public_id)
        except (services.NotAllowed, ValidationError) as error:
            form.add_error(None, error.messages[0] if isinstance(error, ValidationError) else str(error))
        else:
            messages.success(request, "Votre message a été envoyé.")
            return redirect("messagerie:conversation", public_id=conversation.public_id)
    context = {"title": "Écrire un message", "form": form, "professionals": professionals, "profile": patient}
    return render(request, "messagerie/new.html", context)


@patient_required
@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest, public_id) -> HttpResponse:
    actor = request.actor
    conversation_ = policy.conversation_for(actor, public_id, purpose="reply" if request.method == "POST" else "view")
    patient = conversation_.patient
    refusal = policy.reply_refusal(actor, conversation_)
    form = None
    if refusal is None:
        form = MessageForm(request.POST or None, request.FILES or None, documents=_pickable_documents(actor, patient))
    if request.method == "POST":
        if form is None:
            messages.error(request, refusal)
            return redirect("messagerie:conversation", public_id=public_id)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.message_send(
                    conversation=conversation_,
                    body=data["body"],
                    files=_files(actor, patient, data),
                    by=actor,
                    client_token=data["client_token"],
                )
            except services.AlreadySent:
                messages.info(request, "Ce message a déjà été envoyé.")
                return redirect("messagerie:conversation", public_id=public_id)
            except services.NotAllowed as error:
                messages.error(request, str(error))
                return redirect("messagerie:conversation", public_id=public_id)
            except ValidationError as error:
                form.add_error(None, error.messages[0])
            else:
                messages.success(request, "Votre réponse a été envoyée.")
                return redirect("messagerie:conversation", public_id=public_id)
    thread = list(policy.messages_visible_to(actor, conversation_))
    if request.method == "GET":
        services.conversation_mark_read(conversation=conversation_, by=actor)
    context = {
        "title": conversation_.subject,
        "conversation": conversation_,
        "thread": thread,
        "form": form,
        "refusal": refusal,
        "profile": patient,
    }
    return render(request, "messagerie/conversation.html", context)


@patient_required
@require_POST
def archive(request: HttpRequest, public_id) -> HttpResponse:
    conversation_ = policy.conversation_for(request.actor, public_id, purpose="archive")
    archived = request.POST.get("archived") == "1"
    services.conversation_archive(conversation=conversation_, archived=archived, by=request.actor)
    if archived:
        messages.success(request, "La conversation est archivée.")
        return redirect("messagerie:index")
    messages.success(request, "La conversation est de retour dans vos messages.")
    return redirect("messagerie:conversation", public_id=public_id)


@patient_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, public_id) -> HttpResponse:
    conversation_ = policy.conversation_for(request.actor, public_id, purpose="delete")
    if request.method == "POST":
        services.conversation_delete_for_patient(conversation=conversation_, by=request.actor)
        messages.success(request, "La conversation a été supprimée définitivement de votre messagerie.")
        return redirect("messagerie:index")
    context = {"title": "Supprimer la conversation", "conversation": conversation_}
    return render(request, "messagerie/delete.html", context)


@patient_required
@require_POST
def attachment_save(request: HttpRequest, public_id) -> HttpResponse:
    actor = request.actor
    attachment = policy.attachment_for(actor, public_id, purpose="save")
    conversation_id = attachment.message.conversation.public_id
    try:
        services.attachment_save_to_documents(attachment=attachment, by=actor)
    except services.NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"« {attachment.original_filename} » est enregistré dans vos documents.")
    return redirect("messagerie:conversation", public_id=conversation_id)


@patient_required
@require_http_methods(["GET", "POST"])
def blocks(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    patient = actor.acting_for
    if request.method == "POST":
        try:
            professional_id = uuid.UUID(request.POST.get("professional", ""))
        except ValueError:
            raise Http404 from None
        professional = Professional.objects.select_related("user").filter(public_id=professional_id).first()
        if professional is None:
            raise Http404
        blocked = request.POST.get("blocked") == "1"
        services.messaging_block(patient=patient, professional=professional, blocked=blocked, by=actor)
        if blocked:
            messages.success(request, f"{professional.label} ne peut plus vous écrire.")
        else:
            messages.success(request, f"{professional.label} peut de nouveau vous écrire.")
        return redirect("messagerie:blocks")
    writers, blocked = policy.messaging_blocks_for(actor, patient)
    context = {"title": "Professionnels autorisés à m’écrire", "writers": writers, "blocked": blocked}
    return render(request, "messagerie/blocks.html", context)
