"""Input shapes of the messagerie, with French messages. Domain rules (who may write) stay in services."""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from dsfr.forms import DsfrBaseForm

from dossier.files import check_upload
from messagerie.models import MAX_ATTACHMENTS, MAX_ATTACHMENTS_BYTES, MAX_BODY_CHARS, MAX_SUBJECT_CHARS

MEGABYTES = MAX_ATTACHMENTS_BYTES // (1024 * 1024)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe); each is checked from its content."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class MessageForm(DsfrBaseForm):
    """A message: body, attachments from the device or from the patient's documents, and a send token that
    turns a double submit into one message."""

    body = forms.CharField(
        label="Message",
        max_length=MAX_BODY_CHARS,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={
            "required": "Écrivez votre message : il ne peut pas être vide.",
            "max_length": f"Le message ne peut pas dépasser {MAX_BODY_CHARS:_} caractères.".replace("_", "\u202f"),
        },
    )
    files = MultipleFileField(
        label="Pièces jointes",
        required=False,
        help_text=f"PDF, images (JPEG, PNG, TIFF) ou texte ; {MEGABYTES} Mo au total par message.",
        error_messages={"empty": "Un des fichiers est vide."},
    )
    client_token = forms.UUIDField(widget=forms.HiddenInput, error_messages={"required": "Formulaire incomplet."})

    def __init__(self, *args, documents: list | None = None, minor: bool = False, **kwargs) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("client_token", uuid.uuid4())
        super().__init__(*args, **kwargs)
        if documents:
            self.fields["documents"] = forms.MultipleChoiceField(
                label="Joindre des documents de mon dossier",
                required=False,
                choices=[(str(d.public_id), f"{d.title} ({d.care_date:%d/%m/%Y})") for d in documents],
                widget=forms.CheckboxSelectMultiple,
                error_messages={"invalid_choice": "Ce document n’est pas disponible."},
            )
        if minor:
            self.fields["confidential"] = forms.BooleanField(
                label="Confidentiel : ne pas montrer ce message aux représentants légaux (patient mineur)",
                required=False,
            )
        self.order_fields(["professional", "subject", "body", "files", "documents", "confidential"])

    def clean_files(self) -> list:
        uploads = self.cleaned_data["files"]
        if len(uploads) > MAX_ATTACHMENTS:
            raise ValidationError(f"Un message peut porter au plus {MAX_ATTACHMENTS} pièces jointes.")
        if sum(upload.size for upload in uploads) > MAX_ATTACHMENTS_BYTES:
            raise ValidationError(
                f"La taille des pièces jointes dépasse la limite autorisée ({MEGABYTES} Mo par message)."
            )
        checked = []
        for upload in uploads:
            try:
                checked.append(check_upload(upload.read(), upload.name, max_bytes=MAX_ATTACHMENTS_BYTES))
            except ValidationError as error:
                raise ValidationError(f"« {upload.name} » : {error.messages[0]}") from None
        return checked


class NewConversationForm(MessageForm):
    subject = forms.CharField(
        label="Objet",
        max_length=MAX_SUBJECT_CHARS,
        error_messages={
            "required": "Indiquez l’objet du message.",
            "max_length": f"L’objet ne peut pas dépasser {MAX_SUBJECT_CHARS} caractères.",
        },
    )


class PatientNewConversationForm(NewConversationForm):
    professional = forms.ChoiceField(
        label="Destinataire", error_messages={"required": "Choisissez le professionnel à qui écrire."}
    )

    def __init__(self, *args, professionals: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["professional"].choices = [("", "Choisir un professionnel")] + [
            (str(p.public_id), p.label) for p in professionals
        ]
        self.fields["professional"].error_messages["invalid_choice"] = "Vous ne pouvez pas écrire à ce professionnel."
