"""The portal as deployed: gunicorn (deploy/gunicorn.conf.py) behind a forwarding reverse proxy.

No proxy binary is installed here, so the proxy is a small `http.server` that does what the host's nginx
does with `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`: it forwards every request to
gunicorn from its own address and appends the address it received the request from to X-Forwarded-For,
after whatever the client wrote there. Clients connect from distinct loopback addresses (127.0.0.x), so the
proxy sees them as distinct clients, as it would on the Internet; gunicorn sees 127.0.0.1 for all of them.

gunicorn runs the test settings (fixed keys, fast hasher, mails kept in memory) on this test's database,
with TRUSTED_PROXY_HOPS=1 as docker-compose.yml asks for behind the host's proxy.
"""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD, seed
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent.parent
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def forwarding_proxy(upstream_port: int) -> ThreadingHTTPServer:
    class Forward(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"x-forwarded-for"}}
            prior = self.headers.get("X-Forwarded-For")
            peer = self.client_address[0]
            headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer  # $proxy_add_x_forwarded_for
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                content = response.read()
            finally:
                upstream.close()
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_POST = do_GET

        def log_message(self, *args) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Forward)


@pytest.fixture
def portal_behind_proxy(transactional_db, tmp_path):
    """(proxy port): gunicorn behind the forwarding proxy, on this test's (committed) database."""
    seed()
    database = connection.settings_dict
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/espace_sante"))
    port = free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DJANGO_SETTINGS_MODULE": "espace_sante.settings.test",
        "DATABASE_URL": urlunsplit(url._replace(path=f"/{database['NAME']}")),
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],  # tests/conftest.py cleans it
        "MEDIA_ROOT": str(tmp_path / "media"),
        "TRUSTED_PROXY_HOPS": "1",
    }
    if "REDIS_URL" in os.environ:
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py"]
            + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-tmp-dir", str(tmp_path)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proxy = forwarding_proxy(port)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            assert gunicorn.poll() is None, log.read_text()[-4000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-4000:]
                time.sleep(0.3)
        yield proxy.server_address[1]
    finally:
        proxy.shutdown()
        proxy.server_close()
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)


class Browser:
    """A client at one address, through the proxy."""

    def __init__(self, proxy_port: int, address: str) -> None:
        self.proxy_port, self.address, self.cookies = proxy_port, address, {}

    def request(self, method: str, path: str, *, data: dict | None = None, forged: str = ""):
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.proxy_port, source_address=(self.address, 0), timeout=30
        )
        headers = {"Host": "localhost"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if forged:
            headers["X-Forwarded-For"] = forged
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            page = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response, page

    def login(self, identifiant: str, password: str, *, url: str = "accounts:login", forged: str = ""):
        _, form = self.request("GET", reverse(url))
        token = CSRF_FIELD.search(form)[1]
        data = {"csrfmiddlewaretoken": token, "identifiant": identifiant, "password": password}
        return self.request("POST", reverse(url), data=data, forged=forged)


def test_behind_the_proxy_clients_are_throttled_apart_and_cannot_choose_their_address(portal_behind_proxy):
    proxy = portal_behind_proxy
    # 35 clients fail once each: behind the proxy they used to share one bucket, locked after 31.
    for i in range(35):
        _, page = Browser(proxy, f"127.0.0.{10 + i}").login(f"inconnu.{i}", "Pas-le-bon-1!")
        assert "Identifiant ou mot de passe incorrect." in page, i
    response, _ = Browser(proxy, "127.0.0.100").login("camille.lefevre", DEMO_PASSWORD)
    assert response.status == 302 and response.getheader("Location") == reverse("accounts:login_otp")

    # A client writing a new address in X-Forwarded-For each time is still one client: slowed down.
    forger = Browser(proxy, "127.0.0.200")
    pages = [forger.login(f"autre.{i}", "Pas-le-bon-1!", forged=f"203.0.113.{i + 1}")[1] for i in range(32)]
    assert "Trop de tentatives de connexion" not in pages[0]
    assert "Trop de tentatives de connexion" in pages[-1]
    # Its neighbour behind the same proxy is not.
    response, _ = Browser(proxy, "127.0.0.201").login("dr.martin", DEMO_PASSWORD, url="accounts:pro_login")
    assert response.status == 302 and response.getheader("Location") == reverse("accounts:pro_login_otp")

    # The audit trail names each client by the address the proxy saw: not the proxy, not the forgeries.
    failed = set(AuditEvent.objects.filter(action=Action.LOGIN_FAILED).values_list("ip_address", flat=True))
    assert failed == {f"127.0.0.{10 + i}" for i in range(35)} | {"127.0.0.200"}
