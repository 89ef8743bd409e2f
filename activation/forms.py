import re

from django import forms
from django.contrib.auth.password_validation import validate_password
from dsfr.forms import DsfrBaseForm
from stdnum.fr import nir as nir_check

from accounts.forms import vitale_card_type_field, vitale_serial_field
from accounts.models import User
from activation import codes

NIR_ERROR = "Ce numéro de sécurité sociale n’est pas valide : il compte 15 caractères, clé comprise."
IDENTIFIANT_RE = re.compile(r"^[a-z0-9._-]{8,150}$")


def clean_nir_value(value: str) -> str:
    compact = nir_check.compact(value or "")
    if not nir_check.is_valid(compact):
        raise forms.ValidationError(NIR_ERROR)
    return compact


def clean_serial_value(value: str) -> str:
    digits = "".join(value.split())
    if not digits.isdigit() or not 8 <= len(digits) <= 20:
        raise forms.ValidationError("Le numéro de série ne contient que des chiffres (8 à 20).")
    return digits


class NirField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", "Numéro de sécurité sociale")
        kwargs.setdefault("max_length", 21)
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "off", "inputmode": "text", "spellcheck": "false"})

    def clean(self, value):
        return clean_nir_value(super().clean(value))


SERIAL_HELP = (
    "Carte avec photo : en haut à droite du recto. Carte sans photo : au verso, en haut à gauche (8 à 13 chiffres)."
)


class IdentificationForm(DsfrBaseForm):
    code = forms.CharField(
        label="Code provisoire",
        help_text="16 caractères, reçus par courrier ou par e-mail, par exemple ABCD-EFGH-JKMN-PQRS",
        max_length=24,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    nir = NirField(
        help_text="15 caractères, au recto de la carte Vitale. Pour le profil d’un enfant, celui du parent "
        "qui a reçu le courrier ou l’e-mail."
    )
    card_type = vitale_card_type_field()
    serial = vitale_serial_field(SERIAL_HELP)

    def clean_code(self) -> str:
        compact = codes.normalize(self.cleaned_data["code"])
        if compact is None:
            raise forms.ValidationError(
                "Le code provisoire compte 16 caractères (lettres et chiffres). Vérifiez votre saisie."
            )
        return compact

    def clean_serial(self) -> str:
        return clean_serial_value(self.cleaned_data["serial"])


class ActivateAccountForm(DsfrBaseForm):
    email = forms.EmailField(
        label="Adresse e-mail",
        help_text="Vous y recevrez un code à chaque connexion et les notifications (sans contenu médical).",
        error_messages={"invalid": "Saisissez une adresse e-mail valide, par exemple nom@exemple.fr."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Téléphone mobile",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    identifiant = forms.CharField(
        label="Identifiant",
        help_text="Au moins 8 caractères : lettres minuscules sans accent, chiffres, point, tiret ou tiret bas.",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password1 = forms.CharField(
        label="Mot de passe",
        help_text="Au moins 9 caractères, avec une minuscule, une majuscule, un chiffre et un caractère spécial, "
        "sans votre nom ni votre prénom.",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Confirmation du mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    accept = forms.BooleanField(
        label="J’accepte les conditions générales d’utilisation et la politique de protection des données.",
        error_messages={"required": "Vous devez accepter les conditions générales d’utilisation pour continuer."},
    )

    def __init__(self, *args, patient, **kwargs) -> None:
        self.patient = patient
        super().__init__(*args, **kwargs)

    def clean_phone(self) -> str:
        phone = "".join(self.cleaned_data["phone"].split()).replace(".", "")
        if phone and not re.fullmatch(r"(\+33|0)[67]\d{8}", phone):
            raise forms.ValidationError("Saisissez un numéro de mobile français, par exemple 06 12 34 56 78.")
        return phone

    def clean_identifiant(self) -> str:
        identifiant = self.cleaned_data["identifiant"].strip().lower()
        if not IDENTIFIANT_RE.match(identifiant):
            raise forms.ValidationError(
                "L’identifiant compte au moins 8 caractères : lettres sans accent, chiffres, « . », « - » ou « _ »."
            )
        if User.objects.filter(username=identifiant).exists():
            raise forms.ValidationError("Cet identifiant est déjà utilisé. Choisissez-en un autre.")
        return identifiant

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "Les deux mots de passe ne sont pas identiques.")
        elif first:
            candidate = User(
                username=cleaned.get("identifiant", ""),
                email=cleaned.get("email", ""),
                first_name=self.patient.first_name,
                last_name=self.patient.last_name,
            )
            try:
                validate_password(first, candidate)
                validate_password_names(first, self.patient)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


def validate_password_names(password: str, patient) -> None:
    from accounts.validators import NoPersonalNameValidator

    holder = type("Holder", (), {"first_name": patient.first_names, "last_name": patient.birth_name})()
    NoPersonalNameValidator().validate(password, holder)


class NewCodeForm(DsfrBaseForm):
    nir = NirField(help_text="Pour un enfant, le numéro du parent titulaire de la carte Vitale.")
    serial = forms.CharField(label="Numéro de série de la carte Vitale", max_length=30)
    birth_date = forms.DateField(
        label="Date de naissance de la personne concernée",
        help_text="Format : JJ/MM/AAAA",
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"autocomplete": "bday"}, format="%d/%m/%Y"),
        error_messages={"invalid": "Saisissez une date au format JJ/MM/AAAA."},
    )

    def clean_serial(self) -> str:
        return clean_serial_value(self.cleaned_data["serial"])


class PasswordConfirmForm(DsfrBaseForm):
    password = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("Mot de passe incorrect.")
        return password


class CloseSpaceForm(DsfrBaseForm):
    """Identity is confirmed before this page (password and a fresh second factor), not inside the form."""

    delete_data = forms.BooleanField(
        label="Je demande aussi la suppression de mes données ; sinon, elles sont archivées dix ans.",
        required=False,
    )
    confirm = forms.BooleanField(
        label="Je comprends que mes professionnels de santé n’auront plus accès à mon dossier.",
        error_messages={"required": "Cochez cette case pour confirmer la clôture."},
    )
