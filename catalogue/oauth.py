"""OAuth 2.0 for connected services (django-oauth-toolkit): the validator and the patient's consent page.

Flow: the service sends the patient to /oauth/authorize/ (authorization code + PKCE S256, `aud` naming the
FHIR base URL). The patient (or a representative, for the profile selected in the header) ticks the
purposes they accept; the connection is saved and the code is issued for what the consent covers of the
requested scopes (SMART App Launch 2 or the catalogue's own, see catalogue/smart.py), the data scopes behind
them, and `connection:<public_id>`, which every token derived from it carries: the API finds the patient
through it. The token response names the patient (`patient`) and lists the client's scopes only; with
`openid` it carries an ID token (RS256) whose `sub` is pairwise and whose `fhirUser` is the Patient.

Confidential clients authenticate with a signed JWT (private_key_jwt, catalogue/client_assertion.py);
nobody authenticates with a client secret.

Establishments' and professionals' software clients (accounts.SoftwareClient, issue 17) use the same token
endpoint with the client credentials grant only (their Application allows no other; a service's allows no
client credentials): private_key_jwt, the system scopes of accounts/software.py, no refresh token, and the
stored scope carries `software:<public_id>`, the FHIR authenticator's way back to the software client.
"""

import uuid
from urllib.parse import urlparse

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import get_grant_model
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError

from accounts import software
from accounts.models import SoftwareClient
from catalogue import client_assertion, services, smart
from catalogue.enums import Scope
from catalogue.forms import PurposesForm
from catalogue.models import Service
from espace_sante.access import policy
from espace_sante.access.decorators import patient_required

CONNECTION_PREFIX = smart.CONNECTION_PREFIX
Grant = get_grant_model()


def pairwise_subject(service: Service, user) -> str:
    """The ID token's `sub`: stable for one person and one service, unrelated across services, and neither
    the NIR, the e-mail nor a database id."""
    return str(uuid.uuid5(service.public_id, str(user.public_id)))


