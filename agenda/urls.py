from django.urls import path

from agenda import views

app_name = "agenda"

urlpatterns = [
    path("", views.entry_list, name="index"),
    path("mois/", views.month, name="month"),
    path("semaine/", views.week, name="week"),
    path("rendez-vous/ajouter/", views.appointment_create, name="appointment_create"),
    path("rappels/ajouter/", views.reminder_create, name="reminder_create"),
    path("<uuid:public_id>/", views.entry_detail, name="entry_detail"),
    path("<uuid:public_id>/modifier/", views.entry_edit, name="entry_edit"),
    path("<uuid:public_id>/annuler/", views.entry_cancel, name="entry_cancel"),
    path("<uuid:public_id>/supprimer/", views.entry_delete, name="entry_delete"),
    path("<uuid:public_id>/agenda.ics", views.entry_ics, name="entry_ics"),
    path("export.ics", views.export_ics, name="export_ics"),
    path("reglages/", views.agenda_settings, name="settings"),
    path("abonnement/nouveau/", views.feed_renew, name="feed_renew"),
    path("abonnement/revoquer/", views.feed_revoke, name="feed_revoke"),
    path("abonnement/<str:token>.ics", views.feed, name="feed"),
    path("prevention/", views.prevention_list, name="prevention"),
    path("prevention/<uuid:patient_id>/<slug:code>/", views.prevention_item, name="prevention_item"),
]
