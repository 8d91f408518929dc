# Active health checks end to end: rise/fall against a backend whose /health flips between 200
# and 503, a killed backend, tcp checks, the body substring and status lists, checks over TLS
# (and a failing handshake), the request a check sends, and a reload that keeps each server's
# state. Assertions are on counts and log lines with wide time margins, never on tight timings.
import re
import threading
import time

import pytest
import trustme

import util
from tlsbackend import TlsBackend
from util import get, make_config, wait_for



class Health:
    """The /health answer of a util.Backend, switchable at run time; counts the checks it
    answered by outcome."""

    def __init__(self, b, status=200, body=b"ok\n"):
        self.b = b
        self.status = status
        self.body = body
        self.lock = threading.Lock()
        self.ok = 0
        self.bad = 0
        self.reqs = []
        b.on("/health", self._handle)

    def set(self, status=None, body=None):
        with self.lock:
            if status is not None:
                self.status = status
            if body is not None:
                self.body = body

    def counts(self):
        with self.lock:
            return self.ok, self.bad

    def _handle(self, b, req, conn):
        with self.lock:
            status, body = self.status, self.body
            self.reqs.append(req)
            if 200 <= status < 400:
                self.ok += 1
            else:
                self.bad += 1
        return b.respond(conn, req, status, body)


def hc_config(servers, hc, tls=None, **over):
    """Upstream "app" on the given addresses with health_check hc, a catch-all route to it."""
    up = {"servers": [{"address": a} for a in servers], "health_check": hc}
    if tls:
        up["tls"] = tls
    return make_config(upstreams={"app": up},
                       routes=[{"match": {"path_prefix": "/"}, "proxy": "app"}], **over)


def fast(**over):
    hc = {"path": "/health", "interval": "200ms", "timeout": "1s", "jitter": 0, "rise": 2,
          "fall": 3}
    hc.update(over)
    return hc


def down_line(b):
    return f"upstream app: server {b.address} is down"


def up_line(b):
    return f"upstream app: server {b.address} is up"


def count(r, text):
    return r.stderr_text().count(text)


def served_by(r, n=12):
    """Names of the backends that served n requests."""
    names = []
    for i in range(n):
        resp = get(r.port, f"/t/{i}")
        assert resp.status == 200, resp
        names.append(resp.header("x-backend"))
    return names


def reload_to(r, cfg, timeout=10.0):
    before = r.stderr_text().count("reloaded ")
    r.write_config(cfg)
    r.reload()
    wait_for(lambda: r.stderr_text().count("reloaded ") > before, timeout=timeout,
             what="the reload to be logged")


def test_startup_line_and_check_request(rampart, backend):
    b1, b2 = backend("b1"), backend("b2")
    h1, h2 = Health(b1), Health(b2)
    hc = fast(method="HEAD", path="/health?deep=1", host="status.internal")
    r = rampart(hc_config([b1.address, b2.address], hc))
    wait_for(lambda: h1.counts()[0] >= 2 and h2.counts()[0] >= 2, timeout=5,
             what="two checks of each server")
    log = r.stderr_text()
    assert ("health checks: upstream app: http HEAD /health?deep=1 on 2 servers every 200ms "
            "(+0-0%), timeout 1s, rise 2, fall 3") in log
    assert log.count("health checks: upstream app") == 1
    req = h1.reqs[0]
    assert req.method == "HEAD" and req.target == "/health?deep=1" and req.version == "HTTP/1.1"
    assert req.header("host") == "status.internal"
    assert req.header("user-agent") == "rampart-health-check"
    assert req.header("connection") == "close"
    # one connection per check
    assert b1.connections >= h1.counts()[0]
    assert "is down" not in log


def test_host_defaults_to_the_server_address(rampart, backend):
    b1 = backend("b1")
    h1 = Health(b1)
    rampart(hc_config([b1.address], fast()))
    wait_for(lambda: h1.counts()[0] >= 1, timeout=5, what="a check")
    assert h1.reqs[0].header("host") == b1.address
    assert h1.reqs[0].method == "GET" and h1.reqs[0].target == "/health"


