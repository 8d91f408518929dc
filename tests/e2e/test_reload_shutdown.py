# Configuration reload on SIGHUP (changes apply, an invalid file changes nothing, no request or
# WebSocket is dropped) and graceful shutdown on SIGTERM.
import asyncio
import signal
import socket
import threading
import time

import pytest

websockets = pytest.importorskip("websockets")

from util import Client, get, make_config, scale_conc, wait_for


def respond_cfg(port, body, extra_routes=()):
    return make_config(port=port, routes=list(extra_routes) + [
        {"match": {"path": "/v"}, "respond": {"status": 200, "body": body}}])


def body_of(port, target="/v"):
    return get(port, target, timeout=5).body


def test_reload_applies_new_route(rampart):
    cfg = respond_cfg(None, "v1\n")
    r = rampart(cfg)
    assert body_of(r.port) == b"v1\n"
    r.write_config(respond_cfg(r.port, "v2\n"))
    r.reload()
    wait_for(lambda: body_of(r.port) == b"v2\n", timeout=5, what="v2 after SIGHUP")
    assert r.alive()


def test_reload_invalid_file_keeps_old_config(rampart):
    r = rampart(respond_cfg(None, "v1\n"))
    r.write_config("workers: [this is\n  not: valid\nroutes: 12\n")
    r.reload()
    time.sleep(1.0)
    assert r.alive()
    assert body_of(r.port) == b"v1\n"
    # a config that parses but fails validation is refused as well
    bad = respond_cfg(r.port, "v3\n")
    bad["routes"][0]["proxy"] = "missing-upstream"
    r.write_config(bad)
    r.reload()
    time.sleep(1.0)
    assert r.alive() and body_of(r.port) == b"v1\n"
    # and a good one after that still works
    r.write_config(respond_cfg(r.port, "v4\n"))
    r.reload()
    wait_for(lambda: body_of(r.port) == b"v4\n", timeout=5, what="v4 after SIGHUP")


def test_no_failed_requests_during_reloads(rampart, backend):
    b = backend()
    cfg = make_config(backends=[b.port])
    r = rampart(cfg)
    stop = threading.Event()
    stats = {"ok": 0, "fail": []}
    lock = threading.Lock()

    def load(tid):
        c = None
        i = 0
        while not stop.is_set():
            try:
                if c is None:
                    c = Client(r.port, timeout=10)
                resp = c.request("GET", f"/load/{tid}/{i}")
                ok = resp.status == 200 and resp.body == f"b1 GET /load/{tid}/{i}\n".encode()
                with lock:
                    if ok:
                        stats["ok"] += 1
                    else:
                        stats["fail"].append((tid, i, resp.status))
                if resp.closes():
                    c.close()
                    c = None
            except Exception as e:  # noqa: BLE001 - every failure counts
                with lock:
                    stats["fail"].append((tid, i, repr(e)))
                if c:
                    c.close()
                c = None
            i += 1
        if c:
            c.close()

    threads = [threading.Thread(target=load, args=(t,)) for t in range(scale_conc(4))]
    for t in threads:
        t.start()
    try:
        for n in range(3):
            time.sleep(0.5)
            cfg2 = make_config(backends=[b.port], port=r.port,
                               proxy={"server_header": f"rampart-r{n}"})
            r.write_config(cfg2)
            r.reload()
            wait_for(lambda: get(r.port, "/probe").header("server") == f"rampart-r{n}",
                     timeout=5, what=f"reload {n}")
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    assert not any(t.is_alive() for t in threads)
    assert stats["fail"] == [], stats["fail"][:10]
    assert stats["ok"] > 20


def test_websocket_survives_reload(rampart, ws_backend):
    w = ws_backend()
    routes = [{"match": {"path_prefix": "/ws"}, "proxy": "ws"},
              {"match": {"path": "/v"}, "respond": {"status": 200, "body": "v1\n"}}]
    ups = {"ws": {"servers": [{"address": f"127.0.0.1:{w.port}"}]}}
    cfg = make_config(upstreams=ups, routes=routes)
    r = rampart(cfg)

    async def run():
        async with websockets.connect(f"ws://127.0.0.1:{r.port}/ws", open_timeout=10,
                                      close_timeout=5) as ws:
            await ws.send("before")
            assert await asyncio.wait_for(ws.recv(), 10) == "before"
            routes[1]["respond"]["body"] = "v2\n"
            r.write_config(make_config(upstreams=ups, routes=routes, port=r.port))
            r.reload()
            deadline = time.monotonic() + 5
            while await asyncio.to_thread(body_of, r.port) != b"v2\n":
                assert time.monotonic() < deadline, "reload did not apply"
                await asyncio.sleep(0.05)
            for i in range(5):
                await ws.send(f"after {i}")
                assert await asyncio.wait_for(ws.recv(), 10) == f"after {i}"
            await ws.send(b"\x00\x01binary")
            assert await asyncio.wait_for(ws.recv(), 10) == b"\x00\x01binary"

    asyncio.run(asyncio.wait_for(run(), 60))


