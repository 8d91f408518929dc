# Load balancing end to end: every balancer behind a real rampart and real backends, judged by
# which backend answered (X-Backend), Set-Cookie headers and rampart's log lines: shares and
# weights, load awareness (least_conn, p2c), hash keys (also split over HTTP/2 cookie fields),
# bounded loads and consistent remapping over reloads, ip_hash by client network and on
# failover, sticky cookies, backups, drain, slow start, balancer switches by reload and the
# startup block.
# Shares get wide tolerances; state changes are awaited with wait_for, never with fixed sleeps.
import re
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from util import (SANITIZED, Reader, build_request, get, make_config, read_response, scale_conc,
                  wait_for)

BALANCERS = ["round_robin", "random", "least_conn", "p2c", "ip_hash", "hash"]
SPREADING = {"round_robin", "random", "least_conn", "p2c"}

# fast active checks: one failed check takes a server out, one passed check brings it back
HEALTH = {"path": "/healthz", "interval": "200ms", "timeout": "1s", "jitter": 0, "rise": 1,
          "fall": 1}
HEALTH_WAIT = 15.0 if SANITIZED else 8.0

STICKY_RE = re.compile(r"^rp_srv=([0-9a-f]{16}); Path=/; Max-Age=3600; HttpOnly$")


# ---- helpers ---------------------------------------------------------------------------------


def lb_config(backends, upstream=None, servers=None, **over):
    """make_config with one upstream "app" over backends; upstream: keys merged into it;
    servers: per-server extra keys (a list parallel to backends, None = nothing extra)."""
    cfg = make_config(backends=[b.port for b in backends], **over)
    app = cfg["upstreams"]["app"]
    for s, extra in zip(app["servers"], servers or []):
        s.update(extra or {})
    app.update(upstream or {})
    return cfg


def checked_backend(backend, name):
    """A backend whose /healthz answers 200 while .healthy is true, 503 otherwise."""
    b = backend(name)
    b.healthy = True

    def health(bk, req, conn):
        ok = bk.healthy
        return bk.respond(conn, req, 200 if ok else 503, b"ok\n" if ok else b"sick\n")

    b.on("/healthz", health)
    return b


def who(port, target="/", headers=None):
    """The name of the backend that answered one request on a fresh connection (must be 200)."""
    r = get(port, target, headers)
    assert r.status == 200, r
    name = r.header("x-backend")
    assert name, r
    return name


def who_from(port, src_ip, target="/"):
    """Like who(), from a chosen loopback source address (all of 127/8 is local on Linux)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src_ip, 0)) as s:
        s.sendall(build_request("GET", target))
        resp = read_response(Reader(s))
    assert resp.status == 200, resp
    return resp.header("x-backend")


def tally(port, n, target="/", headers=None):
    return Counter(who(port, target, headers) for _ in range(n))


def tally_concurrent(port, n, clients, target="/"):
    """n requests from `clients` threads at once; Counter of the backends that answered."""
    with ThreadPoolExecutor(clients) as ex:
        return Counter(ex.map(lambda _: who(port, target), range(n)))


def proxied(b):
    """Requests a backend received through the proxy (its health checks left out)."""
    with b.lock:
        return [q for q in b.requests if q.path != "/healthz"]


def log_count(r, text):
    return r.stderr_text().count(text)


def wait_log(r, text, before, timeout=HEALTH_WAIT):
    """Waits until `text` occurs in rampart's stderr more often than `before` times."""
    try:
        wait_for(lambda: log_count(r, text) > before, timeout=timeout, what=f"log line {text!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{r.logs()}") from None


def set_health(r, b, healthy):
    """Flips b's health answer and waits for rampart to log the state change."""
    text = f"server {b.address} is {'up' if healthy else 'down'}"
    before = log_count(r, text)
    b.healthy = healthy
    wait_log(r, text, before)


def reload_to(r, cfg, timeout=10.0):
    """Writes cfg, sends SIGHUP and waits until rampart logs that the reload took effect."""
    before = log_count(r, "reloaded ")
    r.write_config(cfg)
    r.reload()
    wait_log(r, "reloaded ", before, timeout=timeout)


