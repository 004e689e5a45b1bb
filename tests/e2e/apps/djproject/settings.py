"""Settings of the e2e Django project (``DJANGO_SETTINGS_MODULE=djproject.settings``)."""

from __future__ import annotations

import os

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
SECRET_KEY = "e2e-tests-only"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "djproject.urls"
INSTALLED_APPS = ["djproject.apps.E2EConfig"]
MIDDLEWARE = [
    "logmagic.web.django.TransactionMiddleware",
    "djproject.middleware.FailingMiddleware",
]
LOGMAGIC_MIDDLEWARE = {"inbound_headers": ["X-Txn-Id", "X-Request-Id"]}
USE_TZ = True

# As docs/web.md says: Django's default prints django.* records on stderr when DEBUG is on;
# runserver's django.server logger is taken over by capture() in apps.py.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"django": {"handlers": [], "level": "INFO"}},
}
