"""Deployment: base.py refuses to start without its secrets, and docker-compose.yml matches the settings.

manage.py runs in subprocesses with an explicit environment, never this process's: pytest runs test.py,
which fills os.environ with the fixed public keys of espace_sante/settings/_fixed_keys.py, and those must
not reach a check that is about missing keys.
"""

import ast
import base64
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import yaml
from django.conf import settings
from django.urls import reverse
from psycopg import sql

from espace_sante.settings._fixed_keys import throwaway_rsa_key

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_DIR = ROOT / "espace_sante" / "settings"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ENV_EXAMPLE = (ROOT / "deploy" / "env.example").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()

DJANGO_SERVICES = ("web", "worker", "beat")
ENV_HELPERS = {"env_str", "env_int", "env_bool", "env_list", "env_secret"}
FRAMEWORK_VARIABLES = {"DJANGO_SETTINGS_MODULE"}  # read by Django itself, not by our settings
HOST = "monespacesante.example"
REQUIRED_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*):\?[^}]+\}")
# Why a command refused to run: an ImproperlyConfigured message, or a system-check message with its id.
REFUSAL = re.compile(r"ImproperlyConfigured: (?P<exception>.+)|\((?P<check>[a-z_]+\.[EW]\d+)\) (?P<message>.+)")


def settings_reads(path: Path) -> dict[str, str]:
    """{variable: helper} for every env_*("NAME", …) call in a settings module."""
    reads = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ENV_HELPERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            reads[node.args[0].value] = node.func.id
    return reads


BASE_READS = settings_reads(SETTINGS_DIR / "base.py")
READ_BY_SETTINGS = {name for path in SETTINGS_DIR.glob("*.py") for name in settings_reads(path)}
REQUIRED_SECRETS = sorted(name for name, helper in BASE_READS.items() if helper == "env_secret")


OIDC_KEY = throwaway_rsa_key()


def random_base64(size: int) -> str:
    return base64.b64encode(os.urandom(size)).decode()


def production_env(**overrides: str | None) -> dict[str, str]:
    """What a production container gets, with throw-away keys. An override of None removes a variable."""
    env = {
        # The virtualenv first: the compose commands call `python`, `gunicorn` and `celery` by name.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DJANGO_SETTINGS_MODULE": "espace_sante.settings.base",
        "ALLOWED_HOSTS": HOST,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATA_ENCRYPTION_KEYS": "k1:" + random_base64(32),
        "CODE_HASH_KEY": random_base64(32),
        "OIDC_RSA_PRIVATE_KEY": OIDC_KEY,
        # This run's Redis prefix, so that tests/conftest.py also removes what a subprocess leaves there.
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    }
    for name in ("DATABASE_URL", "REDIS_URL"):  # where this run's services are, when not the defaults
        if name in os.environ:
            env[name] = os.environ[name]
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def refusals(result: subprocess.CompletedProcess) -> str:
    """The reasons a command gave for refusing to run: exception messages and system-check messages."""
    lines = []
    for match in REFUSAL.finditer(result.stdout + result.stderr):
        lines.append(match["exception"] or f"({match['check']}) {match['message']}")
    return "\n".join(lines)


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return manage("check", "--deploy", "--fail-level", "WARNING", env=env)


# --- Production settings refuse to start when misconfigured -------------------------------------------


def test_base_requires_the_three_secrets():
    assert set(REQUIRED_SECRETS) >= {"SECRET_KEY", "DATA_ENCRYPTION_KEYS", "CODE_HASH_KEY"}


def test_check_deploy_passes_with_a_production_environment():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_secrets_can_come_from_files(tmp_path):
    """NAME_FILE names a file holding the secret (container secrets mounted under /run/secrets)."""
    env = production_env()
    for name in REQUIRED_SECRETS:
        path = tmp_path / name.lower()
        path.write_text(env.pop(name) + "\n")
        env[f"{name}_FILE"] = str(path)
    result = check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("value", [None, ""], ids=["missing", "empty"])
@pytest.mark.parametrize("name", REQUIRED_SECRETS)
def test_check_deploy_fails_without_a_secret(name, value):
    result = check_deploy(production_env(**{name: value}))
    assert result.returncode != 0
    assert name in refusals(result), result.stderr


