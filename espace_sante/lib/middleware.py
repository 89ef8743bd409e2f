from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """Anything served to a signed-in person is personal: never cached by browsers or proxies."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        elif "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        response.headers.pop("Server", None)
        return response
