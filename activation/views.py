"""Activation and opposition pages (public, with a provisional code), and the space's settings pages."""

import secrets
import time

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.hashers import make_password
from django.core.mail import send_mail
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from accounts.forms import OTPForm
from accounts.models import EmailOTPDevice
from activation import forms, services
from activation.enums import OppositionChannel, SpaceStatus
from activation.models import Opposition, ProvisionalCode
from activation.services.enrolment import AccountChoice, Outcome, code_identify, new_code_request
from activation.services.receipts import receipt_bytes
from activation.services.spaces import ConcurrentChange, InvalidTransition
from espace_sante.access import policy
from espace_sante.access.decorators import closed_space_required, patient_required, require_recent_authentication
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.crypto.hashing import keyed_hash, keyed_hash_matches

SESSION_IDENTIFIED = "activation_identified"
SESSION_ACCOUNT = "activation_account"
SESSION_OPPOSITIONS = "activation_oppositions"
IDENTIFIED_SECONDS = 15 * 60
EMAIL_CODE_SECONDS = 10 * 60
MAX_EMAIL_CODE_ATTEMPTS = 5

MISMATCH = (
    "Les informations saisies ne permettent pas de vous identifier. Vérifiez le code provisoire, le numéro de "
    "sécurité sociale, le modèle et le numéro de série de la carte Vitale."
)
OUTCOME_MESSAGES = {
    Outcome.MISMATCH: MISMATCH,
    Outcome.EXPIRED: "Ce code provisoire a expiré : il est valable six semaines. Demandez un nouveau code.",
    Outcome.USED: "Ce code provisoire a déjà été utilisé : il ne sert qu’une fois. "
    "Demandez un nouveau code si besoin.",
    Outcome.VOIDED: "Ce code provisoire a été annulé (trop d’essais erronés, ou un nouveau code a été demandé). "
    "Demandez un nouveau code.",
    Outcome.ALREADY_ACTIVE: "Ce profil est déjà activé. Connectez-vous avec votre identifiant et votre mot de passe.",
    Outcome.CLOSED: "Ce profil est clôturé. Connectez-vous pour le rouvrir, ou appelez le 3422.",
}
NEW_CODE_OUTCOMES = {Outcome.EXPIRED, Outcome.USED, Outcome.VOIDED}


def _actor(request: HttpRequest):
    return request.actor


def _identified_code(request: HttpRequest) -> ProvisionalCode | None:
    """The code identified in this browser less than 15 minutes ago, still unused."""
    pending = request.session.get(SESSION_IDENTIFIED)
    if not pending or time.time() - pending["at"] > IDENTIFIED_SECONDS:
        return None
    code = (
        ProvisionalCode.objects.select_related("patient__card_holder", "patient__space")
        .filter(pk=pending["code"])
        .first()
    )
    if code is None or code.state != "valid":
        return None
    return code


def _lost_identification(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_IDENTIFIED, None)
    messages.info(request, "Votre identification a expiré ou a déjà servi. Merci de recommencer.")
    return redirect("activation:start")