MALFORMED = {
    "16-byte data key": ("DATA_ENCRYPTION_KEYS", "k1:" + random_base64(16)),
    "data key without id": ("DATA_ENCRYPTION_KEYS", random_base64(32)),
    "data key not base64": ("DATA_ENCRYPTION_KEYS", "k1:not base64!"),
    "data key id twice": ("DATA_ENCRYPTION_KEYS", f"k1:{random_base64(32)},k1:{random_base64(32)}"),
    "16-byte code hash key": ("CODE_HASH_KEY", random_base64(16)),
    "code hash key not base64": ("CODE_HASH_KEY", "not base64!"),
    "short secret key": ("SECRET_KEY", "too-short"),
    "negative proxy hops": ("TRUSTED_PROXY_HOPS", "-1"),
    "proxy hops not a number": ("TRUSTED_PROXY_HOPS", "un"),
    "OIDC key not a key": ("OIDC_RSA_PRIVATE_KEY", "pas une clé"),
    "OIDC key base64 of junk": ("OIDC_RSA_PRIVATE_KEY", random_base64(64)),
}


def test_the_oidc_key_may_be_one_line_of_base64():
    result = check_deploy(production_env(OIDC_RSA_PRIVATE_KEY=base64.b64encode(OIDC_KEY.encode()).decode()))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("name", "value"), MALFORMED.values(), ids=MALFORMED.keys())
def test_check_deploy_fails_with_a_malformed_secret(name, value):
    result = check_deploy(production_env(**{name: value}))
    assert result.returncode != 0
    assert name in refusals(result), result.stdout + result.stderr


