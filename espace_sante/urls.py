from django.contrib import admin
from django.urls import include, path, re_path

from catalogue import discovery
from dossier.views import pro, share
from espace_sante import views
from espace_sante.fhir import views as fhir_views
from profil import views as profil_views

urlpatterns = [
    path("", views.home, name="home"),
    path("sante/", views.health, name="health"),
    path("", include("accounts.urls")),
    path("activation/", include("activation.urls")),
    path("documents/", include("dossier.urls")),
    path("profil-medical/", include("profil.urls")),
    path("messagerie/", include("messagerie.urls")),
    path("agenda/", include("agenda.urls")),
    path("catalogue/", include("catalogue.urls")),
    # OAuth 2.0 for connected services: our consent page + DOT's token and revocation endpoints
    path("oauth/", include("catalogue.oauth_urls")),
    # Discovery (SMART App Launch 2, RFC 8414, OpenID Connect): public metadata, one source (catalogue/discovery.py)
    path(".well-known/smart-configuration", discovery.smart_configuration, name="smart_configuration"),
    path("api/v1/.well-known/smart-configuration", discovery.smart_configuration, name="smart_configuration_fhir"),
    path(".well-known/oauth-authorization-server", discovery.oauth_authorization_server, name="oauth_metadata"),
    path(".well-known/openid-configuration", discovery.openid_configuration, name="openid_configuration"),
    path("api/v1/", include("espace_sante.fhir.urls")),
    re_path(r"^api/", fhir_views.not_found),
    path("pro/patients/", pro.patient_search, name="pro_search"),
    path("pro/patients/<uuid:public_id>/", pro.patient_record, name="pro_record"),
    path("pro/patients/<uuid:public_id>/acces/", pro.access_request, name="pro_access_request"),
    path("pro/patients/<uuid:public_id>/consentement/", pro.declare_consent, name="pro_consent"),
    path("pro/patients/<uuid:public_id>/urgence/", pro.emergency_access, name="pro_emergency"),
    path("pro/patients/<uuid:public_id>/ajouter/", pro.add_document, name="pro_add_document"),
    path("pro/documents/<uuid:public_id>/", pro.document, name="pro_document"),
    # --- professional side of the apps (each app adds its own pro URLs here) ---
    # messagerie pro URLs
    path("pro/messagerie/", include("messagerie.pro_urls")),
    # profil pro URLs
    path("pro/patients/<uuid:public_id>/profil/", profil_views.pro_profile, name="pro_profil"),
    path("partage/<str:token>/", share.share_page, name="share_open"),
    path("partage/<str:token>/fichier/", share.share_file, name="share_file"),
    path("admin/", admin.site.urls),
]

handler400 = "espace_sante.views.error_400"
handler403 = "espace_sante.views.error_403"
handler404 = "espace_sante.views.error_404"
handler500 = "espace_sante.views.error_500"
