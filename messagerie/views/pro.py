"""The professional's side of the messagerie (/pro/messagerie/): find a patient by NIR (or INS) and birth date,
write, read the answers, end a conversation."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dossier.forms import PatientSearchForm
from espace_sante.access import policy
from espace_sante.access.decorators import professional_required
from messagerie import services
from messagerie.forms import MessageForm, NewConversationForm
from messagerie.views.common import PAGE_SIZE, words_filter

SESSION_SEARCHED = "messagerie_searched_patients"
SEARCH_FIELDS = ("subject", "patient__first_names", "patient__birth_name", "patient__used_name")


@professional_required
@require_http_methods(["GET"])
def index(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    conversations = policy.conversations_with_unread(request.actor).for_listing()
    if query:
        conversations = conversations.filter(words_filter(query, SEARCH_FIELDS))
    page = Paginator(conversations, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {"title": "Messagerie", "page": page, "search": query, "query": params.urlencode()}
    return render(request, "messagerie/pro/index.html", context)


@professional_required
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(request.POST or None)
    if form.is_valid():
        lookup = policy.patient_lookup(
            request.actor,
            nir=form.cleaned_data["nir"],
            birth_date=form.cleaned_data["birth_date"],
            purpose=policy.LookupPurpose.MESSAGING,
        )
        patient = lookup.patient
        if lookup.retry_after:
            form.add_error(None, lookup.throttle_message)
        elif patient is None:
            form.add_error(None, "Aucun patient ne correspond à ce numéro et à cette date de naissance.")
        else:
            searched = [*request.session.get(SESSION_SEARCHED, [])[-49:], str(patient.public_id)]
            request.session[SESSION_SEARCHED] = searched
            return redirect("messagerie_pro:compose", public_id=patient.public_id)
    return render(request, "messagerie/pro/search.html", {"title": "Écrire à un patient", "form": form})


@professional_required
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest, public_id) -> HttpResponse:
    actor = request.actor
    patient = policy.messaging_recipient_for(actor, public_id, searched=request.session.get(SESSION_SEARCHED, []))
    refusal = policy.professional_write_refusal(actor, patient)
    form = None
    if refusal is None:
        form = NewConversationForm(request.POST or None, request.FILES or None, minor=patient.is_minor)
    if form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            conversation = services.conversation_start(
                patient=patient,
                professional=actor.professional,
                subject=data["subject"],
                body=data["body"],
                files=data["files"],
                by=actor,
                client_token=data["client_token"],
                hidden_from_representatives=data.get("confidential", False),
            )
        except services.AlreadySent as sent:
            messages.info(request, "Ce message a déjà été envoyé.")
            return redirect("messagerie_pro:conversation", public_id=sent.conversation.public_id)
        except (services.NotAllowed, ValidationError) as error:
            form.add_error(None, error.messages[0] if isinstance(error, ValidationError) else str(error))
        else:
            messages.success(request, f"Votre message a été envoyé à {patient.display_name}.")
            return redirect("messagerie_pro:conversation", public_id=conversation.public_id)
    context = {"title": f"Écrire à {patient.display_name}", "patient": patient, "form": form, "refusal": refusal}
    return render(request, "messagerie/pro/compose.html", context)


@professional_required
@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest, public_id) -> HttpResponse:
    actor = request.actor
    conversation_ = policy.conversation_for(actor, public_id, purpose="reply" if request.method == "POST" else "view")
    refusal = policy.reply_refusal(actor, conversation_)
    form = None
    if refusal is None:
        form = MessageForm(request.POST or None, request.FILES or None, minor=conversation_.patient.is_minor)
    if request.method == "POST":
        if form is None:
            messages.error(request, refusal)
            return redirect("messagerie_pro:conversation", public_id=public_id)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.message_send(
                    conversation=conversation_,
                    body=data["body"],
                    files=data["files"],
                    by=actor,
                    client_token=data["client_token"],
                    hidden_from_representatives=data.get("confidential", False),
                )
            except services.AlreadySent:
                messages.info(request, "Ce message a déjà été envoyé.")
                return redirect("messagerie_pro:conversation", public_id=public_id)
            except services.NotAllowed as error:
                messages.error(request, str(error))
                return redirect("messagerie_pro:conversation", public_id=public_id)
            except ValidationError as error:
                form.add_error(None, error.messages[0])
            else:
                messages.success(request, "Votre message a été envoyé.")
                return redirect("messagerie_pro:conversation", public_id=public_id)
    thread = list(policy.messages_visible_to(actor, conversation_))
    if request.method == "GET":
        services.conversation_mark_read(conversation=conversation_, by=actor)
    context = {
        "title": conversation_.subject,
        "conversation": conversation_,
        "thread": thread,
        "form": form,
        "refusal": refusal,
        "can_end": policy.can_end_conversation(actor, conversation_),
    }
    return render(request, "messagerie/pro/conversation.html", context)


@professional_required
@require_http_methods(["GET", "POST"])
def end(request: HttpRequest, public_id) -> HttpResponse:
    actor = request.actor
    conversation_ = policy.conversation_for(actor, public_id, purpose="end")
    if request.method == "POST":
        try:
            services.conversation_end(conversation=conversation_, by=actor)
        except services.NotAllowed as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "La conversation est terminée : le patient ne peut plus y répondre.")
        return redirect("messagerie_pro:conversation", public_id=public_id)
    context = {"title": "Mettre fin à la conversation", "conversation": conversation_}
    return render(request, "messagerie/pro/end.html", context)
