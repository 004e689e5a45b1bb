"""logmagic ship: lines per second and memory, shipping an svlogd directory to Scribe on loopback.

The input is written directly in svlogd's layout rather than piped through svlogd (1 GB
through a pipe would measure svlogd): rotated files ``@<tai64n>.s`` of about 1 MB (svlogd's
default ``s1000000``; a file is closed at a line boundary once fewer than 1,000 bytes, svlogd's
line length, would fit) and a last ``current``, every line a GELF record of 300-600 bytes behind
an ``svlogd -tt`` timestamp (``2026-11-23_18:01:07.94904 ``). The same directory, cut to its
first quarter (hard links), is the small input.

The shipper runs as a process (``python -m logmagic.tools.cli ship``, default batch settings) and
sends to the Thrift Scribe server of ``tests/e2e/peers/scribe_server.py``, itself a process,
which writes every entry to a file. The time is from starting the shipper until the server
has acknowledged every line; RSS is read from ``/proc/PID/status`` (VmHWM: the peak over the
shipper's life) and sampled while it runs. Baselines over the same files: ``cat`` to
/dev/null, and a plain Python loop reading 1 MiB blocks and splitting lines.

Goals (2 cores): >= 100,000 lines/s; peak RSS < 100 MB and flat between the two input sizes.

Run: ``.venv/bin/python benchmarks/bench_ship.py [--size-mb 1024] [--dir DIR] [--profile]``.
``--profile`` runs the 1 GB shipper under cProfile and prints where its time goes.
"""

from __future__ import annotations

import argparse
import os
import pstats
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / "tests" / "e2e" / "peers" / "scribe_server.py"
#: svlogd's defaults: rotate at 1,000,000 bytes, lines up to 1,000 bytes.
FILE_SIZE = 1_000_000
LINE_MAX = 1000
TAI_EPOCH = 4611686018427387914  # 2**62 + 10: TAI64 label of the Unix epoch
GOAL_LINES_PER_S = 100_000
GOAL_RSS_MB = 100.0

PATHS = ["/v1/orders", "/v1/orders/{}", "/v1/accounts/{}/balance", "/healthz", "/v2/search"]
MESSAGES = ["request done", "cache miss", "upstream slow", "order created", "retrying upstream call"]


# -- input ---------------------------------------------------------------------------------


