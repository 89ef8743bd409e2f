"""Open redirects: no address taken from the request sends anyone to another site.

The HTTP tests try the classic tricks on every place that takes a return address from the request (the
path of a session ended elsewhere, `next` at both logins, at the re-authentication and at the agents'
login). The static test then checks that every redirect built from request data in the code goes through
the one helper, espace_sante.lib.redirects.safe_redirect_url, so the next such redirect is caught too.
"""

import ast
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from tests.accounts.reauth import reauthenticate
from tests.conftest import login_patient, login_with_totp, totp_now

ROOT = Path(__file__).resolve().parents[2]

# Return addresses that browsers read as another site, or as script.
FOREIGN = [
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example",
    "/\\/evil.example/",
    "\\\\evil.example",
    "https://evil.example",
    "http://evil.example/parametres/",
    "https:evil.example",
    "https://testserver@evil.example/",
    "javascript:alert(document.domain)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
]
# Paths whose full path, echoed as a Location, would be another site.
FOREIGN_PATHS = ["//evil.example/", "///evil.example/", "/\\evil.example", "//evil.example/%2F..", "/\t/evil.example/"]


def assert_stays_here(location: str) -> None:
    """A path on this site, also as a browser reads it (backslash as slash, tabs and newlines dropped)."""
    as_read = location.replace("\\", "/").translate({ord(c): None for c in "\t\r\n"})
    for url in (location, as_read):
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, location
        assert url.startswith("/") and not url.startswith("//"), location


pytestmark = pytest.mark.django_db


# --- A session ended elsewhere (espace_sante/access/middleware.py) ------------------------------------------


@pytest.mark.parametrize("path", FOREIGN_PATHS)
def test_a_session_ended_elsewhere_is_not_sent_to_the_path_as_another_site(personas, mailoutbox, path):
    here, elsewhere = Client(), Client()
    login_patient(here, "camille.lefevre", mailoutbox)
    login_patient(elsewhere, "camille.lefevre", mailoutbox)
    assert elsewhere.post(reverse("accounts:logout")).status_code == 302  # ends every session of the account

    response = here.get("/", PATH_INFO=path)
    assert response.status_code == 302
    assert_stays_here(response["Location"])


def test_a_session_ended_elsewhere_still_comes_back_to_its_own_page(personas, mailoutbox):
    here, elsewhere = Client(), Client()
    login_patient(here, "camille.lefevre", mailoutbox)
    login_patient(elsewhere, "camille.lefevre", mailoutbox)
    elsewhere.post(reverse("accounts:logout"))
    response = here.get(reverse("dossier:index") + "?page=2")
    assert response.status_code == 302 and response["Location"] == reverse("dossier:index") + "?page=2"


# --- `next` at the logins, the re-authentication and the agents' login --------------------------------------


