"""A small Django project with logmagic's ``TransactionMiddleware``, for the end-to-end tests.

It is set up as docs/web.md says: the middleware first in ``MIDDLEWARE``, Django's own
``logging`` handlers left out in ``LOGGING``, and ``logging`` captured in ``AppConfig.ready()``.
``DJANGO_DEBUG=1`` turns ``DEBUG`` on.
"""
