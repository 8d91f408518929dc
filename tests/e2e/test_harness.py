# Self-checks of the test harness (client, response parser, scriptable backend) talking to the
# backend directly, without rampart: a failure here is a bug in the suite, not in rampart.
import socket

from util import (Client, PatternChecker, build_request, make_config, dump_config, pattern_chunks,
                  raw_exchange, read_status_head, send_raw, status_of)
import yaml


def test_backend_basic_and_keepalive(backend):
    b = backend()
    with Client(b.port) as c:
        for i in range(3):
            r = c.request("GET", f"/x/{i}")
            assert r.status == 200 and r.body == f"b1 GET /x/{i}\n".encode()
            assert r.header("server") == "origin-backend"
    assert b.connections == 1 and b.nrequests == 3 and b.heads == 3
    assert [q.nth for q in b.requests] == [1, 2, 3]


def test_backend_echo_chunked_and_trailers(backend):
    b = backend()
    with Client(b.port) as c:
        r = c.request("POST", "/echo", body=[b"ab", b"cd" * 5000], chunked=True,
                      trailers=[("X-T", "1")])
        assert r.body == b"ab" + b"cd" * 5000
        assert b.last().trailers == [("X-T", "1")]
        r = c.request("GET", "/trailers")
        assert r.chunked and r.body == b"hello trailer world"
        assert r.trailers == [("X-Checksum", "abc123")]
        r = c.request("GET", "/size/200000?chunked=1")
        assert len(r.body) == 200000 and r.chunked
        chk = PatternChecker()
        r = c.request("GET", "/size/300001", sink=chk.feed)
        assert chk.count == 300001 and chk.ok
        r = c.request("HEAD", "/size/10")
        assert r.header("content-length") == "10" and r.body == b""
        r = c.request("GET", "/status/418?h=X-A:%201")
        assert r.status == 418 and r.header("x-a") == "1"
        r = c.request("GET", "/status/204")
        assert r.status == 204
        r = c.request("POST", "/upload", body=pattern_chunks(1 << 21), chunked=True)
        assert r.body == str(1 << 21).encode()
        assert b.last().body == b"".join(pattern_chunks(1 << 20))
        r = c.request("GET", "/closedelim/5000")
        assert len(r.body) == 5000


def test_backend_expect_and_pipelining(backend):
    b = backend()
    with Client(b.port) as c:
        c.send(build_request("POST", "/echo", [("Expect", "100-continue"),
                                               ("Content-Length", "3")]))
        assert read_status_head(c.reader).status == 100
        c.send(b"abc")
        assert c.read_response("POST").body == b"abc"
        c.send(b"".join(build_request("GET", f"/p/{i}") for i in range(3)))
        assert [c.read_response().body for _ in range(3)] == [
            f"b1 GET /p/{i}\n".encode() for i in range(3)]


def test_backend_drop_reused_and_close(backend):
    b = backend()
    b.drop_reused = True
    with Client(b.port) as c:
        assert c.request("GET", "/a").status == 200
        c.send(build_request("GET", "/b"))
        c.sock.settimeout(5)
        assert c.sock.recv(10) == b""
    resp, closed = raw_exchange(b.port, build_request("GET", "/close"))
    assert resp is None and closed
    assert status_of(send_raw(b.port, build_request("GET", "/x", [("Connection", "close")]))) == 200


def test_backend_upgrade(backend):
    b = backend()
    with socket.create_connection(("127.0.0.1", b.port), timeout=5) as s:
        s.sendall(b"GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: e\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(1000)
        assert data.startswith(b"HTTP/1.1 101")
        s.sendall(b"ping")
        assert s.recv(10) == b"ping"


def test_ws_backend(ws_backend):
    import asyncio
    import websockets

    w = ws_backend()

    async def run():
        async with websockets.connect(f"ws://127.0.0.1:{w.port}/ws") as ws:
            await ws.send("hi")
            return await asyncio.wait_for(ws.recv(), 5)

    assert asyncio.run(run()) == "hi"


def test_config_yaml_shape():
    cfg = make_config(backends=[1234], port=5678, timeouts={"header": "1s"})
    text = dump_config(cfg)
    back = yaml.safe_load(text)
    assert back["listen"] == [{"address": "127.0.0.1:5678"}]
    assert back["upstreams"]["app"]["servers"] == [{"address": "127.0.0.1:1234"}]
    assert back["timeouts"]["header"] == "1s" and back["timeouts"]["drain"] == "3s"
    assert back["routes"] == [{"match": {"path_prefix": "/"}, "proxy": "app"}]
