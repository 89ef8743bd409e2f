"""No page opens on a password alone: a session half-way through the two-step login gets exactly what an
anonymous visitor gets, on every named URL; a logged-in session without a verified second factor is ended."""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, SlugConverter, UUIDConverter

from accounts.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

# The login pages themselves answer differently on purpose (the second step is pending).
LOGIN_STEPS = {"accounts:login", "accounts:login_otp", "accounts:pro_login", "accounts:pro_login_otp"}


def _sample(converter) -> str:
    if isinstance(converter, UUIDConverter):
        return str(uuid.UUID(int=7))
    if isinstance(converter, IntConverter):
        return "1"
    if isinstance(converter, SlugConverter):
        return "allergies"
    return "x"


def _urls() -> list[tuple[str, str]]:
    """(name, path) for every named URL outside the admin, parameters filled with harmless values."""
    found = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            route = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix + route, ns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                path = prefix + route
                for name, converter in getattr(pattern.pattern, "converters", {}).items():
                    path = path.replace(f"<{name}>", _sample(converter))
                    for kind in ("uuid", "int", "slug", "str", "path"):
                        path = path.replace(f"<{kind}:{name}>", _sample(converter))
                if "<" not in path and "^" not in path:
                    found.append((f"{namespace}{pattern.name}", "/" + path))

    walk(get_resolver().url_patterns, "", "")
    return found


def _answer(response) -> tuple:
    return response.status_code, response.get("Location", "").split("?")[0]


@pytest.mark.parametrize("portal", ["patient", "pro"])
def test_a_password_alone_opens_nothing_more_than_no_login_at_all(client, personas, portal):
    username, login = {"patient": ("camille.lefevre", "/connexion/"), "pro": ("dr.martin", "/pro/connexion/")}[portal]
    anonymous = type(client)()
    response = client.post(login, {"identifiant": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302  # first step done, second factor pending
    urls = [(name, path) for name, path in _urls() if name not in LOGIN_STEPS]
    assert len(urls) > 100
    differences = {}
    for name, path in urls:
        half, none = _answer(client.get(path)), _answer(anonymous.get(path))
        if half != none:
            differences[name] = (half, none)
    assert differences == {}


def test_a_logged_in_session_without_second_factor_is_ended(client, personas):
    from django.contrib.auth import SESSION_KEY

    client.force_login(personas.camille.user)  # as if a bug or a forged session skipped the second step
    assert SESSION_KEY in client.session
    response = client.get("/documents/")
    assert response.status_code == 302
    assert SESSION_KEY not in client.session  # ended, not merely refused
    assert client.get("/documents/").status_code == 302
