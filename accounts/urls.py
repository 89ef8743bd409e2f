from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("connexion/", views.login_view, name="login"),
    path("connexion/verification/", views.login_otp, name="login_otp"),
    path("deconnexion/", views.logout_view, name="logout"),
    path("mot-de-passe/oublie/", views.password_reset, name="password_reset"),
    path("mot-de-passe/oublie/envoye/", views.password_reset_done, name="password_reset_done"),
    path("mot-de-passe/nouveau/<uidb64>/<token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("mot-de-passe/nouveau/termine/", views.password_reset_complete, name="password_reset_complete"),
    path("tableau-de-bord/", views.dashboard, name="dashboard"),
    path("parametres/", views.account_settings, name="settings"),
    path("parametres/mot-de-passe/", views.password_change, name="password_change"),
    path("parametres/mot-de-passe/modifie/", views.password_change_done, name="password_change_done"),
    path("parametres/application-authentification/", views.totp_setup, name="totp_setup"),
    path("parametres/confirmer-identite/", views.reauthenticate, name="reauthenticate"),
    path("parametres/coordonnees/", views.contact_change, name="contact_change"),
    path("parametres/coordonnees/confirmer-e-mail/", views.email_confirm, name="email_confirm"),
    path(
        "coordonnees/confirmer/<uuid:public_id>/<str:token>/",
        views.contact_change_link,
        name="contact_change_link",
    ),
    path("profil-actif/", views.switch_profile, name="switch_profile"),
    path("pro/connexion/", views.pro_login, name="pro_login"),
    path("pro/connexion/verification/", views.pro_login_otp, name="pro_login_otp"),
    path("pro/", views.pro_home, name="pro_home"),
]
