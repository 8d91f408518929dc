# Failover between the servers of an upstream: a server killed and restarted under load (active
# health checks, slow start), the max_conns queue, the retry budget in a total outage, what is
# and is not retried (POST after its body left, refused connects, the per-try timeout), 503 with
# Retry-After when no server is usable, backup servers, and passive ejection.
import signal
import socket
import struct
import threading
import time

import pytest

from util import Client, free_port, get, http, make_config, scale_size, wait_for


def lb_config(servers, workers=1, routes=None, extra_upstreams=None, **upstream):
    """A config whose catch-all route proxies to upstream "app" with these servers (addresses
    or server dicts) and upstream keys; one worker unless told, so per-worker state (the round
    robin position, the queue) is deterministic."""
    ups = {"app": dict({"servers": [s if isinstance(s, dict) else {"address": s} for s in servers],
                        "keepalive": 32}, **upstream)}
    ups.update(extra_upstreams or {})
    if routes is None:
        routes = [{"match": {"path_prefix": "/"}, "proxy": "app"}]
    return make_config(upstreams=ups, routes=routes, workers=workers)


def wait_log(r, text, timeout=10.0, count=1):
    """Waits until rampart's error log holds `text` at least `count` times."""
    wait_for(lambda: r.stderr_text().count(text) >= count, timeout=timeout,
             what=f"log line {text!r} x{count}\n{r.logs(3000)}")


def closed_port():
    """A 127.0.0.1 port nothing listens on (connects are refused)."""
    return free_port()


def hits(b, prefix, method=None):
    """How many requests under a path prefix (and with a method) the backend received."""
    with b.lock:
        return sum(1 for q in b.requests
                   if q.path.startswith(prefix) and (method is None or q.method == method))


def closer(be, req, conn):
    """Reads the request (the Backend already read its body), then closes without answering."""
    return False


def in_threads(fn, args_list, timeout=60):
    """Runs fn(*args) for each args in threads; returns the results in order (exceptions are
    returned, not raised)."""
    out = [None] * len(args_list)

    def run(i, a):
        try:
            out[i] = fn(*a)
        except Exception as e:  # noqa: BLE001 - the caller asserts on it
            out[i] = e

    ts = [threading.Thread(target=run, args=(i, a), daemon=True) for i, a in enumerate(args_list)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout)
        assert not t.is_alive(), "a client thread hung"
    return out


# ---------------------------------------------------------------------------------------------
# 1. the headline: a server dies and comes back while 50 clients keep sending


class Load:
    """`n` client threads, each with one keep-alive connection, sending GET /item/<t>-<k> until
    stopped; every answer must be 200 with the body of one of `names` for that target."""

    def __init__(self, port, n, names):
        self.port = port
        self.names = names
        self.lock = threading.Lock()
        self.done = 0
        self.by_name = {}
        self.errors = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True)
                        for t in range(n)]

    def start(self):
        for t in self.threads:
            t.start()

    def run(self, tid):
        c = None
        k = 0
        while not self.stop.is_set():
            target = f"/item/{tid}-{k}"
            k += 1
            try:
                if c is None:
                    c = Client(self.port, timeout=15)
                resp = c.request("GET", target)
            except Exception as e:  # noqa: BLE001 - a client-visible error
                with self.lock:
                    self.errors.append(f"{target}: {e!r}")
                if c:
                    c.close()
                c = None
                continue
            name = resp.header("x-backend")
            ok = (resp.status == 200 and name in self.names
                  and resp.body == f"{name} GET {target}\n".encode())
            with self.lock:
                self.done += 1
                self.by_name[name] = self.by_name.get(name, 0) + 1
                if not ok:
                    self.errors.append(f"{target}: {resp!r}")
            if resp.closes():
                c.close()
                c = None
        if c:
            c.close()

    def count(self):
        with self.lock:
            return self.done

    def wait_count(self, n, timeout):
        wait_for(lambda: self.count() >= n or self.errors, timeout=timeout, interval=0.02,
                 what=f"{n} requests done")

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)
            assert not t.is_alive(), "a load thread hung"


