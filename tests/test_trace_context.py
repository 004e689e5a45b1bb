"""W3C Trace Context parsing: the cases of the W3C test suite (w3c/trace-context test/test.py)
and the rules of the Recommendation's "Versioning of traceparent" and tracestate sections."""

from __future__ import annotations

import contextvars
import threading

import pytest

from logmagic import trace_context, txn
from logmagic.trace_context import TraceParent, child, parse_traceparent, parse_tracestate

TRACE = "12345678901234567890123456789012"
PARENT = "1234567890123456"
VALID = f"00-{TRACE}-{PARENT}-01"


def test_a_valid_version_00_value() -> None:
    assert parse_traceparent(VALID) == TraceParent(TRACE, PARENT, 0x01, "")
    unsampled = parse_traceparent(f"00-{TRACE}-{PARENT}-00")
    assert unsampled is not None and not unsampled.sampled and unsampled.flags == 0


@pytest.mark.parametrize(
    "value",
    [
        f" {VALID}",
        f"\t{VALID}",
        f"{VALID} ",
        f"{VALID}\t",
        f"\t {VALID} \t",
    ],
    ids=["space-before", "tab-before", "space-after", "tab-after", "both"],
)
def test_optional_whitespace_around_the_value_is_allowed(value: str) -> None:
    assert parse_traceparent(value) == TraceParent(TRACE, PARENT, 0x01, "")


@pytest.mark.parametrize(
    "value",
    [
        # version
        f"ff-{TRACE}-{PARENT}-01",  # forbidden
        f".0-{TRACE}-{PARENT}-01",
        f"0.-{TRACE}-{PARENT}-01",
        f"000-{TRACE}-{PARENT}-01",
        f"0000-{TRACE}-{PARENT}-01",
        f"0-{TRACE}-{PARENT}-01",
        f"0A-{TRACE}-{PARENT}-01",  # upper case
        # version 00 is exactly four fields
        f"{VALID}.",
        f"{VALID}-what-the-future-will-be-like",
        f"{VALID}\n",
        # trace-id
        f"00-{'0' * 32}-{PARENT}-01",
        f"00-.{TRACE[1:]}-{PARENT}-01",
        f"00-{TRACE[:-1]}.-{PARENT}-01",
        f"00-{TRACE}3-{PARENT}-01",
        f"00-{TRACE[:-1]}-{PARENT}-01",
        f"00-4BF92F3577B34DA6A3CE929D0E0E4736-{PARENT}-01",  # upper case
        # parent-id
        f"00-{TRACE}-{'0' * 16}-01",
        f"00-{TRACE}-.{PARENT[1:]}-01",
        f"00-{TRACE}-{PARENT[:-1]}.-01",
        f"00-{TRACE}-{PARENT}7-01",
        f"00-{TRACE}-{PARENT[:-1]}-01",
        f"00-{TRACE}-00F067AA0BA902B7-01",  # upper case
        # trace-flags
        f"00-{TRACE}-{PARENT}-.0",
        f"00-{TRACE}-{PARENT}-0.",
        f"00-{TRACE}-{PARENT}-001",
        f"00-{TRACE}-{PARENT}-1",
        f"00-{TRACE}-{PARENT}-0F",  # upper case
        # not a traceparent at all
        "",
        "   ",
        "garbage",
        f"{VALID},{VALID}",  # the header sent twice, joined as HTTP joins repeated headers
    ],
)
def test_an_invalid_value_is_refused_as_a_whole(value: str) -> None:
    assert parse_traceparent(value) is None
    assert parse_traceparent(value, "foo=1") is None  # and tracestate is not read


def test_a_future_version_is_read_as_far_as_version_00_goes() -> None:
    assert parse_traceparent(f"cc-{TRACE}-{PARENT}-01") == TraceParent(TRACE, PARENT, 0x01, "")
    extra = parse_traceparent(f"cc-{TRACE}-{PARENT}-01-what-the-future-will-be-like")
    assert extra == TraceParent(TRACE, PARENT, 0x01, "")
    assert parse_traceparent(f"01-{TRACE}-{PARENT}-00-x") == TraceParent(TRACE, PARENT, 0x00, "")


def test_a_future_version_keeps_only_the_sampled_flag() -> None:
    later = parse_traceparent(f"cc-{TRACE}-{PARENT}-ff-more")
    assert later is not None and later.flags == 0x01
    assert later.header() == f"00-{TRACE}-{PARENT}-01"  # sent on as version 00


@pytest.mark.parametrize(
    "value",
    [
        f"cc-{TRACE}-{PARENT}-01.what-the-future-will-be-like",  # flags not followed by - or the end
        f"cc-{TRACE}-{PARENT}-01what",
        f"cc-{TRACE}-{PARENT}",  # shorter than 55 characters
        f"cc-{TRACE}-{PARENT}-0",
        f"cc-4BF92F3577B34DA6A3CE929D0E0E4736-{PARENT}-01",  # upper case
        f"cc-{'0' * 32}-{PARENT}-01",
        f"cc-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-{PARENT}-01-more",
    ],
)
def test_a_future_version_still_needs_valid_fields(value: str) -> None:
    assert parse_traceparent(value) is None


