# Review of the load-balancing change (issue 4): regressions for what the review found in server
# selection, retries on another server, max_conns and its queue, passive ejection and the
# health checker following reloads. Each test names the defect it pins down.
import re
import signal
import socket
import time

import util
from util import Client, get, make_config, wait_for


def lb_config(servers, port=None, top=None, **up):
    """Upstream "app" on the given backends (util.Backend, a port or "host:port") plus keys,
    and a catch-all route to it; one worker so that per-worker state is deterministic."""
    addrs = [s if isinstance(s, str) else f"127.0.0.1:{s}" if isinstance(s, int) else s.address
             for s in servers]
    u = {"servers": [{"address": a} for a in addrs]}
    u.update(up)
    return make_config(port=port, upstreams={"app": u},
                       routes=[{"match": {"path_prefix": "/"}, "proxy": "app"}], workers=1,
                       **(top or {}))


def reload_to(r, cfg, timeout=10.0):
    before = r.stderr_text().count("reloaded ")
    r.write_config(cfg)
    r.reload()
    wait_for(lambda: r.stderr_text().count("reloaded ") > before, timeout=timeout,
             what="the reload to be logged")


# ---- a retry after a partial response head -------------------------------------------------


def test_retry_after_a_partial_head_parses_the_next_servers_response(rampart, backend):
    """proxy.c connect_next/backend_failed: x->resp_hint (the h1 parser's resume offset) is not
    reset when an idempotent request moves to another server, so the next server's head is
    scanned from the old offset and never found: the retry hangs until the timeout (504)."""
    bad, good = backend("bad"), backend("good")

    def partial(b, req, conn):
        # a long, unfinished head, then the connection closes
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Filler: " + b"f" * 600 + b"\r\n")
        return False

    bad.on("/", partial)
    r = rampart(lb_config([bad, good], retries={"tries": 2, "try_timeout": "2s"}))
    t0 = time.monotonic()
    resp = get(r.port, "/x", timeout=10)
    took = time.monotonic() - t0
    assert bad.nrequests == 1  # the first pick (round robin starts at the first server)
    assert resp.status == 200 and resp.header("x-backend") == "good", resp
    assert took < 1.5, took


# ---- a slow client must not count against the server ---------------------------------------


def test_a_client_stalling_its_upload_does_not_eject_the_server(rampart, backend):
    """proxy.c rp_proxy_step/wait_timeout: while the request body is still coming from the
    client, the backend timer keeps running with retries.try_timeout; when it fires the attempt
    is reported RP_ATTEMPT_TIMEOUT, so any client that pauses its upload longer than
    try_timeout strikes the (healthy, idle) server, and a few such clients eject it."""
    b1, b2 = backend("b1"), backend("b2")
    r = rampart(lb_config([b1, b2], retries={"tries": 2, "try_timeout": "500ms"},
                          outlier={"failures": 2, "base_ejection": "30s"}))
    for _ in range(4):
        s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
        s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        time.sleep(1.2)  # longer than try_timeout, far shorter than timeouts.body
        s.close()
    assert "ejected" not in r.stderr_text(), r.stderr_text()[-1500:]
    names = {get(r.port, "/after").header("x-backend") for _ in range(4)}
    assert names == {"b1", "b2"}, names


# ---- turning health checks off by a reload -------------------------------------------------


def test_a_reload_that_drops_health_checks_brings_a_down_server_back(rampart, backend):
    """server_state.c rp_lb_state_attach resets healthy=true for an upstream without checks at
    *load* time, but the checker thread keeps probing on the old snapshot until it notices the
    new generation (up to 100 ms later) and rp_server_check_result still sees the old
    u->health: a failing probe in that window marks the server down again, and with no checks
    left nothing ever brings it back (503 until the next reload)."""
    b = backend()
    b.on("/health", lambda bk, req, conn: bk.respond(conn, req, 503, b"no"))
    hc = {"path": "/health", "interval": "20ms", "timeout": "1s", "jitter": 0, "rise": 1,
          "fall": 1}
    r = rampart(lb_config([b], health_check=hc))
    down = f"server {b.address} is down"
    for _ in range(3):  # the window is short: give the race a few chances
        wait_for(lambda: get(r.port, "/").status == 503, timeout=5,
                 what="the server to be marked down")
        reload_to(r, lb_config([b], port=r.port))
        time.sleep(0.5)  # the checker has followed the reload by now
        statuses = [get(r.port, "/").status for _ in range(3)]
        assert statuses == [200, 200, 200], (statuses, r.stderr_text().count(down))
        reload_to(r, lb_config([b], port=r.port, health_check=hc))


