"""Project rules that ruff cannot express: migrations, templates, chokepoints, schedules, naming."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.template.loader import get_template

from espace_sante.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "dossier", "profil", "messagerie", "agenda", "catalogue", "activation")
SOURCE_FILES = [path for app in (*APPS, "espace_sante") for path in (ROOT / app).rglob("*.py")]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
MEDICAL = re.compile(
    r"\b(Document|Message|Conversation|HealthProfile|ProfileEntry|ProfileProfessional|Measure|Appointment|ServiceMeasure|ServiceAppointment|AgendaEntry|PreventionItem)\.objects\b"
)


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_medical_models_are_read_through_the_access_policy():
    allowed = {"espace_sante/access/policy.py"} | {f"{app}/{m}.py" for app in APPS for m in ("models", "services")}
    offenders = [
        str(path.relative_to(ROOT))
        for path in SOURCE_FILES
        if str(path.relative_to(ROOT)) not in allowed
        and "migrations" not in path.parts
        and MEDICAL.search(path.read_text())
    ]
    assert offenders == [], "read medical data through espace_sante.access.policy"


# Per-patient records beyond MEDICAL: who cares for the patient, what they shared, blocked or connected.
PATIENT_RECORDS = (
    MEDICAL.pattern.split("(")[1].split(")")[0]
    + "|ShareLink|CareTeamMember|EmergencyAccess|MedicalRecord|Reimbursement|Attachment|MessagingBlock"
    + "|Connection|AgendaSettings"
)
DIRECT_QUERY = re.compile(
    rf"\b({PATIENT_RECORDS})\.(objects|_default_manager|_base_manager)\b"
    rf"|\bget_(?:object|list)_or_404\(\s*({PATIENT_RECORDS})\b"
)
# (file, model): why this portal code may query the model itself. Everything else goes through the policy.
DIRECT_QUERY_ALLOWED = {
    ("dossier/views/patient.py", "CareTeamMember"): "the care team of actor.acting_for, let in by patient_required",
    ("catalogue/api.py", "Connection"): "bearer authentication: the token's connection is the API's actor",
}
PORTAL_CODE = [
    path
    for path in SOURCE_FILES
    if "migrations" not in path.parts
    and (
        path.name in ("views.py", "forms.py", "api.py", "oauth.py")
        or "views" in path.parts
        or "templatetags" in path.parts
    )
]


def test_views_forms_and_templatetags_query_patient_records_through_the_policy():
    """Views, forms, template tags and the API never look a patient's record up by themselves (manager,
    default manager or get_object_or_404): a fetcher of the policy does, and answers 404 to everyone else.
    dossier:share_revoke once found its link itself and let a representative revoke the link of a document
    kept from representatives."""
    offenders = sorted(
        {
            (str(path.relative_to(ROOT)), match.group(1) or match.group(3))
            for path in PORTAL_CODE
            for match in DIRECT_QUERY.finditer(path.read_text())
        }
        - set(DIRECT_QUERY_ALLOWED)
    )
    assert offenders == [], "fetch patient records through espace_sante.access.policy"


def test_the_access_policy_only_reads():
    """Decisions and fetchers never write: writes are services (traced, validated, atomic)."""
    text = (ROOT / "espace_sante/access/policy.py").read_text()
    writes = re.findall(
        r"\.(create|get_or_create|update_or_create|update|delete|save|bulk_create|bulk_update)\(", text
    )
    assert writes == []


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_templates_compile_and_never_disable_escaping(path):
    name = str(path.relative_to(ROOT / "templates"))
    get_template(name)
    text = path.read_text()
    assert "|safe" not in text and "autoescape off" not in text, "patient text must always be escaped"
    assert not re.search(r"\sstyle=", text), "no inline style: use a class in static/css/portal.css"


def test_every_domain_app_has_a_french_verbose_name():
    for label in APPS:
        config = apps.get_app_config(label)
        assert config.verbose_name and config.verbose_name != label.title()


def test_model_verbose_names_are_lowercase_french():
    for model in apps.get_models():
        if model._meta.app_label not in (*APPS, "audit", "crypto"):
            continue
        assert model._meta.verbose_name == model._meta.verbose_name.lower(), model
        for field in model._meta.fields:
            if field.name in ("id",) or field.auto_created:
                continue
            name = str(field.verbose_name)
            assert name[:1] == name[:1].lower(), f"{model.__name__}.{field.name}: {name}"


def test_every_beat_entry_names_a_registered_task():
    celery_app.loader.import_default_modules()
    for entry in celery_app.conf.beat_schedule.values():
        assert entry["task"] in celery_app.tasks


def test_celery_speaks_json_and_acknowledges_late():
    assert celery_app.conf.task_serializer == "json"
    assert celery_app.conf.accept_content == ["json"]
    assert celery_app.conf.task_acks_late is True
    assert celery_app.conf.task_time_limit


def test_forms_share_one_renderer_so_their_templates_are_compiled_once():
    """django-dsfr would build a renderer, with an empty template cache, for every form instance."""
    from accounts.forms import LoginForm
    from activation.forms import IdentificationForm

    first, second = IdentificationForm(), LoginForm()
    assert first.renderer is second.renderer
    engine = first.renderer.engine.engine  # the backend's Engine
    str(first["code"])  # render a field: its templates are now compiled and cached
    loader = engine.template_loaders[0]
    assert type(loader).__name__ == "Loader" and loader.__module__ == "django.template.loaders.cached"
    cached = len(loader.get_template_cache)
    str(IdentificationForm()["code"])
    assert len(loader.get_template_cache) == cached  # nothing compiled again


# Request metadata naming the client: behind the reverse proxy only espace_sante/lib/client_address.py can
# tell the client from the proxy (TRUSTED_PROXY_HOPS). Everything else uses request.client_ip.
CLIENT_ADDRESS_KEYS = re.compile(
    r"""["'](REMOTE_ADDR|HTTP_X_FORWARDED_FOR|HTTP_FORWARDED|HTTP_X_REAL_IP|X-Forwarded-For|Forwarded|X-Real-IP)["']""",
    re.IGNORECASE,
)
CLIENT_ADDRESS_READER = "espace_sante/lib/client_address.py"


def test_only_one_function_reads_the_client_address_from_the_request():
    readers = {str(path.relative_to(ROOT)) for path in SOURCE_FILES if CLIENT_ADDRESS_KEYS.search(path.read_text())}
    assert readers == {CLIENT_ADDRESS_READER}, "use request.client_ip (espace_sante/lib/client_address.py)"
