# HTTP/2 to backends (upstream protocol h2c): header translation, bodies and trailers both ways,
# multiplexing on few connections, flow control against a slow client, refused and reset
# streams, dead backends, idle timeout; gRPC through rampart with Debian's python3-grpcio (over
# HTTP/1.1 from the client today; with a real gRPC client once rampart's listener speaks h2c).
import socket
import struct
import subprocess
import threading
import time
from concurrent import futures

import pytest

import util
from h2backend import H2Backend
from util import Client, PatternChecker, dump_config, free_port, make_config, wait_for

grpc = pytest.importorskip("grpc")

MIB = 1024 * 1024


@pytest.fixture
def h2_backend():
    yield from util.started_servers(
        lambda n, name=None, port=0, ssl_ctx=None: H2Backend(name or f"h2b{n}", port=port,
                                                           ssl_ctx=ssl_ctx))


def h2_config(ports, workers=1, **up):
    u = {"servers": [f"127.0.0.1:{p}" for p in ports], "protocol": "h2c"}
    u.update(up)
    return make_config(workers=workers, upstreams={"h2": u},
                       routes=[{"match": {"path_prefix": "/"}, "proxy": "h2"}])


def backend_json(resp):
    import json

    assert resp.status == 200, resp
    return json.loads(resp.body)


# ---- header translation ------------------------------------------------------------------


def test_request_head_translated_to_http2(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port]))
    c = Client(r.port)
    resp = c.request("GET", "/json?q=1", host="example.test:8080", headers=[
        ("Connection", "keep-alive, X-Hop"), ("X-Hop", "1"), ("Keep-Alive", "timeout=5"),
        ("Proxy-Connection", "keep-alive"), ("TE", "trailers"), ("X-Mixed-Case", "Value"),
    ])
    got = backend_json(resp)
    hs = [tuple(h) for h in got["headers"]]
    names = [k for k, _ in hs]
    pseudo = dict(h for h in hs if h[0].startswith(":"))
    assert pseudo == {":method": "GET", ":scheme": "http", ":authority": "example.test:8080",
                      ":path": "/json?q=1"}
    # pseudo-header fields first, names lowercase, connection-specific fields gone
    assert names[:4] == [":method", ":scheme", ":authority", ":path"]
    assert all(n == n.lower() for n in names)
    for gone in ("connection", "keep-alive", "proxy-connection", "x-hop", "host",
                 "transfer-encoding", "upgrade"):
        assert gone not in names, hs
    assert ("te", "trailers") in hs
    assert ("x-mixed-case", "Value") in hs
    assert ("x-forwarded-for", "127.0.0.1") in hs
    # the response comes back as HTTP/1.1 with the backend's fields
    assert resp.header("content-type") == "application/json"
    # no TE from the client: none to the backend
    got = backend_json(c.request("GET", "/json", headers=[("Upgrade", "websocket"),
                                                           ("Connection", "upgrade")]))
    names = [k for k, _ in got["headers"]]
    assert "te" not in names and "upgrade" not in names and "connection" not in names


def test_request_bodies_and_trailers(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port]))
    c = Client(r.port)
    resp = c.request("POST", "/echo", body=b"hello h2")
    assert resp.status == 200 and resp.body == b"hello h2"
    assert resp.header("x-echo-method") == "POST"
    assert ("x-echo-length", "8") in resp.trailers  # backend trailers reach an HTTP/1.1 client
    # chunked upload with request trailers: DATA then trailing HEADERS
    got = backend_json(c.request("POST", "/json", body=[b"abc", b"defg"], chunked=True,
                                 trailers=[("X-Sum", "7")]))
    assert got["body_len"] == 7
    assert got["trailers"] == [["x-sum", "7"]]
    assert "content-length" not in [k for k, _ in got["headers"]]
    # Content-Length upload passes the length on
    got = backend_json(c.request("POST", "/json", body=b"x" * 1000))
    assert ["content-length", "1000"] in got["headers"]
    # a large upload moves with the backend's flow control
    n = util.scale_size(5 * MIB)
    body = b"".join(util.pattern_chunks(n))
    resp = c.request("POST", "/echo", body=body)
    assert resp.status == 200 and len(resp.body) == n and resp.body == body


