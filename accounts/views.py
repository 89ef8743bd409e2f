import segno
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django.views.generic import RedirectView

from accounts import services
from accounts.forms import (
    AgentChangeCardForm,
    AgentChangePasswordForm,
    ContactChangeForm,
    DsfrPasswordChangeForm,
    DsfrSetPasswordForm,
    LoginForm,
    OTPForm,
    PortalPasswordResetForm,
    ReauthPasswordForm,
    SwitchProfileForm,
    TOTPEnrolmentForm,
)
from accounts.models import EmailOTPDevice, TOTPDevice
from accounts.services import Portal, password_throttle_message
from espace_sante.access import policy
from espace_sante.access.decorators import patient_required, professional_required, require_recent_authentication
from espace_sante.lib.redirects import next_url, safe_redirect_url

LOGIN_ERROR = "Identifiant ou mot de passe incorrect."
OTP_ERROR = "Code incorrect ou expiré. Vérifiez-le ou demandez-en un nouveau."
REAUTH_ERROR = "Mot de passe incorrect."

LOGIN_NEXT = "login_next"

PORTALS = {
    Portal.PATIENT: {
        "login": "accounts:login",
        "otp": "accounts:login_otp",
        "landing": "accounts:dashboard",
        "template": "accounts/login.html",
        "otp_template": "accounts/login_otp.html",
        "title": "Se connecter à Mon espace santé",
    },
    Portal.PROFESSIONAL: {
        "login": "accounts:pro_login",
        "otp": "accounts:pro_login_otp",
        "landing": "accounts:pro_home",
        "template": "accounts/pro_login.html",
        "otp_template": "accounts/pro_login_otp.html",
        "title": "Espace professionnel — connexion",
    },
}


def _login(request: HttpRequest, portal: Portal) -> HttpResponse:
    conf = PORTALS[portal]
    if request.actor.is_authenticated:
        return redirect(conf["landing"])
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = services.login_password_check(
            request=request,
            identifiant=form.cleaned_data["identifiant"],
            password=form.cleaned_data["password"],
            portal=portal,
        )
        if check.user is not None:
            target = next_url(request, fallback=None)
            if target:
                request.session[LOGIN_NEXT] = target
            return redirect(conf["otp"])
        form.add_error(None, password_throttle_message(check.retry_after) if check.retry_after else LOGIN_ERROR)
    return render(request, conf["template"], {"form": form, "title": conf["title"]})


def _login_otp(request: HttpRequest, portal: Portal) -> HttpResponse:
    conf = PORTALS[portal]
    user = services.pending_login_user(request, portal)
    if user is None:
        messages.info(request, "Votre demande de connexion a expiré. Merci de recommencer.")
        return redirect(conf["login"])
    device = services.second_factor_device(user)
    if device is None:
        messages.error(
            request,
            "Aucune application d’authentification n’est associée à ce compte. "
            "Contactez votre administrateur pour en enregistrer une.",
        )
        return redirect(conf["login"])

    form = OTPForm(request.POST if request.method == "POST" and "resend" not in request.POST else None)
    if isinstance(device, EmailOTPDevice):
        sent = services.otp_email_send(request=request, user=user, device=device)
        if sent and request.method == "POST":
            messages.info(request, "Un nouveau code vous a été envoyé.")
    if form.is_bound and form.is_valid():
        if services.login_second_factor(request=request, user=user, device=device, token=form.cleaned_data["token"]):
            target = safe_redirect_url(request, request.session.pop(LOGIN_NEXT, None), fallback=conf["landing"])
            return redirect(target)
        form.add_error("token", OTP_ERROR)
    context = {
        "form": form,
        "title": "Vérification en deux étapes",
        "by_email": isinstance(device, EmailOTPDevice),
        "by_app": isinstance(device, TOTPDevice),
        "email_hint": _mask_email(user.email),
    }
    return render(request, conf["otp_template"], context)


_mask_email = services.mask_email


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    return _login(request, Portal.PATIENT)


@login_not_required
@require_http_methods(["GET", "POST"])
def login_otp(request: HttpRequest) -> HttpResponse:
    return _login_otp(request, Portal.PATIENT)


@login_not_required
@require_http_methods(["GET", "POST"])
def pro_login(request: HttpRequest) -> HttpResponse:
    return _login(request, Portal.PROFESSIONAL)


@login_not_required
@require_http_methods(["GET", "POST"])
def pro_login_otp(request: HttpRequest) -> HttpResponse:
    return _login_otp(request, Portal.PROFESSIONAL)


@login_not_required
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.actor.is_authenticated:
        services.sessions_end_all(user=request.actor.user, actor=request.actor)
    logout(request)
    messages.success(request, "Vous êtes déconnecté(e).")
    return redirect("home")