def gelf_lines(rng: random.Random, start: float, count: int) -> list[bytes]:
    """``count`` svlogd -tt lines holding GELF records of 300-600 bytes."""
    out = []
    for i in range(count):
        t = start + i * 0.0002
        stamp = time.strftime("%Y-%m-%d_%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 100000):05d}"
        path = rng.choice(PATHS).format(rng.randrange(100000))
        body = (
            f'{{"version":"1.1","host":"api-{i % 7}.prod","short_message":"{rng.choice(MESSAGES)}",'
            f'"timestamp":{t:.3f},"level":6,"_facility":"app.api",'
            f'"_txnId":".rh-3dT5.h-api-{i % 7}.r-{rng.getrandbits(40):010x}.c-{i}.ts-{int(t * 1000)}.v-1",'
            f'"_method":"GET","_path":"{path}","_status":{rng.choice((200, 200, 200, 201, 404, 500))},'
            f'"_duration_ms":{rng.random() * 300:.2f},"_accountId":"ac{rng.randrange(10**6)}",'
            f'"_userAgent":"Mozilla/5.0 (X11; Linux x86_64)","_i":{i},"_note":"'
        )
        pad = rng.randrange(300, 600) - len(body) - 2
        out.append(f'{stamp} {body}{"x" * max(0, pad)}"}}\n'.encode())
    return out


def tai64n(t: float) -> str:
    secs = int(t)
    return f"@{TAI_EPOCH + secs:016x}{int((t - secs) * 1e9):08x}"


def generate(directory: Path, size: int, seed: int = 42) -> tuple[int, int]:
    """Fill ``directory`` with about ``size`` bytes in svlogd's layout; (lines, bytes)."""
    directory.mkdir(parents=True)
    rng = random.Random(seed)
    pool = gelf_lines(rng, 1795456867.0, 20_000)  # lines are drawn from a pool: generation is not the test
    t = 1795456867.0
    lines = written = 0
    while written < size:
        chunk: list[bytes] = []
        n = 0
        while n < FILE_SIZE - LINE_MAX and written + n < size:
            line = pool[(lines + len(chunk)) % len(pool)]
            chunk.append(line)
            n += len(line)
        last = written + n >= size
        name = "current" if last else f"{tai64n(t)}.s"
        (directory / name).write_bytes(b"".join(chunk))
        t += 0.5
        lines += len(chunk)
        written += n
    if not (directory / "current").exists():
        (directory / "current").write_bytes(b"")
    return lines, written


def subset(source: Path, target: Path, fraction: float) -> tuple[int, int]:
    """The first ``fraction`` of the rotated files of ``source`` (hard links) and an empty current."""
    target.mkdir()
    rotated = sorted(p for p in source.iterdir() if p.name.startswith("@"))
    lines = written = 0
    for p in rotated[: max(1, int(len(rotated) * fraction))]:
        os.link(p, target / p.name)
        lines += p.read_bytes().count(b"\n")
        written += p.stat().st_size
    (target / "current").write_bytes(b"")
    return lines, written


def files_of(directory: Path) -> list[Path]:
    return [*sorted(p for p in directory.iterdir() if p.name.startswith("@")), directory / "current"]


# -- baselines -----------------------------------------------------------------------------


def baseline_cat(directory: Path) -> float:
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        subprocess.run(["cat", *map(str, files_of(directory))], stdout=null, check=True)
    return time.perf_counter() - start


def baseline_split(directory: Path) -> tuple[float, int]:
    start = time.perf_counter()
    n = 0
    for path in files_of(directory):
        pending = b""
        with open(path, "rb", buffering=0) as f:
            while block := f.read(1 << 20):
                parts = (pending + block).split(b"\n")
                pending = parts.pop()
                n += len(parts)
    return time.perf_counter() - start, n


# -- the shipper ---------------------------------------------------------------------------


@dataclass
class Run:
    lines: int
    seconds: float
    peak_rss_mb: float
    max_sampled_rss_mb: float
    cpu_s: float
    peer_cpu_s: float
    received: int


def proc_status(pid: int, key: str) -> float:
    """A ``/proc/PID/status`` size (``VmRSS``, ``VmHWM``) in MB."""
    with open(f"/proc/{pid}/status") as f:
        for text in f:
            if text.startswith(key + ":"):
                return int(text.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_peer(out: Path) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [sys.executable, str(PEER), "--port", "0", "--out", str(out)], stdout=subprocess.PIPE, env=clean_env()
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    word, _, port = proc.stdout.readline().decode().partition(" ") if ready else ("", "", "")
    if word != "READY":
        proc.kill()
        raise SystemExit("the Scribe peer did not start")
    return proc, int(port)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}


def acknowledged(calls: Path) -> int:
    try:
        text = calls.read_text()
    except FileNotFoundError:
        return 0
    return sum(int(n) for word, n in zip(text.split()[::2], text.split()[1::2], strict=False) if word == "OK")


def ship(directory: Path, expected: int, work: Path, profile: Path | None = None) -> Run:
    tag = directory.name
    out = work / f"received-{tag}.txt"
    for stale in (out, Path(f"{out}.calls")):
        stale.unlink(missing_ok=True)
    peer, port = start_peer(out)
    state = work / f"{tag}.state"
    argv = [sys.executable]
    if profile is not None:
        argv += ["-m", "cProfile", "-o", str(profile)]
    argv += ["-m", "logmagic.tools.cli", "ship", "--from", str(directory), "--to", f"scribe://127.0.0.1:{port}"]
    argv += ["--state", str(state), "--poll", "0.05"]
    errors = (work / f"shipper-{tag}.stderr").open("wb")
    start = time.perf_counter()
    shipper = subprocess.Popen(argv, stdout=errors, stderr=errors, env=clean_env(), cwd=str(ROOT))
    sampled = 0.0
    try:
        while (done := acknowledged(Path(f"{out}.calls"))) < expected:
            if shipper.poll() is not None:
                raise SystemExit(f"the shipper exited with {shipper.returncode}; see {errors.name}")
            sampled = max(sampled, proc_status(shipper.pid, "VmRSS"))
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        peak = proc_status(shipper.pid, "VmHWM")
        cpu = cpu_seconds(shipper.pid)
        peer_cpu = cpu_seconds(peer.pid)
    finally:
        shipper.send_signal(signal.SIGTERM)
        shipper.wait(timeout=60)
        errors.close()
        peer.kill()
        peer.wait()
    with out.open("rb") as f:
        received = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
        f.seek(0)
        first = f.readline()
    if first.split(b"\t", 1)[1][:1] != b"{":
        raise SystemExit(f"svlogd's prefix reached the collector: {first[:80]!r}")
    out.unlink()
    return Run(done, seconds, peak, sampled, cpu, peer_cpu, received)


def show_profile(path: Path) -> None:
    stats = pstats.Stats(str(path))
    print("\nWhere the shipper's time goes (cProfile, 1 GB input, top 15 by own time):\n")
    stats.sort_stats("tottime").print_stats(15)


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="the large input (1024)")
    parser.add_argument("--small-fraction", type=float, default=0.25, help="the small input, a fraction (0.25)")
    parser.add_argument("--dir", help="work directory (default: a temporary one, removed at the end)")
    parser.add_argument("--profile", action="store_true", help="also profile the shipper on the large input")
    args = parser.parse_args()

    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-ship-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        big, small = work / "large", work / "small"
        for d in (big, small):
            shutil.rmtree(d, ignore_errors=True)
        t0 = time.perf_counter()
        big_lines, big_bytes = generate(big, args.size_mb << 20)
        small_lines, small_bytes = subset(big, small, args.small_fraction)
        print(
            f"input: {len(files_of(big)) - 1} rotated files + current, {big_bytes / 1e6:,.0f} MB, "
            f"{big_lines:,} lines (generated in {time.perf_counter() - t0:.1f} s); "
            f"small: {small_bytes / 1e6:,.0f} MB, {small_lines:,} lines\n"
        )
        baseline_cat(big)  # warm the page cache: every contender reads from memory
        cat_s = baseline_cat(big)
        split_s, split_n = baseline_split(big)
        assert split_n == big_lines, (split_n, big_lines)
        runs = {"small": ship(small, small_lines, work), "large": ship(big, big_lines, work)}

        print("| run | input MB | lines | seconds | lines/s | MB/s | shipper CPU s | peer CPU s | peak RSS MB |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, size, run in (("small", small_bytes, runs["small"]), ("large", big_bytes, runs["large"])):
            print(
                f"| logmagic ship, {label} | {size / 1e6:,.0f} | {run.lines:,} | {run.seconds:.2f} | "
                f"{run.lines / run.seconds:,.0f} | {size / 1e6 / run.seconds:,.0f} | {run.cpu_s:.1f} | "
                f"{run.peer_cpu_s:.1f} | {run.peak_rss_mb:.1f} |"
            )
        print(
            f"| cat > /dev/null | {big_bytes / 1e6:,.0f} | {big_lines:,} | {cat_s:.2f} | "
            f"{big_lines / cat_s:,.0f} | {big_bytes / 1e6 / cat_s:,.0f} | — | — | — |"
        )
        print(
            f"| Python read 1 MiB + split | {big_bytes / 1e6:,.0f} | {split_n:,} | {split_s:.2f} | "
            f"{split_n / split_s:,.0f} | {big_bytes / 1e6 / split_s:,.0f} | — | — | — |"
        )
        large = runs["large"]
        rate = large.lines / large.seconds
        print(
            f"\nratios (large input): shipper takes {large.seconds / cat_s:.1f}x the time of cat, "
            f"{large.seconds / split_s:.1f}x the time of a bare read+split loop"
        )
        for label, run, expected in (("small", runs["small"], small_lines), ("large", large, big_lines)):
            if run.received != expected:
                print(f"WARNING: {label}: the peer wrote {run.received:,} entries, {expected:,} were shipped")
        flat = abs(large.peak_rss_mb - runs["small"].peak_rss_mb)
        print()
        print(f"Goal {'met' if rate >= GOAL_LINES_PER_S else 'NOT met'}: {rate:,.0f} lines/s >= {GOAL_LINES_PER_S:,}")
        peak = max(r.peak_rss_mb for r in runs.values())
        print(f"Goal {'met' if peak < GOAL_RSS_MB else 'NOT met'}: peak RSS {peak:.1f} MB < {GOAL_RSS_MB:.0f} MB")
        print(
            f"Goal {'met' if flat < 10 else 'NOT met'}: RSS flat: {runs['small'].peak_rss_mb:.1f} MB at "
            f"{small_bytes / 1e6:,.0f} MB, {large.peak_rss_mb:.1f} MB at {big_bytes / 1e6:,.0f} MB "
            f"(difference {flat:.1f} MB < 10 MB)"
        )
        if args.profile:
            (work / "large.state").unlink(missing_ok=True)
            prof = work / "ship.prof"
            profiled = ship(big, big_lines, work, profile=prof)
            print(f"\nprofiled run: {profiled.lines / profiled.seconds:,.0f} lines/s (cProfile slows it down)")
            show_profile(prof)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
