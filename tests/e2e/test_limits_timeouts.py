# Size limits (414, 431, 413) and timeouts (408 on a slow head or body, idle keep-alive close,
# 504 on a slow backend, 502 on a dead or silent backend). Error bodies never leak backend
# addresses.
import socket
import time

from util import Client, Reader, build_request, free_port, get, http, make_config, raw_exchange, \
    read_response


def no_leak(resp, *ports):
    text = resp.body.decode("latin-1") + " ".join(v for _, v in resp.headers)
    for p in ports:
        assert str(p) not in text, (p, resp)
    assert "127.0.0.1" not in text, resp


def test_uri_too_long(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    resp, closed = raw_exchange(r.port, build_request("GET", "/" + "a" * 9000))
    assert resp is not None and resp.status == 414, resp
    assert b.heads == 0
    # just under the limit is fine
    ok = get(r.port, "/" + "a" * 7000)
    assert ok.status == 200 and b.nrequests == 1


def test_header_block_too_large(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], limits={"max_header_size": "4k"}))
    resp, _ = raw_exchange(r.port, build_request("GET", "/", [("X-Big", "v" * 5000)]),
                           check_close=False)
    assert resp is not None and resp.status == 431, resp
    ok = get(r.port, "/", [("X-Big", "v" * 2000)])
    assert ok.status == 200
    assert b.nrequests == 1


def test_header_block_over_default_limit(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    hs = [(f"X-H{i}", "v" * 1000) for i in range(40)]
    resp, _ = raw_exchange(r.port, build_request("GET", "/", hs))
    assert resp is not None and resp.status == 431, resp
    assert b.heads == 0


def test_too_many_headers(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], limits={"max_headers": 20}))
    resp, _ = raw_exchange(r.port, build_request("GET", "/", [(f"X-H{i}", "1") for i in range(40)]))
    assert resp is not None and resp.status == 431, resp
    assert b.heads == 0
    assert get(r.port, "/", [(f"X-H{i}", "1") for i in range(10)]).status == 200


def test_body_too_large_content_length(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], limits={"max_body_size": "1k"}))
    body = b"z" * 2048
    resp, _ = raw_exchange(r.port, build_request("POST", "/upload", body=body) + body)
    assert resp is not None and resp.status == 413, resp
    assert b.heads == 0
    ok = http(r.port, "POST", "/upload", body=b"z" * 1000)
    assert ok.status == 200 and ok.body == b"1000"


def test_body_too_large_chunked(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], limits={"max_body_size": "1k"}))
    with Client(r.port) as c:
        c.send(build_request("POST", "/upload", chunked=True))
        try:
            for _ in range(4):
                c.send(b"400\r\n" + b"y" * 1024 + b"\r\n")
            c.send(b"0\r\n\r\n")
        except OSError:
            pass  # rampart may answer and close before all of it is sent
        resp = c.read_response("POST")
    assert resp.status == 413, resp
    assert b.nrequests == 0


def test_header_timeout(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], timeouts={"header": "1s"}))
    with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
        s.settimeout(10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        rd = Reader(s)
        resp = read_response(rd)
        assert resp.status == 408, resp
        assert s.recv(100) == b""
        assert time.monotonic() - t0 < 8
    assert b.heads == 0


def test_header_timeout_is_not_reset_by_trickling(rampart, backend):
    """A slowloris head (one byte at a time) still ends within the header timeout."""
    b = backend()
    r = rampart(make_config(backends=[b.port], timeouts={"header": "1s"}))
    with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
        s.settimeout(0.2)
        t0 = time.monotonic()
        got = b""
        for ch in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                s.sendall(bytes([ch]))
            except OSError:
                break
            try:
                d = s.recv(1000)
                got += d
                if d == b"" or b"408" in got:
                    break
            except socket.timeout:
                pass
            if time.monotonic() - t0 > 8:
                break
        assert time.monotonic() - t0 < 8, "slow head kept the connection open"
    assert got == b"" or got.startswith(b"HTTP/1.1 408"), got
    assert b.nrequests == 0


def test_body_timeout(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], timeouts={"body": "1s"}))
    with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
        s.settimeout(10)
        s.sendall(build_request("POST", "/upload", body=b"0123456789") + b"012")
        t0 = time.monotonic()
        data = b""
        while True:
            try:
                d = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not d:
                break
            data += d
        assert time.monotonic() - t0 < 8
    assert data.startswith(b"HTTP/1.1 408"), data
    assert b.nrequests == 0


def test_keepalive_idle_timeout(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], timeouts={"keepalive": "1s"}))
    with Client(r.port) as c:
        assert c.request("GET", "/ka").status == 200
        t0 = time.monotonic()
        c.sock.settimeout(8)
        assert c.sock.recv(100) == b""
        assert time.monotonic() - t0 < 8


def test_slow_backend_504(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], timeouts={"backend_read": "1s"}))
    t0 = time.monotonic()
    resp = get(r.port, "/slow/3")
    assert resp.status == 504, resp
    assert time.monotonic() - t0 < 2.9
    no_leak(resp, b.port)


def test_dead_backend_502(rampart):
    dead = free_port()
    r = rampart(make_config(backends=[dead]))
    resp = get(r.port, "/x")
    assert resp.status == 502, resp
    no_leak(resp, dead)
    # and again on a keep-alive connection: rampart keeps serving
    with Client(r.port) as c:
        for _ in range(3):
            assert c.request("GET", "/y").status == 502


def test_backend_closes_without_response_502(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    resp = http(r.port, "POST", "/close", body=b"abc")
    assert resp.status == 502, resp
    no_leak(resp, b.port)
    assert get(r.port, "/fine").status == 200


def test_backend_invalid_response_502(rampart, backend):
    b = backend()

    def garbage(be, req, conn):
        conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        return False

    b.on("/garbage", garbage)
    r = rampart(make_config(backends=[b.port]))
    resp = get(r.port, "/garbage")
    assert resp.status == 502, resp
    no_leak(resp, b.port)


def test_send_timeout_closes_stuck_client(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], timeouts={"send": "1s"}))
    with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
        s.sendall(build_request("GET", f"/size/{64 << 20}"))
        time.sleep(4)  # never read: rampart's send timeout fires meanwhile
        s.settimeout(10)
        got = 0
        t0 = time.monotonic()
        try:
            while True:
                d = s.recv(1 << 20)
                if not d:
                    break
                got += len(d)
        except (ConnectionResetError, socket.timeout):
            pass
        assert got < 64 << 20, "the whole body arrived although the client stalled"
        assert time.monotonic() - t0 < 9
    assert get(r.port, "/alive").status == 200


def test_connect_timeout_502(rampart):
    """A backend whose accept queue is full never completes the handshake."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(0)
    port = s.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            f = socket.socket()
            f.setblocking(False)
            try:
                f.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(f)
        time.sleep(0.2)
        r = rampart(make_config(backends=[port], timeouts={"connect": "1s", "backend_read": "10s"}))
        t0 = time.monotonic()
        resp = get(r.port, "/x", timeout=15)
        assert resp.status in (502, 504), resp
        assert time.monotonic() - t0 < 8
        no_leak(resp, port)
    finally:
        for f in fillers:
            f.close()
        s.close()