def test_response_kinds(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port]))
    c = Client(r.port)
    resp = c.request("GET", "/")
    assert resp.status == 200 and resp.body == b"h2b1 GET /\n"
    assert not resp.closes()
    resp = c.request("HEAD", "/size/1000")
    assert resp.status == 200 and resp.body == b""
    assert resp.header("content-length") == "1000"
    resp = c.request("GET", "/head204")
    assert resp.status == 204 and resp.header("x-empty") == "yes"
    resp = c.request("GET", "/empty")  # HEADERS with END_STREAM: fields stay in the head
    assert resp.status == 200 and resp.header("x-empty") == "yes" and resp.body == b""
    assert resp.header("content-length") == "0" and not resp.trailers
    n = util.scale_size(5 * MIB)
    chk = PatternChecker()
    resp = c.request("GET", f"/size/{n}", sink=chk.feed)
    assert resp.status == 200 and chk.count == n and chk.ok
    assert resp.chunked
    # grpc-style trailers arrive as a chunked trailer section, not filtered
    resp = c.request("GET", "/grpcish", headers=[("TE", "trailers")])
    assert resp.status == 200 and resp.chunked
    assert resp.body == b"\x00\x00\x00\x00\x02hi"
    assert ("grpc-status", "0") in resp.trailers and ("grpc-message", "ok") in resp.trailers
    assert b.connections == 1  # every request on the one connection


# ---- multiplexing and flow control --------------------------------------------------------


def concurrent_get(port, path, n):
    results = [None] * n

    def one(i):
        try:
            results[i] = Client(port, timeout=20).request("GET", path).status
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = repr(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_multiplexing_on_one_connection(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port]))
    n = util.scale_conc(50)
    assert concurrent_get(r.port, "/delay/0.5", n) == [200] * n
    assert b.connections == 1
    assert b.max_concurrent >= n // 2  # really concurrent streams, not one after another


def test_h2_max_streams_opens_more_connections(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port], h2_max_streams=10))
    n = util.scale_conc(40)
    assert concurrent_get(r.port, "/delay/1.5", n) == [200] * n
    want = -(-n // 10)
    assert b.connections == want, (b.connections, b.max_concurrent)
    assert b.max_concurrent <= 10


def test_slow_client_does_not_stall_other_streams(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port]))
    n = 32 * MIB
    slow = Client(r.port, timeout=30)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    slow.send(util.build_request("GET", f"/size/{n}"))
    time.sleep(0.5)
    t0 = time.monotonic()
    for _ in range(5):
        resp = Client(r.port).request("GET", "/")
        assert resp.status == 200
    assert time.monotonic() - t0 < 3
    assert b.connections == 1  # the same backend connection carried both
    chk = PatternChecker()
    resp = slow.read_response("GET", sink=chk.feed)
    assert resp.status == 200 and chk.count == n and chk.ok


# ---- failures and retries ----------------------------------------------------------------


def test_refused_stream_is_retried_for_any_method(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port]))
    c = Client(r.port)
    resp = c.request("POST", "/refuse-once/a", body=b"payload")
    assert resp.status == 200, resp
    assert [q.path for q in b.requests].count("/refuse-once/a") == 2
    resp = c.request("GET", "/refuse-once/b")
    assert resp.status == 200


def test_goaway_before_the_stream_is_retried(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port]))
    c = Client(r.port)
    assert c.request("GET", "/").status == 200
    resp = c.request("POST", "/goaway-once/a", body=b"x" * 100)
    assert resp.status == 200, resp
    assert [q.path for q in b.requests].count("/goaway-once/a") == 2
    assert b.connections == 2  # the second try went on a new connection


def test_reset_stream_is_502(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port]))
    c = Client(r.port)
    assert c.request("GET", "/rst").status == 502
    assert c.request("GET", "/").status == 200  # the connection and the client go on


def test_oversized_response_heads_are_502(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port]))
    c = Client(r.port)
    assert c.request("GET", "/bighead/1000/3").status == 200
    # over the proxy's head limit (max_request_line + max_header_size)
    assert c.request("GET", "/bighead/50000/1").status == 502
    # over rampart's bound for a synthesized head: the stream is reset
    assert Client(r.port).request("GET", "/bighead/30000/4").status == 502
    assert Client(r.port).request("GET", "/").status == 200
    assert b.connections == 1  # only the streams failed


def test_backend_killed_then_back(rampart, h2_backend):
    b = h2_backend()
    port = b.port
    r = rampart(h2_config([port]))
    assert Client(r.port).request("GET", "/").status == 200
    b.kill()
    assert Client(r.port).request("GET", "/").status == 502
    b2 = h2_backend("again", port=port)
    wait_for(lambda: Client(r.port).request("GET", "/").status == 200, timeout=5,
             what="a new connection to the restarted backend")
    assert b2.connections == 1


def test_connect_failure_tries_next_server(rampart, h2_backend):
    b = h2_backend()
    dead = free_port()
    r = rampart(h2_config([dead, b.port]))
    for _ in range(4):
        assert Client(r.port).request("GET", "/").status == 200