# ---- 1: every balancer, shares and weights -----------------------------------------------------


@pytest.mark.parametrize("balance", BALANCERS)
def test_every_balancer_serves(rampart, backend, balance):
    """300 requests from 24 concurrent clients. Concurrent, because under sequential or light
    load p2c compares latency estimates alone, and a peak estimate fades with a 10 s time
    constant: within a run this short, whichever identical server once had the slowest response
    gets little (1/86/213 of 300 sequential requests was seen; 42 of 300 with 8 clients)."""
    bs = [backend(f"s{i}") for i in range(3)]
    r = rampart(lb_config(bs, {"balance": balance}))
    assert f"upstream app ({balance}, " in r.stderr_text()
    n = 300
    c = tally_concurrent(r.port, n, 24)
    print(balance, dict(c))
    assert sum(c.values()) == n and set(c) <= {"s0", "s1", "s2"}, c
    if balance in SPREADING:
        for b in bs:
            assert c[b.name] > 0.15 * n, (balance, c)
    elif balance == "ip_hash":  # one client address, one server, however many at once
        assert len(c) == 1, (balance, c)
    else:  # hash (key: the client address) spills to the next servers under bounded loads only
        one_by_one = tally(r.port, 50)
        assert len(one_by_one) == 1, one_by_one


def test_round_robin_weights_interleave(rampart, backend):
    """One worker, so its smooth weighted round robin is seen whole: 3:1 gives a a b a."""
    heavy, light = backend("heavy"), backend("light")
    r = rampart(lb_config([heavy, light], servers=[{"weight": 3}, {"weight": 1}], workers=1))
    seq = [who(r.port) for _ in range(40)]
    assert Counter(seq) == Counter({"heavy": 30, "light": 10}), seq
    assert all(seq[i:i + 2] != ["light", "light"] for i in range(39)), seq


def test_random_follows_weights(rampart, backend):
    heavy, light = backend("heavy"), backend("light")
    r = rampart(lb_config([heavy, light], {"balance": "random"}, [{"weight": 3}, {"weight": 1}]))
    n = 1000
    c = tally(r.port, n)
    assert sum(c.values()) == n
    share = c["heavy"] / n
    assert 0.6 <= share <= 0.9, c




@pytest.mark.parametrize("balance", [
    "least_conn", "hash", "ip_hash",
    "p2c",
])
def test_weights_shape_the_share(rampart, backend, balance):
    """Weights 3:1: least_conn shares its ties by weight; hash and ip_hash place ~3/4 of the
    keys (users, client networks) on the heavy server; p2c under load (8 clients, 20 ms
    requests) sends ~3/4 to the heavy one."""
    heavy, light = backend("heavy"), backend("light")

    def work(bk, req, conn):
        bk.stop_event.wait(0.02)
        return bk.respond(conn, req, 200, b"done\n")

    up = {"balance": balance}
    if balance == "hash":
        up["hash_key"] = "header:X-User"
    r = rampart(lb_config([heavy, light], up, [{"weight": 3}, {"weight": 1}]))
    if balance == "least_conn":
        seen = [who(r.port) for _ in range(400)]
    elif balance == "p2c":
        for b in (heavy, light):
            b.on("/work", work)
        seen = list(tally_concurrent(r.port, 400, 8, "/work").elements())
    elif balance == "hash":
        seen = [who(r.port, "/", [("X-User", f"user-{i}")]) for i in range(400)]
    else:
        seen = [who_from(r.port, f"127.{i // 200}.{i % 200}.1") for i in range(400)]
    share = seen.count("heavy") / len(seen)
    print(f"weights 3:1, {balance}: heavy share {share:.2f}")
    assert 0.6 <= share <= 0.9, (balance, Counter(seen))


