# Large bodies stream through rampart in both directions with bounded memory: exact byte counts,
# exact content, and a resident-set growth well under the body size.
import socket
import threading
import time

import pytest

from util import (SANITIZED, Client, PatternChecker, build_request, make_config, pattern_chunks,
                  scale_size)

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
    n = scale_size(40 * MIB)
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
    assert grow < RSS_BUDGET_KIB, f"RSS grew by {grow} KiB while the client was not reading"
