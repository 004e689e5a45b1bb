"""Transaction ids: format, decoding, context, propagation into threads and executors."""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import logmagic
from logmagic import txn

from .conftest import ListSink

ID = re.compile(r"^\.rh-([A-Za-z0-9]{4})\.h-(.+)\.r-([A-Za-z0-9]{8})\.c-(\d+)\.ts-(\d{13})\.v-(.*)$")


def test_new_id_has_the_documented_shape_with_host_and_version() -> None:
    logmagic.configure(host="ord1.product.api0", version="24e946e", env=False)
    a, b = logmagic.new_txn_id(), logmagic.new_txn_id(version="other")
    ma, mb = ID.match(a), ID.match(b)
    assert ma and mb
    assert ma.group(2) == "ord1.product.api0" and ma.group(6) == "24e946e" and mb.group(6) == "other"
    assert ma.group(1) == mb.group(1)  # one process tag per process
    assert int(mb.group(4)) == int(ma.group(4)) + 1
    assert ma.group(3) != mb.group(3)


def test_new_id_time_is_now_in_milliseconds() -> None:
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    info = logmagic.parse_txn_id(logmagic.new_txn_id())
    assert before < info.time < before + datetime.timedelta(seconds=60)


def test_hostile_host_names_cannot_break_the_id() -> None:
    logmagic.configure(host="bad host/é", env=False)
    info = logmagic.parse_txn_id(logmagic.new_txn_id())
    assert info.host == "bad-host--"


def test_counter_is_unique_across_threads() -> None:
    ids: list[str] = []

    def make() -> None:
        ids.extend(logmagic.new_txn_id() for _ in range(1000))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counters = [logmagic.parse_txn_id(i).counter for i in ids]
    assert len(set(counters)) == 4000


def test_parses_the_articles_id_with_milliseconds() -> None:
    info = logmagic.parse_txn_id(".rh-3dT5.h-product-api0.r-pVDF7IRM.c-0.ts-1324936588828.v-062c3d0")
    assert (info.process_tag, info.host, info.request_tag, info.counter, info.version) == (
        "3dT5",
        "product-api0",
        "pVDF7IRM",
        0,
        "062c3d0",
    )
    assert info.time == datetime.datetime(2011, 12, 26, 21, 56, 28, 828000, tzinfo=datetime.timezone.utc)


def test_parses_the_articles_id_with_a_dotted_host_and_seconds() -> None:
    info = logmagic.parse_txn_id(".rh-g2Tm.h-ord1.product.api0.r-axAIO3bO.c-9210.ts-1324830675.v-24e946e")
    assert (info.host, info.counter, info.version) == ("ord1.product.api0", 9210, "24e946e")
    assert info.time == datetime.datetime(2011, 12, 25, 16, 31, 15, tzinfo=datetime.timezone.utc)
    assert info.time.tzinfo is not None


@pytest.mark.parametrize(
    "other", ["550e8400-e29b-41d4-a716-446655440000", "", ".rh-x.h-y", None, ".rh-3dT5.h-a.r-b.c-x.ts-1.v-1"]
)
def test_foreign_ids_do_not_parse(other: object) -> None:
    with pytest.raises(ValueError, match="not a logmagic transaction id"):
        logmagic.parse_txn_id(other)  # type: ignore[arg-type]


def test_foreign_ids_are_carried_as_opaque_ids(sink: ListSink) -> None:
    with logmagic.transaction("550e8400-e29b-41d4-a716-446655440000"):
        logmagic.local("x").info("m")
    assert sink.records[0].fields["txnId"] == "550e8400-e29b-41d4-a716-446655440000"


def test_transaction_nests_and_restores(sink: ListSink) -> None:
    log = logmagic.local("x")
    assert logmagic.current_txn_id() is None
    with logmagic.transaction() as outer:
        log.info("a")
        with logmagic.transaction("inner-id") as inner:
            assert inner == "inner-id" and logmagic.current_txn_id() == "inner-id"
            log.info("b")
        assert logmagic.current_txn_id() == outer
        log.info("c")
    assert logmagic.current_txn_id() is None
    assert [r.fields["txnId"] for r in sink.records] == [outer, "inner-id", outer]
    assert ID.match(outer)


def test_transaction_is_restored_when_the_block_raises() -> None:
    with pytest.raises(KeyError), logmagic.transaction("t1"):
        raise KeyError
    assert logmagic.current_txn_id() is None


def test_decorator_gives_each_call_its_own_id() -> None:
    @logmagic.transaction()
    def job() -> str | None:
        return logmagic.current_txn_id()

    @logmagic.transaction("fixed")
    def fixed() -> str | None:
        return logmagic.current_txn_id()

    first, second = job(), job()
    assert first and second and first != second
    assert fixed() == "fixed"
    assert job.__name__ == "job"
    assert logmagic.current_txn_id() is None