def test_reloads_switch_balancers_and_server_sets(rampart, backend):
    """Each reload swaps the balancer and the number of servers while clients keep coming: every
    request is answered, by a server of the current set, and hash keeps pinning users."""
    bs = [backend(f"s{i}") for i in range(4)]
    steps = [("round_robin", 3), ("hash", 2), ("least_conn", 4), ("ip_hash", 1), ("p2c", 3),
             ("hash", 4), ("random", 2), ("least_conn", 3)]
    # unbounded: with the background request in flight on a user's server, bounded loads would
    # (rightly) pass it over at such a small total load
    up = {"hash_key": "header:X-User", "hash_balance": 0}

    def cfg(balance, n):
        extra = dict(up) if balance == "hash" else {}
        return lb_config(bs[:n], {"balance": balance, **extra}, port=port)

    r = rampart(lb_config(bs[:2], {}))
    port = r.port
    stop = threading.Event()
    errors = []

    def background():  # keep-alive traffic that spans the reloads
        while not stop.is_set():
            try:
                who(r.port, "/bg")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

    t = threading.Thread(target=background)
    t.start()
    try:
        for balance, n in steps:
            reload_to(r, cfg(balance, n))
            names = {b.name for b in bs[:n]}
            wait_for(lambda: set(tally(r.port, 10)) <= names,
                     what=f"{balance} over {n} servers to take over")
            c = tally_concurrent(r.port, 60, 6)
            assert set(c) <= names, (balance, n, c)
            if balance == "hash":
                for u in range(5):
                    assert len(tally(r.port, 4, "/", [("X-User", f"u{u}")])) == 1, (n, u)
    finally:
        stop.set()
        t.join(10)
    assert not errors, errors[:5]
    assert r.alive()


# ---- 2: load-aware balancers prefer the fast server --------------------------------------------


@pytest.mark.parametrize("balance", ["least_conn", "p2c", "round_robin"])
def test_load_aware_prefers_fast_server(rampart, backend, balance):
    slow, fast = backend("S"), backend("F")

    def slow_answer(bk, req, conn):
        bk.stop_event.wait(0.2)
        return bk.respond(conn, req, 200, b"slow\n")

    slow.on("/work", slow_answer)
    r = rampart(lb_config([slow, fast], {"balance": balance}))
    clients, each = scale_conc(20), 10

    def run(_):
        return [who(r.port, "/work") for _ in range(each)]

    with ThreadPoolExecutor(clients) as ex:
        seen = [name for names in ex.map(run, range(clients)) for name in names]
    c = Counter(seen)
    assert sum(c.values()) == clients * each
    share = c["F"] / len(seen)
    print(f"{balance}: fast server share {share:.2f} {dict(c)}")
    if balance == "round_robin":  # the control: blind to load
        assert 0.35 <= share <= 0.65, c
    else:
        assert share > 0.7, c


# ---- 3: hash keys and consistent remapping -----------------------------------------------------

# (user, n) -> (target, headers): the key carries the user; everything else, including names
# that merely start with the key's name, changes with every request n and must not matter
HASH_KEYS = {
    "header:X-User": lambda u, n: (f"/h{n}", [("X-User-Agent", f"n{n}"),
                                              ("X-User" if n % 2 else "x-USER", u)]),
    "cookie:sid": lambda u, n: ("/c", [("Cookie", f"a={n}; sidx={n}; sid={u}; z={n}")]),
    "query:uid": lambda u, n: (f"/q?uidx={n}&uid={u}&y={n}", None),
    "path": lambda u, n: (f"/users/{u}?n={n}", None),
}


@pytest.mark.parametrize("key", list(HASH_KEYS))
def test_hash_key_pins_each_user(rampart, backend, key):
    bs = [backend(f"s{i}") for i in range(3)]
    r = rampart(lb_config(bs, {"balance": "hash", "hash_key": key}))
    req = HASH_KEYS[key]
    seen = {}
    for i in range(20):
        user = f"user-{i}"
        seen[user] = {who(r.port, *req(user, n)) for n in range(5)}
    for user, names in seen.items():
        assert len(names) == 1, (key, user, names)
    spread = {next(iter(names)) for names in seen.values()}
    assert len(spread) > 1, (key, seen)
    # without the key the request is still served (by some server)
    who(r.port, "/nokey")
    who(r.port, "/nokey?other=1", [("Cookie", "other=1")])