def test_rise_and_fall(rampart, backend):
    b1, b2 = backend("b1"), backend("b2")
    h1, h2 = Health(b1), Health(b2)
    r = rampart(hc_config([b1.address, b2.address], fast()))
    wait_for(lambda: h1.counts()[0] >= 1 and h2.counts()[0] >= 1, timeout=5, what="checks")
    assert set(served_by(r)) == {"b1", "b2"}

    h1.set(status=503)
    wait_for(lambda: count(r, down_line(b1)) == 1, timeout=5, what="b1 marked down")
    # fall is 3: not before two failed checks reached the backend
    assert h1.counts()[1] >= 2
    assert "last: status 503" in r.stderr_text()
    assert set(served_by(r)) == {"b2"}

    h1.set(status=200)
    ok_before = h1.counts()[0]
    wait_for(lambda: count(r, up_line(b1)) == 1, timeout=5, what="b1 back up")
    assert h1.counts()[0] - ok_before >= 1  # rise 2: the up came after passes, not at once
    wait_for(lambda: "b1" in served_by(r, 6), timeout=5, what="traffic back on b1")
    assert count(r, down_line(b1)) == 1
    assert count(r, down_line(b2)) == 0


def test_traffic_avoids_a_server_marked_down(rampart, backend):
    b1, b2 = backend("b1"), backend("b2")
    h1, _ = Health(b1), Health(b2)
    r = rampart(hc_config([b1.address, b2.address], fast()))
    h1.set(status=503)
    wait_for(lambda: count(r, down_line(b1)) == 1, timeout=5, what="b1 marked down")
    assert set(served_by(r, 20)) == {"b2"}
    h1.set(status=200)
    wait_for(lambda: count(r, up_line(b1)) == 1, timeout=5, what="b1 back up")
    wait_for(lambda: "b1" in served_by(r, 6), timeout=5, what="traffic back on b1")


def test_killed_backend_is_marked_down(rampart, backend):
    b1, b2 = backend("b1"), backend("b2")
    Health(b1)
    Health(b2)
    r = rampart(hc_config([b1.address, b2.address], fast(fall=2)))
    wait_for(lambda: "health checks: upstream app" in r.stderr_text(), timeout=5,
             what="the startup line")
    assert b2.stop() == []
    wait_for(lambda: count(r, down_line(b2)) == 1, timeout=5, what="b2 marked down")
    assert "connect refused" in r.stderr_text()
    assert set(served_by(r)) == {"b1"}
    assert count(r, down_line(b1)) == 0


def test_tcp_check(rampart, backend):
    b1, b2 = backend("b1"), backend("b2")
    r = rampart(hc_config([b1.address, b2.address], {"type": "tcp", "interval": "200ms",
                                                     "jitter": 0, "fall": 2, "rise": 1}))
    wait_for(lambda: b1.connections >= 3 and b2.connections >= 3, timeout=5,
             what="tcp checks connecting")
    assert "health checks: upstream app: tcp on 2 servers" in r.stderr_text()
    assert b1.nrequests == 0  # a tcp check sends nothing
    assert b2.stop() == []
    wait_for(lambda: count(r, down_line(b2)) == 1, timeout=5, what="b2 marked down")
    assert count(r, down_line(b1)) == 0


def test_body_substring(rampart, backend):
    b1 = backend("b1")
    h1 = Health(b1, body=b'{"status": "ok", "db": "up"}')
    r = rampart(hc_config([b1.address], fast(body='"db": "up"', fall=2)))
    wait_for(lambda: h1.counts()[0] >= 3, timeout=5, what="passing checks")
    assert count(r, down_line(b1)) == 0
    h1.set(body=b'{"status": "ok", "db": "down"}')
    wait_for(lambda: count(r, down_line(b1)) == 1, timeout=5, what="b1 marked down")
    assert 'last: body lacks ""db": "up""' in r.stderr_text()
    # a chunked body holding the text across chunks passes as well
    def chunked(b, req, conn):
        hs = b.base_headers() + [("Transfer-Encoding", "chunked")]
        conn.sendall(util.response_head(200, hs))
        for piece in util.encode_chunked([b'{"status": "ok", "d', b'b": "u', b'p"}']):
            conn.sendall(piece)
        return False
    b1.on("/health", chunked)
    wait_for(lambda: count(r, up_line(b1)) == 1, timeout=5, what="b1 up on a chunked body")


def test_status_list(rampart, backend):
    b1 = backend("b1")
    h1 = Health(b1, status=418)
    r = rampart(hc_config([b1.address], fast(status=[204, "4xx"], fall=2, rise=1)))
    wait_for(lambda: h1.counts()[1] >= 3, timeout=5, what="checks answered 418")
    assert count(r, down_line(b1)) == 0  # 418 is within 4xx
    h1.set(status=200)
    wait_for(lambda: count(r, down_line(b1)) == 1, timeout=5, what="b1 down on a 200")
    assert "last: status 200" in r.stderr_text()
    h1.set(status=204)
    wait_for(lambda: count(r, up_line(b1)) == 1, timeout=5, what="b1 up on a 204")


