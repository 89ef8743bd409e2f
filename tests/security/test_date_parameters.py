"""Issue 15, item 11: no date a client sends makes a page or the API fail.

Every date a view reads from the query string (found statically below, so a new one must be listed here) and
every date of the data-exchange API gets arbitrary values, year 0 to 99999, impossible days and offsets,
garbage: the answer is never a 500. Out-of-range values are refused with a French message (a 400 page with
the current period, or a FHIR OperationOutcome) and nothing is stored.
"""

import ast
import datetime
import json
from pathlib import Path

import pytest
from django import forms
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenda.models import AgendaEntry
from catalogue.models import Connection
from profil.models import Measure

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "dossier", "profil", "messagerie", "agenda", "catalogue", "activation")

# Every query-string parameter read by a view, by name: the date ones are exercised below, the others are not
# dates. A new parameter fails test_every_query_parameter_is_classified until it is put in one list.
DATE_PARAMETERS = {"mois", "semaine", "start", "end"}
NOT_DATES = {
    "page", "onglet", "passes", "mesure", "dossier", "q", "professionnel",
    "category", "client_id", "author", "region", "_format", "aud",
}  # fmt: skip

NOISY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _query_parameters() -> dict[str, set[str]]:
    """Names read with request.GET.get("…") / request.GET["…"], and the fields of forms bound to request.GET."""
    found: dict[str, set[str]] = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                name = None
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "get"
                    and _is_request_get(node.func.value)
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    name = node.args[0].value
                elif (
                    isinstance(node, ast.Subscript)
                    and _is_request_get(node.value)
                    and isinstance(node.slice, ast.Constant)
                ):
                    name = node.slice.value
                if name:
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
                if isinstance(node, ast.Call) and node.args and _is_request_get(_unwrap_or(node.args[0])):
                    form = _resolve_form(path, node.func)
                    if form is not None:
                        for field_name, field in form.base_fields.items():
                            if isinstance(field, forms.DateField | forms.DateTimeField):
                                found.setdefault(field_name, set()).add(f"{path.relative_to(ROOT)} ({form.__name__})")
                            else:
                                found.setdefault(field_name, set())
    return found


def _unwrap_or(node):
    """`request.GET or None` → request.GET."""
    if isinstance(node, ast.BoolOp) and node.values:
        return node.values[0]
    return node


def _is_request_get(node) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "GET"


def _resolve_form(path: Path, func):
    if not isinstance(func, ast.Name) or not func.id.endswith("Form"):
        return None
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    import importlib

    namespace = importlib.import_module(module)
    form = getattr(namespace, func.id, None)
    return form if isinstance(form, type) and issubclass(form, forms.BaseForm) else None


def test_every_query_parameter_is_classified():
    found = _query_parameters()
    unclassified = {name: where for name, where in found.items() if name not in DATE_PARAMETERS | NOT_DATES}
    assert not unclassified, f"classify these query parameters (date or not): {unclassified}"
    assert NOT_DATES <= set(found)  # the lists name only parameters that exist
    assert DATE_PARAMETERS <= set(found)  # each date parameter listed here still exists (and is tested below)
    form_dates = {name for name, where in found.items() if any(w.endswith("Form)") for w in where)}
    assert form_dates <= DATE_PARAMETERS, form_dates


# --- Strategies ------------------------------------------------------------------------------------------------

YEARS = st.one_of(st.integers(0, 99999), st.sampled_from([1, 2, 1899, 1900, 2000, 9998, 9999, 10000]))
MONTHS = st.integers(0, 14)
DAYS = st.integers(0, 32)
JUNK = st.text(max_size=12)


@st.composite
def month_values(draw) -> str:
    return draw(
        st.one_of(
            st.builds(lambda y, m: f"{y:04d}-{m:02d}", YEARS, MONTHS), JUNK, st.just("9999-12"), st.just("0001-01")
        )
    )


@st.composite
def day_values(draw) -> str:
    return draw(
        st.one_of(
            st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", YEARS, MONTHS, DAYS),
            st.dates().map(datetime.date.isoformat),
            JUNK,
            st.sampled_from(["0001-01-01", "9999-12-31", "0001-01-07"]),
        )
    )


@st.composite
def instants(draw) -> str:
    day = draw(st.one_of(st.dates().map(datetime.date.isoformat), day_values()))
    hour, minute = draw(st.integers(0, 25)), draw(st.integers(0, 61))
    sign = draw(st.sampled_from("+-"))
    offset_h, offset_m = draw(st.integers(0, 30)), draw(st.sampled_from([0, 30, 59, 99]))
    zone = draw(st.sampled_from(["Z", f"{sign}{offset_h:02d}:{offset_m:02d}", ""]))
    return draw(
        st.one_of(
            st.just(f"{day}T{hour:02d}:{minute:02d}:00{zone}"),
            st.sampled_from(["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00", "0001-01-01T00:00:00Z"]),
            JUNK,
        )
    )


# --- Pages -------------------------------------------------------------------------------------------------------


@pytest.fixture
def camille(client, session_as, db):
    session_as(client, "camille")
    return client