def test_hash_path_key_is_the_normalised_path(rampart, backend):
    """Spellings of one path (dot segments, percent-encoded unreserved characters, a query)
    reach the same server as the plain path."""
    bs = [backend(f"s{i}") for i in range(6)]
    r = rampart(lb_config(bs, {"balance": "hash", "hash_key": "path"}))
    homes = set()
    for u in ("abc", "xyz", "q1", "k9", "m", "n2", "zz", "p0"):
        home = who(r.port, f"/users/{u}")
        homes.add(home)
        enc = "%" + format(ord(u[0]), "02X") + u[1:]
        for form in (f"/users/./{u}", f"/users/x/../{u}", f"/users/{enc}", f"/users/{u}?a=1"):
            assert who(r.port, form) == home, (u, form)
    assert len(homes) > 1, homes


@pytest.mark.parametrize("hash_balance", [0, 125])
def test_hot_key_spills_only_with_bounded_loads(rampart, backend, hash_balance):
    """Nine slow requests of one key at once: unbounded, all on the key's server; bounded at
    125% of the mean in-flight load, they spread to the next servers of the ring."""
    bs = [backend(f"s{i}") for i in range(3)]

    def slow_answer(bk, req, conn):
        bk.stop_event.wait(0.4)
        return bk.respond(conn, req, 200, b"slow\n")

    for b in bs:
        b.on("/hot", slow_answer)
    up = {"balance": "hash", "hash_key": "header:X-User", "hash_balance": hash_balance}
    r = rampart(lb_config(bs, up))
    home = who(r.port, "/", [("X-User", "hot")])
    with ThreadPoolExecutor(9) as ex:
        c = Counter(ex.map(lambda _: who(r.port, "/hot", [("X-User", "hot")]), range(9)))
    if hash_balance == 0:
        assert c == Counter({home: 9}), c
    else:
        assert len(c) > 1 and c[home] < 9, c


@pytest.mark.parametrize("hash_balance", [0, 125])
def test_hash_is_consistent_over_reload(rampart, backend, hash_balance):
    """Removing one of four servers moves only its users; adding a fifth moves users only to it.
    One request at a time, so bounded loads (125) never pass a server over either."""
    bs = [backend(f"s{i}") for i in range(5)]
    up = {"balance": "hash", "hash_key": "header:X-User", "hash_balance": hash_balance}
    users = [f"u{i}" for i in range(200)]

    def mapping():
        return {u: who(r.port, "/", [("X-User", u)]) for u in users}

    def reload_and_settle(servers, probe, gone):
        reload_to(r, lb_config(servers, up, port=r.port))
        # every worker runs the new config once the probe user keeps landing off `gone`
        wait_for(lambda: all(who(r.port, "/", [("X-User", probe)]) != gone for _ in range(10)),
                 what="the reload to reach every worker")

    r = rampart(lb_config(bs[:4], up))
    before = mapping()
    assert len(set(before.values())) == 4, Counter(before.values())
    gone = bs[1]
    moved_users = [u for u in users if before[u] == gone.name]
    assert moved_users
    reload_and_settle([b for b in bs[:4] if b is not gone], moved_users[0], gone.name)
    after = mapping()
    kept = [u for u in users if before[u] != gone.name]
    changed = [u for u in kept if after[u] != before[u]]
    assert not changed, f"{len(changed)} of {len(kept)} users moved: " + ", ".join(
        f"{u}: {before[u]}->{after[u]}" for u in changed[:10])
    for u in moved_users:
        assert after[u] != gone.name, u
    # the removed server's users spread over the rest rather than piling on one
    if len(moved_users) >= 20:
        assert len({after[u] for u in moved_users}) > 1, {u: after[u] for u in moved_users}
    # a new server takes users only for itself
    new = bs[4]
    servers = [b for b in bs if b is not gone]
    reload_to(r, lb_config(servers, up, port=r.port))
    wait_for(lambda: any(who(r.port, "/", [("X-User", u)]) == new.name for u in users),
             what="the new server to get users")
    grown = mapping()
    wrong = [u for u in users if grown[u] not in (after[u], new.name)]
    assert not wrong, ", ".join(f"{u}: {after[u]}->{grown[u]}" for u in wrong[:10])
    took = sum(grown[u] == new.name for u in users)
    assert 0.05 * len(users) < took < 0.45 * len(users), took


