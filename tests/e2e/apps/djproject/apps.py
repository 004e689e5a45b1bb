"""The project's app: configures logmagic and captures ``logging`` once Django has set it up."""

from __future__ import annotations

import os

from django.apps import AppConfig

import logmagic
from logmagic.integrations import stdlib


class E2EConfig(AppConfig):
    name = "djproject"

    def ready(self) -> None:
        logmagic.configure(host=os.environ["APP_HOST"], env=True)
        stdlib.capture()
