from django import forms
from dsfr.forms import DsfrBaseForm

from catalogue.enums import Region, ReportReason, ServiceCategory


class ServiceFilterForm(DsfrBaseForm):
    q = forms.CharField(label="Rechercher un service", required=False, max_length=100)
    category = forms.ChoiceField(
        label="Catégorie", required=False, choices=[("", "Toutes les catégories"), *ServiceCategory.choices]
    )
    region = forms.ChoiceField(label="Région", required=False, choices=[("", "Toutes les régions"), *Region.choices])


class PurposesForm(DsfrBaseForm):
    """The purposes a patient accepts, one checkbox each."""

    purposes = forms.MultipleChoiceField(
        label="Ce que vous autorisez",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Cochez au moins une finalité pour connecter ce service."},
    )

    def __init__(self, *args, purposes: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._purposes = {str(purpose.pk): purpose for purpose in purposes}
        self.fields["purposes"].choices = [
            (str(purpose.pk), f"{purpose.label} : {', '.join(purpose.scope_labels)}") for purpose in purposes
        ]

    def accepted(self) -> list:
        return [self._purposes[pk] for pk in self.cleaned_data["purposes"]]


class ReportForm(DsfrBaseForm):
    reason = forms.ChoiceField(
        label="Motif du signalement",
        choices=ReportReason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choisissez le motif du signalement."},
    )
    message = forms.CharField(
        label="Décrivez le problème",
        help_text="N’indiquez pas d’information sur votre santé.",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Décrivez le problème en quelques mots."},
    )
