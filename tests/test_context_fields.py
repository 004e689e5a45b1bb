"""``logmagic.context(**fields)``: request-scoped fields on every record written inside the block."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import logmagic
from logmagic.testing import capture


def test_every_logger_writes_the_fields_and_exit_restores() -> None:
    api, lib = logmagic.local("app.api"), logmagic.local("somelib.db")
    with capture() as records:
        api.info("before")
        with logmagic.context(accountId="ac7", plan="pro") as in_force:
            assert in_force == {"accountId": "ac7", "plan": "pro"}
            api.info("in")
            lib.warning("library code that never saw the request")
        api.info("after")
    assert [r["fields"] for r in records] == [
        {},
        {"accountId": "ac7", "plan": "pro"},
        {"accountId": "ac7", "plan": "pro"},
        {},
    ]


def test_nested_blocks_merge_and_the_inner_value_wins_until_it_exits() -> None:
    log = logmagic.local("app")
    with capture() as records, logmagic.context(a=1, b=1):
        with logmagic.context(b=2, c=2):
            log.info("inner")
            assert logmagic.context_fields() == {"a": 1, "b": 2, "c": 2}
        log.info("outer")
    assert [r["fields"] for r in records] == [{"a": 1, "b": 2, "c": 2}, {"a": 1, "b": 1}]
    assert logmagic.context_fields() == {}


def test_call_fields_and_bound_fields_win_over_context_fields() -> None:
    log = logmagic.local("app").bind(tier="bound")
    with capture() as records, logmagic.context(tier="context", user="u1", status=1):
        log.info("kw", status=500)
        log.info("mapping", {"user": "u2"})
    assert records[0]["fields"] == {"tier": "bound", "status": 500, "user": "u1"}
    assert records[1]["fields"] == {"tier": "bound", "user": "u2", "status": 1}


def test_the_fields_and_the_txn_id_travel_together_in_either_order() -> None:
    log = logmagic.local("app")
    with capture() as records:
        with logmagic.context(accountId="ac1"), logmagic.transaction(".t1"):
            log.info("context then transaction")
            assert logmagic.current_txn_id() == ".t1"
        with logmagic.transaction(".t2"), logmagic.context(accountId="ac2"):
            log.info("transaction then context")
            assert logmagic.current_txn_id() == ".t2"
        assert logmagic.current_txn_id() is None
    assert [(r["txnId"], r["fields"]) for r in records] == [
        (".t1", {"accountId": "ac1"}),
        (".t2", {"accountId": "ac2"}),
    ]


def test_threads_and_executors_carry_the_fields_as_they_carry_the_txn_id() -> None:
    log = logmagic.local("app")
    with capture() as records, logmagic.context(accountId="ac9"):
        thread = threading.Thread(target=logmagic.txn.wrap(lambda: log.info("thread")))
        thread.start()
        thread.join()
        with ThreadPoolExecutor(2) as pool:
            logmagic.txn.submit(pool, log.info, "pool").result()
            pool.submit(log.info, "unwrapped").result()  # a bare thread starts from an empty context
    by_msg = {r["msg"]: r["fields"] for r in records}
    assert by_msg == {"thread": {"accountId": "ac9"}, "pool": {"accountId": "ac9"}, "unwrapped": {}}


def test_async_with_and_tasks_keep_their_own_fields() -> None:
    log = logmagic.local("app")

    async def request(n: int) -> None:
        async with logmagic.context(n=n):
            await asyncio.sleep(0.01 * (3 - n))  # finish in the opposite order they started
            log.info("done")

    async def main() -> None:
        await asyncio.gather(*(request(n) for n in range(3)))

    with capture() as records:
        asyncio.run(main())
    assert sorted(r["fields"]["n"] for r in records) == [0, 1, 2]
    assert [r["fields"]["n"] for r in records] == [2, 1, 0]


def test_context_fields_are_redacted_and_reach_rich_paths() -> None:
    log = logmagic.local("app")
    with capture() as records, logmagic.context(password="hunter2", user="u1"):
        log.infof("hello ${user}")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    assert records[0]["msg"] == "hello u1"
    assert all(r["fields"]["password"] != "hunter2" for r in records)
    assert records[1]["fields"]["user"] == "u1" and "ValueError" in records[1]["full_message"]


def test_user_rewriters_do_not_see_context_fields_and_cannot_lose_them() -> None:
    seen: list[dict[str, Any]] = []

    def rewriter(facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
        seen.append(dict(fields))
        return {"replaced": True}

    log = logmagic.local("app")
    with capture() as records:
        logmagic.add_rewriter(rewriter)
        with logmagic.context(accountId="ac3"):
            log.info("m", own=1)
    assert seen == [{"own": 1}]
    assert records[0]["fields"] == {"replaced": True, "accountId": "ac3"}


def test_the_direct_gelf_path_writes_context_fields(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    logmagic.register_sink("main", f"file://{path}")
    logmagic.route("__root__", logmagic.DEBUG, "main")
    log = logmagic.local("app")
    with logmagic.transaction(".t"), logmagic.context(accountId="ac5", retries=2, token="secret-value"):
        for _ in range(3):  # later calls may take the direct path once the names are known
            log.info("hit", status=200)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 3
    for line in lines:
        assert line["_accountId"] == "ac5" and line["_retries"] == 2 and line["_txnId"] == ".t"
        assert line["_status"] == 200 and line["_token"] != "secret-value"
