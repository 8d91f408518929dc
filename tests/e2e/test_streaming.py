# Large bodies stream through rampart in both directions with bounded memory: exact byte counts,
# exact content, and a resident-set growth well under the body size.
import socket
import threading
import time

import pytest

from util import (SANITIZED, Client, PatternChecker, build_request, make_config, pattern_chunks,
                  scale_conc, scale_size)

MIB = 1 << 20
# AddressSanitizer's quarantine keeps freed memory resident, so memory is not judged there.
RSS_BUDGET_KIB = 64 * 1024 if not SANITIZED else 1 << 40


class RssSampler:
    """Samples rampart's VmRSS every 20 ms in a thread; .peak_kib after stop()."""

    def __init__(self, r):
        self.r = r
        self.base = r.rss_kib()
        self.peak = self.base
        self.done = threading.Event()
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        while not self.done.wait(0.02):
            try:
                self.peak = max(self.peak, self.r.rss_kib())
            except (OSError, ValueError):
                return

    def stop(self):
        self.done.set()
        self.t.join(5)
        try:
            hwm = self.r.rss_kib("VmHWM")
        except OSError:
            hwm = self.peak
        return self.peak - self.base, hwm - self.base


@pytest.fixture
def big(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], workers=1))
    # warm up buffers and pools so the baseline is not the empty process
    with Client(r.port) as c:
        for _ in range(3):
            c.request("GET", "/size/300000")
    return r, b


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_large_download(big, chunked):
    r, b = big
    n = scale_size(100 * MIB)
    check = PatternChecker()
    sampler = RssSampler(r)
    try:
        with Client(r.port, timeout=60) as c:
            resp = c.request("GET", f"/size/{n}" + ("?chunked=1" if chunked else ""),
                             sink=check.feed)
    finally:
        grow, hwm_grow = sampler.stop()
    assert resp.status == 200
    assert check.count == n and check.ok
    assert grow < RSS_BUDGET_KIB, f"RSS grew by {grow} KiB"
    assert hwm_grow < RSS_BUDGET_KIB, f"VmHWM grew by {hwm_grow} KiB"


def test_large_upload_chunked(big):
    r, b = big
    n = scale_size(100 * MIB)
    sampler = RssSampler(r)
    try:
        with Client(r.port, timeout=60) as c:
            resp = c.request("POST", "/upload", body=pattern_chunks(n, 256 * 1024), chunked=True)
    finally:
        grow, hwm_grow = sampler.stop()
    assert resp.status == 200
    assert resp.body == str(n).encode()
    req = b.last()
    assert req.body_len == n
    assert req.body == b"".join(pattern_chunks(len(req.body)))  # first MiB, intact
    assert grow < RSS_BUDGET_KIB, f"RSS grew by {grow} KiB"
    assert hwm_grow < RSS_BUDGET_KIB, f"VmHWM grew by {hwm_grow} KiB"


def test_large_upload_content_length(big):
    r, b = big
    n = scale_size(50 * MIB)
    with Client(r.port, timeout=60) as c:
        c.send(build_request("PUT", "/upload", [("Content-Length", str(n))]))
        for piece in pattern_chunks(n, 256 * 1024):
            c.send(piece)
        resp = c.read_response("PUT")
    assert resp.status == 200 and resp.body == str(n).encode()
    assert b.last().body_len == n


def test_slow_reader_download_is_backpressured(big):
    """A client that reads slowly must not make rampart buffer the whole response."""
    r, b = big
    n = scale_size(100 * MIB)
    sampler = RssSampler(r)
    try:
        with Client(r.port, timeout=60) as c:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            c.send(b"GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
            time.sleep(1.0)  # let the backend push as much as rampart will take
            check = PatternChecker()
            resp = c.read_response("GET", sink=check.feed)
    finally:
        grow, _ = sampler.stop()
    assert resp.status == 200 and check.count == n and check.ok
    budget = RSS_BUDGET_KIB // 2  # well under the body: rampart stopped reading the backend
    assert grow < budget, f"RSS grew by {grow} KiB while the client was not reading"


async def _open_idle(port, n):
    """n connections that each made one request and now sit idle; returns the writers."""
    import asyncio

    async def one(i):
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 20)
        writer.write(build_request("GET", f"/idle/{i}"))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
        cl = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")]
        await asyncio.wait_for(reader.readexactly(int(cl[0].split(b":")[1])), 20)
        assert head.startswith(b"HTTP/1.1 200")
        return writer

    sem = asyncio.Semaphore(200)

    async def limited(i):
        async with sem:
            return await one(i)

    return await asyncio.gather(*[limited(i) for i in range(n)])


def test_idle_keepalive_connections_are_cheap(big):
    import asyncio

    r, b = big
    n = scale_conc(2000)

    async def main():
        await _open_idle(r.port, 50)  # warm up pools
        await asyncio.sleep(0.2)
        base = r.rss_kib()
        writers = await _open_idle(r.port, n)
        await asyncio.sleep(0.3)
        grown = r.rss_kib() - base
        for w in writers:
            w.close()
        return grown

    grown = asyncio.run(asyncio.wait_for(main(), 120))
    print(f"{n} idle connections: RSS +{grown} KiB")
    if not SANITIZED:
        assert grown < n * 4, f"{n} idle connections grew RSS by {grown} KiB"


def test_partial_heads_do_not_starve_others(rampart, backend):
    """Many connections stuck mid-head (slowloris) while normal clients are served."""
    b = backend()
    r = rampart(make_config(backends=[b.port], timeouts={"header": "3s"}))
    stuck = []
    try:
        for i in range(scale_conc(200)):
            s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
            s.sendall(b"GET /stuck HTTP/1.1\r\nHost: x\r\nX-Partial: ")
            stuck.append(s)
        with Client(r.port, timeout=5) as c:
            for i in range(20):
                resp = c.request("GET", f"/normal/{i}")
                assert resp.status == 200
        assert b.heads == 20
    finally:
        for s in stuck:
            s.close()
