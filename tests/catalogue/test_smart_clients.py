"""Standard clients out of the box: Authlib, an independent OAuth 2.0 / OpenID Connect client, against the
portal over HTTP (live server, real PostgreSQL and Redis).

A public SMART app (PKCE S256) discovers the server from [FHIR base]/.well-known/smart-configuration, gets
tokens with the patient in context and its SMART scopes, verifies the ID token against the published JWKS,
refreshes, introspects and revokes. A confidential one authenticates with private_key_jwt (Authlib's
PrivateKeyJWT, RS256 from a registered JWKS document, ES256 from a jwks_uri served locally); a replayed,
long-lived, foreign-audience or unregistered-key assertion is refused. The patient's consent is given
in-process with Django's test client, as a browser would, on the page the app sent them to.
"""

import http.server
import json
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from catalogue.oauth_clients import ClientSettings, oauth_client_set
from tests.catalogue.helpers import REDIRECT_URI, make_service, purpose_ids

SCOPE = "launch/patient openid fhirUser offline_access patient/Patient.rs patient/Observation.rs patient/Observation.c"
LABELS = ("Consulter mes mesures", "Importer mes mesures")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class SmartPrivateKeyJWT(PrivateKeyJWT):
    """SMART wants client assertions that expire within five minutes; Authlib signs for an hour by default."""

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            alg=self.alg,
            header=dict(self.headers or {}),
            expires_in=300,
        )


@pytest.fixture
def site(live_server, settings):
    """The live server is the site: SITE_URL (aud, endpoints, issuer) and the OIDC issuer follow it."""
    settings.SITE_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    yield live_server.url
    # The server's request threads close their database connection once the client hung up: wait for them,
    # or the test database cannot be dropped when the run ends right after this test.
    from django.db import connection

    for _ in range(50):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                break
        time.sleep(0.1)


@pytest.fixture
def sessions(site):
    """Authlib sessions, closed at the end: a kept-alive connection would keep a live-server thread, and its
    database connection, open past the test."""
    opened = []

    def open_session(*args, **kwargs) -> OAuth2Session:
        opened.append(OAuth2Session(*args, **kwargs))
        return opened[-1]

    yield open_session
    for session in opened:
        session.close()


@pytest.fixture
def camille_browser(personas, client, session_as):
    session_as(client, "camille")
    return client


def _configuration(site: str) -> dict:
    response = requests.get(f"{site}/api/v1/.well-known/smart-configuration", timeout=10)
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    return response.json()


def _authorize(browser, oauth: OAuth2Session, config: dict, site: str, service, **extra) -> dict:
    """The app sends the patient to the consent page; they accept; the app exchanges the code."""
    verifier = generate_token(48)
    uri, state = oauth.create_authorization_url(
        config["authorization_endpoint"], code_verifier=verifier, aud=f"{site}/api/v1", **extra
    )
    parts = urlsplit(uri)
    local = f"{parts.path}?{parts.query}"
    assert browser.get(local).status_code == 200
    response = browser.post(local, {"purposes": purpose_ids(service, *LABELS), "allow": "1"})
    assert response.status_code == 302, response.content.decode()[:500]
    return oauth.fetch_token(
        config["token_endpoint"], authorization_response=response["Location"], state=state, code_verifier=verifier
    )


def _verified_id_token(config: dict, id_token: str, *, client_id: str, nonce: str) -> dict:
    keys = KeySet.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(id_token, keys, algorithms=["RS256"])
    assert decoded.header["alg"] == "RS256"
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": config["issuer"]},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
    ).validate(decoded.claims)
    return decoded.claims


