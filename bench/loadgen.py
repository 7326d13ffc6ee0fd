"""A closed-loop HTTP/1.1 load generator for ``/track``, cheap enough to run on one core.

Requests are what mixpanel-browser sends: ``POST /track/?verbose=1&ip=1&_=<ms>``, a form body
``data=<encodeURIComponent(base64(JSON array of events))>``. They are encoded once, into a
pool of distinct batches; per request only the ``$insert_id`` of each event is rewritten so
every event ever sent has its own. That rewrite stays cheap because each id is 24 hex digits
placed at a JSON offset divisible by 3: its base64 is then 32 characters that depend on the
id alone and, hex being ASCII, never ``+``, ``/`` or ``=``, so url-encoding leaves them in
place. Each connection is an ``asyncio.Protocol`` (callbacks, no coroutine per request):
send, parse the answer, record the latency, send the next.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, cast
from urllib.parse import quote_from_bytes

import orjson

OK_BODY = b'{"status":1,"error":null}'
ID_HEX_DIGITS = 24  # a multiple of 3 bytes, so its base64 has no padding
_ID_B64 = ID_HEX_DIGITS * 4 // 3
_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
_BROWSERS = (("Chrome", 126), ("Firefox", 127), ("Safari", 17.5), ("Microsoft Edge", 126))
_SYSTEMS = ("Mac OS X", "Windows", "Linux", "iOS", "Android")
_EVENTS = ("$mp_web_page_view", "Viewed Product", "Added to Cart", "Searched", "Signed Up")
_PAGES = ("/", "/pricing", "/products", "/products/shoes", "/cart", "/checkout", "/blog/launch")
_REFERRERS = ("$direct", "https://www.google.com/", "https://news.ycombinator.com/")
_SCREENS = ((1920, 1080), (1440, 900), (2560, 1440), (390, 844), (412, 915))
_URL_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class Template:
    request: bytes  # the whole HTTP request, $insert_ids zeroed
    id_offsets: tuple[int, ...]  # where each event's 32 base64 characters of $insert_id sit


@dataclass(frozen=True, slots=True)
class GeneratorConfig:
    index: int  # which generator process this is: part of every $insert_id
    core: int | None  # CPU core to pin to
    port: int
    token: str
    connections: int
    batches: int
    events_per_batch: int
    seed: int
    drain_timeout_s: float


def build_pool(
    rng: random.Random, batches: int, events: int, token: str, port: int, now_s: float
) -> list[Template]:
    return [_template(rng, events, token, port, now_s) for _ in range(batches)]


def _template(rng: random.Random, count: int, token: str, port: int, now_s: float) -> Template:
    parts: list[bytes] = []
    json_offsets: list[int] = []
    size = 1  # the "["
    for _ in range(count):
        event = _event(rng, token, now_s)
        encoded = orjson.dumps(event)
        # $insert_id is the last property: the bytes before it decide its offset, and a few
        # more URL characters move it onto a multiple of 3.
        at = size + encoded.rindex(b'"$insert_id":"') + len(b'"$insert_id":"')
        pad = -at % 3
        if pad:
            event["properties"]["$current_url"] += "".join(rng.choices(_URL_CHARS, k=pad))
            encoded = orjson.dumps(event)
            at += pad
        json_offsets.append(at)
        parts.append(encoded)
        size += len(encoded) + 1  # the event and its "," or "]"
    array = b"[" + b",".join(parts) + b"]"
    b64 = base64.b64encode(array)
    body_parts = [b"data="]
    body_size = len(b"data=")
    body_offsets: list[int] = []
    previous = 0
    for offset in json_offsets:
        start = offset // 3 * 4
        quoted = quote_from_bytes(b64[previous:start], safe="").encode()
        body_parts.append(quoted)
        body_size += len(quoted)
        body_offsets.append(body_size)
        body_parts.append(b64[start : start + _ID_B64])
        body_size += _ID_B64
        previous = start + _ID_B64
    body_parts.append(quote_from_bytes(b64[previous:], safe="").encode())
    body = b"".join(body_parts)
    sent_ms = int(now_s * 1000) + rng.randrange(1000)
    head = (
        f"POST /track/?verbose=1&ip=1&_={sent_ms} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"User-Agent: {_USER_AGENT}\r\n"
        "Accept: */*\r\n"
        "Accept-Language: en-US,en;q=0.9\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Origin: https://shop.example.com\r\n"
        "Referer: https://shop.example.com/\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    ).encode()
    return Template(head + body, tuple(len(head) + offset for offset in body_offsets))


def _event(rng: random.Random, token: str, now_s: float) -> dict[str, Any]:
    browser, version = rng.choice(_BROWSERS)
    width, height = rng.choice(_SCREENS)
    referrer = rng.choice(_REFERRERS)
    device = f"{rng.getrandbits(64):016x}-{rng.getrandbits(32):08x}"
    user = f"user-{rng.randrange(200_000)}" if rng.random() < 0.6 else f"$device:{device}"
    url = f"https://shop.example.com{rng.choice(_PAGES)}?ref=" + "".join(
        rng.choices(_URL_CHARS, k=rng.randrange(2, 10))
    )
    properties: dict[str, Any] = {
        "$os": rng.choice(_SYSTEMS),
        "$browser": browser,
        "$browser_version": version,
        "$current_url": url,
        "$device_id": device,
        "$initial_referrer": referrer,
        "$initial_referring_domain": referrer.split("/")[2] if "//" in referrer else referrer,
        "$screen_height": height,
        "$screen_width": width,
        "mp_lib": "web",
        "$lib_version": "2.55.1",
        "distinct_id": user,
        "token": token,
        "time": round(now_s - rng.uniform(0, 600), 3),
        "plan": rng.choice(("free", "pro", "team")),
        "$insert_id": "0" * ID_HEX_DIGITS,
    }
    return {"event": rng.choice(_EVENTS), "properties": properties}


@dataclass(slots=True)
class Stats:
    window_start: float
    window_end: float
    latencies: list[float] = field(default_factory=list)  # seconds, answers inside the window
    window_ok: int = 0  # successful answers inside the window
    acked: int = 0  # successful answers, all told
    failed: int = 0  # answers other than 200 {"status":1,...}
    failures: list[str] = field(default_factory=list)  # the first few, for the report
    connection_errors: int = 0
    sent: int = 0


class LoadGenerator:
    """Drives ``connections`` keep-alive connections until ``stop_at``, then lets each finish
    the request it has in flight (so every request sent is either answered or reported)."""

    def __init__(
        self, config: GeneratorConfig, pool: list[Template], stats: Stats, stop_at: float
    ) -> None:
        self.config = config
        self.pool = pool
        self.stats = stats
        self.stop_at = stop_at
        self._next = 0
        # 8 hex run + 2 hex generator + 12 hex request counter, then 2 hex event index.
        self._id_prefix = os.urandom(4).hex().encode() + b"%02x" % (config.index % 256)
        self._id_suffixes = [b"%02x" % i for i in range(config.events_per_batch)]
        self.open_connections = 0
        self.all_closed: asyncio.Future[None] | None = None

    def next_request(self) -> bytes:
        number = self._next
        self._next += 1
        template = self.pool[number % len(self.pool)]
        base = self._id_prefix + b"%012x" % number
        encoded = base64.b64encode(b"".join([base + suffix for suffix in self._id_suffixes]))
        request = bytearray(template.request)
        at = 0
        for offset in template.id_offsets:
            request[offset : offset + _ID_B64] = encoded[at : at + _ID_B64]
            at += _ID_B64
        return bytes(request)

    def connection_closed(self) -> None:
        self.open_connections -= 1
        closed = self.all_closed
        if self.open_connections == 0 and closed is not None and not closed.done():
            closed.set_result(None)


class _Connection(asyncio.Protocol):
    def __init__(self, generator: LoadGenerator) -> None:
        self._gen = generator
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._need = -1  # bytes of the current answer, once its head is parsed
        self._body_at = 0
        self._status = b""
        self._sent_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        self._gen.open_connections += 1
        self._send()

    def _send(self) -> None:
        assert self._transport is not None
        request = self._gen.next_request()
        self._gen.stats.sent += 1
        self._sent_at = time.monotonic()
        self._transport.write(request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._need < 0:
            head_end = self._buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self._buffer[:head_end].lower()
            self._status = head[9:12]
            at = head.find(b"\r\ncontent-length:")
            length = 0
            if at >= 0:
                end = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : end if end >= 0 else len(head)])
            self._body_at = head_end + 4
            self._need = self._body_at + length
        if len(self._buffer) < self._need:
            return
        self._answered(self._buffer[self._body_at : self._need])

    def _answered(self, body: bytes) -> None:
        now = time.monotonic()
        stats = self._gen.stats
        ok = self._status == b"200" and body == OK_BODY
        if ok:
            stats.acked += 1
            if stats.window_start <= now < stats.window_end:
                stats.window_ok += 1
                stats.latencies.append(now - self._sent_at)
        else:
            stats.failed += 1
            if len(stats.failures) < 5:
                stats.failures.append(f"{self._status.decode()} {body[:300]!r}")
        self._buffer = b""
        self._need = -1
        assert self._transport is not None
        if now < self._gen.stop_at:
            self._send()
        else:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._need >= 0 or self._buffer or exc is not None:
            self._gen.stats.connection_errors += 1
        self._gen.connection_closed()


async def drive(
    config: GeneratorConfig,
    pool: list[Template],
    start_at: float,
    warmup_s: float,
    measure_s: float,
) -> dict[str, Any]:
    """Run the load from ``start_at`` (time.monotonic) and report what happened."""
    window_start = start_at + warmup_s
    window_end = window_start + measure_s
    stats = Stats(window_start, window_end)
    generator = LoadGenerator(config, pool, stats, window_end)
    loop = asyncio.get_running_loop()
    generator.all_closed = loop.create_future()
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    for _ in range(config.connections):
        await loop.create_connection(lambda: _Connection(generator), "127.0.0.1", config.port)
    await asyncio.sleep(max(0.0, window_start - time.monotonic()))
    cpu_start, measured_start = time.process_time(), time.monotonic()
    await asyncio.sleep(max(0.0, window_end - time.monotonic()))
    cpu_s, measured_s = time.process_time() - cpu_start, time.monotonic() - measured_start
    drained = True
    try:
        await asyncio.wait_for(asyncio.shield(generator.all_closed), config.drain_timeout_s)
    except TimeoutError:
        drained = False
    return {
        "index": config.index,
        "connections": config.connections,
        "sent": stats.sent,
        "acked": stats.acked,
        "failed": stats.failed,
        "failures": stats.failures,
        "connection_errors": stats.connection_errors,
        "unsettled_connections": generator.open_connections,
        "drained": drained,
        "window_ok": stats.window_ok,
        "window_s": measured_s,
        "cpu_s": cpu_s,
        "latencies": stats.latencies,
    }


def run_generator(
    config: GeneratorConfig, warmup_s: float, measure_s: float, pipe: Connection
) -> None:
    """A generator process: pin, build the pool, say ready, wait for the start time, run,
    send the report back."""
    import uvloop  # noqa: PLC0415 - only the generator process needs it

    if config.core is not None:
        os.sched_setaffinity(0, {config.core})
    rng = random.Random(config.seed * 1000 + config.index)
    pool = build_pool(
        rng, config.batches, config.events_per_batch, config.token, config.port, time.time()
    )
    pipe.send(("ready", len(pool[0].request)))
    if not pipe.poll(120):
        return
    start_at = pipe.recv()
    try:
        report = uvloop.run(drive(config, pool, start_at, warmup_s, measure_s))
    except Exception as exc:
        pipe.send(("error", repr(exc)))
        return
    pipe.send(("report", report))
