"""CORS as REF does it (README §1): every origin, method and header, with credentials."""

from django.http import HttpResponse


class CorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        origin = request.META.get("HTTP_ORIGIN")
        if request.method == "OPTIONS" and origin and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META:
            response = HttpResponse(status=200)
            response["Access-Control-Allow-Methods"] = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
            response["Access-Control-Allow-Headers"] = request.META.get(
                "HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "*"
            )
            response["Access-Control-Max-Age"] = "600"
        else:
            response = self.get_response(request)
        if origin:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Credentials"] = "true"
            response["Vary"] = "Origin"
        return response


class ProcessIdMiddleware:
    """Adds ``X-Served-By: <pid>`` when OPENINTENT_EXPOSE_PROCESS_ID is on, so tests can prove
    that concurrent requests really were spread over several server processes."""

    def __init__(self, get_response):
        import os

        from django.conf import settings
        from django.core.exceptions import MiddlewareNotUsed

        if not getattr(settings, "OPENINTENT_EXPOSE_PROCESS_ID", False):
            raise MiddlewareNotUsed
        self.pid = str(os.getpid())
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Served-By"] = self.pid
        return response
