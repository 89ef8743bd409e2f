"""private_key_jwt (RFC 7523 §2.2, SMART App Launch 2 "client-confidential-asymmetric").

A confidential service signs a short JWT with its private key instead of sending a secret: `iss` = `sub` =
its client_id, `aud` = our token endpoint (or the endpoint called: revocation, introspection), `exp` at most
five minutes ahead, a `jti` used once. Its public keys are the JWKS document registered for the service, or
fetched from its registered jwks_uri (short timeout, cached). RS256/RS384 and ES256/ES384 only.

The same check authenticates the establishments' and professionals' software clients (accounts.SoftwareClient,
client credentials grant): whoever holds the client_id, a Service or a SoftwareClient, registered the keys
(`oauth_jwks`, `oauth_jwks_uri`, the same fields on both). `request.key_holder` is set to it.
"""

import hashlib
import json
import logging
import time
from urllib.parse import urlsplit

from django.core.cache import cache
from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException

from catalogue import smart
from catalogue.models import Service

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS256", "RS384", "ES256", "ES384")
MAX_LIFETIME = 5 * 60
LEEWAY = 30
JWKS_TIMEOUT = 3
JWKS_CACHE_SECONDS = 10 * 60
MAX_ASSERTION_LENGTH = 8_000

log = logging.getLogger(__name__)


class Refused(Exception):
    pass


def is_present(request) -> bool:
    return bool(getattr(request, "client_assertion_type", None) or getattr(request, "client_assertion", None))


def authenticate(request):
    """The Application the assertion authenticates, or None (oauthlib answers invalid_client)."""
    try:
        return _authenticate(request)
    except Refused as refused:
        log.info("client assertion refused: %s", refused)
        return None


def _authenticate(request):
    from oauth2_provider.models import get_application_model

    if getattr(request, "client_assertion_type", None) != ASSERTION_TYPE:
        raise Refused("client_assertion_type")
    assertion = getattr(request, "client_assertion", None) or ""
    if not assertion or len(assertion) > MAX_ASSERTION_LENGTH:
        raise Refused("client_assertion missing or too long")
    try:
        token = jws.JWS()
        token.deserialize(assertion)
        header = token.jose_header
        claims = json.loads(token.objects["payload"])
    except (JWException, ValueError, KeyError, TypeError) as error:
        raise Refused("malformed") from error
    if not isinstance(header, dict) or header.get("alg") not in ALGORITHMS or not isinstance(claims, dict):
        raise Refused("algorithm")
    client_id = claims.get("iss")
    if not isinstance(client_id, str) or claims.get("sub") != client_id:
        raise Refused("iss/sub")
    given = getattr(request, "client_id", None)
    if given and given != client_id:
        raise Refused("client_id differs from iss")
    Application = get_application_model()
    application = Application.objects.filter(client_id=client_id).first()
    holder = key_holder(client_id)
    if application is None or holder is None or application.client_type != Application.CLIENT_CONFIDENTIAL:
        raise Refused("unknown or public client")
    keys = registered_keys(holder)
    verified = _verified_claims(assertion, keys, header["alg"])
    _check_claims(verified, request)
    _spend_jti(client_id, verified)
    request.key_holder = holder
    return application


def key_holder(client_id: str):
    """Who registered the client_id: a connected service, or a software client (accounts), or None."""
    from accounts.models import SoftwareClient

    service = Service.objects.filter(oauth_client_id=client_id).first()
    if service is not None:
        return service
    return (
        SoftwareClient.objects.select_related("establishment", "professional__user")
        .filter(oauth_client_id=client_id)
        .first()
    )


def registered_keys(holder) -> jwk.JWKSet:
    """The public keys registered for a service or a software client: its JWKS document, else the one at its
    jwks_uri."""
    document = holder.oauth_jwks
    if not document and holder.oauth_jwks_uri:
        document = _fetch_jwks(holder.oauth_jwks_uri)
    if not document:
        raise Refused("no keys registered")
    try:
        keys = jwk.JWKSet.from_json(json.dumps(document))
    except (JWException, ValueError, TypeError) as error:
        raise Refused("unreadable JWKS") from error
    if any(key.has_private for key in keys["keys"]):
        raise Refused("a private key was registered")
    return keys


def _fetch_jwks(uri: str) -> dict | None:
    import requests

    key = "catalogue:jwks:" + hashlib.sha256(uri.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        response = requests.get(
            uri, timeout=JWKS_TIMEOUT, allow_redirects=False, headers={"Accept": "application/json"}
        )
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise Refused("jwks_uri unreachable") from error
    if not isinstance(document, dict):
        raise Refused("jwks_uri is not a JWKS")
    cache.set(key, document, timeout=JWKS_CACHE_SECONDS)
    return document


def _verified_claims(assertion: str, keys: jwk.JWKSet, algorithm: str) -> dict:
    try:
        checked = jwt.JWT(jwt=assertion, key=keys, algs=[algorithm], check_claims=False, expected_type="JWS")
        return json.loads(checked.claims)
    except (JWException, ValueError, TypeError) as error:
        raise Refused("signature") from error


def _audiences(request) -> set[str]:
    called = smart.site() + urlsplit(request.uri or "").path
    return {smart.endpoint("token"), called}


def _check_claims(claims: dict, request) -> None:
    now = time.time()
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(value, str) and value in _audiences(request) for value in audiences):
        raise Refused("aud")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise Refused("exp missing")
    if exp <= now - LEEWAY or exp > now + MAX_LIFETIME + LEEWAY:
        raise Refused("exp out of range")
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if value is not None and (not isinstance(value, int | float) or value > now + LEEWAY):
            raise Refused(name)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise Refused("jti")


def _spend_jti(client_id: str, claims: dict) -> None:
    """A jti is accepted once (RFC 7523 §3, item 7): remembered in Redis until the assertion expires. Should
    Redis be away, `add` fails and so does the assertion (closed, not open)."""
    digest = hashlib.sha256(f"{client_id}\x00{claims['jti']}".encode()).hexdigest()
    timeout = max(int(claims["exp"] - time.time()) + LEEWAY + 1, 1)
    if not cache.add(f"catalogue:jti:{digest}", 1, timeout=timeout):
        raise Refused("jti already used")
