"""`/up`: the load balancer's health check.

It is a middleware, first in MIDDLEWARE, so it answers before Django validates the Host
header (the ALB's checks carry the task's private IP as Host) and before the HTTPS
redirect (the checks use plain HTTP): the ALB gets 200, never a 400 or a 301.
"""

import logging
from collections.abc import Callable

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse

PATH = "/up"
logger = logging.getLogger(__name__)


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != PATH:
            return self.get_response(request)
        return check_database()


def check_database() -> HttpResponse:
    """200 "ok" when `SELECT 1` runs; 503 with a short reason when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The details (host, error code) go to the log, not to whoever asks.
        logger.warning("health check: database unreachable: %s", exc)
        return _plain(f"database unreachable ({type(exc).__name__})", status=503)
    return _plain("ok", status=200)


def _plain(text: str, status: int) -> HttpResponse:
    response = HttpResponse(f"{text}\n", status=status, content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response
