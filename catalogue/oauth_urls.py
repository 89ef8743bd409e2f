"""/oauth/: the patient's consent page (ours) and django-oauth-toolkit's token and revocation endpoints.

Only these three: DOT's application-management and introspection views are not exposed.
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
]