def test_production_settings_enable_the_security_headers_and_cookies():
    names = [
        "DEBUG",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_REFERRER_POLICY",
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_PATH",
        "SESSION_COOKIE_DOMAIN",
        "CSRF_COOKIE_NAME",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_PATH",
        "CSRF_COOKIE_DOMAIN",
        "MIDDLEWARE",
        "CONTENT_SECURITY_POLICY",
    ]
    program = (
        "import json\nfrom django.conf import settings\n"
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}, default=repr))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded = yaml.safe_load(result.stdout)  # JSON is YAML

    assert loaded["DEBUG"] is False
    # preload (SECURE_HSTS_PRELOAD) is only accepted with a max-age of one year or more.
    assert loaded["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert loaded["SECURE_REFERRER_POLICY"] in {"no-referrer", "same-origin", "strict-origin"}
    # A browser only accepts a __Host- cookie that is Secure, for Path=/ and without a Domain.
    for cookie in ("SESSION", "CSRF"):
        assert loaded[f"{cookie}_COOKIE_NAME"].startswith("__Host-")
        assert loaded[f"{cookie}_COOKIE_SECURE"] is True
        assert loaded[f"{cookie}_COOKIE_PATH"] == "/"
        assert loaded[f"{cookie}_COOKIE_DOMAIN"] is None
    assert loaded["SESSION_COOKIE_HTTPONLY"] is True
    assert "csp.middleware.CSPMiddleware" in loaded["MIDDLEWARE"]
    directives = loaded["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert "csp.constants.NONCE" in directives["script-src"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


# --- The compose stack matches the settings ------------------------------------------------------------


def service_env(service: str) -> dict[str, str | None]:
    environment = COMPOSE["services"][service].get("environment", {})
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return environment


def test_compose_declares_the_stack():
    services = COMPOSE["services"]
    assert set(services) == {*DJANGO_SERVICES, "db", "redis"}
    assert services["db"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    web = " ".join(services["web"]["command"])
    steps = [
        "python manage.py migrate --noinput",
        "python manage.py collectstatic --noinput",
        "python manage.py check --deploy --database default",
        "gunicorn --config deploy/gunicorn.conf.py espace_sante.wsgi",
    ]
    positions = [web.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), web
    assert " ".join(services["worker"]["command"]).startswith("celery -A espace_sante worker")
    assert " ".join(services["beat"]["command"]).startswith("celery -A espace_sante beat")


def published_ports(compose: dict) -> dict[str, list[tuple[str | None, str]]]:
    """{service: [(host address or None, spec)]} for the `ports` of every service."""
    published = {}
    for name, service in compose["services"].items():
        assert service.get("network_mode") != "host", f"{name} would bypass the port bindings"
        for port in service.get("ports", []):
            if isinstance(port, dict):
                host_ip = port.get("host_ip")
            else:  # "127.0.0.1:8000:8000"; "8000:8000" and "8000" listen on every interface
                host_ip = str(port).rsplit(":", 2)[0] if str(port).count(":") == 2 else None
            published.setdefault(name, []).append((host_ip, str(port)))
    return published


@pytest.mark.parametrize(
    ("path", "expected"), [("docker-compose.yml", {"web"}), ("deploy/services.compose.yml", {"db", "redis"})]
)
def test_compose_publishes_ports_on_loopback_only(path, expected):
    published = published_ports(yaml.safe_load((ROOT / path).read_text()))
    assert set(published) == expected
    beyond_loopback = [spec for ports in published.values() for host_ip, spec in ports if host_ip != "127.0.0.1"]
    assert beyond_loopback == []


@pytest.mark.parametrize("service", DJANGO_SERVICES)
def test_compose_passes_only_variables_the_settings_read(service):
    assert "env_file" not in COMPOSE["services"][service], "declare variables under environment: so they are checked"
    allowed = READ_BY_SETTINGS | FRAMEWORK_VARIABLES | {f"{name}_FILE" for name in REQUIRED_SECRETS}
    assert set(service_env(service)) - allowed == set()


@pytest.mark.parametrize("service", DJANGO_SERVICES)
def test_compose_gives_every_secret_and_the_production_settings(service):
    env = service_env(service)
    assert env["DJANGO_SETTINGS_MODULE"] == "espace_sante.settings.base"
    for name in REQUIRED_SECRETS:
        passed = [key for key in (name, f"{name}_FILE") if key in env]
        assert passed, f"{service} does not receive {name}"
        for key in passed:
            # Interpolated and required: compose refuses to start without it, and no value is committed.
            match = REQUIRED_INTERPOLATION.fullmatch(str(env[key]))
            assert match and match["name"] == key, f"{service}: {key} must read ${{{key}:?message}}"
    # The database password is interpolated too: with it replaced, what remains holds no password.
    database_url = REQUIRED_INTERPOLATION.sub("INTERPOLATED", env["DATABASE_URL"])
    assert urlsplit(database_url).password == "INTERPOLATED", env["DATABASE_URL"]


@pytest.mark.parametrize("service", DJANGO_SERVICES)
def test_compose_requires_the_number_of_proxies_in_front(service):
    """Behind the host's proxy REMOTE_ADDR is the proxy for everyone: the stack does not start until the
    operator says how many proxies append to X-Forwarded-For (espace_sante/lib/client_address.py)."""
    match = REQUIRED_INTERPOLATION.fullmatch(str(service_env(service)["TRUSTED_PROXY_HOPS"]))
    assert match and match["name"] == "TRUSTED_PROXY_HOPS"
    assert re.search(r"^TRUSTED_PROXY_HOPS=$", ENV_EXAMPLE, flags=re.MULTILINE)


def test_env_example_documents_every_variable_and_commits_no_value():
    compose_text = (ROOT / "docker-compose.yml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", compose_text))
    passed = {name for service in DJANGO_SERVICES for name in service_env(service)}
    documented = set(re.findall(r"^#? ?([A-Z_][A-Z0-9_]*)=", ENV_EXAMPLE, flags=re.MULTILINE))
    assert (set(BASE_READS) | interpolated | passed) - documented == set()
    assignments = re.findall(r"^([A-Z_][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE, flags=re.MULTILINE)
    assert {name for name, _ in assignments} >= set(REQUIRED_SECRETS)
    assert [name for name, value in assignments if value] == []


def test_dockerfile_installs_the_locked_dependencies_as_a_non_root_user():
    assert DOCKERFILE.count("FROM ") == 1 and "FROM python:3.11-slim-bookworm" in DOCKERFILE
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core"):
        assert package in DOCKERFILE
    assert "pip install --require-hashes -r requirements/base.lock" in DOCKERFILE
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert "DJANGO_SETTINGS_MODULE=espace_sante.settings.base" in DOCKERFILE


# --- The web service's command, run as compose runs it (without Docker) -------------------------------


@pytest.fixture
def deploy_database_url():
    """A new, empty database on this run's PostgreSQL server, dropped afterwards."""
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/espace_sante"))
    name = f"{url.path.lstrip('/') or 'espace_sante'}_{secrets.token_hex(4)}"
    admin_url = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield urlunsplit(url._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the web command stopped (exit {process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.5)
        else:
            return
    pytest.fail(f"gunicorn did not listen within {timeout} s:\n{log.read_text()[-4000:]}")


def get(port: int, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


@pytest.mark.slow
def test_web_command_migrates_collects_checks_and_serves_secure_pages(deploy_database_url, tmp_path):
    """The `web` command of docker-compose.yml on a new database, then one page through gunicorn.

    collectstatic compresses the DSFR assets: this test takes about half a minute.
    """
    port = free_port()
    env = production_env(
        DATABASE_URL=deploy_database_url,
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        # Read by gunicorn, over deploy/gunicorn.conf.py: a free port on loopback, one worker.
        GUNICORN_CMD_ARGS=f"--bind 127.0.0.1:{port} --workers 1",
    )
    web = COMPOSE["services"]["web"]
    assert web["command"][:2] == ["sh", "-c"]
    log = tmp_path / "web.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            web["command"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_port(port, process, log)

        page = get(port, reverse("accounts:login"), {"Host": HOST, "X-Forwarded-Proto": "https"})
        assert page.status == 200, log.read_text()[-4000:]
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        assert page.headers["Referrer-Policy"] in {"no-referrer", "same-origin", "strict-origin"}
        csp = page.headers["Content-Security-Policy"]
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        cookies = SimpleCookie()
        for header in page.headers.get_all("Set-Cookie"):
            cookies.load(header)
        csrf = cookies["__Host-csrftoken"]
        assert csrf["secure"] and csrf["path"] == "/" and not csrf["domain"]

        plain = get(port, reverse("accounts:login"), {"Host": HOST})
        assert plain.status == 301
        assert plain.headers["Location"].startswith(f"https://{HOST}/")

        # The compose healthcheck, pointed at this port.
        healthcheck = web["healthcheck"]["test"]
        assert healthcheck[:3] == ["CMD", "python", "-c"]
        probe = healthcheck[3].replace("8000", str(port))
        assert subprocess.run([sys.executable, "-c", probe], env=env, timeout=30).returncode == 0
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    # The same start with another key: the data sealed by the first key cannot be opened, start refused.
    wrong_key = production_env(DATABASE_URL=deploy_database_url, DATA_ENCRYPTION_KEYS="k2:" + random_base64(32))
    result = manage("check", "--deploy", "--database", "default", env=wrong_key)
    assert result.returncode != 0
    assert "crypto.E003" in refusals(result) and "DATA_ENCRYPTION_KEYS" in refusals(result)


# --- gunicorn as deployed, with deploy/gunicorn.conf.py -----------------------------------------------------


def _gunicorn(env: dict[str, str], log: Path):
    port = free_port()
    env = {**env, "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port} --workers 1"}
    with log.open("w") as output:
        process = subprocess.Popen(
            ["gunicorn", "--config", "deploy/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, process, log)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory):
    """gunicorn started as the Dockerfile starts it (its config file), on a free loopback port, one worker,
    with the production settings. Nothing read here needs the database (the HTTPS redirect, the health page)."""
    yield from _gunicorn(production_env(), tmp_path_factory.mktemp("gunicorn") / "gunicorn.log")


@pytest.fixture(scope="module")
def gunicorn_test_settings_port(tmp_path_factory):
    """The same gunicorn with the test settings: pages render without collected static files."""
    env = production_env(DJANGO_SETTINGS_MODULE="espace_sante.settings.test")
    yield from _gunicorn(env, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log")


def raw_exchange(port: int, request: bytes, *, timeout: float = 10) -> bytes:
    """Send `request` as it is and read the whole answer (the server closes the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_gunicorn_does_not_name_itself(gunicorn_port):
    answers = [
        get(gunicorn_port, reverse("accounts:login"), {"Host": HOST}),  # the HTTPS redirect
        get(gunicorn_port, reverse("health"), {"Host": HOST, "X-Forwarded-Proto": "https"}),  # a view's answer
    ]
    assert answers[0].status == 301 and answers[1].status in {200, 503}
    for answer in answers:
        servers = answer.headers.get_all("Server") or []
        assert servers == ["espace-sante"], servers
        assert "X-Powered-By" not in answer.headers
    # An answer from gunicorn itself, before Django (a malformed request line).
    own = raw_exchange(gunicorn_port, b"NOT A REQUEST\r\n\r\n")
    assert own.startswith(b"HTTP/1.1 400")
    assert b"gunicorn" not in own.lower()


def test_gunicorn_refuses_a_huge_body_before_it_is_sent(gunicorn_test_settings_port):
    """Only the headers of a 100 MB upload are sent: the answer comes at once, so nothing waited for the body."""
    head = (
        f"POST {reverse('accounts:login')} HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    answer = raw_exchange(gunicorn_test_settings_port, head, timeout=20)
    assert time.monotonic() - started < 10
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"Envoi trop volumineux" in answer


def test_gunicorn_refuses_a_chunked_body(gunicorn_test_settings_port):
    head = (
        f"POST {reverse('accounts:login')} HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    answer = raw_exchange(gunicorn_test_settings_port, head + b"10\r\n" + b"x" * 16 + b"\r\n", timeout=20)
    assert answer.startswith(b"HTTP/1.1 411"), answer[:300]
