"""The fast path against the one definition, on a generated tree of log files.

gelf-chainsaw, run as a user runs it (a process, its C accelerator or its Python twins),
must print byte for byte what a straightforward filter prints: every line of every stream
judged by ``scan.judge`` (the one definition of what a line is to a query), in order, and
rendered. The corpus has what production logs have and what the fast path must not trip on:
svlogd ``-tt`` prefixes, a directory with a gzip-compressed rotated file and a line split
between two files, tracebacks in ``full_message``, multi-line and non-ASCII messages, the
same text written with JSON escapes (``\\u002e``, ``\\/``) and by ``json.dumps`` with
``ensure_ascii``, levels as names, lines longer than a read block, blank lines and lines
that are not JSON.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from logmagic.tools.chainsaw import bytescan, render
from logmagic.tools.chainsaw.query import MISSING, Query, as_text, lookup, parse_term, record_time
from logmagic.tools.chainsaw.scan import judge
from logmagic.tools.logfiles.prefix import prefix_length

from .helpers import chainsaw, env_without_color

TXN = ".rh-Ab3D.h-api0.r-pVDF7IRM.c-12345.ts-1795306000123.v-062c3d0"
OTHER_TXN = ".rh-Ab3D.h-api0.r-ZZZZZZZZ.c-12346.ts-1795306000456.v-062c3d0"
T0 = 1795306000.0
TRACEBACK = "Traceback (most recent call last):\n" + "".join(
    f'  File "/srv/app/handlers.py", line {n}, in handle\n    await service.execute(request)\n' for n in range(20)
)
PRODUCTS = ["Crème brûlée", "Straße", "東京", "emoji 🎉", "plain"]


def tt(when: float) -> bytes:
    """svlogd -tt's prefix for ``when``."""
    import datetime

    stamp = datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime("%Y-%m-%d_%H:%M:%S.%f")
    return stamp[:-1].encode() + b" "


def record(rnd: random.Random, i: int) -> bytes:
    """One JSON line, in one of the shapes encoders write."""
    txn = TXN if i % 37 == 0 else OTHER_TXN if i % 41 == 0 else f".rh-Ab3D.h-api1.r-{i:08d}.c-{i}.ts-1795306{i:06d}.v-1"
    rec: dict[str, object] = {"version": "1.1", "host": "api0", "short_message": f"request {i}"}
    if rnd.random() < 0.85:
        rec["timestamp"] = T0 + i / 10
    level = rnd.choice([3, 3, 4, 6, 6, 7])
    rec["level"] = level
    rec["_facility"] = rnd.choice(["shop.api", "shop.db", "logmagic.access"])
    rec["_txnId"] = txn
    kind = rnd.random()
    if kind < 0.1:
        rec["full_message"] = TRACEBACK
    elif kind < 0.2:
        rec["short_message"] = "validation failed:\n  email: bad\n  name: «empty»"
    elif kind < 0.3:
        rec["_item"] = rnd.choice(PRODUCTS)
    elif kind < 0.35:
        rec["_exact_level"] = 9
        rec["level"] = 7
    rec["_status"] = rnd.choice([200, 200, 404, 500, 503])
    rec["_accountId"] = rnd.choice(["ac7", "ac7", "ac77", "b2"])
    rec["_path"] = rnd.choice(["/v1/items/7", "/v1/cart/ac7/items", "/healthz"])
    style = rnd.random()
    if style < 0.6:
        return orjson.dumps(rec)
    if style < 0.8:  # the standard library's default: ", " ": " and non-ASCII as \uXXXX
        return json.dumps(rec).encode()
    if style < 0.9:  # structlog's shape: level as a name, ISO time, no GELF underscores
        flat = {k.lstrip("_"): v for k, v in rec.items() if k not in ("version", "host")}
        flat["level"] = {3: "error", 4: "warning", 6: "info", 7: "debug"}[level]
        if "timestamp" in flat:
            flat["timestamp"] = f"2026-11-22T00:00:{i % 60:02d}Z"
        return json.dumps(flat, ensure_ascii=False).encode()
    # every character of the txnId and of the path written as an escape, / as \/ (PHP)
    text = orjson.dumps(rec).decode()
    text = text.replace(txn, "".join(f"\\u{ord(c):04x}" for c in txn)).replace("/", "\\/")
    return text.encode()