# ---- 4: ip_hash follows health --------------------------------------------------------------


def test_ip_hash_moves_when_server_is_down(rampart, backend):
    bs = [checked_backend(backend, f"s{i}") for i in range(3)]
    r = rampart(lb_config(bs, {"balance": "ip_hash", "health_check": HEALTH}))
    c = tally(r.port, 100)
    assert len(c) == 1, c
    home = next(iter(c))
    hb = next(b for b in bs if b.name == home)
    set_health(r, hb, False)
    c2 = tally(r.port, 100)
    assert len(c2) == 1 and home not in c2, c2
    # and back home when it is healthy again
    set_health(r, hb, True)
    c3 = tally(r.port, 50)
    assert c3 == Counter({home: 50}), c3


def test_ip_hash_groups_clients_by_network(rampart, backend):
    """ip_hash keys an IPv4 client by its /24: addresses of one /24 share a server, networks
    spread. hash (key ip) uses the whole address, so one /24 spreads."""
    bs = [backend(f"s{i}") for i in range(3)]
    r = rampart(lb_config(bs, {"balance": "ip_hash"}))
    homes = {}
    for net in range(20):
        names = {who_from(r.port, f"127.0.{net}.{host}") for host in (1, 2, 77, 254)}
        assert len(names) == 1, (net, names)
        homes[net] = names.pop()
    assert len(set(homes.values())) > 1, homes
    for net in range(20):  # and again, on fresh connections
        assert who_from(r.port, f"127.0.{net}.9") == homes[net], net
    r2 = rampart(lb_config(bs, {"balance": "hash", "hash_key": "ip"}))
    per_host = {}
    for host in range(1, 21):
        names = {who_from(r2.port, f"127.0.7.{host}") for _ in range(3)}
        assert len(names) == 1, (host, names)
        per_host[host] = names.pop()
    assert len(set(per_host.values())) > 1, per_host


# ---- 5: sticky cookie -------------------------------------------------------------------------


def sticky_get(port, cookie=None):
    """(backend name, sticky id set by the response or None)."""
    r = get(port, "/", [("Cookie", cookie)] if cookie else None)
    assert r.status == 200, r
    sets = [v for v in r.headers_all("set-cookie") if v.startswith("rp_srv=")]
    assert len(sets) <= 1, r
    sid = None
    if sets:
        m = STICKY_RE.match(sets[0])
        assert m, sets[0]
        sid = m.group(1)
    return r.header("x-backend"), sid


