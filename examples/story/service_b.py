"""Service B, a backend (WSGI, Flask under gunicorn): authorizes charges, and has a bug."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request

import logmagic
import logmagic.web.flask

logmagic.configure(host=os.environ.get("SERVICE_HOST", "auth0.example"))
log = logmagic.local("story.auth.authorize")
app = Flask("auth")
logmagic.web.flask.init_app(app)  # the id on every record, and on the 500 of the bug below


@app.post("/authorize")
def authorize() -> dict[str, Any]:
    card = request.get_json()["card"]
    log.dbg("looking up card", {"request": request}, card_last4=card[-4:])
    limits = {"4242": 1000}
    return {"authorized": request.get_json()["amount"] <= limits[card[-4:]]}  # KeyError on unknown cards
