"""The access log never holds medical content: no document title, message subject or body, no free text of
a medical model (espace_sante/audit/log.py).

Three locks, each tested here:
- every Action declares its detail keys and their kinds (DETAILS), and no kind can carry prose but the few
  declared TEXT keys, which are typed outside any medical record;
- no call site of `record()` passes a free-text field of a medical model, as a detail or as a label, and
  labels given by hand come from the fixed vocabulary; `record()` refuses anything else at run time;
- an object is labelled by `str()` only if its model is declared safe, and those models' `str()` shows none
  of their free-text fields; every other object is labelled by its kind ("document").
Rows written before these rules are stripped by audit.0002_strip_medical_content.
"""

import ast
import datetime
import types
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from espace_sante.access.actor import Actor
from espace_sante.audit import log
from espace_sante.audit.actions import DETAILS, TARGET_LABELS, Action, Detail
from espace_sante.audit.models import AuditEvent
from espace_sante.crypto.fields import EncryptedTextField
from tests.dossier.factories import make_document

ROOT = Path(settings.BASE_DIR)
MEDICAL_APPS = ("dossier", "messagerie", "profil", "agenda")
MEDICAL_CATALOGUE_MODELS = ("ServiceReport",)
# The only free strings an event may carry, none typed into a medical record.
TEXT_DETAILS = {
    (Action.LOGIN_FAILED, "identifiant"),  # what was typed in the login form
    (Action.LOGIN_THROTTLED, "identifiant"),
    (Action.CONTACTS_UPDATED, "check"),  # the agent's note on how they checked the caller's identity
    (Action.CONTACTS_CHANGE_REQUESTED, "check"),  # the same note, when an agent types new contacts
    (Action.SERVICE_API_REFUSED, "path"),  # the API path a service asked for
    (Action.SOFTWARE_API_REFUSED, "path"),  # the API path a software client asked for
}
NOT_DETAILS = {"actor", "patient", "target", "target_label"}


def medical_models() -> list[type[models.Model]]:
    found = [model for app in MEDICAL_APPS for model in apps.get_app_config(app).get_models()]
    found += [apps.get_model("catalogue", name) for name in MEDICAL_CATALOGUE_MODELS]
    return found


def free_text_fields(model) -> list[models.Field]:
    """CharField, TextField and EncryptedTextField without a closed list of choices."""
    return [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField | EncryptedTextField) and not field.choices
    ]


MEDICAL_TEXT = {field.name for model in medical_models() for field in free_text_fields(model)}


def record_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "tests/", "bench/")) or "/migrations/" in relative:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=relative)):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name == "record":
                    calls.append((f"{relative}:{node.lineno}", node))
    return calls


CALLS = record_calls()


def test_the_walk_finds_the_call_sites():
    assert len(CALLS) > 80
    assert {"title", "subject", "body", "original_filename", "note", "reason"} <= MEDICAL_TEXT


def test_every_action_declares_its_details():
    assert set(Action.values) == set(DETAILS), "declare each action's detail keys in audit/actions.py DETAILS"
    kinds = {Detail.FLAG, Detail.COUNT, Detail.CODE, Detail.CODES, Detail.TEXT}
    assert {kind for keys in DETAILS.values() for kind in keys.values()} <= kinds


def test_only_the_declared_free_strings_are_allowed():
    texts = {(action, key) for action, keys in DETAILS.items() for key, kind in keys.items() if kind == Detail.TEXT}
    assert texts == TEXT_DETAILS


def _reads_medical_text(node: ast.AST) -> list[str]:
    return [
        sub.attr
        for sub in ast.walk(node)
        if isinstance(sub, ast.Attribute) and sub.attr in MEDICAL_TEXT and not isinstance(sub.ctx, ast.Store)
    ]


def test_no_call_site_passes_free_text_of_a_medical_model():
    offenders = []
    for where, call in CALLS:
        for keyword in call.keywords:
            if keyword.arg in ("actor", "patient", "target"):
                continue
            if read := _reads_medical_text(keyword.value):
                offenders.append(f"{where} {keyword.arg or '**'}={ast.unparse(keyword.value)} reads {read}")
    assert offenders == []


def test_call_sites_use_declared_keys_and_fixed_labels():
    offenders = []
    for where, call in CALLS:
        action = call.args[0] if call.args else None
        literal = isinstance(action, ast.Attribute) and getattr(action.value, "id", "") == "Action"
        for keyword in call.keywords:
            if keyword.arg == "target_label":
                value = keyword.value
                branches = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
                if not all(isinstance(b, ast.Constant) and b.value in TARGET_LABELS for b in branches):
                    offenders.append(f"{where} target_label={ast.unparse(value)} is not one of TARGET_LABELS")
            elif literal and keyword.arg is not None and keyword.arg not in NOT_DETAILS:
                if keyword.arg not in DETAILS[Action[action.attr]]:
                    offenders.append(f"{where} {action.attr} has no declared detail {keyword.arg!r}")
    assert offenders == []