def test_sticky_cookie(rampart, backend):
    bs = [checked_backend(backend, f"s{i}") for i in range(3)]
    up = {"sticky": {"cookie": "rp_srv", "max_age": "1h"}, "health_check": HEALTH}
    r = rampart(lb_config(bs, up))
    ids = {}  # backend name -> sticky id
    for _ in range(30):
        name, sid = sticky_get(r.port)
        assert sid, "a request without the cookie must get one"
        assert ids.setdefault(name, sid) == sid, (name, sid, ids)
        if len(ids) == 3:
            break
    assert len(ids) == 3 and len(set(ids.values())) == 3, ids
    for b in bs:  # opaque: neither the address nor the port shows
        for sid in ids.values():
            assert str(b.port) not in sid and f"{b.port:x}" not in sid, (b.port, sid)
    home = "s1"
    cookie = f"rp_srv={ids[home]}"
    for _ in range(50):
        assert sticky_get(r.port, f"theme=dark; {cookie}") == (home, None)
    # garbage and unknown ids: served, and a fresh cookie names the server that answered
    # the backend's own cookies pass through next to the sticky one
    resp = get(r.port, "/status/200?h=Set-Cookie:app%3D1")
    sets = resp.headers_all("set-cookie")
    assert "app=1" in sets and any(STICKY_RE.match(v) for v in sets), resp
    resp = get(r.port, "/status/200?h=Set-Cookie:app%3D1", [("Cookie", cookie)])
    assert resp.headers_all("set-cookie") == ["app=1"] and resp.header("x-backend") == home, resp
    for bad in ("rp_srv=garbage", "rp_srv=0123456789abcdef", "rp_srv=", f"rp_srv={ids[home]}0"):
        name, sid = sticky_get(r.port, bad)
        assert sid == ids[name], (bad, name, sid, ids)
    # the ids survive a reload, also one that reorders the servers
    reload_to(r, r.config)
    assert sticky_get(r.port, cookie) == (home, None)
    reload_to(r, lb_config(list(reversed(bs)), up, port=r.port))
    for _ in range(10):
        assert sticky_get(r.port, cookie) == (home, None)
    for _ in range(6):
        name, sid = sticky_get(r.port)
        assert sid == ids[name], (name, sid, ids)
    # the home server is down: another one answers and the client is told about it
    hb = next(b for b in bs if b.name == home)
    set_health(r, hb, False)
    for _ in range(5):
        name, sid = sticky_get(r.port, cookie)
        assert name != home and sid == ids[name], (name, sid, ids)
    # and up again: the old cookie leads home once more
    set_health(r, hb, True)
    assert sticky_get(r.port, cookie) == (home, None)
    # drained, then removed by a reload: the cookie is ignored and replaced
    reload_to(r, lb_config(bs, up, [{"drain": b is hb} for b in bs], port=r.port))
    for cfg in (None, lb_config([b for b in bs if b is not hb], up, port=r.port)):
        if cfg:
            reload_to(r, cfg)
        for _ in range(5):
            name, sid = sticky_get(r.port, cookie)
            assert name != home and sid == ids[name], (name, sid, ids)


# ---- 6: backup ---------------------------------------------------------------------------------


def test_backup_only_while_primary_is_down(rampart, backend):
    primary, spare = checked_backend(backend, "primary"), checked_backend(backend, "spare")
    r = rampart(lb_config([primary, spare], {"health_check": HEALTH}, [None, {"backup": True}]))
    assert tally(r.port, 30) == Counter({"primary": 30})
    set_health(r, primary, False)
    assert tally(r.port, 30) == Counter({"spare": 30})
    set_health(r, primary, True)
    assert tally(r.port, 30) == Counter({"primary": 30})
    assert len(proxied(spare)) == 30


@pytest.mark.parametrize("sticky,shape", [
    ("srv", r"^srv=[0-9a-f]{16}; Path=/; HttpOnly$"),
    ({"cookie": "srv", "path": "/app", "secure": True, "httponly": False, "max_age": "90s"},
     r"^srv=[0-9a-f]{16}; Path=/app; Max-Age=90; Secure$"),
])
def test_sticky_cookie_attributes(rampart, backend, sticky, shape):
    bs = [backend(f"s{i}") for i in range(2)]
    r = rampart(lb_config(bs, {"sticky": sticky}))
    resp = get(r.port, "/app/x")
    sets = resp.headers_all("set-cookie")
    assert len(sets) == 1 and re.match(shape, sets[0]), sets
    assert "sticky cookie srv" in r.stderr_text()


def test_sticky_cookie_follows_a_retry(rampart, backend):
    """No health checks: the cookie's server refuses connections, the request is retried on the
    other one, and the response carries the other one's cookie."""
    a, b = backend("a"), backend("b")
    up = {"sticky": {"cookie": "rp_srv", "max_age": "1h"}, "outlier": False}
    r = rampart(lb_config([a, b], up))
    ids = {}
    while len(ids) < 2:
        name, sid = sticky_get(r.port)
        ids[name] = sid
    a.stop()  # its port now refuses connections
    for _ in range(5):
        assert sticky_get(r.port, f"rp_srv={ids['a']}") == ("b", ids["b"])