BAD = [b"plain text from a crashing process", b"[1, 2]", b"42", b'{"level":3,"short_message":"cut sh', b"   ", b""]


def lines_of(rnd: random.Random, n: int, prefix: bool) -> list[bytes]:
    out = []
    for i in range(n):
        line = rnd.choice(BAD) if rnd.random() < 0.05 else record(rnd, i)
        if rnd.random() < 0.002:
            line = orjson.dumps({"short_message": "big", "level": 3, "_txnId": TXN, "_pad": "p" * 300_000})
        if prefix and line:
            line = tt(T0 + i / 10 + 0.001) + line
        out.append(line)
    return out


@dataclass
class Tree:
    root: Path
    paths: list[str]  # what the command is given
    streams: list[tuple[str, bytes]]  # (name, bytes) as gelf-chainsaw reads each stream


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    rnd = random.Random(18)
    root = tmp_path_factory.mktemp("corpus")
    svc = root / "api" / "log" / "main"
    svc.mkdir(parents=True)
    first = b"\n".join(lines_of(rnd, 2500, prefix=True)) + b"\n"
    second = b"\n".join(lines_of(rnd, 2500, prefix=True))  # ends in the middle of a line ...
    third = b"\n".join(lines_of(rnd, 2500, prefix=True)) + b"\n"  # ... that current finishes
    (svc / "@400000006b0398b400000001.s").write_bytes(gzip.compress(first))  # svlogd's !gzip processor
    (svc / "@400000006b0398b400000002.s").write_bytes(second)
    (svc / "current").write_bytes(third)
    plain = root / "worker.log"
    plain_bytes = b"\n".join(lines_of(rnd, 3000, prefix=False)) + b"\n"
    plain.write_bytes(plain_bytes)
    packed = root / "old.log.gz"
    packed_bytes = b"\n".join(lines_of(rnd, 1500, prefix=False))  # no newline at the end
    packed.write_bytes(gzip.compress(packed_bytes))
    streams = [(str(svc), first + second + third), (str(plain), plain_bytes), (str(packed), packed_bytes)]
    return Tree(root, [str(svc), str(plain), str(packed)], streams)


def reference(tree: Tree, args: list[str]) -> tuple[bytes, int]:
    """What gelf-chainsaw must print for ``args`` (terms and options), from the one definition,
    and the number of lines that are not JSON objects it must report."""
    terms, opts = split(args)
    query = Query([parse_term(t) for t in terms])
    if "--txn" in opts:
        query.terms.insert(0, parse_term(f"txnId={opts['--txn']}"))
    prefilter = query.prefilter()
    with_source = True  # several paths
    output = opts.get("-o", "json")
    renderer: render.Renderer | None = None
    if "--fields" in opts:
        renderer = render.Columns(opts["--fields"].split(","), with_source)
    elif output == "json":
        renderer = render.json_line
    elif output == "raw":
        renderer = render.raw_line
    elif output == "pretty":
        renderer = render.Pretty(False, with_source)
    printed: list[tuple[float, int, bytes]] = []
    by: Counter[str | None] = Counter()
    matched = bad = 0
    for name, data in tree.streams:
        lines = data.split(b"\n")
        if data.endswith(b"\n"):
            lines.pop()
        for raw in lines:
            obj, body, when, hit = judge(raw, query)
            if obj is None:
                if raw.strip() and (prefilter is None or candidate(prefilter, raw) or odd(raw)):
                    bad += 1
                continue
            if not hit:
                continue
            matched += 1
            if "--count" in opts:
                if "--by" in opts:
                    value = lookup(obj, opts["--by"])
                    by[None if value is MISSING else as_text(value)] += 1
                continue
            assert renderer is not None
            line = renderer(obj, raw, body, when, name)
            printed.append(((record_time(obj, when) or 0.0) if "--txn" in opts else 0.0, len(printed), line))
    if "--count" in opts:
        out = b"".join(render.counts(by, "(missing)")) if "--by" in opts else f"{matched}\n".encode()
    else:
        out = b"".join(line for _, _, line in sorted(printed))
    return out, bad


