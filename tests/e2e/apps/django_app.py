"""A single-file Django project wrapped in logmagic's WSGI middleware, served by gunicorn.

``DEBUG_PROPAGATE_EXCEPTIONS`` lets an unhandled exception reach the middleware, which writes
the 500 page carrying the transaction id.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

import logmagic
import logmagic.web

settings.configure(
    DEBUG=False,
    DEBUG_PROPAGATE_EXCEPTIONS=True,
    SECRET_KEY="e2e-tests-only",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
    USE_TZ=True,
)

logmagic.configure(host=os.environ["APP_HOST"], env=True)
log = logmagic.local("e2e.django")


def ready(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ready")


def hello(request: HttpRequest) -> JsonResponse:
    request.account_id = "acct-django-7"  # type: ignore[attr-defined]  # as an auth middleware would
    log.info("django view", {"request": request})
    return JsonResponse({"app_txn_id": request.META.get("logmagic.txn_id"), "current": logmagic.current_txn_id()})


def boom(request: HttpRequest) -> HttpResponse:
    log.info("about to fail")
    raise RuntimeError("kaboom from the django view")


urlpatterns = [path("ready", ready), path("hello", hello), path("boom", boom)]

application = logmagic.web.WSGIMiddleware(get_wsgi_application())