# ---- in-flight counts with max_conns: every path gives its place back ----------------------


def one_place(servers, **up):
    """max_conns 1 on every server and no queue: a leaked in-flight count shows as a 503."""
    cfg = lb_config(servers, **up)
    for s in cfg["upstreams"]["app"]["servers"]:
        s["max_conns"] = 1
    return cfg


def counters(r):
    """SIGUSR2: the upstream's and its servers' counter lines, as {"active": n, "in flight":
    [n, ...], "retries": n}."""
    before = r.stderr_text().count("upstream app: active ")
    r.signal(signal.SIGUSR2)
    wait_for(lambda: r.stderr_text().count("upstream app: active ") > before, timeout=5,
             what="the SIGUSR2 counters")
    time.sleep(0.1)  # the server lines follow the upstream line
    text = r.stderr_text()
    tail = text[text.rindex("upstream app: active "):]
    return {
        "active": int(re.search(r"active (\d+)", tail).group(1)),
        "retries": int(re.search(r"retries (\d+)", tail).group(1)),
        "in flight": [int(v) for v in re.findall(r"in flight (\d+)", tail)],
    }


def assert_places_free(r, path="/", n=3):
    statuses = [get(r.port, path).status for _ in range(n)]
    assert statuses == [200] * n, (statuses, r.stderr_text()[-1500:])
    c = counters(r)
    assert c["active"] == 0 and not any(c["in flight"]), c


