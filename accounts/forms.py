import re

from django import forms
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.template.loader import render_to_string
from dsfr.forms import DsfrBaseForm

from accounts.enums import UserKind, VitaleCardType
from accounts.models import User
from espace_sante.outbox.services import email_enqueue


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
        """Never an address an agent put in during the last days (accounts.services.RESET_WITHHELD_DAYS)."""
        from accounts.services import reset_withheld_users

        return (
            user
            for user in User.objects.filter(
                email__iexact=email, is_active=True, kind__in=[UserKind.PATIENT, UserKind.PROFESSIONAL]
            ).exclude(pk__in=reset_withheld_users().values("pk"))
            if user.has_usable_password()
        )

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        """Through the outbox (encrypted, retried, wiped once sent), never straight to the relay: a send
        during the request made known addresses answer tens of milliseconds later than unknown ones."""
        email_enqueue(
            to=to_email,
            subject="".join(render_to_string(subject_template_name, context).splitlines()),
            body=render_to_string(email_template_name, context),
        )


class SwitchProfileForm(forms.Form):
    profile = forms.UUIDField()


class DsfrSetPasswordForm(SetPasswordForm, DsfrBaseForm):
    pass


class DsfrPasswordChangeForm(PasswordChangeForm, DsfrBaseForm):
    pass


class TOTPEnrolmentForm(DsfrBaseForm):
    """The first code the application shows (identity was confirmed just before, on the re-authentication page)."""

    token = OTPForm.base_fields["token"]

    clean_token = OTPForm.clean_token


class ReauthPasswordForm(DsfrBaseForm):
    password = forms.CharField(
        label="Mot de passe",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


MOBILE_RE = re.compile(r"(\+33|0)[67]\d{8}")


class ContactChangeForm(DsfrBaseForm):
    email = forms.EmailField(
        label="Adresse e-mail",
        help_text="Vous y recevrez un code à chaque connexion et les notifications (sans contenu médical). "
        "Une nouvelle adresse est confirmée par un code que nous y envoyons.",
        max_length=254,
        error_messages={"invalid": "Saisissez une adresse e-mail valide, par exemple nom@exemple.fr."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Téléphone mobile",
        help_text="Facultatif. Par exemple 06 12 34 56 78.",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()

    def clean_phone(self) -> str:
        phone = "".join(self.cleaned_data["phone"].split()).replace(".", "")
        if phone and not MOBILE_RE.fullmatch(phone):
            raise forms.ValidationError("Saisissez un numéro de mobile français, par exemple 06 12 34 56 78.")
        return phone


class AgentChangePasswordForm(DsfrBaseForm):
    """Confirming contacts an agent typed: the account's password, which the agent never knows."""

    password = ReauthPasswordForm.base_fields["password"]


def vitale_card_type_field() -> forms.ChoiceField:
    """The Vitale card model, asked wherever a person proves who they are with their card."""
    return forms.ChoiceField(
        label="Modèle de carte Vitale",
        choices=[
            (VitaleCardType.WITH_PHOTO, "Carte Vitale avec photo"),
            (VitaleCardType.WITHOUT_PHOTO, "Carte Vitale sans photo"),
        ],
        widget=forms.RadioSelect,
    )


def vitale_serial_field(help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label="Numéro de série de la carte Vitale",
        help_text=help_text,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )


class AgentChangeCardForm(DsfrBaseForm):
    """Confirming contacts an agent typed before activation: the Vitale card, as on the activation form."""

    nir = forms.CharField(
        label="Numéro de sécurité sociale",
        help_text="15 caractères, au recto de la carte Vitale. Pour le profil d’un enfant, celui du parent.",
        max_length=21,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    card_type = vitale_card_type_field()
    serial = vitale_serial_field()

    def clean_nir(self) -> str:
        return "".join(self.cleaned_data["nir"].split()).upper()
