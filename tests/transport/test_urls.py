"""Collector URLs: one grammar for the network sinks and ``logmagic ship --to``."""

from __future__ import annotations

import pytest

from logmagic.transport.urls import DEFAULT_TIMEOUT, parse_collector_url


def test_scribe_url_gives_host_port_category_and_timeout() -> None:
    url = parse_collector_url("scribe://collector.internal:1464/my%20app/?timeout=2.5")
    assert (url.scheme, url.host, url.port, url.path, url.timeout) == (
        "scribe",
        "collector.internal",
        1464,
        "my app",
        2.5,
    )
    assert url.extra == {}


@pytest.mark.parametrize(
    ("spec", "port"),
    [
        ("scribe://h", 1463),
        ("gelf+udp://h", 12201),
        ("GELF+TCP://h", 12201),
        ("gelf+tls://h", 12201),
        ("https://h/", 443),
    ],
)
def test_each_scheme_has_a_default_port(spec: str, port: int) -> None:
    url = parse_collector_url(spec)
    assert (url.host, url.port, url.timeout) == ("h", port, DEFAULT_TIMEOUT)


def test_http_options_are_typed_and_the_url_loses_its_query() -> None:
    url = parse_collector_url("https://logs.internal/in?format=gelf&gzip=1&ca=/etc/ca.pem&verify=0&timeout=3")
    assert url.url == "https://logs.internal/in"
    assert (url.format, url.gzip, url.ca, url.verify, url.timeout) == ("gelf", True, "/etc/ca.pem", False, 3.0)
    plain = parse_collector_url("http://logs.internal/in")
    assert (plain.format, plain.gzip, plain.ca, plain.verify) == ("ndjson", False, None, True)


def test_the_callers_own_options_come_back_as_text_and_others_are_refused() -> None:
    url = parse_collector_url("gelf+udp://h:1?batch_size=5&batch_size=7", {"batch_size"})
    assert url.extra == {"batch_size": "7"}, "the last of a repeated option"
    with pytest.raises(ValueError, match=r"^sink 'gelf\+udp://h:1\?timeout=3': unknown option\(s\) timeout$"):
        parse_collector_url("gelf+udp://h:1?timeout=3", {"batch_size"})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("scribe://h:port/c", "the port is not a number"),
        ("scribe:///c", "expected host:port"),
        ("gelf+tcp://h?timeout=0", "timeout must be a number of seconds above 0, not '0'"),
        ("gelf+tcp://h?timeout=inf", "timeout must be"),
        ("http://h/x?timeout=abc", "timeout must be"),
        ("http://h/x?bogus=1&other=2", r"unknown option\(s\) bogus, other"),
        ("ftp://h/x", "expected one of scribe://"),
    ],
)
def test_a_wrong_url_is_refused_with_a_message_that_names_it(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_collector_url(spec)
    assert str(caught.value).startswith(f"sink {spec!r}: ")
    with pytest.raises(ValueError, match=message) as caught:
        parse_collector_url(spec, label="--to")
    assert str(caught.value).startswith(f"--to {spec!r}: ")
