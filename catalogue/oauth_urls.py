"""/oauth/: the patient's consent page and the introspection endpoint (ours), django-oauth-toolkit's token and
revocation endpoints and the JWKS of the ID tokens' key.

Only these: DOT's application-management, userinfo, logout and registration views are not exposed. The
discovery documents (/.well-known/...) are in espace_sante/urls.py, from catalogue/discovery.py.
"""

from django.urls import path
from oauth2_provider import views as dot

from catalogue import oauth

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", oauth.authorize, name="authorize"),
    # DOT marks both login_not_required and csrf_exempt (client credentials / PKCE, no cookies).
    path("token/", dot.TokenView.as_view(), name="token"),
    path("revoke_token/", dot.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", oauth.introspect, name="introspect"),
    path("jwks/", dot.JwksInfoView.as_view(), name="jwks-info"),
]
