"""The agents' back-office: Django's admin behind a password and a mandatory authenticator code."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django_otp.admin import OTPAdminSite

from accounts.enums import UserKind
from accounts.models import TOTPDevice
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record

AGENT_LOGIN_ERROR = "Identifiant, mot de passe ou code incorrect."


class AgentAuthenticationForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label="Code de l’application d’authentification",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    error_messages = {**AdminAuthenticationForm.error_messages, "invalid_login": AGENT_LOGIN_ERROR}

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if user.kind != UserKind.AGENT:
            raise forms.ValidationError(AGENT_LOGIN_ERROR, code="invalid_login")

    def clean(self):
        # The portal's password throttle (same keys: client address, then identifiant), taken before
        # the password is hashed: wrong passwords slow down here too, and a refused one costs no Argon2.
        from accounts.services import password_attempt_admit, password_attempt_succeeded, password_throttle_message

        identifiant = (self.cleaned_data.get("username") or "").strip().lower()
        if identifiant:
            wait = password_attempt_admit(self.request, identifiant)
            if wait:
                record(Action.LOGIN_THROTTLED, actor=Actor.anonymous(), portal="admin", identifiant=identifiant)
                raise forms.ValidationError(password_throttle_message(wait), code="throttled")
        cleaned = super().clean()  # the password, then confirm_login_allowed: raises when either fails
        password_attempt_succeeded(self.request, identifiant)
        user = self.get_user()
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        token = cleaned.get("otp_token", "")
        allowed = device is not None and device.verify_is_allowed()[0]
        if not allowed or not device.verify_token(token):
            record(Action.OTP_FAILED, actor=Actor.for_user(user, verified=False), portal="admin")
            raise forms.ValidationError(AGENT_LOGIN_ERROR, code="invalid_login")
        user.otp_device = device  # django-otp's login signal persists it in the session
        return cleaned


class AgentAdminSite(OTPAdminSite):
    name = "admin"
    site_header = "Mon espace santé — espace conseillers"
    site_title = "Espace conseillers"
    index_title = "Accueil des conseillers"
    login_form = AgentAuthenticationForm
    login_template = "admin/login.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and request.user.kind == UserKind.AGENT
