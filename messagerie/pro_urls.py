"""The professional side, included at /pro/messagerie/ by espace_sante/urls.py."""

from django.urls import path

from messagerie.views import pro

app_name = "messagerie_pro"

urlpatterns = [
    path("", pro.index, name="index"),
    path("nouveau/", pro.search, name="search"),
    path("nouveau/<uuid:public_id>/", pro.compose, name="compose"),
    path("<uuid:public_id>/", pro.conversation, name="conversation"),
    path("<uuid:public_id>/terminer/", pro.end, name="end"),
]