def test_server_killed_and_restarted_under_load(rampart, backend):
    """A server dies (listener closed, connections reset) and comes back on the same port while
    50 clients keep sending: no client sees an error (the burst of retries right after the kill
    fits in the retry budget earned by the requests before it). Passive ejection (5 refused
    connects) usually takes the dead server out before its health checks do; the ejection then
    outlasts the restart, so traffic returns when it ends (10 s), not at "is up"."""
    total = scale_size(10000)
    bs = [backend(f"s{i}") for i in range(3)]
    victim = bs[1]
    hc = {"path": "/", "interval": "200ms", "rise": 2, "fall": 2}
    servers = [{"address": b.address, "slow_start": "2s"} for b in bs]
    r = rampart(lb_config(servers, workers=2, health_check=hc))
    names = {"s0", "s1", "s2", "s1-again"}
    load = Load(r.port, 50, names)  # not scaled down: the kill must hit many requests at once
    load.start()
    try:
        load.wait_count(total // 5, timeout=60)
        assert not load.errors, load.errors[:10]
        before_kill = hits(victim, "/item")
        assert before_kill > 0  # it had its share before it died
        victim.kill()
        wait_log(r, f"server {victim.address} is down", timeout=15)
        load.wait_count(total // 2, timeout=60)
        reborn = backend("s1-again", port=victim.port)
        wait_log(r, f"server {victim.address} is up", timeout=15)
        # it passed its checks: traffic comes back (slowly at first: slow_start)
        wait_for(lambda: hits(reborn, "/item") > 0 or load.errors, timeout=20,
                 what="requests at the restarted server")
        load.wait_count(total, timeout=60)
    finally:
        load.finish()
    r.signal(signal.SIGUSR2)  # the counters (retries, budget denials) into the log
    wait_log(r, "denied by budget", timeout=5)
    assert not load.errors, (f"{len(load.errors)} client-visible errors: {load.errors[:10]}\n"
                             f"{r.logs(4000)}")
    assert "(denied by budget 0)" in r.stderr_text(), r.logs(3000)
    assert load.count() >= total
    assert hits(reborn, "/item") > 0
    assert load.by_name.get("s1-again", 0) == hits(reborn, "/item")
    # the two survivors carried the load meanwhile
    assert hits(bs[0], "/item") > total // 5 and hits(bs[2], "/item") > total // 5
    assert sum(load.by_name.values()) == load.count()


# ---------------------------------------------------------------------------------------------
# 2. max_conns with a queue


def concurrency_tracker(b, prefix, secs):
    """A handler under prefix that sleeps `secs` and records how many ran at once."""
    st = {"cur": 0, "max": 0}
    lock = threading.Lock()

    def slow(be, req, conn):
        with lock:
            st["cur"] += 1
            st["max"] = max(st["max"], st["cur"])
        be.stop_event.wait(secs)
        with lock:  # before the answer: the proxy may send the next request once it has it
            st["cur"] -= 1
        return be.respond(conn, req, 200, f"slow {req.target}\n".encode())

    b.on(prefix, slow)
    return st


def test_queue_waits_for_a_free_place(rampart, backend):
    b = backend("q")
    st = concurrency_tracker(b, "/work", 0.3)
    r = rampart(lb_config([{"address": b.address, "max_conns": 2}],
                          queue={"size": 20, "timeout": "10s"}))
    t0 = time.monotonic()
    res = in_threads(lambda i: get(r.port, f"/work/{i}", timeout=30), [(i,) for i in range(8)])
    elapsed = time.monotonic() - t0
    for i, resp in enumerate(res):
        assert not isinstance(resp, Exception), resp
        assert resp.status == 200 and resp.body == f"slow /work/{i}\n".encode(), resp
    assert st["max"] == 2, st  # never more than max_conns at the server, and both places used
    assert hits(b, "/work") == 8
    assert elapsed >= 0.9  # 8 requests of 0.3 s two at a time cannot take less than 1.2 s
    assert ": 503" not in r.stderr_text()


def test_queue_full_or_timed_out_is_503(rampart, backend):
    b = backend("q")
    st = concurrency_tracker(b, "/hold", 2.0)
    r = rampart(lb_config([{"address": b.address, "max_conns": 2}],
                          queue={"size": 1, "timeout": "300ms"}, retry_after="5s"))
    held, waited = [], []
    threads = [threading.Thread(target=lambda i=i: held.append(get(r.port, f"/hold/{i}",
                                                                   timeout=30)), daemon=True)
               for i in range(2)]
    for t in threads:
        t.start()
    wait_for(lambda: st["cur"] == 2, timeout=10, what="both places taken")
    # the first extra waits in the queue (size 1) until its 300 ms pass; the others find the
    # queue full and get their 503 at once
    queued = threading.Thread(target=lambda: waited.append(get(r.port, "/extra/q")), daemon=True)
    queued.start()
    time.sleep(0.05)
    direct = in_threads(lambda i: get(r.port, f"/extra/{i}"), [(0,), (1,)])
    queued.join(10)
    for t in threads:
        t.join(30)
    assert len(waited) == 1
    for resp in direct + waited:
        assert resp.status == 503, resp
        assert resp.header("retry-after") == "5", resp
    assert sorted(x.body for x in held) == [b"slow /hold/0\n", b"slow /hold/1\n"]
    assert st["max"] == 2 and hits(b, "/extra") == 0
    log = r.stderr_text()
    assert "upstream app: every server is at max_conns and the queue is full: 503" in log, log
    assert "upstream app: no server below max_conns within 300ms: 503" in log, log


# ---------------------------------------------------------------------------------------------
# 3. the retry budget in a total outage


def outage(backend, n=3):
    bs = [backend(f"o{i}") for i in range(n)]
    for b in bs:
        b.on("/", closer)
    return bs


def test_no_retry_budget_means_one_attempt(rampart, backend):
    bs = outage(backend)
    r = rampart(lb_config([b.address for b in bs], outlier=False,
                          retries={"tries": 3, "budget": 0, "budget_min": 0}))
    for i in range(10):
        resp = get(r.port, f"/down/{i}")
        assert resp.status == 502, resp
    assert sum(b.nrequests for b in bs) == 10


def test_retries_within_budget_try_every_server(rampart, backend):
    bs = outage(backend)
    r = rampart(lb_config([b.address for b in bs], outlier=False, retries={"tries": 3}))
    for i in range(10):
        resp = get(r.port, f"/down/{i}")
        assert resp.status == 502, resp
    # three tries, each on a server not tried yet
    assert [b.nrequests for b in bs] == [10, 10, 10]
    for i in range(10):
        assert sum(hits(b, f"/down/{i}") for b in bs) == 3


def test_retry_budget_caps_retries_under_concurrency(rampart, backend):
    bs = outage(backend)
    r = rampart(lb_config([b.address for b in bs], workers=2, outlier=False,
                          retries={"tries": 3, "budget": 20, "budget_min": 1}))
    nclients, each = 20, 15

    def client(t):
        statuses = []
        for k in range(each):
            statuses.append(get(r.port, f"/down/{t}-{k}").status)
        return statuses

    res = in_threads(client, [(t,) for t in range(nclients)], timeout=120)
    for x in res:
        assert not isinstance(x, Exception), x
        assert x == [502] * each
    # the budget: 20% of the requests of the last 10-20 s plus 1 retry per second, so 300
    # requests in a total outage make about 60 + 20 retries, not 600
    requests = nclients * each
    attempts = sum(b.nrequests for b in bs)
    assert requests < attempts < 2 * requests, (requests, attempts)


def test_burst_of_refused_connects_is_retried(rampart, backend):
    """20 concurrent GETs over a closed port and two servers that take 1 s to answer: the 7 or
    so that meet the refusal at once are all retried elsewhere (with a budget of retries in
    flight, 20% of 20 active, 3 of them got 502)."""
    slow = [backend(f"slow{i}") for i in range(2)]
    st = [concurrency_tracker(b, "/", 1.0) for b in slow]
    dead = closed_port()
    r = rampart(lb_config([f"127.0.0.1:{dead}"] + [b.address for b in slow], outlier=False))
    res = in_threads(lambda i: get(r.port, f"/burst/{i}", timeout=30), [(i,) for i in range(20)])
    r.signal(signal.SIGUSR2)
    wait_log(r, "denied by budget", timeout=5)
    statuses = [x.status if not isinstance(x, Exception) else repr(x) for x in res]
    assert statuses == [200] * 20, (statuses, r.logs(3000))
    assert sum(hits(b, "/burst") for b in slow) == 20
    assert max(s["max"] for s in st) > 0
    log = r.stderr_text()
    assert log.count(f"127.0.0.1:{dead} refused the connection") >= 3
    assert "(denied by budget 0)" in log


# ---------------------------------------------------------------------------------------------
# 4. what is retried: not a POST whose body left, but anything whose connect failed


def test_post_not_retried_after_its_body_was_sent(rampart, backend):
    bs = outage(backend, 2)
    r = rampart(lb_config([b.address for b in bs], outlier=False))
    resp = http(r.port, "POST", "/p", body=b"x" * 100)
    assert resp.status == 502, resp
    assert sorted(hits(b, "/p", "POST") for b in bs) == [0, 1]
    # a GET is retried on the other server (and fails there too)
    resp = get(r.port, "/g")
    assert resp.status == 502, resp
    assert [hits(b, "/g", "GET") for b in bs] == [1, 1]


def test_get_retried_on_the_live_server_post_not(rampart, backend):
    bad, good = backend("bad"), backend("good")
    bad.on("/", closer)
    r = rampart(lb_config([bad.address, good.address], outlier=False))
    for i in range(6):
        resp = get(r.port, f"/g/{i}")
        assert resp.status == 200 and resp.body == f"good GET /g/{i}\n".encode(), resp
    assert hits(bad, "/g") >= 1  # some went there first and were retried
    assert hits(good, "/g") == 6
    statuses = []
    for i in range(6):
        resp = http(r.port, "POST", f"/p/{i}", body=b"y" * 100)
        assert resp.status in (200, 502), resp
        if resp.status == 200:
            assert resp.body == f"good POST /p/{i}\n".encode()
        statuses.append(resp.status)
    # every POST reached exactly one server: the ones that reached "bad" were not retried
    assert statuses.count(502) == hits(bad, "/p", "POST") >= 1
    assert statuses.count(200) == hits(good, "/p", "POST") >= 1
    for i in range(6):
        assert hits(bad, f"/p/{i}") + hits(good, f"/p/{i}") == 1


@pytest.mark.parametrize("method,retried", [
    ("GET", True), ("HEAD", True), ("PUT", True), ("DELETE", True), ("OPTIONS", True),
    ("POST", False), ("PATCH", False)])
def test_close_without_response_retried_only_for_idempotent_methods(rampart, backend, method,
                                                                    retried):
    bad, good = backend("bad"), backend("good")
    bad.on("/", closer)
    r = rampart(lb_config([bad.address, good.address], outlier=False))
    statuses = []
    for i in range(4):
        resp = http(r.port, method, f"/m/{i}", body=b"v" * 1000)
        statuses.append(resp.status)
        assert resp.status in ((200,) if retried else (200, 502)), resp
        if resp.status == 200 and method != "HEAD":
            assert resp.body == f"good {method} /m/{i}\n".encode(), resp
    assert hits(bad, "/m", method) >= 1  # round robin sent some there first
    if retried:
        assert hits(good, "/m", method) == 4
        assert good.last().body == b"v" * 1000  # the kept body was sent again
    else:
        assert statuses.count(502) == hits(bad, "/m", method)
        assert statuses.count(200) == hits(good, "/m", method)
        for i in range(4):
            assert hits(bad, f"/m/{i}") + hits(good, f"/m/{i}") == 1


def resetter(be, req, conn):
    """Reads the request, then resets the connection (RST, no FIN)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return False


def test_reset_without_response_is_retried_for_get(rampart, backend):
    bad, good = backend("bad"), backend("good")
    bad.on("/", resetter)
    r = rampart(lb_config([bad.address, good.address], outlier=False))
    for i in range(4):
        resp = get(r.port, f"/rst/{i}")
        assert resp.status == 200 and resp.body == f"good GET /rst/{i}\n".encode(), resp
    assert hits(bad, "/rst") >= 1 and hits(good, "/rst") == 4


def test_no_retry_once_the_response_started(rampart, backend):
    """A server that dies inside its response body: the client already has the head, so the
    response is cut (the connection closes short of Content-Length), never restarted elsewhere."""
    bad, good = backend("bad"), backend("good")

    def truncate(be, req, conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"t" * 10)
        return False

    bad.on("/", truncate)
    r = rampart(lb_config([bad.address, good.address], outlier=False))
    cut = 0
    for i in range(4):
        with Client(r.port) as c:
            c.send(f"GET /t/{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            try:
                resp = c.read_response()
            except (EOFError, ConnectionResetError):
                cut += 1  # head and 10 bytes, then the connection ended
                continue
            assert resp.status == 200 and resp.body == f"good GET /t/{i}\n".encode(), resp
    assert cut == hits(bad, "/t") >= 1
    assert hits(good, "/t") == 4 - cut
    for i in range(4):
        assert hits(bad, f"/t/{i}") + hits(good, f"/t/{i}") == 1
    wait_log(r, f"upstream app: {bad.address} sent a truncated or malformed body", timeout=5)


def test_put_with_a_large_body_is_not_retried(rampart, backend):
    """A body over the 64 KiB kept for a replay makes even a PUT final once it was sent."""
    bad, good = backend("bad"), backend("good")
    bad.on("/", closer)
    r = rampart(lb_config([bad.address, good.address], outlier=False))
    body = b"L" * (100 * 1024)
    statuses = [http(r.port, "PUT", f"/big/{i}", body=body).status for i in range(4)]
    assert set(statuses) == {200, 502}, statuses
    assert statuses.count(502) == hits(bad, "/big", "PUT")
    assert statuses.count(200) == hits(good, "/big", "PUT")
    with good.lock:
        assert all(q.body_len == len(body) for q in good.requests)


def test_post_retried_when_the_connect_was_refused(rampart, backend):
    good = backend("good")
    dead = closed_port()
    r = rampart(lb_config([f"127.0.0.1:{dead}", good.address], outlier=False))
    for i in range(4):
        body = f"post-{i}-".encode() * 50
        resp = http(r.port, "POST", f"/echo/{i}", body=body)
        assert resp.status == 200 and resp.body == body, resp
        assert good.last().body == body
    assert hits(good, "/echo", "POST") == 4
    log = r.stderr_text()
    assert (f"127.0.0.1:{dead} refused the connection" in log
            or f"connect to 127.0.0.1:{dead} failed" in log), log


# ---------------------------------------------------------------------------------------------
# 5. no usable server: 503 with Retry-After; backups


def health_switch(b, st):
    """/hc answers 200 while st["ok"], else 503."""
    def hc(be, req, conn):
        return be.respond(conn, req, 200 if st["ok"] else 503, b"hc\n")
    b.on("/hc", hc)


def test_every_server_down_is_503_with_retry_after(rampart, backend):
    bs = [backend(f"d{i}") for i in range(2)]
    r = rampart(lb_config([b.address for b in bs], retry_after="7s",
                          health_check={"path": "/status/503", "interval": "200ms", "fall": 1}))
    for b in bs:
        wait_log(r, f"server {b.address} is down", timeout=10)
    t0 = time.monotonic()
    resp = get(r.port, "/anything")
    assert resp.status == 503, resp
    assert resp.header("retry-after") == "7", resp
    assert time.monotonic() - t0 < 2.0  # answered at once, no connect attempted
    assert all(hits(b, "/anything") == 0 for b in bs)
    assert "upstream app: no usable server: 503" in r.stderr_text()


def test_backup_serves_only_while_the_primaries_are_down(rampart, backend):
    p0, p1, spare = backend("p0"), backend("p1"), backend("spare")
    st = {"ok": True}
    for b in (p0, p1):
        health_switch(b, st)
    health_switch(spare, {"ok": True})
    servers = [p0.address, p1.address, {"address": spare.address, "backup": True}]
    r = rampart(lb_config(servers, outlier=False,
                          health_check={"path": "/hc", "interval": "200ms", "fall": 1, "rise": 2}))

    def burst(tag, n=10):
        names = []
        for i in range(n):
            resp = get(r.port, f"/{tag}/{i}")
            assert resp.status == 200, resp
            names.append(resp.header("x-backend"))
        return names

    assert set(burst("up1")) == {"p0", "p1"}
    st["ok"] = False
    for b in (p0, p1):
        wait_log(r, f"server {b.address} is down", timeout=10)
    assert burst("down") == ["spare"] * 10
    st["ok"] = True
    for b in (p0, p1):
        wait_log(r, f"server {b.address} is up", timeout=10)
    assert set(burst("up2")) == {"p0", "p1"}
    assert hits(spare, "/up1") == hits(spare, "/up2") == 0
    assert hits(spare, "/down") == 10


# ---------------------------------------------------------------------------------------------
# 6. the per-try timeout


def hang(be, req, conn):
    """Never answers (until the backend stops)."""
    be.stop_event.wait(60)
    return False


def test_try_timeout_moves_a_get_on_and_ends_a_post(rampart, backend):
    slow, fast = backend("slow"), backend("fast")
    slow.on("/", hang)
    retries = {"tries": 3, "try_timeout": "500ms"}
    r = rampart(lb_config(
        [slow.address, fast.address], outlier=False, retries=retries,
        extra_upstreams={"only_slow": {"servers": [{"address": slow.address}], "outlier": False,
                                       "retries": retries}},
        routes=[{"match": {"path_prefix": "/post"}, "proxy": "only_slow"},
                {"match": {"path_prefix": "/"}, "proxy": "app"}]))
    for i in range(4):
        resp = get(r.port, f"/g/{i}", timeout=20)
        assert resp.status == 200 and resp.body == f"fast GET /g/{i}\n".encode(), resp
    assert hits(slow, "/g") >= 1 and hits(fast, "/g") == 4
    wait_log(r, f"upstream app: {slow.address} timed out", timeout=5)
    t0 = time.monotonic()
    resp = http(r.port, "POST", "/post/1", body=b"z" * 100, timeout=20)
    elapsed = time.monotonic() - t0
    assert resp.status == 504, resp
    assert 0.4 <= elapsed < 5.0, elapsed  # the try timeout, not backend_read (10 s)
    assert hits(slow, "/post", "POST") == 1 and hits(fast, "/post") == 0
    wait_log(r, f"upstream only_slow: {slow.address} timed out", timeout=5)


# ---------------------------------------------------------------------------------------------
# 7. passive ejection


def test_failing_server_is_ejected_and_comes_back(rampart, backend):
    bad, good = backend("bad"), backend("good")
    bad.on("/", lambda be, req, conn: be.respond(conn, req, 500, b"broken\n"))
    r = rampart(lb_config([bad.address, good.address], retries=1,
                          outlier={"failures": 3, "base_ejection": "2s"}))
    ejected = f"server {bad.address} ejected for 2.0s after 3 consecutive 5xx responses"
    for i in range(12):
        resp = get(r.port, f"/a/{i}")
        assert resp.status in (200, 500), resp
        assert resp.header("x-backend") == ("good" if resp.status == 200 else "bad")
        if ejected in r.stderr_text():
            break
    wait_log(r, ejected, timeout=2)
    assert hits(bad, "/a") == 3
    for i in range(20):
        resp = get(r.port, f"/b/{i}")
        assert resp.status == 200 and resp.body == f"good GET /b/{i}\n".encode(), resp
    assert hits(bad, "/b") == 0 and hits(good, "/b") == 20

    def probe():
        resp = get(r.port, "/c")
        assert resp.status in (200, 500)
        time.sleep(0.1)
        return hits(bad, "/c") > 0

    wait_for(probe, timeout=15, interval=0, what="the ejected server back in rotation")
    wait_log(r, f"server {bad.address} serves again after its ejection", timeout=5)


def test_refusing_server_is_ejected(rampart, backend):
    good = backend("good")
    dead = closed_port()
    r = rampart(lb_config([f"127.0.0.1:{dead}", good.address],
                          outlier={"failures": 3, "base_ejection": "30s"}))
    for i in range(12):
        resp = get(r.port, f"/r/{i}")
        assert resp.status == 200 and resp.body == f"good GET /r/{i}\n".encode(), resp
    wait_log(r, f"server 127.0.0.1:{dead} ejected for 30.0s after 3 consecutive connect failures",
             timeout=2)
    # once ejected nothing is tried there: no more refusals in the log
    log = r.stderr_text()
    before = log.count(f"127.0.0.1:{dead}")
    for i in range(10):
        assert get(r.port, f"/s/{i}").status == 200
    assert r.stderr_text().count(f"127.0.0.1:{dead}") == before