def test_sticky_and_hash_cookies_over_http2(rampart, backend):
    """HTTP/2 clients may split Cookie into one field per cookie (RFC 9113 8.2.3): the sticky
    cookie and a cookie hash key are found in any of them, on multiplexed streams."""
    pytest.importorskip("h2.connection")
    from test_h2_server import H2

    bs = [backend(f"s{i}") for i in range(3)]
    r = rampart(lb_config(bs, {"sticky": {"cookie": "rp_srv", "max_age": "1h"}}))
    c = H2(r.port)
    try:
        first = c.response(c.request("GET", "/"))
        home = first["headers"]["x-backend"]
        m = STICKY_RE.match(first["headers"].get("set-cookie", ""))
        assert first["headers"][":status"] == "200" and m, first["headers"]
        crumbs = [("cookie", "a=1"), ("cookie", f"rp_srv={m.group(1)}"), ("cookie", "b=2")]
        sids = [c.request("GET", f"/s{i}", crumbs) for i in range(20)]
        for sid in sids:
            h = c.response(sid)["headers"]
            assert h[":status"] == "200" and h["x-backend"] == home and "set-cookie" not in h, h
    finally:
        c.close()
    # unbounded: four streams of one key at once would otherwise spill by design
    r2 = rampart(lb_config(bs, {"balance": "hash", "hash_key": "cookie:sid", "hash_balance": 0}))
    c = H2(r2.port)
    try:
        homes = {}
        for u in range(10):
            sids = [c.request("GET", f"/u{u}/{n}", [("cookie", f"x={n}"), ("cookie", f"sid=u{u}")])
                    for n in range(4)]
            names = {c.response(sid)["headers"]["x-backend"] for sid in sids}
            assert len(names) == 1, (u, names)
            homes[u] = names.pop()
        assert len(set(homes.values())) > 1, homes
    finally:
        c.close()


def test_sticky_cookie_of_backup_yields_to_primary(rampart, backend):
    """A backup is a candidate only while no primary is usable, its cookie included."""
    primary, spare = checked_backend(backend, "primary"), checked_backend(backend, "spare")
    up = {"sticky": {"cookie": "rp_srv", "max_age": "1h"}, "health_check": HEALTH}
    r = rampart(lb_config([primary, spare], up, [None, {"backup": True}]))
    name, pid = sticky_get(r.port)
    assert name == "primary" and pid
    set_health(r, primary, False)
    name, bid = sticky_get(r.port, f"rp_srv={pid}")
    assert name == "spare" and bid and bid != pid
    assert sticky_get(r.port, f"rp_srv={bid}") == ("spare", None)
    set_health(r, primary, True)
    assert sticky_get(r.port, f"rp_srv={bid}") == ("primary", pid)
    assert sticky_get(r.port, f"rp_srv={pid}") == ("primary", None)


# ---- 7: drain ----------------------------------------------------------------------------------


def test_drained_server_gets_nothing(rampart, backend):
    a, b = backend("a"), backend("b")
    r = rampart(lb_config([a, b], servers=[{"drain": True}]))
    assert tally(r.port, 40) == Counter({"b": 40})
    assert not proxied(a)


def test_drained_primary_leaves_backup_then_nothing(rampart, backend):
    """A drained primary is not usable: the backup serves; with the backup drained too, 503."""
    a, spare = backend("a"), backend("spare")
    r = rampart(lb_config([a, spare], {"retry_after": "7s"},
                          [{"drain": True}, {"backup": True}]))
    assert tally(r.port, 10) == Counter({"spare": 10})
    reload_to(r, lb_config([a, spare], {"retry_after": "7s"}, [{"drain": True},
                                                               {"backup": True, "drain": True}],
                           port=r.port))
    before = log_count(r, "upstream app: no usable server: 503")
    resp = get(r.port, "/")
    assert resp.status == 503 and resp.header("retry-after") == "7", resp
    wait_log(r, "upstream app: no usable server: 503", before, timeout=5)
    assert not proxied(a)