def candidate(prefilter: object, raw: bytes) -> bool:
    """Whether the byte prefilter's definition (its pattern or literal, and the escaped pattern on
    lines with an escape of a searched character) lets ``raw`` through."""
    plain = prefilter.plain  # type: ignore[attr-defined]
    if (plain in raw) if isinstance(plain, bytes) else plain.search(raw):
        return True
    units, short = prefilter.units, prefilter.short  # type: ignore[attr-defined]
    return bool(bytescan.escape_lines_py(raw, 0, len(raw), units, short)) and bool(
        prefilter.escaped.search(raw)  # type: ignore[attr-defined]
    )


def odd(raw: bytes) -> bool:
    """A line the prefilter skips is counted as not JSON when it does not start with ``{``
    after its svlogd prefix (docs/chainsaw.md)."""
    return raw[prefix_length(raw) :][:1] != b"{"


def split(args: list[str]) -> tuple[list[str], dict[str, str]]:
    terms, opts, items = [], {}, iter(args)
    for arg in items:
        if arg in ("-o", "--fields", "--by", "--txn"):
            opts[arg] = next(items)
        elif arg.startswith("-"):
            opts[arg] = ""
        else:
            terms.append(arg)
    return terms, opts


QUERIES = [
    ["--txn", TXN],
    ["--txn", OTHER_TXN, "-o", "raw"],
    ["level<=3"],
    ["level<=3", "--count"],
    ["level=err", "-o", "raw"],
    ["level>=70"],
    ["status>=500", "accountId=ac7"],
    ["status>=500", "accountId=ac7", "--count", "--by", "path"],
    ["path=/v1/cart/ac7/items"],
    ["path=/v1/items/*"],
    ["item=Crème brûlée"],
    ["item=東京", "-o", "raw"],
    ["message~^validation"],
    ["status=503", "--fields", "timestamp,message,status,timestamp:raw"],
    ["accountId=ac7", "level<=4", "-o", "pretty"],
    [],
]


def runs() -> Iterator[tuple[str, dict[str, str]]]:
    yield "C accelerator", env_without_color()
    yield "Python twins", env_without_color(LOGMAGIC_PURE_PYTHON="1")


@pytest.mark.parametrize(("kind", "env"), list(runs()), ids=[k for k, _ in runs()])
@pytest.mark.parametrize("args", QUERIES, ids=lambda a: " ".join(a) or "(every record)")
def test_the_fast_path_prints_what_the_definition_prints(
    tree: Tree, args: list[str], kind: str, env: dict[str, str]
) -> None:
    if kind == "C accelerator" and not bytescan.ACCELERATED:
        pytest.skip("the C accelerator was not built")
    want, bad = reference(tree, args)
    result = chainsaw(*args, *tree.paths, env=env, timeout=120)
    assert result.code in (0, 1), result.err
    assert result.out == want
    skipped = re.search(r"skipped (\d+) line", result.err)
    assert (int(skipped[1]) if skipped else 0) == bad


def test_the_corpus_has_what_it_claims(tree: Tree) -> None:
    """The shapes the comparisons above are about are there (a generator change could lose them)."""
    everything = b"".join(data for _, data in tree.streams)
    assert b"\\u002e" in everything and b"\\/" in everything  # escapes of the txnId and the path
    assert b"\\u00e8" in everything and "Crème".encode() in everything  # non-ASCII escaped and raw
    assert b"Traceback" in everything and b'"level": "error"' in everything
    assert any(len(line) > 200_000 for line in everything.split(b"\n"))  # longer than a read block
    assert os.path.getsize(tree.paths[1]) > 1_000_000
    assert reference(tree, ["--txn", TXN])[0].count(b"\n") >= 50