class CatalogueOAuth2Validator(OAuth2Validator):
    """Scopes: SMART scopes and the data scopes this service's purposes use, plus the connection tag set by
    the consent page. Clients: public (PKCE) or private_key_jwt, never a secret."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "fhirUser": smart.FHIR_USER}

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        holder = getattr(request, "key_holder", None)
        if isinstance(holder, SoftwareClient):
            return self._validate_software_scopes(holder, scopes, request)
        tags = [scope for scope in scopes if smart.is_tag(scope)]
        data_scopes = [scope for scope in scopes if scope in Scope.values]
        if not super().validate_scopes(client_id, data_scopes, client, request, *args, **kwargs):
            return False
        service = Service.objects.filter(oauth_client_id=getattr(client, "client_id", None)).first()
        if service is None:
            return False
        try:
            smart.check_requested(scopes, service.all_scopes)
        except smart.ScopeRefused as refused:
            raise InvalidScopeError(description=str(refused), request=request) from None
        expected = getattr(request, "catalogue_connection", None)
        if tags and (expected is None or tags != [f"{CONNECTION_PREFIX}{expected}"]):
            raise InvalidScopeError(description="connection:* scopes are reserved.", request=request)
        return True

    def _validate_software_scopes(self, holder: SoftwareClient, scopes, request) -> bool:
        """Client credentials for a software client: system scopes only; the binding tag is added here."""
        if request.grant_type != "client_credentials":
            return False
        if any(scope.startswith(software.SOFTWARE_PREFIX) for scope in scopes):
            raise InvalidScopeError(description="software:* scopes are reserved.", request=request)
        try:
            software.check_requested(scopes)
        except software.ScopeRefused as refused:
            raise InvalidScopeError(description=str(refused), request=request) from None
        request.scopes = [*dict.fromkeys(scopes), holder.scope_tag]
        return True

    # --- Client authentication: private_key_jwt for confidential clients, none for public ones -------------

    def client_authentication_required(self, request, *args, **kwargs):
        if client_assertion.is_present(request):
            return True
        return super().client_authentication_required(request, *args, **kwargs)

    def authenticate_client(self, request, *args, **kwargs):
        """A signed client assertion (RFC 7523), or nothing: client secrets are not accepted (a confidential
        client of ours has none; a public client sending one is refused rather than half-trusted)."""
        if not client_assertion.is_present(request):
            return False
        application = client_assertion.authenticate(request)
        if application is None:
            return False
        holder = getattr(request, "key_holder", None)
        if isinstance(holder, SoftwareClient) and not holder.usable:
            return False  # inactive software, establishment or professional: invalid_client
        request.client = application
        request.client_id = application.client_id
        return True

    # --- Token response: the client's SMART scopes and the patient in context ---------------------------

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        """A client refreshing with `scope=` (Authlib sends the scopes it was given) names its SMART scopes
        only: the data scopes and the connection tag behind them are carried over to the new tokens."""
        original = super().get_original_scopes(refresh_token, request, *args, **kwargs)
        asked = (request.scope or "").split()
        scopes = original.split() if isinstance(original, str) else list(original)
        if asked and (full := smart.narrowed(asked, scopes)) is not None:
            request.scope = full
        return original

    def save_bearer_token(self, token, request, *args, **kwargs):
        super().save_bearer_token(token, request, *args, **kwargs)
        connection = services.connection_from_scopes(request.scopes)
        token["scope"] = smart.client_scopes(token.get("scope", ""))
        if connection is not None:
            token["patient"] = str(connection.patient.public_id)

    def introspect_token(self, token, token_type_hint, request, *args, **kwargs):
        """RFC 7662, for the client the token was issued to only (others learn nothing: inactive)."""
        import hashlib

        from oauth2_provider.models import get_access_token_model

        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        access = get_access_token_model().objects.select_related("application").filter(token_checksum=checksum).first()
        if access is None or access.application_id != getattr(request.client, "pk", None) or access.is_expired():
            return None
        claims = {
            "scope": smart.client_scopes(access.scope),
            "client_id": access.application.client_id,
            "token_type": "Bearer",
            "exp": int(access.expires.timestamp()),
        }
        connection = services.connection_from_scopes(access.scope.split())
        if connection is not None and connection.is_active:
            claims["patient"] = str(connection.patient.public_id)
        elif connection is not None:
            return None
        return claims

    # --- OpenID Connect ---------------------------------------------------------------------------------

    def get_oidc_issuer_endpoint(self, request):
        return smart.issuer()

    def get_additional_claims(self, request):
        service = Service.objects.filter(oauth_client_id=getattr(request.client, "client_id", None)).first()
        claims = {}
        if service is not None:
            claims["sub"] = pairwise_subject(service, request.user)
        connection = services.connection_from_scopes(request.scopes)
        # fhirUser names the person who signed in: the Patient when they act for themself. A representative
        # acting for a child is not that Patient, and has no FHIR resource here: no fhirUser then.
        if connection is not None and connection.patient.user_id == request.user.pk:
            claims["fhirUser"] = f"{smart.fhir_base()}/Patient/{connection.patient.public_id}"
        return claims

    # RFC 6749 §4.1.2: a code is used once; when it is presented again, every token issued from it is revoked.
    # django-oauth-toolkit deletes the grant once exchanged, so the used code is remembered (as a checksum)
    # together with the refresh-token family it started.

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        if super().validate_code(client_id, code, client, request, *args, **kwargs):
            return True
        services.authorization_code_replay(code=code, client_id=client_id or getattr(client, "client_id", ""))
        return False

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous_refresh_token
        )
        request.catalogue_token_family = refresh_token.token_family
        return refresh_token

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        family = getattr(request, "catalogue_token_family", None)
        client_id = client_id or request.client.client_id
        deleted, _ = Grant.objects.filter(code=code, application=request.client).delete()
        recorded = deleted and services.authorization_code_use_record(
            code=code, client_id=client_id, scopes=request.scopes, token_family=family
        )
        if not recorded:  # two exchanges of one code at once: the second one finds the grant gone
            services.authorization_code_replay(code=code, client_id=client_id, extra_token_family=family)
            raise errors.InvalidGrantError(request=request)

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        if isinstance(getattr(request, "key_holder", None), SoftwareClient):
            return []  # a software client names its scopes (refused otherwise)
        service = Service.objects.filter(oauth_client_id=getattr(request.client, "client_id", None)).first()
        return sorted(service.all_scopes) if service is not None else []


@csrf_exempt  # client authentication in the body (private_key_jwt) or a public client_id: no cookies
@login_not_required
@require_POST
def introspect(request: HttpRequest) -> HttpResponse:
    """RFC 7662 token introspection, for the client the token was issued to (see introspect_token)."""
    core = get_oauthlib_core()
    uri, http_method, body, headers = core._extract_params(request)
    headers, body, status = core.server.create_introspect_response(uri, http_method, body, headers)
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return response


class _OAuth(OAuthLibMixin):
    """OAuthLibMixin's helpers (validate the request, issue the code) outside a class-based view."""


def _redirect(uri: str, application) -> HttpResponse:
    return OAuth2ResponseRedirect(uri, application.get_allowed_schemes())


def _error(request: HttpRequest, oauth: _OAuth, error: OAuthToolkitError, application=None) -> HttpResponse:
    redirect, response = oauth.error_response(error)
    if redirect and application is not None:
        return _redirect(response["url"], application)
    return render(
        request,
        "catalogue/authorize_error.html",
        {"error": response["error"]},
        status=response["error"].status_code,
    )


