"""One request through four processes: a client calls a FastAPI service (uvicorn), which calls
a Flask service (gunicorn) over httpx, which publishes a Celery task run by a real worker on a
real redis-server. One txnId and one trace id are on every record of the request, in all four
processes' logs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.jobqueues import Worker, redis_server, start_worker, worker_env
from tests.e2e.servers import Server, gunicorn, read_gelf, server_env, uvicorn

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Worker, Server, Server]]:
    workdir = tmp_path_factory.mktemp("chain")
    with redis_server(workdir / "redis") as broker:
        argv = [
            sys.executable, "-m", "celery", "-A", "celery_app", "worker", "-P", "solo", "-l", "INFO",
            "-n", "chain@e2e", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        worker = start_worker("worker", argv, workdir, worker_env("worker-host", CELERY_BROKER_URL=broker), broker)
        flask = api = None
        try:
            worker.wait_for(lambda r: r.get("_facility") == "celery.apps.worker" and "ready" in r["short_message"])
            flask = gunicorn("flask", "chain_flask:app", workdir, "flask-host", workers=1, CELERY_BROKER_URL=broker)
            api = uvicorn("api", "chain_api:app", workdir, "api-host", FLASK_URL=flask.url)
            yield workdir, worker, flask, api
        finally:
            for server in (api, flask):
                if server is not None:
                    server.stop()
            worker.stop()


def test_one_txn_id_and_one_trace_id_on_every_record_of_all_four_processes(
    chain: tuple[Path, Worker, Server, Server],
) -> None:
    workdir, worker, flask, api = chain
    client_log = workdir / "client.log"
    env = server_env("client-host", client_log)
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "apps" / "chain_client.py"), api.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    sent = json.loads(done.stdout)
    txn_id, trace_id, task = sent["txnId"], sent["trace_id"], sent["task"]

    worker_records = worker.wait_for(lambda r: r.get("_celeryTaskId") == task and r.get("short_message") == "work")
    api.wait_for(lambda r: r.get("_facility") == "logmagic.access")
    flask.wait_for(lambda r: r.get("_facility") == "logmagic.access")
    worker.wait_for(lambda r: r.get("_celeryTaskId") == task and "succeeded" in r.get("short_message", ""))

    logs = {
        "client": read_gelf(client_log),
        # The readiness probes of the test's start-up are requests of their own.
        "api": [r for r in api.records() if r.get("_path") != "/ready"],
        "flask": [r for r in flask.records() if r.get("_path") != "/ready"],
        # The worker's own start-up records are not records of the request; Celery's "received"
        # record, written before the task runs, is.
        "worker": [r for r in worker.records() if r.get("_celeryTaskId") == task],
    }
    for name, records in logs.items():
        of_request = [r for r in records if "_txnId" in r or "_trace_id" in r or r.get("_celeryTaskId")]
        assert of_request, f"{name} wrote no record of the request"
        for r in of_request:
            assert r["_txnId"] == txn_id, (name, r)
            assert r["_trace_id"] == trace_id, (name, r)
    assert worker_records[0]["_celeryTask"] == "e2e.work"
    assert len({r["_span_id"] for rs in logs.values() for r in rs if "_span_id" in r}) >= 4  # a span per hop
    messages = {name: [r["short_message"] for r in rs] for name, rs in logs.items()}
    assert {"ordering", "ordered"} <= set(messages["client"])
    assert {"placing an order", "the order service answered"} <= set(messages["api"])
    assert {"queueing the order's work", "queued"} <= set(messages["flask"])
    assert "work" in messages["worker"] and "work via logging chain" in messages["worker"]
    assert any(m.endswith(f"[{task}] received") for m in messages["worker"])