def test_http1_server_behind_h2c_is_502(rampart, backend):
    b1 = backend()
    r = rampart(h2_config([b1.port]))
    assert Client(r.port).request("GET", "/").status == 502
    assert r.alive()


def test_idle_connection_closes_after_keepalive_timeout(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port], keepalive_timeout="300ms"))
    assert Client(r.port).request("GET", "/").status == 200
    wait_for(lambda: b.closed == 1, timeout=3, what="the idle backend connection to close")


def test_reload_keeps_connections_and_takes_new_limits(rampart, h2_backend):
    b = h2_backend()
    cfg = h2_config([b.port])
    r = rampart(cfg)
    assert Client(r.port).request("GET", "/").status == 200
    cfg["upstreams"]["h2"]["h2_max_streams"] = 5
    cfg["routes"].insert(0, {"match": {"path": "/v2"}, "respond": {"status": 200, "body": "v2"}})
    r.write_config(cfg)
    r.reload()
    wait_for(lambda: Client(r.port).request("GET", "/v2").body == b"v2", timeout=5,
             what="the new config")
    n = util.scale_conc(10)
    assert concurrent_get(r.port, "/delay/1", n) == [200] * n
    assert b.connections == -(-n // 5)  # the first connection kept, the new limit applied
    assert b.max_concurrent <= 5


def test_graceful_shutdown_finishes_streams(rampart, h2_backend):
    b = h2_backend()
    r = rampart(h2_config([b.port]))
    result = {}

    def slow():
        result["status"] = Client(r.port, timeout=15).request("GET", "/delay/1").status

    t = threading.Thread(target=slow)
    t.start()
    wait_for(lambda: len(b.requests) >= 1, timeout=5, what="the request at the backend")
    r.terminate()
    t.join(15)
    assert result.get("status") == 200
    rc, hung = r.wait(10)
    assert rc == 0 and not hung
    wait_for(lambda: b.closed == b.connections, timeout=3, what="backend connections closed")


# ---- HTTP/2 over TLS (protocol h2) -------------------------------------------------------


def backend_tls_supported(tmp_path):
    """True once upstream `tls:` exists (src/tls/tls_client*.c)."""
    cfg = h2_config([free_port()], protocol="h2", tls={"verify": False})
    return run_check(tmp_path, cfg)[0] == 0


@pytest.fixture
def tls_ca(tmp_path):
    trustme = pytest.importorskip("trustme")
    if not backend_tls_supported(tmp_path):
        pytest.skip("no TLS to backends in this build (tls-client)")
    ca = trustme.CA()
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, str(path)


def test_h2_over_tls_with_alpn(rampart, h2_backend, tls_ca):
    import ssl

    ca, ca_path = tls_ca
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("backend.test", "127.0.0.1").configure_cert(ctx)
    ctx.set_alpn_protocols(["h2"])
    b = h2_backend(ssl_ctx=ctx)
    r = rampart(h2_config([b.port], protocol="h2", tls={"ca": ca_path, "sni": "backend.test"}))
    c = Client(r.port)
    got = backend_json(c.request("GET", "/json"))
    assert dict(tuple(h) for h in got["headers"])[":scheme"] == "https"
    resp = c.request("GET", "/grpcish")
    assert ("grpc-status", "0") in resp.trailers
    assert concurrent_get(r.port, "/delay/0.3", util.scale_conc(20)) == [200] * util.scale_conc(20)
    assert b.connections == 1 and b.alpn == ["h2"]


def test_h2_needs_the_server_to_choose_h2(rampart, tls_ca, tmp_path):
    """A TLS server that does not offer h2 by ALPN: a failed connect (502), logged."""
    import ssl

    ca, ca_path = tls_ca
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("backend.test", "127.0.0.1").configure_cert(ctx)
    ctx.set_alpn_protocols(["http/1.1"])
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    ls.settimeout(5)
    port = ls.getsockname()[1]

    def serve():
        try:
            raw, _ = ls.accept()
            with ctx.wrap_socket(raw, server_side=True) as s:
                s.settimeout(2)
                s.recv(100)
        except OSError:
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    r = rampart(h2_config([port], protocol="h2", tls={"ca": ca_path, "sni": "backend.test"}))
    assert Client(r.port).request("GET", "/").status == 502
    t.join(5)
    ls.close()
    wait_for(lambda: "ALPN" in r.log.read_text(), timeout=3, what="the ALPN failure logged")


def test_grpc_over_tls_backend(rampart, tls_ca):
    ca, ca_path = tls_ca
    cert = ca.issue_cert("backend.test", "127.0.0.1")
    creds = grpc.ssl_server_credentials([(cert.private_key_pem.bytes(),
                                          cert.cert_chain_pems[0].bytes())])
    s = GrpcServer(creds)
    try:
        r = rampart(h2_config([s.port], protocol="h2", tls={"ca": ca_path, "sni": "backend.test"}))
        resp = Client(r.port).request("POST", "/test.Echo/Unary", headers=GRPC_H1_HEADERS,
                                      body=grpc_frame(b"over tls"))
        assert grpc_messages(resp.body) == [b"over tls"]
        assert dict(resp.trailers).get("grpc-status") == "0", resp
    finally:
        s.stop()


# ---- configuration -----------------------------------------------------------------------


def run_check(tmp_path, cfg):
    f = tmp_path / "c.yaml"
    f.write_text(dump_config(cfg))
    p = subprocess.run([util.RAMPART_BIN, "check", "-c", str(f)], capture_output=True,
                       timeout=10, stdin=subprocess.DEVNULL)
    return p.returncode, (p.stdout + p.stderr).decode()


def test_config_protocol_keys(tmp_path):
    rc, out = run_check(tmp_path, h2_config([free_port()], h2_max_streams=5))
    assert rc == 0, out
    rc, out = run_check(tmp_path, h2_config([free_port()], protocol="h2"))
    assert rc == 1 and "protocol h2 needs tls" in out, out
    rc, out = run_check(tmp_path, h2_config([free_port()], protocol="h3"))
    assert rc == 1 and "h2c" in out, out
    rc, out = run_check(tmp_path, h2_config([free_port()], h2_max_streams=0))
    assert rc == 1 and "h2_max_streams" in out, out


# ---- gRPC ----------------------------------------------------------------------------------

GRPC_OPTS = [("grpc.max_receive_message_length", 16 * MIB),
             ("grpc.max_send_message_length", 16 * MIB)]


class GrpcServer:
    """A real gRPC server (python3-grpcio, C core) on 127.0.0.1, service test.Echo with bytes
    in and out (identity serializers)."""

    def __init__(self, creds=None):
        def unary(req, ctx):
            ctx.send_initial_metadata((("x-initial", "i1"),))
            if req.startswith(b"abort:"):
                ctx.set_trailing_metadata((("x-why", "asked"),))
                ctx.abort(getattr(grpc.StatusCode, req[6:].decode()), "aborted on request")
            ctx.set_trailing_metadata((("x-trail", "t1"),))
            return req

        def server_stream(req, ctx):
            for i in range(int(req)):
                yield b"msg-%d" % i

        def client_stream(it, ctx):
            return str(sum(len(m) for m in it)).encode()

        def bidi(it, ctx):
            for m in it:
                yield m.upper()

        handler = grpc.method_handlers_generic_handler("test.Echo", {
            "Unary": grpc.unary_unary_rpc_method_handler(unary),
            "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
            "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
            "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        })
        self.pool = futures.ThreadPoolExecutor(max_workers=8)
        self.server = grpc.server(self.pool, handlers=[handler], options=GRPC_OPTS)
        if creds is None:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        self.server.start()

    def stop(self):
        self.server.stop(grace=None).wait(5)
        self.pool.shutdown(wait=True)


@pytest.fixture
def grpc_server():
    s = GrpcServer()
    yield s
    s.stop()


def grpc_frame(msg):
    return b"\x00" + struct.pack(">I", len(msg)) + msg


def grpc_messages(body):
    out = []
    while body:
        assert body[0] == 0
        (n,) = struct.unpack(">I", body[1:5])
        out.append(body[5:5 + n])
        body = body[5 + n:]
    return out


GRPC_H1_HEADERS = [("Content-Type", "application/grpc"), ("TE", "trailers")]


def test_grpc_over_http1_client(rampart, grpc_server):
    """An HTTP/1.1 client speaking gRPC's framing by hand: rampart turns it into HTTP/2 for a
    real gRPC server, and the grpc-status trailer comes back as a chunked trailer."""
    r = rampart(h2_config([grpc_server.port]))
    c = Client(r.port)
    resp = c.request("POST", "/test.Echo/Unary", headers=GRPC_H1_HEADERS,
                     body=grpc_frame(b"ping"))
    assert resp.status == 200, resp
    assert resp.header("content-type") == "application/grpc"
    assert resp.header("x-initial") == "i1"
    assert grpc_messages(resp.body) == [b"ping"]
    tr = dict(resp.trailers)
    assert tr.get("grpc-status") == "0", resp
    assert tr.get("x-trail") == "t1"
    # chunked request body, several messages: client streaming
    resp = c.request("POST", "/test.Echo/ClientStream", headers=GRPC_H1_HEADERS,
                     body=[grpc_frame(b"ab"), grpc_frame(b"cde")], chunked=True)
    assert grpc_messages(resp.body) == [b"5"] and dict(resp.trailers)["grpc-status"] == "0"
    resp = c.request("POST", "/test.Echo/ServerStream", headers=GRPC_H1_HEADERS,
                     body=grpc_frame(b"3"))
    assert grpc_messages(resp.body) == [b"msg-0", b"msg-1", b"msg-2"]
    # an error status after the initial metadata: trailers
    resp = c.request("POST", "/test.Echo/Unary", headers=GRPC_H1_HEADERS,
                     body=grpc_frame(b"abort:NOT_FOUND"))
    assert resp.status == 200 and resp.chunked and resp.body == b""
    tr = dict(resp.trailers)
    assert tr.get("grpc-status") == "5", resp
    assert tr.get("grpc-message") == "aborted on request"
    assert tr.get("x-why") == "asked"
    # unknown method: a Trailers-Only answer (one HEADERS frame with END_STREAM) keeps
    # grpc-status as a trailer, the content type in the head
    resp = c.request("POST", "/test.Echo/Nope", headers=GRPC_H1_HEADERS, body=grpc_frame(b""))
    assert resp.status == 200 and resp.header("content-type") == "application/grpc"
    assert resp.header("grpc-status") is None
    assert dict(resp.trailers).get("grpc-status") == "12", resp


def listener_speaks_h2c(port):
    """True when rampart answers the HTTP/2 connection preface with SETTINGS (h2c prior
    knowledge on the listener, src/h2/h2_server*.c)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(2)
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            head = b""
            while len(head) < 9:
                d = s.recv(9 - len(head))
                if not d:
                    return False
                head += d
            return head[3] == 4
    except OSError:
        return False


@pytest.fixture
def grpc_channel(rampart, grpc_server):
    r = rampart(h2_config([grpc_server.port], workers=2))
    if not listener_speaks_h2c(r.port):
        pytest.skip("rampart's listener does not speak h2c yet (h2-server)")
    ch = grpc.insecure_channel(f"127.0.0.1:{r.port}", options=GRPC_OPTS)
    yield ch
    ch.close()


def method(ch, kind, name):
    return getattr(ch, kind)(f"/test.Echo/{name}", request_serializer=None,
                             response_deserializer=None)


def test_grpc_unary(grpc_channel):
    call = method(grpc_channel, "unary_unary", "Unary")
    resp, info = call.with_call(b"hello", timeout=10)
    assert resp == b"hello"
    assert ("x-initial", "i1") in info.initial_metadata()
    assert ("x-trail", "t1") in info.trailing_metadata()
    assert info.code() == grpc.StatusCode.OK


def test_grpc_status_and_trailing_metadata(grpc_channel):
    call = method(grpc_channel, "unary_unary", "Unary")
    for code in ("NOT_FOUND", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED"):
        with pytest.raises(grpc.RpcError) as e:
            call(f"abort:{code}".encode(), timeout=10)
        assert e.value.code() == getattr(grpc.StatusCode, code)
        assert e.value.details() == "aborted on request"
        assert ("x-why", "asked") in e.value.trailing_metadata()
    with pytest.raises(grpc.RpcError) as e:
        method(grpc_channel, "unary_unary", "Nope")(b"", timeout=10)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_grpc_server_streaming(grpc_channel):
    call = method(grpc_channel, "unary_stream", "ServerStream")
    assert list(call(b"100", timeout=10)) == [b"msg-%d" % i for i in range(100)]


def test_grpc_client_streaming(grpc_channel):
    call = method(grpc_channel, "stream_unary", "ClientStream")
    assert call(iter([b"a" * i for i in range(50)]), timeout=10) == str(sum(range(50))).encode()


def test_grpc_bidi(grpc_channel):
    call = method(grpc_channel, "stream_stream", "Bidi")
    msgs = [b"m%d" % i for i in range(20)]
    assert list(call(iter(msgs), timeout=10)) == [m.upper() for m in msgs]


def test_grpc_large_message(grpc_channel):
    call = method(grpc_channel, "unary_unary", "Unary")
    big = b"".join(util.pattern_chunks(5 * MIB))
    assert call(big, timeout=30) == big


def test_grpc_concurrent_calls(grpc_channel):
    call = method(grpc_channel, "unary_unary", "Unary")
    futs = [call.future(b"c%d" % i, timeout=20) for i in range(util.scale_conc(100))]
    assert [f.result() for f in futs] == [b"c%d" % i for i in range(len(futs))]
