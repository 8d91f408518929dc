# WebSocket and generic Upgrade tunnels through rampart.
import asyncio
import socket

import pytest

websockets = pytest.importorskip("websockets")

from util import Reader, make_config, read_response


async def ws_roundtrips(port, path="/ws", n=5):
    async with websockets.connect(f"ws://127.0.0.1:{port}{path}", open_timeout=10,
                                  close_timeout=5, max_size=2 ** 22) as ws:
        got = []
        for i in range(n):
            await ws.send(f"text message {i}")
            got.append(await asyncio.wait_for(ws.recv(), 10))
            blob = bytes([i]) * (1000 * (i + 1))
            await ws.send(blob)
            got.append(await asyncio.wait_for(ws.recv(), 10))
        big = b"\xab" * (1 << 20)
        await ws.send(big)
        got.append(await asyncio.wait_for(ws.recv(), 10))
        # several in flight before reading
        for i in range(10):
            await ws.send(f"burst {i}")
        for i in range(10):
            got.append(await asyncio.wait_for(ws.recv(), 10))
        return got


def expected(n=5):
    out = []
    for i in range(n):
        out.append(f"text message {i}")
        out.append(bytes([i]) * (1000 * (i + 1)))
    out.append(b"\xab" * (1 << 20))
    out += [f"burst {i}" for i in range(10)]
    return out


def ws_config(ws_port, http_port=None):
    return make_config(
        upstreams={"ws": {"servers": [{"address": f"127.0.0.1:{ws_port}"}]}},
        routes=[{"match": {"path_prefix": "/ws"}, "proxy": "ws"}],
        **({"listen": [{"address": f"127.0.0.1:{http_port}"}]} if http_port else {}))


def test_websocket_echo(rampart, ws_backend):
    w = ws_backend()
    r = rampart(ws_config(w.port))
    got = asyncio.run(asyncio.wait_for(ws_roundtrips(r.port), 60))
    assert got == expected()
    assert w.connections == 1


def test_websocket_two_at_once(rampart, ws_backend):
    w = ws_backend()
    r = rampart(ws_config(w.port))

    async def both():
        return await asyncio.gather(ws_roundtrips(r.port, n=3), ws_roundtrips(r.port, n=3))

    a, b = asyncio.run(asyncio.wait_for(both(), 60))
    assert a == expected(3) and b == expected(3)


def test_generic_upgrade_tunnel(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
        s.settimeout(10)
        s.sendall(b"GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                  b"Upgrade: echo-proto\r\n\r\n")
        rd = Reader(s)
        resp = read_response(rd, skip_interim=False)
        assert resp.status == 101, resp
        assert (resp.header("upgrade") or "").lower() == "echo-proto"
        assert "upgrade" in (resp.header("connection") or "").lower()
        # backend saw the upgrade request with its Upgrade / Connection headers
        req = b.last()
        assert req.header("upgrade") == "echo-proto"
        assert "upgrade" in (req.header("connection") or "").lower()
        for i in range(5):
            msg = f"raw bytes {i} ".encode() * 100
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                if rd.buf:
                    got += bytes(rd.buf)
                    rd.buf.clear()
                    continue
                d = s.recv(65536)
                assert d, "tunnel closed early"
                got += d
            assert got == msg


def test_upgrade_idle_timeout(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], timeouts={"upgrade_idle": "1s"}))
    with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
        s.settimeout(10)
        s.sendall(b"GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: e\r\n\r\n")
        rd = Reader(s)
        assert read_response(rd, skip_interim=False).status == 101
        s.sendall(b"ping")
        got = b""
        while len(got) < 4:
            got += rd.buf and bytes(rd.buf) or s.recv(10)
            rd.buf.clear()
        assert got == b"ping"
        import time

        t0 = time.monotonic()
        try:
            assert s.recv(10) == b""
        except ConnectionResetError:
            pass
        assert time.monotonic() - t0 < 8


def test_upgrade_refused_by_backend(rampart, backend):
    b = backend()

    def refuse(be, req, conn):
        return be.respond(conn, req, 200, b"no upgrade here\n")

    b.on("/noup", refuse)
    r = rampart(make_config(backends=[b.port]))
    with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
        s.settimeout(10)
        s.sendall(b"GET /noup HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: e\r\n\r\n")
        rd = Reader(s)
        resp = read_response(rd, skip_interim=False)
        assert resp.status == 200 and resp.body == b"no upgrade here\n"
        if not resp.closes():
            s.sendall(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(rd).status == 200


def test_websocket_backend_down_502(rampart):
    from util import free_port

    r = rampart(ws_config(free_port()))
    with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
        s.settimeout(10)
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                  b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        assert read_response(Reader(s)).status == 502