def test_version_00_keeps_the_flags_it_defines_and_zeroes_the_others() -> None:
    """sampled (0x01) and Level 2's random (0x02) are kept; undefined bits are sent as zero."""
    assert parse_traceparent(f"00-{TRACE}-{PARENT}-03") == TraceParent(TRACE, PARENT, 0x03, "")
    masked = parse_traceparent(f"00-{TRACE}-{PARENT}-ff")
    assert masked is not None and masked.flags == 0x03
    assert masked.header().endswith("-03")


# -- tracestate ------------------------------------------------------------------------------


def test_tracestate_is_read_with_a_valid_traceparent() -> None:
    parsed = parse_traceparent(VALID, "foo=1,bar=2")
    assert parsed is not None and parsed.tracestate == "foo=1,bar=2"
    assert parsed.headers() == {"traceparent": VALID, "tracestate": "foo=1,bar=2"}


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("foo=1 \t , \t bar=2, \t baz=3", "foo=1,bar=2,baz=3"),
        ("foo=1\t \t,\t \tbar=2,\t \tbaz=3", "foo=1,bar=2,baz=3"),
        (" foo=1", "foo=1"),
        ("foo=1\t", "foo=1"),
        ("foo=1,,  ,bar=2", "foo=1,bar=2"),  # empty members (several headers, one empty)
        (",foo=1", "foo=1"),
        ("foo=1,bar=2,rojo=1,congo=2,baz=3", "foo=1,bar=2,rojo=1,congo=2,baz=3"),  # order kept
        ("tenant@vendor=x", "tenant@vendor=x"),
        (
            "abcdefghijklmnopqrstuvwxyz0123456789_-*/@a-z0-9_-*/=v",
            "abcdefghijklmnopqrstuvwxyz0123456789_-*/@a-z0-9_-*/=v",
        ),
        ("k= leading space kept", "k= leading space kept"),
        ("", ""),
        (None, ""),
    ],
)
def test_tracestate_is_normalised(value: str | None, normalised: str) -> None:
    assert parse_tracestate(value) == normalised


def test_tracestate_with_every_allowed_value_character() -> None:
    value = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in ",=")
    assert parse_tracestate(f"key={value}") == f"key={value}"


@pytest.mark.parametrize(
    "value",
    [
        "foo=1,foo=1",  # a key twice
        "foo=1,foo=2",
        "foo =1",  # bad keys
        "FOO=1",
        "foo.bar=1",
        "foo@=1,bar=2",
        "@foo=1,bar=2",
        "foo@@bar=1,bar=2",
        "foo@bar@baz=1,bar=2",
        "foo",  # no =
        "foo=1=2",  # = in the value
        "foo=\x01",  # a control character
        "foo=caf\xe9",  # not ASCII
        "k=" + "v" * 257,  # value too long
        ",".join(f"k{i}=v" for i in range(33)),  # more than 32 members
    ],
)
def test_an_invalid_tracestate_is_dropped_as_a_whole(value: str) -> None:
    assert parse_tracestate(value) == ""
    parsed = parse_traceparent(VALID, value)
    assert parsed == TraceParent(TRACE, PARENT, 0x01, "")  # the traceparent itself still holds


def test_32_members_are_kept() -> None:
    value = ",".join(f"k{i}=v" for i in range(32))
    assert parse_tracestate(value) == value


# -- continuing a trace ----------------------------------------------------------------------


def test_a_child_keeps_trace_flags_and_state_with_a_new_span_id() -> None:
    parent = TraceParent(TRACE, PARENT, 0x01, "congo=t61rcWkgMzE")
    spans = {child(parent).span_id for _ in range(100)}
    assert len(spans) == 100 and PARENT not in spans
    one = child(parent)
    assert (one.trace_id, one.flags, one.tracestate) == (TRACE, 0x01, "congo=t61rcWkgMzE")
    assert one.header() == f"00-{TRACE}-{one.span_id}-01"
    assert parse_traceparent(one.header()) == one._replace(tracestate="")


def test_the_current_trace_follows_the_context_like_the_txn_id() -> None:
    trace = TraceParent(TRACE, PARENT, 1)
    assert trace_context.current() is None
    token = trace_context.set_current(trace)
    try:
        seen: list[TraceParent | None] = []
        thread = threading.Thread(target=txn.wrap(lambda: seen.append(trace_context.current())))
        thread.start()
        thread.join()
        assert seen == [trace]
        assert contextvars.copy_context().run(trace_context.current) == trace
    finally:
        trace_context.reset_current(token)
    assert trace_context.current() is None