def test_async_with_decorator_and_tasks_inherit() -> None:
    seen: dict[str, str | None] = {}

    async def child(name: str) -> None:
        await asyncio.sleep(0)
        seen[name] = logmagic.current_txn_id()

    @logmagic.transaction()
    async def job() -> str | None:
        await asyncio.gather(child("gathered"))
        return logmagic.current_txn_id()

    async def main() -> tuple[str, str | None, str | None]:
        async with logmagic.transaction() as t:
            await asyncio.create_task(child("task"))
            inside = await job()
        return t, inside, logmagic.current_txn_id()

    outer, inside, after = asyncio.run(main())
    assert seen["task"] == outer
    assert inside is not None and inside != outer and seen["gathered"] == inside
    assert after is None


def test_wrap_carries_the_context_into_a_thread_and_never_wraps_twice() -> None:
    def read() -> str | None:
        return logmagic.current_txn_id()

    with logmagic.transaction("t-thread"):
        wrapped = txn.wrap(read)
    assert txn.wrap(wrapped) is wrapped
    assert txn.wrap(txn.wrap(txn.wrap(read))) is not wrapped  # a new wrap of the original is its own
    out: list[str | None] = []
    threading.Thread(target=lambda: out.append(wrapped())).start()
    threading.Thread(target=lambda: out.append(read())).start()
    while len(out) < 2:
        pass
    assert sorted(out, key=str) == [None, "t-thread"]


def test_a_wrapped_callable_runs_concurrently_in_many_threads() -> None:
    barrier = threading.Barrier(4)

    def read() -> str | None:
        barrier.wait(5)
        return logmagic.current_txn_id()

    with logmagic.transaction("shared"):
        wrapped = txn.wrap(read)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: wrapped(), range(4)))
    assert results == ["shared"] * 4


def test_submit_uses_the_callers_context() -> None:
    with ThreadPoolExecutor(1) as pool:
        with logmagic.transaction("t-exec"):
            fut = txn.submit(pool, lambda a, b=0: (logmagic.current_txn_id(), a + b), 1, b=2)
        plain = pool.submit(logmagic.current_txn_id)
        assert fut.result(5) == ("t-exec", 3)
        assert plain.result(5) is None


FORK = """
import os, logmagic
parent = logmagic.parse_txn_id(logmagic.new_txn_id())
pid = os.fork()
if pid == 0:
    child = logmagic.parse_txn_id(logmagic.new_txn_id())
    os._exit(0 if child.process_tag != parent.process_tag and child.counter == 0 else 1)
_, status = os.waitpid(pid, 0)
raise SystemExit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_gets_its_own_process_tag_and_counter() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    assert subprocess.run([sys.executable, "-c", FORK], env=env, timeout=60).returncode == 0


@pytest.mark.parametrize(
    "digits",
    ["\u0661\u0662\u0663", "\uff11\uff12\uff13", "\u0967\u0968"],  # Arabic-Indic, fullwidth, Devanagari
    ids=["arabic-indic", "fullwidth", "devanagari"],
)
@pytest.mark.parametrize("where", ["c", "ts"])
def test_only_ascii_digits_are_read_in_the_counter_and_the_time(digits: str, where: str) -> None:
    parts = {"c": "0", "ts": "1324936588828"}
    parts[where] = digits  # int() would read these
    with pytest.raises(ValueError, match="not a logmagic transaction id"):
        logmagic.parse_txn_id(f".rh-3dT5.h-api0.r-pVDF7IRM.c-{parts['c']}.ts-{parts['ts']}.v-1")


@pytest.mark.parametrize(
    ("part", "what"),
    [("c-" + "9" * 30, "counter"), ("c-" + "1" * 5000, "counter"), ("c-9223372036854775808", "counter")],
)
def test_a_counter_no_process_can_reach_is_refused(part: str, what: str) -> None:
    with pytest.raises(ValueError, match=f"impossible {what}"):
        logmagic.parse_txn_id(f".rh-3dT5.h-api0.r-pVDF7IRM.{part}.ts-1324936588828.v-1")


def test_a_time_of_thousands_of_digits_is_an_impossible_time() -> None:
    with pytest.raises(ValueError, match="impossible time"):
        logmagic.parse_txn_id(".rh-3dT5.h-api0.r-pVDF7IRM.c-0.ts-" + "1" * 5000 + ".v-1")


def test_the_largest_counter_a_process_can_reach_parses() -> None:
    info = logmagic.parse_txn_id(f".rh-3dT5.h-api0.r-pVDF7IRM.c-{2**63 - 1}.ts-1324936588828.v-1")
    assert info.counter == 2**63 - 1