def _instance_with_markers(model) -> tuple[models.Model, list[str]]:
    """An unsaved instance with a marker in each free-text field and plausible values elsewhere."""
    instance, markers = model(), []
    for field in model._meta.concrete_fields:
        if isinstance(field, models.ForeignKey):
            continue
        if isinstance(field, models.CharField | models.TextField | EncryptedTextField):
            if field.choices:
                value = field.choices[0][0]
            else:
                value = f"Zx{uuid.uuid4().hex}"[: field.max_length or 40]
                if len(value) >= 6:
                    markers.append(value)
        elif isinstance(field, models.DateTimeField):
            value = timezone.now()
        elif isinstance(field, models.DateField):
            value = datetime.date(2026, 1, 2)
        elif isinstance(field, models.DecimalField):
            value = Decimal("1.5")
        elif isinstance(field, models.BooleanField):
            value = False
        elif isinstance(field, models.IntegerField):
            value = 1
        else:
            continue
        setattr(instance, field.attname, value)
    return instance, markers


@pytest.mark.parametrize("label", sorted(m for m in log.SAFE_STR_MODELS if m.split(".")[0] in MEDICAL_APPS))
def test_models_labelled_by_str_show_no_free_text(label):
    model = apps.get_model(label)
    instance, markers = _instance_with_markers(model)
    shown = log.target_label_of(instance)
    assert shown
    assert not [marker for marker in markers if marker in shown], f"{label}.__str__ shows a free-text field"


@pytest.mark.parametrize("model", medical_models(), ids=lambda m: m._meta.label)
def test_other_medical_objects_are_labelled_by_their_kind(model):
    if model._meta.label in log.SAFE_STR_MODELS:
        pytest.skip("checked above")
    instance, _ = _instance_with_markers(model)
    assert log.target_label_of(instance) == str(model._meta.verbose_name)


# --- At run time ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_event_about_a_document_keeps_no_title(personas):
    document = make_document(personas.camille, title="Sérologie VIH")
    actor = Actor.for_user(personas.camille.user, verified=True)
    event = log.record(Action.DOCUMENT_VIEWED, actor=actor, patient=personas.camille, target=document)
    assert (event.target_type, event.target_id, event.target_label) == (
        "dossier.Document",
        str(document.public_id),
        "document",
    )
    assert "VIH" not in str(list(AuditEvent.objects.values()))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "details"),
    [
        (Action.DOCUMENT_RENAMED, {"before": "Sérologie VIH"}),  # undeclared key
        (Action.PATIENT_SEARCHED, {"purpose": "Sérologie VIH"}),  # prose in a code
        (Action.SHARE_CREATED, {"hours": "24 heures"}),  # not a count
        (Action.PROFILE_NOT_CONCERNED, {"value": "oui"}),  # not a flag
        (Action.SYNTHESIS_REQUESTED, {"sections": ["maladies", "IVG le 3 mars"]}),
        (Action.CONTACTS_UPDATED, {"check": "x" * 201}),  # too long even for a note
    ],
)
def test_record_refuses_undeclared_or_prose_details(personas, action, details):
    actor = Actor.for_user(personas.camille.user, verified=True)
    with pytest.raises(log.MedicalContentRefused):
        log.record(action, actor=actor, patient=personas.camille, **details)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_record_refuses_a_label_outside_the_vocabulary(personas):
    actor = Actor.for_user(personas.camille.user, verified=True)
    with pytest.raises(log.MedicalContentRefused):
        log.record(Action.DOCUMENT_DELETED, actor=actor, patient=personas.camille, target_label="Sérologie VIH")
    assert not AuditEvent.objects.exists()


# --- Rows written before the rules -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_migration_strips_titles_from_older_rows(personas):
    from importlib import import_module

    strip = import_module("espace_sante.audit.migrations.0002_strip_medical_content").strip
    document = make_document(personas.camille, title="Sérologie VIH")
    common = {"actor_role": "patient", "actor_label": "Camille Lefèvre", "patient": personas.camille}
    doc = {"target_type": "dossier.Document", "target_id": str(document.public_id)}
    rows = [
        AuditEvent(action=Action.DOCUMENT_VIEWED, target_label="Sérologie VIH", **doc, **common),
        AuditEvent(
            action=Action.DOCUMENT_RENAMED, target_label="Sérologie VIH", data={"before": "IVG"}, **doc, **common
        ),
        AuditEvent(action=Action.DOCUMENT_DELETED, target_label="Sérologie VIH", **common),
        AuditEvent(
            action=Action.ATTACHMENT_DOWNLOADED,
            target_type="messagerie.Attachment",
            target_label="resultat-VIH.pdf",
            **common,
        ),
        AuditEvent(action=Action.PROFESSIONAL_BLOCKED, target_label="Dr Anne Martin, médecin", **common),
        AuditEvent(action=Action.RECORD_VIEWED, target_label="dossier médical", **common),
    ]
    for row in rows:
        row.save()
    strip(apps, types.SimpleNamespace(connection=connection))
    stored = str(list(AuditEvent.objects.values()))
    assert "VIH" not in stored and "IVG" not in stored
    labels = dict(AuditEvent.objects.values_list("action", "target_label"))
    assert labels[Action.DOCUMENT_VIEWED] == labels[Action.DOCUMENT_DELETED] == "document"
    assert labels[Action.ATTACHMENT_DOWNLOADED] == "pièce jointe"
    assert labels[Action.PROFESSIONAL_BLOCKED] == "Dr Anne Martin, médecin"  # a name is not medical content
    assert labels[Action.RECORD_VIEWED] == "dossier médical"
