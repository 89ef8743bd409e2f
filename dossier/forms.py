import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from dsfr.forms import DsfrBaseForm

from activation.forms import NirField
from dossier.enums import AuthorKind, DocumentCategory, EmergencyKind
from dossier.files import check_upload
from dossier.models import MAX_UPLOAD_BYTES
from dossier.services import SHARE_DURATIONS_HOURS

OLDEST_CARE = datetime.date(1900, 1, 1)


def _not_future(value: datetime.date) -> datetime.date:
    if value > timezone.localdate():
        raise ValidationError("La date des soins ne peut pas être dans le futur.")
    if value < OLDEST_CARE:
        raise ValidationError("Cette date est trop ancienne.")
    return value


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class DocumentUploadForm(DsfrBaseForm):
    file = forms.FileField(
        label="Fichier",
        help_text="PDF, TXT, RTF, JPEG, PNG, TIFF ou CDA R2 (XML), 5 Mo au maximum.",
        error_messages={"required": "Choisissez un fichier.", "empty": "Le fichier est vide."},
    )
    title = forms.CharField(label="Titre", max_length=150)
    category = forms.ChoiceField(label="Catégorie", choices=DocumentCategory.choices)
    care_date = forms.DateField(label="Date des soins", widget=DateInput())

    def __init__(self, *args, max_bytes: int = MAX_UPLOAD_BYTES, **kwargs) -> None:
        self.max_bytes = max_bytes
        super().__init__(*args, **kwargs)

    def clean_care_date(self) -> datetime.date:
        return _not_future(self.cleaned_data["care_date"])

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        if not title:
            raise ValidationError("Donnez un titre au document.")
        return title

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise ValidationError(f"Le fichier dépasse la taille maximale de {self.max_bytes // (1024 * 1024)} Mo.")
        return check_upload(upload.read(), upload.name, max_bytes=self.max_bytes)


class ProfessionalUploadForm(DocumentUploadForm):
    hidden_from_representatives = forms.BooleanField(
        label="Ne pas rendre visible aux représentants légaux (patient mineur, R.1111-50)", required=False
    )
    held_for_announcement = forms.BooleanField(
        label="Ne pas rendre visible au patient avant une consultation d’annonce (visible d’office après un mois)",
        required=False,
    )


class DocumentFilterForm(forms.Form):
    category = forms.ChoiceField(
        label="Catégorie", choices=[("", "Toutes")] + DocumentCategory.choices, required=False
    )
    author = forms.ChoiceField(label="Ajouté par", choices=[("", "Tous")] + AuthorKind.choices, required=False)
    start = forms.DateField(label="Du", required=False, widget=DateInput())
    end = forms.DateField(label="Au", required=False, widget=DateInput())
    q = forms.CharField(label="Mots du titre", required=False, max_length=100)


class RenameForm(DsfrBaseForm):
    title = forms.CharField(label="Nouveau titre", max_length=150)


class RecordSettingsForm(DsfrBaseForm):
    hide_new_documents = forms.BooleanField(
        label="Masquer par défaut aux professionnels les documents que j’ajoute", required=False
    )
    history_hidden = forms.BooleanField(label="Masquer mon historique de soins aux professionnels", required=False)
    emergency_samu = forms.BooleanField(
        label="J’autorise le SAMU à accéder à mon dossier en cas d’urgence", required=False
    )
    emergency_break_glass = forms.BooleanField(
        label="J’autorise les autres professionnels à accéder à mon dossier en cas d’urgence (bris de glace)",
        required=False,
    )
    emergency_hidden_documents = forms.BooleanField(
        label="En cas d’urgence, les professionnels peuvent aussi voir mes documents masqués", required=False
    )
    notify_each_access = forms.BooleanField(
        label="Recevoir un e-mail à chaque consultation de mon dossier par un professionnel", required=False
    )


class AddProfessionalForm(DsfrBaseForm):
    rpps = forms.CharField(label="Numéro RPPS du professionnel", max_length=11, min_length=11)


class PatientSearchForm(DsfrBaseForm):
    nir = NirField(label="Numéro de sécurité sociale ou matricule INS")
    birth_date = forms.DateField(label="Date de naissance", widget=DateInput())


class EmergencyForm(DsfrBaseForm):
    """`kinds`: the situations offered (those `policy.emergency_choices_for` opens to this professional); a
    submitted form accepts every known kind so that the policy, not the form, gives the reason of a refusal."""

    kind = forms.ChoiceField(label="Situation", choices=EmergencyKind.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        label="Motif de l’accès en urgence",
        max_length=500,
        min_length=10,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Il sera communiqué au patient et à son médecin traitant.",
    )

    def __init__(self, *args, kinds: tuple[str, ...] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if kinds is not None:
            self.fields["kind"].choices = [(value, label) for value, label in EmergencyKind.choices if value in kinds]
            if len(kinds) == 1:
                self.fields["kind"].initial = kinds[0]


class ConsentForm(DsfrBaseForm):
    consent = forms.BooleanField(
        label="Je déclare avoir informé le patient et recueilli son consentement pour accéder à son dossier",
        error_messages={"required": "Le consentement du patient est obligatoire."},
    )


class ShareForm(DsfrBaseForm):
    hours = forms.TypedChoiceField(
        label="Durée du partage",
        coerce=int,
        initial=72,
        choices=[(1, "1 heure"), (24, "24 heures"), (72, "3 jours"), (168, "7 jours")],
    )

    def clean_hours(self) -> int:
        if self.cleaned_data["hours"] not in SHARE_DURATIONS_HOURS:
            raise ValidationError("Choisissez une durée proposée.")
        return self.cleaned_data["hours"]