@patient_required
@require_http_methods(["GET"])
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request, "accounts/dashboard.html", {"title": "Tableau de bord", "profile": request.actor.acting_for}
    )


@patient_required
@require_http_methods(["GET"])
def account_settings(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    context = {
        "title": "Paramètres",
        "profile": actor.acting_for,
        "has_app": TOTPDevice.objects.filter(user=actor.user, confirmed=True).exists(),
    }
    return render(request, "accounts/settings.html", context)


@patient_required
@require_http_methods(["GET", "POST"])
def reauthenticate(request: HttpRequest) -> HttpResponse:
    """Confirm one's identity before a sensitive change: the password, then a fresh second-factor code."""
    actor = request.actor
    target = next_url(request, fallback="accounts:settings")
    if services.reauth_pending(request, actor.user):
        return _reauthenticate_code(request)
    form = ReauthPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = services.reauth_password_check(request=request, actor=actor, password=form.cleaned_data["password"])
        if check.user is not None:
            # The code step, which sends the e-mailed code: this same page, with its `next`.
            return redirect(safe_redirect_url(request, request.get_full_path(), fallback="accounts:reauthenticate"))
        form.add_error(None, password_throttle_message(check.retry_after) if check.retry_after else REAUTH_ERROR)
    context = {"title": "Confirmer mon identité", "form": form, "step": "password", "next_url": target}
    return render(request, "accounts/reauthenticate.html", context)


def _reauthenticate_code(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    target = next_url(request, fallback="accounts:settings")
    device = services.second_factor_device(actor.user)
    form = OTPForm(request.POST if request.method == "POST" and "resend" not in request.POST else None)
    if isinstance(device, EmailOTPDevice):
        sent = services.otp_email_send(
            request=request, user=actor.user, device=device, state_key=services.PENDING_REAUTH
        )
        if sent and request.method == "POST":
            messages.info(request, "Un nouveau code vous a été envoyé.")
    if form.is_bound and form.is_valid():
        if services.reauth_second_factor(
            request=request, actor=actor, device=device, token=form.cleaned_data["token"]
        ):
            messages.success(request, "Votre identité est confirmée pour 10 minutes.")
            return redirect(target)
        form.add_error("token", OTP_ERROR)
    context = {
        "title": "Confirmer mon identité",
        "form": form,
        "step": "code",
        "next_url": target,
        "by_email": isinstance(device, EmailOTPDevice),
        "email_hint": _mask_email(actor.user.email),
    }
    return render(request, "accounts/reauthenticate.html", context)


@patient_required
@require_recent_authentication
@require_http_methods(["GET", "POST"])
def contact_change(request: HttpRequest) -> HttpResponse:
    """One's own e-mail address and mobile phone: a new address is used only once a code sent to it is back."""
    actor = request.actor
    user = actor.user
    form = ContactChangeForm(request.POST or None, initial={"email": user.email, "phone": actor.patient.phone})
    if form.is_valid():
        phone_changed = services.phone_change(actor=actor, phone=form.cleaned_data["phone"])
        if phone_changed:
            messages.success(request, "Votre numéro de téléphone mobile est enregistré.")
        email = form.cleaned_data["email"]
        if email.lower() != user.email.lower():
            services.email_change_start(request=request, actor=actor, email=email)
            return redirect("accounts:email_confirm")
        if not phone_changed:
            messages.info(request, "Vos coordonnées n’ont pas changé.")
        return redirect("accounts:settings")
    return render(request, "accounts/contact_change.html", {"title": "Modifier mes coordonnées", "form": form})


@patient_required
@require_recent_authentication
@require_http_methods(["GET", "POST"])
def email_confirm(request: HttpRequest) -> HttpResponse:
    email = services.email_change_pending(request)
    if email is None:
        messages.info(request, "Votre demande de changement d’adresse e-mail a expiré. Merci de recommencer.")
        return redirect("accounts:contact_change")
    form = OTPForm(request.POST or None)
    if form.is_valid():
        outcome = services.email_change_confirm(request=request, actor=request.actor, token=form.cleaned_data["token"])
        if outcome == services.EmailChangeOutcome.CONFIRMED:
            messages.success(request, "Votre nouvelle adresse e-mail est enregistrée.")
            return redirect("accounts:settings")
        if outcome == services.EmailChangeOutcome.LOST:
            messages.error(request, "Trop de codes erronés, ou code expiré. Merci de recommencer.")
            return redirect("accounts:contact_change")
        form.add_error("token", OTP_ERROR)
    context = {"title": "Confirmer ma nouvelle adresse e-mail", "form": form, "email": email}
    return render(request, "accounts/email_confirm.html", context)


@login_not_required
@require_http_methods(["GET", "POST"])
def contact_change_link(request: HttpRequest, public_id, token: str) -> HttpResponse:
    """The link sent to contacts an agent typed: the person confirms them with their password (before
    activation, their Vitale card). Until then the contacts on file stay in use."""
    change = services.agent_change_from_link(public_id, token)
    context = {"title": "Confirmer mes nouvelles coordonnées", "change": change}
    if change is None:
        context["state"] = "lost"
        return render(request, "accounts/contact_change_link.html", context)
    activated = change.patient.user_id is not None
    form_class = AgentChangePasswordForm if activated else AgentChangeCardForm
    form = form_class(request.POST or None)
    if form.is_valid():
        outcome = services.agent_link_confirm(change=change, **form.cleaned_data)
        if outcome == services.ContactChangeOutcome.CONFIRMED:
            context["state"] = "confirmed"
            return render(request, "accounts/contact_change_link.html", context)
        if outcome == services.ContactChangeOutcome.LOST:
            context["state"] = "lost"
            return render(request, "accounts/contact_change_link.html", context)
        if outcome == services.ContactChangeOutcome.THROTTLED:
            form.add_error(None, "Trop de tentatives. Réessayez dans quelques minutes.")
        else:
            form.add_error(
                None, REAUTH_ERROR if activated else "Ces informations ne correspondent pas à votre carte Vitale."
            )
    context.update({"state": "form", "form": form, "activated": activated})
    return render(request, "accounts/contact_change_link.html", context)


@patient_required
@require_recent_authentication
@require_http_methods(["GET", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator application instead of the e-mailed code (identity confirmed just before)."""
    actor = request.actor
    device = TOTPDevice.objects.filter(user=actor.user, confirmed=False).first()
    if device is None or request.method == "GET":
        device = services.totp_enrolment_start(user=actor.user)
    form = TOTPEnrolmentForm(request.POST or None)
    if form.is_valid():
        if services.totp_enrolment_confirm(actor=actor, device=device, token=form.cleaned_data["token"]):
            messages.success(request, "Votre application d’authentification est enregistrée.")
            return redirect("accounts:settings")
        form.add_error("token", OTP_ERROR)
    qr = segno.make(device.config_url, error="m")
    context = {
        "title": "Utiliser une application d’authentification",
        "form": form,
        "qr_data_uri": qr.svg_data_uri(scale=5),
        "secret": " ".join(device.base32_key[i : i + 4] for i in range(0, len(device.base32_key), 4)),
    }
    return render(request, "accounts/totp_setup.html", context)


@patient_required
@require_POST
def switch_profile(request: HttpRequest) -> HttpResponse:
    form = SwitchProfileForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Ce profil n’est pas disponible.")
        return redirect("accounts:dashboard")
    patient = policy.represented_profile_for(request.actor, form.cleaned_data["profile"])
    services.profile_switch(request=request, actor=request.actor, patient=patient)
    messages.success(request, f"Vous agissez maintenant pour le profil de {patient.display_name}.")
    return redirect("accounts:dashboard")


@professional_required
@require_http_methods(["GET"])
def pro_home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/pro_home.html", {"title": "Espace professionnel"})


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = DsfrPasswordChangeForm
    success_url = reverse_lazy("accounts:password_change_done")
    extra_context = {"title": "Changer mon mot de passe"}

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(actor=self.request.actor)
        messages.success(self.request, "Votre mot de passe a été modifié.")
        return response


password_change = patient_required(PasswordChangeView.as_view())
password_change_done = patient_required(RedirectView.as_view(pattern_name="accounts:settings"))


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PortalPasswordResetForm
    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password_reset_done")
    extra_context = {"title": "Mot de passe oublié"}

    def form_valid(self, form):
        services.password_reset_request(email=form.cleaned_data["email"], actor=self.request.actor)
        return redirect(self.success_url)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = DsfrSetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")
    extra_context = {"title": "Choisir un nouveau mot de passe"}

    def form_valid(self, form):
        response = super().form_valid(form)
        from espace_sante.access.actor import Actor

        services.password_changed(actor=Actor.for_user(form.user, verified=False))
        return response


password_reset = login_not_required(PasswordResetView.as_view())
password_reset_done = login_not_required(
    auth_views.PasswordResetDoneView.as_view(
        template_name="accounts/password_reset_done.html", extra_context={"title": "Demande envoyée"}
    )
)
password_reset_confirm = login_not_required(PasswordResetConfirmView.as_view())
password_reset_complete = login_not_required(
    auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html", extra_context={"title": "Mot de passe modifié"}
    )
)