def test_a_public_smart_app_gets_tokens_an_id_token_refreshes_and_revokes(site, personas, camille_browser, sessions):
    service = make_service()
    config = _configuration(site)
    assert config["issuer"] == site and config["token_endpoint"] == f"{site}/oauth/token/"
    oauth = sessions(
        service.oauth_client_id,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    token = _authorize(camille_browser, oauth, config, site, service, nonce="n-0S6_WzA2Mj")
    patient = str(personas.camille.public_id)
    assert token["patient"] == patient
    assert set(token["scope"].split()) == set(SCOPE.split())
    claims = _verified_id_token(config, token["id_token"], client_id=service.oauth_client_id, nonce="n-0S6_WzA2Mj")
    assert claims["fhirUser"] == f"{site}/api/v1/Patient/{patient}"
    assert claims["sub"] not in (personas.camille.nir, personas.camille.user.email)

    assert oauth.get(f"{site}/api/v1/Observation", timeout=10).status_code == 200
    introspected = oauth.introspect_token(config["introspection_endpoint"], token=token["access_token"]).json()
    assert introspected["active"] is True and introspected["patient"] == patient
    assert "connection:" not in introspected["scope"]

    refreshed = oauth.refresh_token(config["token_endpoint"])
    assert refreshed["patient"] == patient and set(refreshed["scope"].split()) == set(SCOPE.split())
    assert oauth.get(f"{site}/api/v1/Observation", timeout=10).status_code == 200

    revoked = oauth.revoke_token(
        config["revocation_endpoint"], token=refreshed["refresh_token"], token_type_hint="refresh_token"
    )
    assert revoked.status_code == 200
    with pytest.raises(OAuthError) as refused:
        oauth.refresh_token(config["token_endpoint"], refresh_token=refreshed["refresh_token"])
    assert refused.value.error == "invalid_grant"
    oauth.revoke_token(config["revocation_endpoint"], token=refreshed["access_token"], token_type_hint="access_token")
    assert oauth.get(f"{site}/api/v1/Observation", timeout=10).status_code == 401
    assert not oauth.introspect_token(config["introspection_endpoint"], token=refreshed["access_token"]).json()[
        "active"
    ]


def _refresh_with(config: dict, client_id: str, refresh_token: str, assertion: str | None) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if assertion is None:
        data["client_id"] = client_id
    else:
        data.update(client_assertion_type=ASSERTION_TYPE, client_assertion=assertion)
    return requests.post(config["token_endpoint"], data=data, timeout=10)


def test_a_confidential_client_authenticates_with_private_key_jwt(site, personas, camille_browser, sessions):
    key = RSAKey.generate_key(2048, parameters={"kid": "cle-1"}, private=True)
    service = make_service()
    oauth_client_set(
        service=service,
        settings=ClientSettings(
            confidential=True, redirect_uris=[REDIRECT_URI], jwks={"keys": [key.as_dict(private=False)]}
        ),
        by=None,
    )
    service.refresh_from_db()
    client_id = service.oauth_client_id
    config = _configuration(site)
    oauth = sessions(
        client_id,
        key,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method=SmartPrivateKeyJWT(alg="RS256", headers={"kid": "cle-1"}),
        revocation_endpoint_auth_method=SmartPrivateKeyJWT(alg="RS256", headers={"kid": "cle-1"}),
    )
    token = _authorize(camille_browser, oauth, config, site, service, nonce="n-1")
    assert token["patient"] == str(personas.camille.public_id) and token["id_token"]
    assert oauth.get(f"{site}/api/v1/Observation", timeout=10).status_code == 200
    token = oauth.refresh_token(config["token_endpoint"])

    # Without an assertion, with Authlib's default hour-long assertion, for another audience, signed with a
    # key nobody registered, or replayed: invalid_client, and the refresh token still works afterwards.
    endpoint = config["token_endpoint"]
    stranger = RSAKey.generate_key(2048, parameters={"kid": "cle-1"}, private=True)
    now = int(time.time())
    refused = {
        "no assertion": None,
        "an hour long": private_key_jwt_sign(key, client_id, endpoint, header={"kid": "cle-1"}),
        "another audience": private_key_jwt_sign(key, client_id, "https://autre.example/token", expires_in=300),
        "unregistered key": private_key_jwt_sign(stranger, client_id, endpoint, expires_in=300),
        "iss is not the client": private_key_jwt_sign(key, "autre-client", endpoint, expires_in=300),
        "expired": private_key_jwt_sign(key, client_id, endpoint, issued_at=now - 900, expires_at=now - 600),
        "RS512, not offered": private_key_jwt_sign(key, client_id, endpoint, expires_in=300, alg="RS512"),
    }
    for reason, assertion in refused.items():
        response = _refresh_with(config, client_id, token["refresh_token"], assertion)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client", reason
    once = private_key_jwt_sign(key, client_id, endpoint, expires_in=300, claims={"jti": generate_token(24)})
    first = _refresh_with(config, client_id, token["refresh_token"], once)
    assert first.status_code == 200, first.content
    replay = _refresh_with(config, client_id, first.json()["refresh_token"], once)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"

    # Revocation authenticates the same way (the assertion's audience is the revocation endpoint).
    oauth.token = first.json()
    assert (
        oauth.revoke_token(
            config["revocation_endpoint"], token=first.json()["refresh_token"], token_type_hint="refresh_token"
        ).status_code
        == 200
    )
    with pytest.raises(OAuthError):
        oauth.refresh_token(config["token_endpoint"], refresh_token=first.json()["refresh_token"])


class _JwksHandler(http.server.BaseHTTPRequestHandler):
    document: bytes = b""
    hits = 0

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *args):
        pass


@pytest.fixture
def jwks_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _JwksHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_confidential_client_with_an_es256_key_at_its_jwks_uri(
    site, personas, camille_browser, jwks_server, sessions
):
    key = ECKey.generate_key("P-256", parameters={"kid": "ec-1"}, private=True)
    _JwksHandler.document = json.dumps({"keys": [key.as_dict(private=False)]}).encode()
    _JwksHandler.hits = 0
    service = make_service()
    oauth_client_set(
        service=service,
        settings=ClientSettings(
            confidential=True,
            redirect_uris=[REDIRECT_URI],
            jwks_uri=f"http://127.0.0.1:{jwks_server.server_port}/jwks.json",
        ),
        by=None,
    )
    service.refresh_from_db()
    oauth = sessions(
        service.oauth_client_id,
        key,
        scope="launch/patient patient/Observation.rs",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method=SmartPrivateKeyJWT(alg="ES256"),
    )
    config = _configuration(site)
    token = _authorize(camille_browser, oauth, config, site, service)
    assert token["scope"] == "launch/patient patient/Observation.rs"
    oauth.refresh_token(config["token_endpoint"])
    assert _JwksHandler.hits == 1  # fetched once, then cached
