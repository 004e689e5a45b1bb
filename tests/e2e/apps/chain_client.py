"""The caller of the four-process chain test: starts a trace of its own (the W3C
``traceparent`` it sends) and a transaction, logs, calls the FastAPI edge with logmagic's
httpx hook, logs again. Prints the txnId and the trace id it used."""

from __future__ import annotations

import json
import os
import sys

import httpx

import logmagic
import logmagic.web

logmagic.configure(host=os.environ["APP_HOST"], env=True)
log = logmagic.local("chain.client")

trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
with logmagic.transaction() as txn_id, logmagic.context(trace_id=trace_id, span_id=span_id):
    log.info("ordering")
    with httpx.Client(event_hooks={"request": [logmagic.web.httpx_hook]}) as client:
        response = client.post(f"{sys.argv[1]}/orders", headers={"traceparent": f"00-{trace_id}-{span_id}-01"})
    log.info("ordered", status=response.status_code, task=response.json()["task"])
print(json.dumps({"txnId": txn_id, "trace_id": trace_id, "task": response.json()["task"]}))
