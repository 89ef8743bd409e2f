"""/api/v1/: the FHIR R4 server. A named route per registered resource type (`api:<Type>-type`,
`api:<Type>-instance`, `api:<Type>-search`), so that every resource is in the URL resolver's inventory."""

from django.urls import path, re_path

from espace_sante.fhir import views
from espace_sante.fhir.registry import resources

app_name = "api"


def _routes() -> list:
    routes = [path("metadata", views.metadata, name="metadata")]
    for name, resource in resources().items():
        kwargs = {"resource_type": name}
        searchable = "search-type" in resource.interactions
        if searchable:
            routes.append(path(f"{name}/_search", views.search_endpoint, kwargs, name=f"{name}-search"))
        routes.append(path(f"{name}/<str:resource_id>", views.instance_endpoint, kwargs, name=f"{name}-instance"))
        if searchable or "create" in resource.interactions:
            routes.append(path(name, views.type_endpoint, kwargs, name=f"{name}-type"))
    return routes + [re_path(r"^.*$", views.not_found, name="not_found")]


urlpatterns = _routes()