@pytest.mark.parametrize("target", FOREIGN)
def test_the_patient_login_ignores_a_foreign_next(client, personas, mailoutbox, target):
    url = f"{reverse('accounts:login')}?next={quote(target, safe='')}"
    response = client.post(url, {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    client.get(reverse("accounts:login_otp"))
    code = mailoutbox[-1].body.split("connexion à Mon espace santé : ")[1][:6]
    response = client.post(reverse("accounts:login_otp"), {"token": code})
    assert response.status_code == 302
    assert_stays_here(response["Location"])
    assert response["Location"] == reverse("accounts:dashboard")


def test_the_patient_login_follows_a_local_next(client, personas, mailoutbox):
    url = f"{reverse('accounts:login')}?next={quote(reverse('dossier:index'))}"
    client.post(url, {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD})
    client.get(reverse("accounts:login_otp"))
    code = mailoutbox[-1].body.split("connexion à Mon espace santé : ")[1][:6]
    assert client.post(reverse("accounts:login_otp"), {"token": code})["Location"] == reverse("dossier:index")


@pytest.mark.parametrize("target", FOREIGN)
def test_the_professional_login_ignores_a_foreign_next(client, personas, target):
    user = personas.dr_martin.user
    url = f"{reverse('accounts:pro_login')}?next={quote(target, safe='')}"
    assert client.post(url, {"identifiant": user.username, "password": DEMO_PASSWORD}).status_code == 302
    response = client.post(reverse("accounts:pro_login_otp"), {"token": totp_now(user)})
    assert response.status_code == 302
    assert_stays_here(response["Location"])
    assert response["Location"] == reverse("accounts:pro_home")


@pytest.mark.parametrize("target", FOREIGN)
def test_the_reauthentication_ignores_a_foreign_next(client, personas, mailoutbox, target):
    login_patient(client, "camille.lefevre", mailoutbox)
    url = f"{reverse('accounts:reauthenticate')}?next={quote(target, safe='')}"
    response = client.post(url, {"password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert_stays_here(response["Location"])
    client.get(url)  # sends the code
    token = mailoutbox[-1].body.split("Mon espace santé : ")[1][:6]
    response = client.post(url, {"token": token})
    assert response.status_code == 302
    assert_stays_here(response["Location"])
    assert response["Location"] == reverse("accounts:settings")


def test_the_reauthentication_follows_a_local_next(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    reauthenticate(client, personas.camille.user, mailoutbox, next_url=reverse("accounts:contact_change"))
    assert client.get(reverse("accounts:contact_change")).status_code == 200


@pytest.mark.parametrize("target", FOREIGN)
def test_the_agents_login_ignores_a_foreign_next(client, personas, target):
    user = personas.agent_cpam.user
    response = client.post(
        reverse("admin:login"),
        {"username": user.username, "password": DEMO_PASSWORD, "otp_token": totp_now(user), "next": target},
    )
    assert response.status_code == 302
    assert_stays_here(response["Location"])


def test_a_signed_in_professional_is_not_sent_away_either(client, personas):
    login_with_totp(client, personas.dr_martin.user, portal="pro")
    for target in FOREIGN:
        response = client.get(f"{reverse('accounts:pro_login')}?next={quote(target, safe='')}")
        assert response.status_code == 302
        assert_stays_here(response["Location"])


# --- Every redirect built from the request goes through the helper ------------------------------------------

APP_DIRS = ("accounts", "activation", "agenda", "catalogue", "dossier", "espace_sante", "messagerie", "profil")
REDIRECTS = {"redirect", "HttpResponseRedirect", "HttpResponsePermanentRedirect"}
HELPERS = {"safe_redirect_url", "next_url"}
# What carries data chosen by the client: the query string and form, headers, cookies, the session, the path.
REQUEST_DATA = {
    "GET",
    "POST",
    "COOKIES",
    "META",
    "headers",
    "session",
    "body",
    "path",
    "path_info",
    "get_full_path",
    "get_full_path_info",
    "build_absolute_uri",
}
HELPER_MODULE = Path("espace_sante/lib/redirects.py")


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _tainted(node: ast.AST, function: ast.AST | None, *, whole: bool = True, depth: int = 0) -> bool:
    """Does this expression carry request data that did not go through the helper? `whole`: the node is the
    target itself (or one branch of an `or` / `if` choosing it), not a part of it."""
    if isinstance(node, ast.Call) and _name(node.func) in HELPERS:
        return False
    if isinstance(node, ast.Attribute):
        if node.attr in REQUEST_DATA:
            return True
        # An attribute of an object (a saved row's public id): only request data reached directly counts.
        return isinstance(node.value, ast.Attribute | ast.Call | ast.Subscript) and _tainted(
            node.value, function, whole=False, depth=depth
        )
    if isinstance(node, ast.Name) and function is not None and depth < 5:
        arguments = function.args
        parameters = {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
        if whole and node.id in parameters:
            return True  # a target handed in from elsewhere: compute it with the helper right here
        for assigned in ast.walk(function):
            targets = []
            if isinstance(assigned, ast.Assign):
                targets = assigned.targets
            elif isinstance(assigned, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
                targets = [assigned.target]
            if any(isinstance(t, ast.Name) and t.id == node.id for t in targets):
                if assigned.value is not None and _tainted(assigned.value, function, whole=whole, depth=depth + 1):
                    return True
        return False
    keeps_whole = whole and isinstance(node, ast.BoolOp | ast.IfExp)
    return any(
        _tainted(child, function, whole=keeps_whole and child is not getattr(node, "test", None), depth=depth)
        for child in ast.iter_child_nodes(node)
    )


def unchecked_redirects(source: str, filename: str) -> list[str]:
    """Redirects (and Location headers) built from request data without the helper, and `next` read from the
    request anywhere but the helper."""
    tree = ast.parse(source)
    problems = []
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]

    def enclosing(node: ast.AST):
        inner = [f for f in functions if node in set(ast.walk(f))]
        return min(inner, key=lambda f: len(list(ast.walk(f)))) if inner else None

    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Call) and _name(node.func) in REDIRECTS:
            target = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "to"), None)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) and t.slice.value == "Location"
            for t in node.targets
        ):
            target = node.value
        if target is not None and _tainted(target, enclosing(node)):
            problems.append(f"{filename}:{node.lineno}: redirect built from the request without safe_redirect_url")
        reads_next = (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr in {"GET", "POST"}
            and isinstance(node.slice, ast.Constant)
            and node.slice.value == "next"
        ) or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"get", "getlist"}
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr in {"GET", "POST"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "next"
        )
        if reads_next and Path(filename) != HELPER_MODULE:
            problems.append(f"{filename}:{node.lineno}: `next` read from the request outside the helper")
    return problems


def test_the_check_catches_the_old_mistakes():
    old_middleware = "def m(request):\n    return redirect(request.get_full_path())\n"
    old_login = (
        "def v(request):\n"
        "    target = request.session.pop('login_next', None)\n"
        "    return redirect(target or 'home')\n"
    )
    old_reauth = "def v(request):\n    url = request.GET['next'] if ok(request) else '/'\n    return redirect(url)\n"
    handed_in = "def v(request, url):\n    return HttpResponseRedirect(url)\n"
    header = "def v(request):\n    response = HttpResponse()\n    response['Location'] = request.META['X']\n"
    for source in (old_middleware, old_login, old_reauth, handed_in, header):
        assert unchecked_redirects(source, "app/views.py"), source
    fixed = (
        "def v(request, conf):\n"
        "    target = next_url(request, fallback='home')\n"
        "    redirect(conf['landing'])\n"
        "    redirect(safe_redirect_url(request, request.get_full_path(), fallback='home'))\n"
        "    return redirect(target)\n"
    )
    assert unchecked_redirects(fixed, "app/views.py") == []


def test_every_redirect_taken_from_the_request_goes_through_the_helper():
    problems = []
    scanned = 0
    for directory in APP_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            scanned += 1
            problems += unchecked_redirects(path.read_text(), str(path.relative_to(ROOT)))
    assert scanned > 50
    assert problems == []