@NOISY
@given(value=month_values())
def test_month_view_never_fails(camille, value):
    response = camille.get(reverse("agenda:month"), {"mois": value})
    assert response.status_code in (200, 400), (value, response.status_code)
    if response.status_code == 400:
        assert "L’agenda s’affiche de" in response.content.decode()


@NOISY
@given(value=day_values())
def test_week_view_never_fails(camille, value):
    response = camille.get(reverse("agenda:week"), {"semaine": value})
    assert response.status_code in (200, 400), (value, response.status_code)


@NOISY
@given(start=day_values(), end=day_values())
def test_document_list_filters_never_fail(camille, start, end):
    response = camille.get(reverse("dossier:index"), {"start": start, "end": end})
    assert response.status_code == 200, (start, end, response.status_code)


def test_the_reported_values_are_refused_in_french(camille):
    for url, params in (
        (reverse("agenda:month"), {"mois": "9999-12"}),
        (reverse("agenda:month"), {"mois": "0001-01"}),
        (reverse("agenda:week"), {"semaine": "0001-01-01"}),
        (reverse("agenda:week"), {"semaine": "9999-12-31"}),
    ):
        response = camille.get(url, params)
        assert response.status_code == 400, params
        assert "L’agenda s’affiche de" in response.content.decode()
    # The edges of the window stay reachable, and the navigation stops there.
    today = timezone.localdate()
    last = f"{today.year + 10:04d}-{today.month:02d}"
    response = camille.get(reverse("agenda:month"), {"mois": last})
    assert response.status_code == 200 and "Mois suivant" not in response.content.decode()


# --- The data-exchange API ------------------------------------------------------------------------------------


@pytest.fixture
def api_tokens(client, login_as, personas, settings):
    from tests.catalogue.helpers import connect_and_get_tokens, make_service

    settings.CATALOGUE_API_RATE_PER_MINUTE = 100_000
    login_as(client, "camille")
    service = make_service()
    return connect_and_get_tokens(
        client, Client(), service, ("Importer mes mesures", "Consulter mes mesures", "Partager mes rendez-vous")
    )


def _observation(patient, when) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": f"Patient/{patient.public_id}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": 70, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    }


def _appointment(patient, start, end) -> dict:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "description": "Séance",
        "start": start,
        "end": end,
        "participant": [{"actor": {"reference": f"Patient/{patient.public_id}"}, "status": "accepted"}],
    }


def _bearer(tokens) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}


@NOISY
@given(when=instants())
def test_observation_dates_never_fail_and_reads_keep_working(api_tokens, personas, when):
    api = Client()
    body = json.dumps(_observation(personas.camille, when))
    response = api.post("/api/v1/Observation", body, content_type="application/fhir+json", **_bearer(api_tokens))
    assert response.status_code in (201, 400), (when, response.status_code)
    if response.status_code == 400:
        assert response.json()["resourceType"] == "OperationOutcome"
    read = api.get("/api/v1/Observation", **_bearer(api_tokens))
    assert read.status_code == 200, when


@NOISY
@given(start=instants(), end=instants())
def test_appointment_dates_never_fail_and_reads_keep_working(api_tokens, personas, start, end):
    api = Client()
    body = json.dumps(_appointment(personas.camille, start, end))
    response = api.post("/api/v1/Appointment", body, content_type="application/fhir+json", **_bearer(api_tokens))
    assert response.status_code in (201, 400), (start, end, response.status_code)
    read = api.get("/api/v1/Appointment", **_bearer(api_tokens))
    assert read.status_code == 200, (start, end)


def test_the_reported_observation_is_refused_and_nothing_stored(api_tokens, personas):
    api = Client()
    body = json.dumps(_observation(personas.camille, "0001-01-01T00:30:00+01:00"))
    response = api.post("/api/v1/Observation", body, content_type="application/fhir+json", **_bearer(api_tokens))
    assert response.status_code == 400
    assert "1900" in response.json()["issue"][0]["diagnostics"]
    assert not Measure.objects.exists()
    far = json.dumps(_appointment(personas.camille, "9999-12-31T10:00:00+01:00", "9999-12-31T11:00:00+01:00"))
    response = api.post("/api/v1/Appointment", far, content_type="application/fhir+json", **_bearer(api_tokens))
    assert response.status_code == 400
    assert not AgendaEntry.objects.exists()


def test_a_row_stored_before_the_check_no_longer_breaks_every_read(api_tokens, personas):
    """A measure dated year 1 (+01:00) is year 0 in UTC, which Python cannot hold: reads leave it out."""
    from decimal import Decimal

    connection = Connection.objects.get()
    Measure.objects.create(
        patient=personas.camille,
        source=connection.service,
        kind="poids",
        value=Decimal("70"),
        measured_on=datetime.date(1, 1, 1),
        measured_at=datetime.datetime(1, 1, 1, 0, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
    )
    response = Client().get("/api/v1/Observation", **_bearer(api_tokens))
    assert response.status_code == 200 and response.json()["total"] == 0