def test_drain_by_reload_lets_inflight_finish(rampart, backend):
    a, b = backend("a"), backend("b")
    cfg = lb_config([a, b])
    r = rampart(cfg)
    result = {}
    secs = 3 if SANITIZED else 2

    def slow():
        try:
            result["resp"] = get(r.port, f"/slow/{secs}", timeout=15)
        except Exception as e:  # noqa: BLE001 - reported below
            result["error"] = e

    t = threading.Thread(target=slow)
    t.start()
    try:
        def holder():
            return next((x for x in (a, b) if any(q.path.startswith("/slow/") for q in proxied(x))),
                        None)

        busy = wait_for(holder, what="the slow request to reach a backend")
        other = b if busy is a else a
        drained = lb_config([a, b], servers=[{"drain": x is busy} for x in (a, b)], port=r.port)
        reload_to(r, drained)
        c = tally(r.port, 30)
        still_running = t.is_alive()
        assert c == Counter({other.name: 30}), c
        assert still_running, "the new requests were not all served while the slow one ran"
    finally:
        t.join(15)
    assert "error" not in result, result
    resp = result["resp"]
    assert resp.status == 200 and resp.body == b"slow done\n", resp
    assert resp.header("x-backend") == busy.name
    # undrained by another reload: it takes requests again
    reload_to(r, cfg)
    wait_for(lambda: busy.name in tally(r.port, 10), what="the undrained server to serve again")


# ---- 8: slow start -----------------------------------------------------------------------------




@pytest.mark.parametrize("balance", [
    "round_robin", "random", "least_conn",
    "p2c",
])
def test_slow_start_ramps_up_after_recovery(rampart, backend, balance):
    """Two servers, 8 clients, 20 ms requests; one server fails its checks and comes back with
    slow_start 3s: its share in the first second is well below its share in the fourth."""
    a, b = checked_backend(backend, "a"), checked_backend(backend, "b")

    def work(bk, req, conn):
        bk.stop_event.wait(0.02)
        return bk.respond(conn, req, 200, b"done\n")

    a.on("/work", work)
    b.on("/work", work)
    r = rampart(lb_config([a, b], {"balance": balance, "health_check": HEALTH},
                          [{"slow_start": "3s"}]))
    assert set(tally_concurrent(r.port, 40, 8)) == {"a", "b"}
    set_health(r, a, False)
    assert tally(r.port, 10) == Counter({"b": 10})
    set_health(r, a, True)
    t0 = time.monotonic()
    seen = []
    lock = threading.Lock()

    def client():
        while (now := time.monotonic()) - t0 < 4.0:
            name = who(r.port, "/work")
            with lock:
                seen.append((now - t0, name))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    def share(lo, hi):
        names = [n for t, n in seen if lo <= t < hi]
        assert len(names) >= 20, f"only {len(names)} requests in [{lo}, {hi})"
        return names.count("a") / len(names)

    first, last = share(0.0, 1.0), share(3.0, 4.0)
    print(f"slow start, {balance}: share of the returning server {first:.2f} in the first "
          f"second, {last:.2f} in the last")
    assert first + 0.15 < last, (first, last)
    assert last > 0.3, last


# ---- 9: the startup block ----------------------------------------------------------------------


def test_startup_block_names_balancer(rampart, backend):
    a, b = backend("a"), backend("b")
    r = rampart(lb_config([a, b], {"balance": "p2c"}, [{"weight": 2}, {"backup": True}]))
    text = r.stderr_text()
    m = re.search(r"^upstream app \(p2c, [^\n]*$", text, re.M)
    assert m, text
    line = m.group(0)
    assert f"{a.address} w=2" in line and f"{b.address} w=1 backup" in line, line