@login_not_required
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    form = forms.IdentificationForm(request.POST or None)
    new_code_link = False
    if form.is_valid():
        result = code_identify(
            code=form.cleaned_data["code"],
            nir=form.cleaned_data["nir"],
            card_type=form.cleaned_data["card_type"],
            serial=form.cleaned_data["serial"],
            address=request.client_ip,
            actor=_actor(request),
        )
        if result.outcome == Outcome.OK:
            request.session.cycle_key()
            request.session[SESSION_IDENTIFIED] = {"code": result.code.pk, "at": time.time()}
            return redirect("activation:choice")
        if result.outcome == Outcome.THROTTLED:
            minutes = max(1, (result.retry_after + 59) // 60)
            form.add_error(None, f"Trop de tentatives. Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}.")
        else:
            form.add_error(None, OUTCOME_MESSAGES[result.outcome])
            new_code_link = result.outcome in NEW_CODE_OUTCOMES
    context = {"title": "Activer ou m’opposer", "form": form, "new_code_link": new_code_link}
    return render(request, "activation/start.html", context)


@login_not_required
@require_http_methods(["GET"])
def choice(request: HttpRequest) -> HttpResponse:
    code = _identified_code(request)
    if code is None:
        return _lost_identification(request)
    patient = code.patient
    space = getattr(patient, "space", None)
    context = {
        "title": "Que souhaitez-vous faire ?",
        "patient": patient,
        "is_child": patient.card_holder_id is not None,
        "holder": patient.card_holder,
        "can_oppose": space is None or space.status == SpaceStatus.INFORMED,
        "space": space,
    }
    return render(request, "activation/choice.html", context)


@login_not_required
@require_http_methods(["GET", "POST"])
def activate(request: HttpRequest) -> HttpResponse:
    code = _identified_code(request)
    if code is None:
        return _lost_identification(request)
    patient = code.patient
    if patient.card_holder_id is not None:
        messages.info(
            request,
            f"Le profil de {patient.display_name} s’active depuis le compte du titulaire de la carte Vitale : "
            "connectez-vous (ou activez d’abord votre propre profil), puis ouvrez « Profils rattachés ».",
        )
        return redirect("activation:choice")
    form = forms.ActivateAccountForm(request.POST or None, patient=patient, initial={"email": patient.email})
    if form.is_valid():
        token = f"{secrets.randbelow(1_000_000):06d}"
        request.session[SESSION_ACCOUNT] = {
            "code": code.pk,
            "identifiant": form.cleaned_data["identifiant"],
            "password_hash": make_password(form.cleaned_data["password1"]),
            "email": form.cleaned_data["email"],
            "phone": form.cleaned_data["phone"],
            "token_hash": keyed_hash(token, purpose=f"activation-email:{code.pk}"),
            "sent_at": time.time(),
            "attempts": 0,
        }
        send_mail(
            subject="Votre code de vérification Mon espace santé",
            message=render_to_string("emails/activation/verify_email.txt", {"token": token, "patient": patient}),
            from_email=None,
            recipient_list=[form.cleaned_data["email"]],
        )
        return redirect("activation:activate_verify")
    context = {"title": "Activer mon profil", "form": form, "patient": patient}
    return render(request, "activation/activate.html", context)


@login_not_required
@require_http_methods(["GET", "POST"])
def activate_verify(request: HttpRequest) -> HttpResponse:
    """Second factor enrolment: prove the e-mail address, then the account and the space are created."""
    code = _identified_code(request)
    pending = request.session.get(SESSION_ACCOUNT)
    if code is None or not pending or pending["code"] != code.pk:
        return _lost_identification(request)
    form = OTPForm(request.POST or None)
    if form.is_valid():
        fresh = time.time() - pending["sent_at"] < EMAIL_CODE_SECONDS
        pending["attempts"] += 1
        request.session.modified = True
        ok = fresh and keyed_hash_matches(
            form.cleaned_data["token"], pending["token_hash"], purpose=f"activation-email:{code.pk}"
        )
        if ok:
            return _finish_activation(request, code, pending)
        if pending["attempts"] >= MAX_EMAIL_CODE_ATTEMPTS:
            request.session.pop(SESSION_ACCOUNT, None)
            messages.error(request, "Trop de codes erronés. Merci de recommencer la saisie de vos informations.")
            return redirect("activation:activate")
        form.add_error("token", "Code incorrect ou expiré. Vérifiez l’e-mail reçu.")
    context = {"title": "Vérifier mon adresse e-mail", "form": form, "email": pending["email"]}
    return render(request, "activation/activate_verify.html", context)


def _finish_activation(request: HttpRequest, code: ProvisionalCode, pending: dict) -> HttpResponse:
    choice = AccountChoice(
        identifiant=pending["identifiant"],
        password_hash=pending["password_hash"],
        email=pending["email"],
        phone=pending["phone"],
    )
    try:
        user = services.enrolment.account_activate(code=code, choice=choice, by=_actor(request))
    except (ConcurrentChange, InvalidTransition):
        return _lost_identification(request)
    request.session.pop(SESSION_ACCOUNT, None)
    request.session.pop(SESSION_IDENTIFIED, None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    otp_login(request, EmailOTPDevice.objects.get(user=user))
    messages.success(request, "Votre profil Mon espace santé est activé. Bienvenue !")
    return redirect("accounts:dashboard")


@login_not_required
@require_http_methods(["GET", "POST"])
def oppose(request: HttpRequest) -> HttpResponse:
    code = _identified_code(request)
    if code is None:
        return _lost_identification(request)
    patient = code.patient
    if request.method == "POST":
        try:
            opposition = services.enrolment.opposition_record(
                patient=patient, channel=OppositionChannel.ONLINE, by=_actor(request), code=code
            )
        except ConcurrentChange:
            return _lost_identification(request)
        except InvalidTransition:
            messages.error(
                request,
                "Ce profil a déjà été ouvert : il n’est plus possible de s’y opposer, mais vous pouvez le clôturer "
                "depuis votre compte ou en appelant le 3422.",
            )
            return redirect("activation:choice")
        request.session.pop(SESSION_IDENTIFIED, None)
        request.session[SESSION_OPPOSITIONS] = [
            *request.session.get(SESSION_OPPOSITIONS, []),
            str(opposition.public_id),
        ]
        return redirect("activation:opposition_done", public_id=opposition.public_id)
    context = {"title": "M’opposer à la création de mon profil", "patient": patient}
    return render(request, "activation/oppose.html", context)


def _opposition_from_session(request: HttpRequest, public_id) -> Opposition:
    """Anonymous visitors only reach the receipts of oppositions made in this browser session."""
    if str(public_id) not in request.session.get(SESSION_OPPOSITIONS, []):
        raise Http404
    return Opposition.objects.select_related("space__patient").get(public_id=public_id)


@login_not_required
@require_http_methods(["GET"])
def opposition_done(request: HttpRequest, public_id) -> HttpResponse:
    opposition = _opposition_from_session(request, public_id)
    context = {"title": "Votre opposition est enregistrée", "opposition": opposition}
    return render(request, "activation/opposition_done.html", context)


def _pdf_response(name: str, filename: str) -> HttpResponse:
    response = HttpResponse(receipt_bytes(name), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_not_required
@require_http_methods(["GET"])
def opposition_receipt(request: HttpRequest, public_id) -> HttpResponse:
    if request.actor.is_authenticated:
        opposition = policy.opposition_for(request.actor, public_id)
    else:
        opposition = _opposition_from_session(request, public_id)
    if not opposition.receipt_name:
        messages.info(request, "Le justificatif est en cours de préparation. Réessayez dans quelques instants.")
        return redirect("activation:opposition_done", public_id=public_id)
    record(Action.RECEIPT_DOWNLOADED, actor=request.actor, patient=opposition.space.patient, target=opposition)
    return _pdf_response(opposition.receipt_name, f"justificatif-opposition-{opposition.reference}.pdf")


@login_not_required
@require_http_methods(["GET", "POST"])
def new_code(request: HttpRequest) -> HttpResponse:
    form = forms.NewCodeForm(request.POST or None)
    if form.is_valid():
        new_code_request(
            nir=form.cleaned_data["nir"],
            serial=form.cleaned_data["serial"],
            birth_date=form.cleaned_data["birth_date"],
            address=request.client_ip,
            actor=_actor(request),
        )
        return render(request, "activation/new_code_sent.html", {"title": "Demande enregistrée"})
    return render(request, "activation/new_code.html", {"title": "Recevoir un nouveau code provisoire", "form": form})


# --- Signed-in patients: closure, reopening, children attached to the card ---------------------------------


@patient_required
@require_recent_authentication
@require_http_methods(["GET", "POST"])
def close(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    space = actor.patient.space
    form = forms.CloseSpaceForm(request.POST or None)
    if form.is_valid():
        try:
            closure = services.spaces.space_close(
                space=space, by=actor, deletion_requested=form.cleaned_data["delete_data"]
            )
        except (ConcurrentChange, InvalidTransition):
            messages.error(request, "Votre profil a changé entre-temps. Rechargez la page.")
            return redirect("accounts:settings")
        messages.success(request, f"Votre profil est clôturé (référence {closure.reference}).")
        return redirect("activation:closed")
    return render(request, "activation/close.html", {"title": "Clôturer mon profil", "form": form})


@closed_space_required
@require_http_methods(["GET", "POST"])
def closed(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    space = actor.patient.space
    form = forms.PasswordConfirmForm(request.POST or None, user=actor.user)
    if form.is_valid():
        try:
            services.spaces.space_reopen(space=space, by=actor)
        except (ConcurrentChange, InvalidTransition):
            return redirect("activation:closed")
        messages.success(request, "Votre profil est rouvert : vos documents archivés sont de nouveau disponibles.")
        return redirect("accounts:dashboard")
    context = {
        "title": "Votre profil est clôturé",
        "form": form,
        "space": space,
        "closures": space.closures.order_by("-closed_at"),
    }
    return render(request, "activation/closed.html", context)


@require_http_methods(["GET"])
def closure_receipt(request: HttpRequest, public_id) -> HttpResponse:
    closure = policy.closure_for(request.actor, public_id)
    if not closure.receipt_name:
        messages.info(request, "Le justificatif est en cours de préparation. Réessayez dans quelques instants.")
        return redirect("activation:closed")
    record(Action.RECEIPT_DOWNLOADED, actor=request.actor, patient=closure.space.patient, target=closure)
    return _pdf_response(closure.receipt_name, f"justificatif-cloture-{closure.reference}.pdf")


@patient_required
@require_http_methods(["GET"])
def children(request: HttpRequest) -> HttpResponse:
    rows = []
    for child in policy.attached_children_for(request.actor):
        space = getattr(child, "space", None)
        status = space.status if space else None
        rows.append(
            {
                "child": child,
                "status_label": space.get_status_display() if space else "pas encore informé",
                "can_activate": status in (None, SpaceStatus.INFORMED, SpaceStatus.OPEN, SpaceStatus.OPPOSED),
                "can_oppose": status in (None, SpaceStatus.INFORMED),
                "oppositions": list(space.oppositions.order_by("-recorded_at")) if space else [],
            }
        )
    context = {"title": "Profils rattachés à ma carte Vitale", "rows": rows}
    return render(request, "activation/children.html", context)


@patient_required
@require_POST
def child_decide(request: HttpRequest, public_id, decision: str) -> HttpResponse:
    child = policy.attached_child_for(request.actor, public_id)
    try:
        if decision == "activer":
            services.enrolment.child_profile_activate(child=child, by=request.actor)
            messages.success(request, f"Le profil de {child.display_name} est activé.")
        else:
            services.enrolment.opposition_record(
                patient=child, channel=OppositionChannel.ACCOUNT, by=request.actor, code=None
            )
            messages.success(
                request, f"Votre opposition pour {child.display_name} est enregistrée. Le justificatif est ci-dessous."
            )
    except (ConcurrentChange, InvalidTransition):
        messages.error(request, "Ce choix n’est plus possible pour ce profil. Rechargez la page.")
    return redirect(reverse("activation:children"))
