"""OAuth 2.0 for connected services (django-oauth-toolkit): the validator and the patient's consent page.

Flow: the service sends the patient to /oauth/authorize/ (authorization code + PKCE). The patient (or a
representative, for the profile selected in the header) ticks the purposes they accept; the connection is
saved and the code is issued for the scopes of those purposes plus `connection:<public_id>`, which every
token derived from it carries: the API finds the patient through it.
"""

from urllib.parse import urlparse

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import get_grant_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError

from catalogue import services
from catalogue.enums import Scope
from catalogue.forms import PurposesForm
from catalogue.models import Service
from espace_sante.access import policy
from espace_sante.access.decorators import patient_required

CONNECTION_PREFIX = "connection:"
Grant = get_grant_model()


class CatalogueOAuth2Validator(OAuth2Validator):
    """Scopes: the data scopes this service's purposes use, plus the connection tag set by the consent page."""

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        tags = [scope for scope in scopes if scope.startswith(CONNECTION_PREFIX)]
        data_scopes = [scope for scope in scopes if not scope.startswith(CONNECTION_PREFIX)]
        if not super().validate_scopes(client_id, data_scopes, client, request, *args, **kwargs):
            return False
        service = Service.objects.filter(oauth_client_id=getattr(client, "client_id", None)).first()
        if service is None or not set(data_scopes) <= service.all_scopes:
            return False
        expected = getattr(request, "catalogue_connection", None)
        if tags:
            return expected is not None and tags == [f"{CONNECTION_PREFIX}{expected}"]
        return True

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
        service = Service.objects.filter(oauth_client_id=getattr(request.client, "client_id", None)).first()
        return sorted(service.all_scopes) if service is not None else []


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
                    scopes = sorted(connection.granted_scopes()) + [connection.scope_tag]
                    credentials["catalogue_connection"] = str(connection.public_id)
                    uri, _headers, _body, _status = oauth.create_authorization_response(
                        request=request, scopes=" ".join(scopes), credentials=credentials, allow=True
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
            "requested_labels": [Scope(scope).label for scope in requested if scope in Scope.values],
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


def _initial(existing, purposes, requested) -> dict:
    if existing is not None:
        accepted = {purpose.pk for purpose in existing.purposes.all()}
    else:
        accepted = {purpose.pk for purpose in purposes if set(purpose.scope_list) & set(requested)}
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
    """An unknown or foreign scope asked at the consent page is traced in the patient's history."""
    if isinstance(error.oauthlib_error, InvalidScopeError):
        services.api_refusal_record(by=None, patient=request.actor.acting_for, reason="invalid_scope")
