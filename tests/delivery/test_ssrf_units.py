"""The SSRF guard's decisions on hosts as the HTTP client reads them: Unicode spellings after
IDNA/UTS-46 mapping, legacy IPv4 spellings, and IPv6 addresses that carry an IPv4 address."""

from __future__ import annotations

import ipaddress

import pytest
from yarl import URL

from hookhub.delivery.ssrf import destination_url, literal_address, refusal_reason, url_refusal

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11:8000/", "127.0.0.1"),  # full-width
        ("http://127\u30020\u30020\u30021/", "127.0.0.1"),  # ideographic full stops
        (
            "http://\u2460\u2465\u2468.\u2461\u2464\u2463.\u2460\u2465\u2468.\u2461\u2464\u2463/",
            "169.254.169.254",
        ),
        ("http://169\uff61254\uff61169\uff61254/", "169.254.169.254"),  # half-width full stops
        ("http://2130706433/", "127.0.0.1"),  # decimal
        ("http://0177.0.0.1/", "127.0.0.1"),  # octal
        ("http://0x7f.0x0.0x0.0x1/", "127.0.0.1"),  # hex
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),  # short
        ("http://0xa9.254.0xa9fe/", "169.254.169.254"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"),
    ],
)
def test_every_spelling_of_an_address_is_judged(url: str, address: str) -> None:
    target = destination_url(url)
    assert literal_address(target.raw_host or "") == ipaddress.ip_address(address)
    reason = url_refusal(target, ())
    assert reason is not None and "HOOKHUB_ALLOW_PRIVATE_NETWORKS" in reason
    # The host judged is the one aiohttp builds its request from.
    assert target.raw_host == URL(url).raw_host


def test_allowed_networks_stay_allowed_in_any_spelling() -> None:
    for url in ("http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/", "http://2130706433/"):
        assert url_refusal(destination_url(url), LOOPBACK) is None
    assert url_refusal(destination_url("http://0xa9.254.0xa9fe/"), LOOPBACK) is not None


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("2002:7f00:1::1", "127.0.0.1"),  # 6to4
        ("2002:a9fe:a9fe::", "169.254.169.254"),
        ("2002:a00:1::", "10.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),  # NAT64
    ],
)
def test_an_ipv6_address_is_judged_by_the_ipv4_address_it_carries(address: str, carried: str) -> None:
    reason = refusal_reason(ipaddress.ip_address(address), ())
    assert reason is not None and carried in reason
    # Even where the operator allows the IPv6 range, what it carries is judged.
    allow_v6 = (ipaddress.ip_network("::/0"),)
    assert carried in (refusal_reason(ipaddress.ip_address(address), allow_v6) or "")


def test_teredo_carries_its_client_address() -> None:
    # Teredo client 127.0.0.1 (stored inverted), server 65.54.227.120.
    teredo = ipaddress.ip_address("2001:0:4136:e378:8000:63bf:80ff:fffe")
    assert teredo.teredo == (ipaddress.ip_address("65.54.227.120"), ipaddress.ip_address("127.0.0.1"))
    allow_teredo = (ipaddress.ip_network("2001::/32"),)
    assert "127.0.0.1" in (refusal_reason(teredo, allow_teredo) or "")
    assert refusal_reason(teredo, (*allow_teredo, *LOOPBACK)) is None


def test_public_addresses_and_names_pass() -> None:
    assert refusal_reason(ipaddress.ip_address("2002:808:808::1"), ()) is None  # 6to4 of 8.8.8.8
    for url in (
        "https://example.com/x",
        "http://8.8.8.8/",
        "http://b\u00fccher.example/",
        "http://cafe.babe/",
    ):
        assert url_refusal(destination_url(url), ()) is None
    assert literal_address("cafe.babe") is None
    assert literal_address("127.0.0.1.") is None  # a name to the resolver (the guard judges its answer)


@pytest.mark.parametrize(
    "url",
    [
        "http://exa\u200bmple.com/",  # a zero-width space IDNA would silently drop
        "http://xn--/",  # an A-label that does not decode
        "http://a\uff0fb/",  # full-width solidus becomes a path separator
    ],
)
def test_hosts_that_do_not_survive_idna_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="IDNA"):
        destination_url(url)
