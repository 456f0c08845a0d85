"""The webhook sender in-process: SSRF checks at delivery time (DNS rebinding included),
redirects not followed, timeouts, the retry schedule's jitter."""

from __future__ import annotations

import pytest

from services.webhooks.delivery import Sender, retry_delay
from services.webhooks.ssrf import SsrfRefused, vet_url
from support.receiver import HANG, running_receiver

BODY = b'{"id":"evt_1","type":"test"}'


def fixed_dns(*answers: list[str]):
    """A resolver seam answering each lookup with the next answer (the last one repeats)."""
    calls: list[str] = []

    async def lookup(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[min(len(calls), len(answers)) - 1]

    return lookup, calls


async def test_name_resolving_to_loopback_refused_at_delivery() -> None:
    async with running_receiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        lookup, _ = fixed_dns(["127.0.0.1"])
        sender = Sender(False, 2.0, 4, lookup)
        try:
            outcome = await sender.send(f"https://hooks.example.com:{port}/hook", "s" * 32,
                                        "evt_1", "test", BODY)
        finally:
            await sender.close()
        assert not outcome.ok and outcome.status_code == 0
        assert outcome.error.startswith("refused:") and "loopback" in outcome.error
        assert receiver.requests == []


async def test_dns_rebinding_between_check_and_connect_is_refused() -> None:
    """The first answer is public (the check passes), the next is loopback: the connection
    uses only addresses the resolver vetted, so it never reaches the receiver."""
    async with running_receiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        lookup, calls = fixed_dns(["93.184.216.34"], ["127.0.0.1"])
        sender = Sender(False, 2.0, 4, lookup)
        try:
            outcome = await sender.send(f"https://rebind.example.com:{port}/hook", "s" * 32,
                                        "evt_1", "test", BODY)
        finally:
            await sender.close()
        assert len(calls) == 2
        assert not outcome.ok and "refused" in outcome.error and "127.0.0.1" in outcome.error
        assert receiver.requests == []


@pytest.mark.parametrize(("url", "allow_private"), [
    ("https://10.0.0.1/", False), ("https://192.168.1.10/", False),
    ("https://169.254.169.254/", True), ("https://[::ffff:127.0.0.1]/", False),
    ("https://100.64.0.1/", False), ("https://printer.local/", False),
    ("http://8.8.8.8/", True), ("https://[ff02::1]/", True),
])
async def test_vet_url_refuses(url: str, allow_private: bool) -> None:
    lookup, _ = fixed_dns(["10.1.2.3"])
    with pytest.raises(SsrfRefused):
        await vet_url(url, allow_private, lookup)


async def test_vet_url_allows_public_and_dev_private() -> None:
    public, _ = fixed_dns(["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
    await vet_url("https://hooks.example.com/x", False, public)
    await vet_url("http://127.0.0.1:8000/x", True, public)
    await vet_url("http://10.0.0.1/x", True, public)
    mixed, _ = fixed_dns(["93.184.216.34", "10.0.0.1"])  # one bad address is enough
    with pytest.raises(SsrfRefused):
        await vet_url("https://hooks.example.com/x", False, mixed)


async def test_redirects_are_not_followed_and_timeouts_fail() -> None:
    async with running_receiver() as receiver:
        receiver.script[:] = [302, HANG]
        sender = Sender(True, 0.5, 4)
        try:
            moved = await sender.send(receiver.endpoint(), "s" * 32, "evt_1", "test", BODY)
            slow = await sender.send(receiver.endpoint(), "s" * 32, "evt_1", "test", BODY)
        finally:
            await sender.close()
        assert (moved.ok, moved.status_code) == (False, 302) and "redirect" in moved.error
        assert not slow.ok and "no answer within 0.5 s" in slow.error
        assert [r.path for r in receiver.requests] == ["/hook", "/hook"]


def test_retry_delay_is_full_jitter_within_the_schedule() -> None:
    schedule = (1.0, 10.0)
    assert all(0 <= retry_delay(schedule, 1) <= 1.0 for _ in range(100))  # type: ignore[operator]
    delays = [retry_delay(schedule, 2) for _ in range(200)]
    assert all(0 <= d <= 10.0 for d in delays)  # type: ignore[operator]
    assert min(delays) < 3 and max(delays) > 7  # type: ignore[type-var]
    assert retry_delay(schedule, 3) is None


# Every spelling of a loopback address a URL can carry: dotted and shorthand IPv4, decimal,
# hex and octal forms (what the system resolver accepts), IPv6 loopback, and IPv4 loopback
# embedded in IPv6 (mapped, compatible, NAT64, 6to4).
LOOPBACK_SPELLINGS = [
    "http://127.0.0.1/", "http://127.0.0.2:8000/", "http://127.1/", "http://2130706433/",
    "http://0x7f000001/", "http://0177.0.0.1/", "http://0x7f.1/", "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/", "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/",
    "http://localhost/",
]


@pytest.mark.parametrize("url", LOOPBACK_SPELLINGS)
async def test_one_loopback_rule_for_every_spelling(url: str) -> None:
    """With the development flag every spelling of loopback is a private receiver; without
    it every spelling is refused, whatever the resolver answers for names."""
    await vet_url(url, True)
    with pytest.raises(SsrfRefused, match="https"):
        await vet_url(url, False)
    with pytest.raises(SsrfRefused, match="loopback"):
        await vet_url(url.replace("http://", "https://", 1), False)


@pytest.mark.parametrize("url", [
    "https://2852039166/", "https://0xa9fea9fe/", "https://169.254.43518/",
    "https://[::ffff:a9fe:a9fe]/", "https://[::169.254.169.254]/",
    "https://[64:ff9b::a9fe:a9fe]/", "https://[2002:a9fe:a9fe::]/",
])
@pytest.mark.parametrize("allow_private", [False, True])
async def test_metadata_address_refused_in_every_spelling(url: str, allow_private: bool) -> None:
    with pytest.raises(SsrfRefused, match="link-local"):
        await vet_url(url, allow_private)


@pytest.mark.parametrize("url", ["https://[64:ff9b::a00:1]/", "https://[2002:a00:1::]/",
                                 "https://[::10.0.0.1]/", "https://167772161/"])
async def test_private_ipv4_embedded_in_ipv6_or_decimal_is_private(url: str) -> None:
    with pytest.raises(SsrfRefused, match="private"):
        await vet_url(url, False)
