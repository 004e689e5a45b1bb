"""The flight recorder and the loop-stall detector in a real uvicorn server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import Server, uvicorn


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("recorder")
    srv = uvicorn(
        "recorder",
        "recorder_app:app",
        workdir,
        "recorder-host",
        LOGMAGIC_ROUTES="__root__=INFO:main",
        LOGMAGIC_FLIGHT_RECORDER="DEBUG",
    )
    yield srv
    srv.stop()


def txn_of(response: httpx.Response) -> str:
    return response.headers["x-response-id"]


def test_a_failing_request_writes_its_debug_lines_before_its_error(server: Server) -> None:
    response = httpx.get(f"{server.url}/fail")
    assert response.status_code == 500
    txn_id = txn_of(response)
    records = server.wait_for(lambda r: r.get("_txnId") == txn_id and r.get("_facility") == "logmagic.access")
    records = [r for r in server.records() if r.get("_txnId") == txn_id]
    messages = [r["short_message"] for r in records]
    assert messages[:3] == [
        "loaded the order",
        "calling the payment service",
        "unhandled exception in the application",
    ], messages
    assert [r.get("_flight_recorder") for r in records[:3]] == [True, True, None]
    assert records[0]["level"] == 7 and records[0]["_order"] == "o-17"
    assert "payment service said no" in records[2]["full_message"]


def test_a_thousand_concurrent_successful_requests_write_no_debug_line(server: Server) -> None:
    async def main() -> list[str]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as client:
            responses = await asyncio.gather(*(client.get("/work") for _ in range(1000)))
        assert all(r.status_code == 200 for r in responses)
        return [txn_of(r) for r in responses]

    txn_ids = set(asyncio.run(main()))
    assert len(txn_ids) == 1000
    server.wait_for(lambda r: r.get("_txnId") in txn_ids and r.get("_facility") == "logmagic.access", 1000)
    mine = [r for r in server.records() if r.get("_txnId") in txn_ids]
    assert all(r["level"] <= 6 for r in mine)
    assert sum(r["short_message"] == "worked" for r in mine) == 1000
    stats = httpx.get(f"{server.url}/stats").json()
    assert stats["bytes_held"] == 0 and stats["discarded"] >= 3000


def test_a_flood_of_debug_lines_stays_within_the_caps(server: Server) -> None:
    response = httpx.get(f"{server.url}/flood", timeout=60)
    assert response.status_code == 200
    stats = httpx.get(f"{server.url}/stats").json()
    assert stats["dropped"] >= 2000 - 256 and stats["bytes_held"] == 0
    assert not [r for r in server.records() if r.get("short_message") == "flood"]


def test_a_handler_that_blocks_the_loop_is_named_with_its_txn_id_and_frame(server: Server) -> None:
    response = httpx.get(f"{server.url}/block")
    txn_id = txn_of(response)
    found = server.wait_for(lambda r: r.get("_facility") == "logmagic.loop" and r.get("_txnId") == txn_id, 2)
    first, last = found
    assert first["short_message"] == f"event loop blocked for {first['_blocked_ms']} ms"
    assert "time.sleep(0.5)" in first["full_message"] and "in block" in first["full_message"]
    # Held at least 500 ms, counted from at most threshold/2 (62.5 ms, recorder_app's
    # WATCH_THRESHOLD) after it began; no upper bound.
    assert last["_stall_ended"] is True and last["_blocked_ms"] >= 500 - 63 - 5


def test_a_handler_that_awaits_gives_no_stall_record(server: Server, tmp_path: Path) -> None:
    before = len([r for r in server.records() if r.get("_facility") == "logmagic.loop"])
    response = httpx.get(f"{server.url}/nap")
    txn_id = txn_of(response)
    server.wait_for(lambda r: r.get("_txnId") == txn_id and r.get("_facility") == "logmagic.access")
    after = [r for r in server.records() if r.get("_facility") == "logmagic.loop"]
    assert len(after) == before and not [r for r in after if r.get("_txnId") == txn_id]
