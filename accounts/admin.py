"""Agent-facing admin: administrative identity and the phone channel, never medical content.

Issue 9 completes the back-office; this holds the two activation actions agents need from day one:
record an opposition made by phone (code, NIR and card checked exactly like online) and send a new code.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from dsfr.forms import DsfrBaseForm

from accounts.enums import VitaleCardType
from accounts.models import LegalRepresentation, Patient
from activation.enums import OppositionChannel
from activation.forms import NirField, clean_serial_value
from activation.models import Opposition
from activation.services.enrolment import Outcome, code_identify, new_code_send, opposition_record
from activation.services.receipts import receipt_bytes
from activation.services.spaces import ConcurrentChange, InvalidTransition
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record


class RepresentativesInline(admin.TabularInline):
    model = LegalRepresentation
    fk_name = "represented"
    fields = ("representative", "kind", "started_on", "ended_on")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "représentant légal"
    verbose_name_plural = "représentants légaux"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PhoneOppositionForm(forms.Form):
    code = forms.CharField(label="Code provisoire lu par la personne", max_length=24)
    nir = NirField(help_text="Pour un enfant : celui du titulaire de la carte Vitale.")
    card_type = forms.ChoiceField(label="Modèle de carte Vitale", choices=VitaleCardType.choices)
    serial = forms.CharField(label="Numéro de série de la carte Vitale", max_length=30)

    def clean_serial(self) -> str:
        return clean_serial_value(self.cleaned_data["serial"])


class ConfirmForm(DsfrBaseForm):
    confirm = forms.BooleanField(label="Je confirme", error_messages={"required": "Cochez la case pour confirmer."})


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("birth_name", "first_names", "birth_date", "postal_code", "space_status")
    list_select_related = ("space",)
    search_fields = ("=nir", "birth_name", "email")
    search_help_text = "Numéro de sécurité sociale complet, nom de naissance ou adresse e-mail"
    fields = (
        "nir",
        "birth_name",
        "used_name",
        "first_names",
        "birth_date",
        "sex",
        "birth_place_insee",
        "email",
        "phone",
        "address_line",
        "postal_code",
        "city",
        "vitale_card_type",
        "card_holder",
        "deceased_on",
        "space_status",
    )
    readonly_fields = fields  # civil status is corrected through INSEE, not here
    inlines = [RepresentativesInline]
    show_full_result_count = False
    change_form_template = "admin/accounts/patient/change_form.html"

    @admin.display(description="état de Mon espace santé")
    def space_status(self, patient: Patient) -> str:
        space = getattr(patient, "space", None)
        return space.get_status_display() if space else "pas encore informé"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        own = [
            path("<int:pk>/opposition/", self.admin_site.admin_view(self.phone_opposition), name="patient_opposition"),
            path("<int:pk>/nouveau-code/", self.admin_site.admin_view(self.send_new_code), name="patient_new_code"),
            path(
                "opposition/<uuid:public_id>/justificatif.pdf",
                self.admin_site.admin_view(self.opposition_receipt),
                name="patient_opposition_receipt",
            ),
        ]
        return own + super().get_urls()

    def _context(self, request, patient: Patient, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": patient,
            "title": title,
            **extra,
        }

    def phone_opposition(self, request, pk: int):
        """An opposition by phone or at a desk: the code, NIR and card are checked exactly as online."""
        if not request.user.has_perm("activation.add_opposition"):
            raise PermissionDenied
        patient = get_object_or_404(Patient, pk=pk)
        form = PhoneOppositionForm(request.POST or None)
        if form.is_valid():
            result = code_identify(
                code=form.cleaned_data["code"],
                nir=form.cleaned_data["nir"],
                card_type=form.cleaned_data["card_type"],
                serial=form.cleaned_data["serial"],
                address=request.META.get("REMOTE_ADDR", ""),
                actor=request.actor,
            )
            if result.outcome == Outcome.OK and result.patient.pk == patient.pk:
                try:
                    opposition = opposition_record(
                        patient=patient, channel=OppositionChannel.PHONE, by=request.actor, code=result.code
                    )
                except (ConcurrentChange, InvalidTransition):
                    form.add_error(
                        None, "L’opposition n’est plus possible pour ce profil (déjà enregistrée, ouvert ou clôturé)."
                    )
                else:
                    messages.success(request, f"Opposition enregistrée, référence {opposition.reference}.")
                    return redirect(
                        reverse("admin:accounts_patient_change", args=[patient.pk])
                        + f"?opposition={opposition.public_id}"
                    )
            elif result.outcome == Outcome.THROTTLED:
                form.add_error(None, "Trop de tentatives pour ce numéro : réessayez plus tard.")
            else:
                form.add_error(None, "Les informations ne correspondent pas à un code valide de cette personne.")
        context = self._context(request, patient, f"Opposition par téléphone — {patient}", form=form)
        return TemplateResponse(request, "admin/accounts/patient/phone_opposition.html", context)

    def send_new_code(self, request, pk: int):
        if not request.user.has_perm("activation.add_provisionalcode"):
            raise PermissionDenied
        patient = get_object_or_404(Patient, pk=pk)
        form = ConfirmForm(request.POST or None)
        if form.is_valid():
            channel = new_code_send(patient=patient, by=request.actor)
            if channel is None:
                messages.error(
                    request, "Aucune adresse e-mail ni aucun mobile connus : mettez d’abord à jour les coordonnées."
                )
            else:
                messages.success(
                    request, f"Un nouveau code a été envoyé ({'e-mail' if channel == 'email' else 'SMS'})."
                )
            return redirect("admin:accounts_patient_change", patient.pk)
        context = self._context(request, patient, f"Envoyer un nouveau code — {patient}", form=form)
        return TemplateResponse(request, "admin/accounts/patient/new_code.html", context)

    def opposition_receipt(self, request, public_id):
        if not request.user.has_perm("activation.view_opposition"):
            raise PermissionDenied
        opposition = get_object_or_404(Opposition.objects.select_related("space__patient"), public_id=public_id)
        if not opposition.receipt_name:
            messages.info(request, "Le justificatif est en cours de préparation.")
            return redirect("admin:accounts_patient_change", opposition.space.patient.pk)
        record(Action.RECEIPT_DOWNLOADED, actor=request.actor, patient=opposition.space.patient, target=opposition)
        response = HttpResponse(receipt_bytes(opposition.receipt_name), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="justificatif-opposition-{opposition.reference}.pdf"'
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        patient = self.get_object(request, object_id)
        oppositions = (
            list(Opposition.objects.filter(space__patient=patient).order_by("-recorded_at")) if patient else []
        )
        extra = {"oppositions": oppositions, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=extra)
