from django import forms
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from dsfr.forms import DsfrBaseForm

from accounts.enums import UserKind
from accounts.models import User


class LoginForm(DsfrBaseForm):
    identifiant = forms.CharField(
        label="Identifiant",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Mot de passe",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class OTPForm(DsfrBaseForm):
    token = forms.CharField(
        label="Code de vérification",
        help_text="6 chiffres",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={
            "required": "Saisissez le code reçu.",
            "min_length": "Le code compte 6 chiffres.",
            "max_length": "Le code compte 6 chiffres.",
        },
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].replace(" ", "")
        if not token.isdigit():
            raise forms.ValidationError("Le code ne contient que des chiffres.")
        return token


class PortalPasswordResetForm(PasswordResetForm, DsfrBaseForm):
    """Only patients and professionals reset their password here; agents go through their organisation."""

    email = forms.EmailField(
        label="Adresse e-mail", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def get_users(self, email):
        return (
            user
            for user in User.objects.filter(
                email__iexact=email, is_active=True, kind__in=[UserKind.PATIENT, UserKind.PROFESSIONAL]
            )
            if user.has_usable_password()
        )


class SwitchProfileForm(forms.Form):
    profile = forms.UUIDField()


class DsfrSetPasswordForm(SetPasswordForm, DsfrBaseForm):
    pass


class DsfrPasswordChangeForm(PasswordChangeForm, DsfrBaseForm):
    pass


class TOTPEnrolmentForm(DsfrBaseForm):
    """Re-enter the password, then the first code the application shows."""

    password = forms.CharField(
        label="Mot de passe actuel",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    token = OTPForm.base_fields["token"]

    def __init__(self, *args, user: User, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("Mot de passe incorrect.")
        return password

    clean_token = OTPForm.clean_token