@patient_required
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """The consent page a connected service sends the patient to."""
    oauth = _OAuth()
    try:
        requested, credentials = oauth.validate_authorization_request(request)
        _require_s256(credentials)
        _require_audience(request, credentials)
    except OAuthToolkitError as error:
        application = _application_or_none(request, error)
        _refusal_for(request, error)
        return _error(request, oauth, error, application)
    service = Service.objects.filter(oauth_client_id=credentials["client_id"]).first()
    application = service.application if service else None
    patient = request.actor.acting_for
    if service is None or not service.is_online:
        return render(request, "catalogue/authorize_error.html", {"service": service}, status=403)
    existing = policy.connections_visible_to(request.actor, patient).filter(service=service).first()
    purposes = list(service.purposes.all())
    form = PurposesForm(request.POST or None, purposes=purposes, initial=_initial(existing, purposes, requested))
    if request.method == "POST":
        if "refuse" in request.POST:
            error = OAuthToolkitError(
                error=_access_denied(credentials.get("state")), redirect_uri=credentials["redirect_uri"]
            )
            return _error(request, oauth, error, application)
        if form.is_valid():
            try:
                # The consent and the code are one write: if the code cannot be issued, the consent is not
                # changed either (the request was validated whole above; this covers what oauthlib checks late).
                with transaction.atomic():
                    connection = services.connection_save(
                        service=service, patient=patient, purposes=form.accepted(), by=request.actor
                    )
                    granted = smart.grant(requested, connection.granted_scopes())
                    credentials["catalogue_connection"] = str(connection.public_id)
                    uri, _headers, _body, _status = oauth.create_authorization_response(
                        request=request,
                        scopes=granted.stored(connection.scope_tag),
                        credentials=credentials,
                        allow=True,
                    )
            except services.NotAllowed as error:
                messages.error(request, str(error))
            except OAuthToolkitError as error:
                return _error(request, oauth, error, application)
            else:
                return _redirect(uri, application)
    response = render(
        request,
        "catalogue/authorize.html",
        {
            "service": service,
            "form": form,
            "patient": patient,
            "existing": existing,
            "requested_labels": [Scope(scope).label for scope in sorted(smart.requested_data_scopes(requested))],
        },
    )
    # The consent form answers with a redirect to the service (validated redirect URI): CSP form-action
    # must allow that origin, or the browser blocks the redirect.
    target = urlparse(credentials["redirect_uri"])
    response._csp_update = {"form-action": [f"{target.scheme}://{target.netloc}"]}
    return response


def _require_s256(credentials: dict) -> None:
    """PKCE with S256 only (RFC 9700 §2.1.1): a "plain" challenge, or none given (which means "plain",
    RFC 7636 §4.3), is refused before the consent page is shown or anything is saved. django-oauth-toolkit
    refuses it too, but only when the code is created, after the consent was written."""
    if credentials.get("code_challenge_method") != "S256":
        raise OAuthToolkitError(
            error=InvalidRequestError(
                description='Unsupported "plain" code_challenge_method; use "S256".',
                state=credentials.get("state"),
            ),
            redirect_uri=credentials.get("redirect_uri"),
        )


def _require_audience(request: HttpRequest, credentials: dict) -> None:
    """SMART App Launch 2: `aud` names the FHIR server the token is for, so that a token obtained for
    another server's base URL is never issued here (and ours never there). Checked before the consent page."""
    if not smart.audience_matches(request.GET.get("aud", "")):
        raise OAuthToolkitError(
            error=InvalidRequestError(
                description=f'The "aud" parameter must be the FHIR base URL {smart.fhir_base()}.',
                state=credentials.get("state"),
            ),
            redirect_uri=credentials.get("redirect_uri"),
        )


def _initial(existing, purposes, requested) -> dict:
    if existing is not None:
        accepted = {purpose.pk for purpose in existing.purposes.all()}
    else:
        wanted = smart.requested_data_scopes(requested)
        accepted = {purpose.pk for purpose in purposes if set(purpose.scope_list) & wanted}
    return {"purposes": [str(pk) for pk in accepted]}


def _access_denied(state):
    from oauthlib.oauth2.rfc6749.errors import AccessDeniedError

    return AccessDeniedError(state=state)


def _application_or_none(request: HttpRequest, error: OAuthToolkitError):
    """The client, for an error that goes back to it: oauthlib raises a non-fatal error only once the
    client id and the redirect URI were checked (a fatal one is shown here, never redirected)."""
    from oauth2_provider.models import get_application_model

    if isinstance(error, FatalClientError):
        return None
    application = get_application_model().objects.filter(client_id=request.GET.get("client_id", "")).first()
    if application is None or not application.redirect_uri_allowed(error.oauthlib_error.redirect_uri or ""):
        return None
    return application


def _refusal_for(request: HttpRequest, error: OAuthToolkitError) -> None:
    """A refused authorization request is traced in the patient's history: an unknown or foreign scope, a
    wrong `aud`, a PKCE method other than S256, any other malformed request."""
    if isinstance(error, FatalClientError):
        return  # no client to speak of (unknown client_id, unregistered redirect URI): nothing to tie it to
    reason = {InvalidScopeError: "invalid_scope", InvalidRequestError: "invalid_request"}.get(
        type(error.oauthlib_error), "refused"
    )
    services.api_refusal_record(by=None, patient=request.actor.acting_for, reason=reason)
