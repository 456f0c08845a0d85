"""Webhook delivery figures: events per second from Publish to delivered on a loopback
receiver, and p50/p99 publish-to-delivery latency.

Starts its own stack (WAVIS_WEBHOOK_ALLOW_PRIVATE=true, so an http://127.0.0.1 receiver is
allowed), registers one endpoint of one account, and publishes over gRPC like a source
service does (EventPublisher). Latency is measured from just before Publish is called to
the moment the receiver (in this process) has read the signed request. Two runs: a
throughput run (`--events` published by `--concurrency` publishers at once) and a latency run
(`--latency-events` published one at a time, so queueing does not dominate).

    .venv/bin/python bench/webhooks.py [--events 2000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from wavis.core.events import EventPublisher
from wavis.core.grpc_client import open_channel
from wavis.core.ids import new_id
from wavis.devstack.stack import Stack
from wavis.generated.metering.v1 import accounts_pb2, accounts_pb2_grpc


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        now = time.perf_counter()
        event_id = request.headers["X-WAVIS-Event-Id"]
        self.arrived.setdefault(event_id, now)
        waiter = self.waiters.get(event_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(now)
        return web.Response(text="ok")


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _report(name: str, latencies: list[float], elapsed: float) -> None:
    ms = [1000 * value for value in latencies]
    print(f"{name}: {len(ms)} events in {elapsed:.2f} s = {len(ms) / elapsed:.0f} events/s; "
          f"publish->delivered p50 {_pct(ms, 50):.1f} ms, p99 {_pct(ms, 99):.1f} ms, "
          f"max {max(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms")


async def _throughput(publisher: EventPublisher, receiver: Receiver, account_id: str,
                      events: int, concurrency: int) -> None:
    started: dict[str, float] = {}
    ids = [new_id("evt") for _ in range(events)]
    queue = list(reversed(ids))

    async def publish_some() -> None:
        while queue:
            event_id = queue.pop()
            started[event_id] = time.perf_counter()
            await publisher.publish(account_id, "test", {"message": "bench"}, event_id)

    first = time.perf_counter()
    await asyncio.gather(*(publish_some() for _ in range(concurrency)))
    deadline = time.monotonic() + 120
    while len(receiver.arrived.keys() & started.keys()) < events:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(receiver.arrived)} of {events} delivered in 120 s")
        await asyncio.sleep(0.01)
    last = max(receiver.arrived[e] for e in ids)
    _report(f"throughput ({concurrency} concurrent publishers)",
            [receiver.arrived[e] - started[e] for e in ids], last - first)


async def _latency(publisher: EventPublisher, receiver: Receiver, account_id: str,
                   events: int, report: bool = True) -> None:
    latencies = []
    first = time.perf_counter()
    loop = asyncio.get_running_loop()
    for _ in range(events):
        event_id = new_id("evt")
        waiter = receiver.waiters[event_id] = loop.create_future()
        began = time.perf_counter()
        await publisher.publish(account_id, "test", {"message": "bench"}, event_id)
        latencies.append(await asyncio.wait_for(waiter, 30) - began)
    if report:
        _report("latency (one event at a time)", latencies, time.perf_counter() - first)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="wavis-bench-") as folder:
        stack = Stack(data_dir=Path(folder) / "data", http_port=0, log_dir=Path(folder) / "logs",
                      env={"WAVIS_WEBHOOK_ALLOW_PRIVATE": "true", "WAVIS_LOG_LEVEL": "warning"})
        stack.start()
        receiver = Receiver()
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        publisher = EventPublisher(f"127.0.0.1:{stack.service_ports['webhooks']}")
        try:
            async with open_channel(f"127.0.0.1:{stack.service_ports['metering']}") as channel:
                account = await accounts_pb2_grpc.AccountsServiceStub(channel).CreateAccount(
                    accounts_pb2.CreateAccountRequest(email="bench@example.com", plan="scale",
                                                      environment="live"))
            async with aiohttp.ClientSession() as session, session.post(
                    f"{stack.gateway_url}/api/v1/webhooks", json={"url": url},
                    headers={"Authorization": f"Bearer {account.api_key}"}) as response:
                assert response.status == 201, await response.text()
            account_id = account.account.account_id
            print(f"receiver {url}; one endpoint; 2 cores shared by the stack, the receiver "
                  "and this client")
            await _latency(publisher, receiver, account_id, 20, report=False)  # warm-up
            receiver.arrived.clear()
            await _latency(publisher, receiver, account_id, args.latency_events)
            await _throughput(publisher, receiver, account_id, args.events, args.concurrency)
        finally:
            await publisher.close()
            await runner.cleanup()
            stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-events", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