def test_timeout(rampart, backend):
    b1 = backend("b1")
    b1.on("/health", lambda b, req, conn: (b.stop_event.wait(3), False)[1])
    r = rampart(hc_config([b1.address], fast(timeout="300ms", fall=2)))
    wait_for(lambda: count(r, down_line(b1)) == 1, timeout=8, what="b1 down on timeouts")
    assert "timed out waiting for the response" in r.stderr_text()


@pytest.fixture
def tls_backend():
    yield from util.started_servers(lambda n, *args, **kw: TlsBackend(*args, **kw))


def test_tls_upstream_check(rampart, tls_backend, tmp_path):
    ca = trustme.CA()
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    good = tls_backend(ca, names=("backend.test",), name="tls1")
    bad = tls_backend(ca, names=("other.test",), name="tls2")  # fails name verification
    hg = Health(good)
    Health(bad)
    tls = {"ca": str(ca_path), "sni": "backend.test"}
    r = rampart(hc_config([good.address, bad.address], fast(fall=2), tls=tls))
    wait_for(lambda: hg.counts()[0] >= 3, timeout=5, what="checks over TLS")
    wait_for(lambda: count(r, down_line(bad)) == 1, timeout=5, what="the bad certificate down")
    log = r.stderr_text()
    assert "TLS handshake:" in log
    assert "health checks: upstream app: https GET /health" in log
    assert count(r, down_line(good)) == 0
    info = good.info(1)
    assert info["sni"] == "backend.test"
    assert info["alpn"] == "http/1.1"
    assert hg.reqs[0].header("host") == good.address
    assert set(served_by(r, 6)) == {"tls1"}


def test_tcp_check_over_tls_completes_the_handshake(rampart, tls_backend, tmp_path):
    ca = trustme.CA()
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    b = tls_backend(ca, names=("backend.test",))
    tls = {"ca": str(ca_path), "sni": "backend.test"}
    r = rampart(hc_config([b.address], {"type": "tcp", "interval": "200ms", "jitter": 0},
                          tls=tls))
    wait_for(lambda: b.handshakes >= 3, timeout=5, what="handshakes of tcp checks")
    assert b.nrequests == 0
    assert not b.failed
    assert "tcp+tls on 1 servers" in r.stderr_text()


def test_reload_keeps_state(rampart, backend):
    b1, b2 = backend("b1"), backend("b2")
    h1, h2 = Health(b1), Health(b2)
    cfg = hc_config([b1.address, b2.address], fast())
    r = rampart(cfg)
    h1.set(status=503)
    wait_for(lambda: count(r, down_line(b1)) == 1, timeout=5, what="b1 marked down")
    # a reload changing the check's timing: b1 stays down without falling again, and nothing
    # comes up by itself
    cfg2 = hc_config([b1.address, b2.address], fast(interval="250ms"))
    reload_to(r, cfg2)
    bad_before = h1.counts()[1]
    wait_for(lambda: h1.counts()[1] >= bad_before + 3, timeout=5, what="checks after the reload")
    log = r.stderr_text()
    assert count(r, down_line(b1)) == 1
    assert count(r, up_line(b1)) == 0
    assert "every 250ms" in log  # the new settings were taken
    assert set(served_by(r)) == {"b2"}
    # a reload that changes nothing about the checks logs no new description
    reload_to(r, cfg2)
    assert r.stderr_text().count("every 250ms") == 1
    h1.set(status=200)
    wait_for(lambda: count(r, up_line(b1)) == 1, timeout=5, what="b1 up after the reload")
    # a server added by a reload gets checked too
    b3 = backend("b3")
    h3 = Health(b3)
    reload_to(r, hc_config([b1.address, b2.address, b3.address], fast(interval="250ms")))
    wait_for(lambda: h3.counts()[0] >= 2, timeout=5, what="checks of the new server")
    assert h2.counts()[1] == 0


def test_no_health_check_means_no_checks(rampart, backend):
    b1 = backend("b1")
    h1 = Health(b1)
    r = rampart(make_config(backends=[b1.port]))
    assert get(r.port, "/").status == 200
    time.sleep(0.5)
    assert h1.counts() == (0, 0)
    assert "health checks" not in r.stderr_text()
    assert not re.search(r"is (down|up)", r.stderr_text())