def test_graceful_shutdown(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    result = {}

    def slow():
        try:
            result["resp"] = get(r.port, "/slow/2", timeout=15)
        except Exception as e:  # noqa: BLE001
            result["err"] = e

    t = threading.Thread(target=slow)
    t.start()
    try:
        wait_for(lambda: b.heads >= 1, timeout=5, what="slow request reaching the backend")
        r.terminate()

        def refused():
            try:
                s = socket.create_connection(("127.0.0.1", r.port), timeout=0.5)
            except ConnectionRefusedError:
                return True
            s.close()
            return False

        wait_for(refused, timeout=1.5, interval=0.02, what="listener closed after SIGTERM")
    finally:
        t.join(20)
    assert not t.is_alive()
    assert "err" not in result, result
    assert result["resp"].status == 200 and result["resp"].body == b"slow done\n"
    rc, hung = r.wait(15)
    assert not hung and rc == 0, r.logs()


def test_shutdown_closes_idle_keepalive(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    with Client(r.port) as c:
        assert c.request("GET", "/a").status == 200
        t0 = time.monotonic()
        r.signal(signal.SIGTERM)
        rc, hung = r.wait(15)
        assert not hung and rc == 0
        assert time.monotonic() - t0 < 5, "idle keep-alive connection held up shutdown"
        c.sock.settimeout(2)
        try:
            assert c.sock.recv(10) == b""
        except ConnectionResetError:
            pass


def test_reload_switches_upstream_servers(rampart, backend):
    b1, b2 = backend("b1"), backend("b2")
    r = rampart(make_config(backends=[b1.port]))
    assert get(r.port, "/who").header("x-backend") == "b1"
    r.write_config(make_config(backends=[b2.port], port=r.port))
    r.reload()
    wait_for(lambda: get(r.port, "/who").header("x-backend") == "b2", timeout=5,
             what="new upstream after reload")
    for i in range(5):
        assert get(r.port, f"/who/{i}").header("x-backend") == "b2"


def test_inflight_request_survives_reload(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    result = {}

    def slow():
        try:
            result["resp"] = get(r.port, "/slow/1.5", timeout=15)
        except Exception as e:  # noqa: BLE001
            result["err"] = e

    t = threading.Thread(target=slow)
    t.start()
    try:
        wait_for(lambda: b.heads >= 1, timeout=5, what="slow request at the backend")
        r.write_config(make_config(port=r.port, routes=[
            {"match": {"path": "/v"}, "respond": {"status": 200, "body": "new\n"}}]))
        r.reload()
        wait_for(lambda: body_of(r.port) == b"new\n", timeout=5, what="reload applied")
    finally:
        t.join(20)
    assert "err" not in result, result
    assert result["resp"].status == 200 and result["resp"].body == b"slow done\n"


def test_reload_with_missing_file_keeps_serving(rampart):
    r = rampart(respond_cfg(None, "v1\n"))
    r.config_path.unlink()
    r.reload()
    time.sleep(0.5)
    assert r.alive() and body_of(r.port) == b"v1\n"
    r.write_config(respond_cfg(r.port, "v2\n"))
    r.reload()
    wait_for(lambda: body_of(r.port) == b"v2\n", timeout=5, what="v2 after restoring the file")


def test_sigint_also_stops_cleanly(rampart):
    r = rampart(respond_cfg(None, "v1\n"))
    assert body_of(r.port) == b"v1\n"
    r.signal(signal.SIGINT)
    rc, hung = r.wait(10)
    assert not hung and rc == 0


def test_reload_burst(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    for n in range(10):
        r.write_config(make_config(backends=[b.port], port=r.port,
                                   proxy={"server_header": f"burst-{n}"}))
        r.reload()
        assert get(r.port, f"/burst/{n}").status == 200
    wait_for(lambda: get(r.port, "/final").header("server") == "burst-9", timeout=5,
             what="last reload applied")
    r.reopen_logs()  # USR1 with access log on stdout: harmless
    assert get(r.port, "/after-usr1").status == 200 and r.alive()


def test_shutdown_with_open_websocket(rampart, ws_backend):
    w = ws_backend()
    ups = {"ws": {"servers": [{"address": f"127.0.0.1:{w.port}"}]}}
    r = rampart(make_config(upstreams=ups, routes=[{"match": {"path_prefix": "/"}, "proxy": "ws"}],
                            timeouts={"drain": "1s"}))

    async def run():
        async with websockets.connect(f"ws://127.0.0.1:{r.port}/ws", open_timeout=10,
                                      close_timeout=2) as ws:
            await ws.send("hello")
            assert await asyncio.wait_for(ws.recv(), 10) == "hello"
            t0 = time.monotonic()
            r.terminate()
            rc, hung = await asyncio.to_thread(r.wait, 10)
            assert not hung and rc == 0
            assert time.monotonic() - t0 < 6, "open WebSocket held shutdown past the drain time"
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed:
                pass

    asyncio.run(asyncio.wait_for(run(), 30))


def test_drain_timeout_bounds_shutdown(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], timeouts={"drain": "1s"}))
    result = {}

    def slow():
        try:
            result["resp"] = get(r.port, "/slow/8", timeout=15)
        except Exception as e:  # noqa: BLE001 - a cut connection is the expected outcome
            result["err"] = e

    t = threading.Thread(target=slow)
    t.start()
    try:
        wait_for(lambda: b.heads >= 1, timeout=5, what="slow request at the backend")
        t0 = time.monotonic()
        r.terminate()
        rc, hung = r.wait(10)
        assert not hung and rc == 0
        assert time.monotonic() - t0 < 5, "drain time not enforced"
    finally:
        t.join(20)
    assert "resp" not in result or result["resp"].status != 200