def test_client_abort_while_waiting_for_the_backend_frees_the_place(rampart, backend):
    b = backend()
    r = rampart(one_place([b]))
    s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
    s.sendall(b"GET /slow/0.5 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.2)
    s.close()
    time.sleep(0.8)  # the abort is noticed when the answer comes (no read while waiting)
    assert_places_free(r)


def test_client_abort_while_queued_frees_its_queue_slot(rampart, backend):
    b = backend()
    r = rampart(one_place([b], queue={"size": 1, "timeout": "5s"}))
    hold = Client(r.port)
    hold.send(util.build_request("GET", "/slow/1"))
    time.sleep(0.2)
    q = socket.create_connection(("127.0.0.1", r.port), timeout=5)
    q.sendall(b"GET /queued HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.2)
    q.close()  # gone while it waits
    assert hold.read_response().status == 200
    hold.close()
    time.sleep(0.4)
    assert_places_free(r)


def test_queue_timeout_answers_503_with_retry_after_and_frees_nothing_twice(rampart, backend):
    b = backend()
    r = rampart(one_place([b], queue={"size": 2, "timeout": "300ms"}, retry_after="7s"))
    hold = Client(r.port)
    hold.send(util.build_request("GET", "/slow/1"))
    time.sleep(0.2)
    resp = get(r.port, "/waits")
    assert resp.status == 503 and resp.header("retry-after") == "7", resp
    assert hold.read_response().status == 200
    hold.close()
    assert_places_free(r)


def test_websocket_tunnel_end_frees_the_place(rampart, backend):
    b = backend()
    r = rampart(one_place([b]))
    with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
        s.sendall(b"GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n"
                  b"Upgrade: echo\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            d = s.recv(4096)
            if not d:
                break
            head += d
        assert head.startswith(b"HTTP/1.1 101"), head
    time.sleep(0.3)
    assert_places_free(r)


def test_connect_failure_frees_the_place(rampart, backend):
    b = backend()
    dead = util.free_port()
    r = rampart(one_place([dead, b]))
    for _ in range(4):
        assert get(r.port, "/").status == 200
    assert_places_free(r)


def test_h2_client_stream_reset_frees_the_place(rampart, backend):
    from test_h2_server import CANCEL, H2

    b = backend()
    r = rampart(one_place([b]))
    c = H2(r.port)
    sid = c.request("GET", "/slow/0.6")
    time.sleep(0.2)
    c.conn.reset_stream(sid, CANCEL)
    c.flush()
    time.sleep(0.1)
    sid2 = c.request("GET", "/queued-behind-nothing")
    deadline = time.monotonic() + 5
    while c.st(sid2)["headers"] is None and time.monotonic() < deadline and not c.closed:
        c.pump(0.5)
    assert c.st(sid2)["headers"][":status"] == "200", c.st(sid2)
    c.sock.close()
    assert_places_free(r)


def test_h2c_backend_client_abort_frees_the_place(rampart):
    from h2backend import H2Backend

    hb = H2Backend("h2b")
    try:
        r = rampart(one_place([hb.port], protocol="h2c"))
        s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
        s.sendall(b"GET /delay/0.5 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        s.close()
        time.sleep(0.5)
        assert_places_free(r, "/json")
    finally:
        assert hb.stop() == []


def test_h2_stream_reset_while_queued_leaves_the_queue(rampart, backend):
    """An HTTP/2 client can cancel a queued request (unlike HTTP/1, whose EOF is not read while
    the exchange waits): the exchange must leave the worker's queue before it is freed."""
    from test_h2_server import CANCEL, H2

    b = backend()
    r = rampart(one_place([b], queue={"size": 4, "timeout": "3s"}))
    c = H2(r.port)
    hold = c.request("GET", "/slow/0.8")
    time.sleep(0.2)
    queued = [c.request("GET", f"/q{i}") for i in range(3)]
    time.sleep(0.2)
    for sid in queued[:2]:
        c.conn.reset_stream(sid, CANCEL)
    c.flush()
    deadline = time.monotonic() + 6
    while (c.st(queued[2])["headers"] is None or c.st(hold)["headers"] is None) and \
            time.monotonic() < deadline and not c.closed:
        c.pump(0.5)
    assert c.st(hold)["headers"][":status"] == "200"
    assert c.st(queued[2])["headers"][":status"] == "200"
    assert [q.path for q in b.requests if q.path.startswith("/q")] == ["/q2"]
    c.sock.close()
    assert_places_free(r)


# ---- the retry budget and the queue ---------------------------------------------------------


def test_a_queued_retry_is_counted_once_by_the_retry_budget(rampart, backend):
    """proxy.c connect_next calls rp_upstream_retry_allowed on every pass for x->tries > 0,
    and a retry that has to wait for a place is passed again by the queue every 10 ms
    (rp_proxy_resume): each pass counts one more retry in the budget window. A retry waiting a
    fraction of a second uses up the whole budget (budget_min per second times the window), and
    then the waiting retry itself is refused: 502 instead of the answer."""
    a, b = backend("a"), backend("b")
    b.on("/fail", lambda bk, req, conn: False)  # b closes without an answer
    cfg = lb_config([a, b], retries={"tries": 2, "budget": 20, "budget_min": 1},
                    queue={"size": 4, "timeout": "5s"})
    for s in cfg["upstreams"]["app"]["servers"]:
        s["max_conns"] = 1
    r = rampart(cfg)
    hold = Client(r.port)
    hold.send(util.build_request("GET", "/slow/1.2"))  # round robin: a first
    time.sleep(0.2)
    resp = get(r.port, "/fail")  # a is full: b, which fails; the retry waits for a
    assert hold.read_response().status == 200
    hold.close()
    retries = counters(r)["retries"]
    assert resp.status == 200 and resp.header("x-backend") == "a", (resp, retries)
    assert retries == 1, retries
