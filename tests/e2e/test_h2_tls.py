# HTTP/2 negotiated by ALPN on TLS listeners, end to end with real clients: curl --http2,
# openssl s_client, h2load, a Python h2 client on an ssl socket, gRPC with TLS channel
# credentials (to h2c and to TLS h2 backends), mTLS identity on streams, certificate reload and
# session resumption with h2, and GOAWAY on SIGTERM. Certificates: tls_pki.py.
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

h2conn = pytest.importorskip("h2.connection")
grpc = pytest.importorskip("grpc")
import h2.settings  # noqa: E402
import hpack  # noqa: E402
import trustme  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402

import util  # noqa: E402
from test_h2_backend import GRPC_OPTS, GrpcServer  # noqa: E402
from test_h2_server import (CANCEL, ENHANCE_YOUR_CALM, NO_ERROR, PREFACE, H2, frame,  # noqa: E402
                            literal, parse_frames)
from tls_pki import Pki, alpn_of, client_ctx, peer_cert, s_client, tls_listener  # noqa: E402

MIB = 1 << 20
SUBJ, FP = "X-Client-Cert-Subject", "X-Client-Cert-Fingerprint"


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


def tls_config(pki, backends=(), certs=None, names=("a.test",), listener=None, tls=None,
               **over):
    """make_config with its listener on TLS (one certificate for `names` unless `certs`)."""
    port = util.free_port()
    cfg = util.make_config(backends=backends, port=port, **over)
    if certs is None:
        certs = [pki.issue("srv", list(names))[:2]]
    cfg["listen"] = [tls_listener(port, certs, listener=listener or {}, **(tls or {}))]
    return cfg


def h2_ctx(pki, alpn=("h2",), **kw):
    ctx = client_ctx(pki, **kw)
    ctx.set_alpn_protocols(list(alpn))
    return ctx


def curl(pki, port, path, *args, host="a.test", http="--http2", timeout=60):
    """curl over TLS to 127.0.0.1 under the name `host`; -w appends a last line
    '<status> <http version>'."""
    argv = ["curl", "-sS", http, "--max-time", str(timeout), "--cacert", str(pki.ca_pem),
            "--resolve", f"{host}:{port}:127.0.0.1", "-w", "\n%{http_code} %{http_version}",
            *args, f"https://{host}:{port}{path}"]
    p = subprocess.run(argv, capture_output=True, timeout=timeout + 10, stdin=subprocess.DEVNULL)
    body, _, tail = p.stdout.rpartition(b"\n")
    return p, body, tail.decode()


# ---- 1. curl --http2 over TLS ---------------------------------------------------------------


def test_curl_h2_over_tls(rampart, backend, pki, tmp_path):
    b = backend()
    b.body_cap = 8 * MIB  # the whole upload comes back from /echo
    www = tmp_path / "www"
    www.mkdir()
    blob = os.urandom(util.scale_size(2 * MIB) + 777)
    (www / "f.bin").write_bytes(blob)
    routes = [{"match": {"path_prefix": "/files/"}, "strip_prefix": "/files",
               "static": {"root": str(www)}},
              {"match": {"path": "/local"}, "respond": {"status": 200, "body": "local\n"}},
              {"match": {"path_prefix": "/"}, "proxy": "app"}]
    cfg = tls_config(pki, [b.port], routes=routes, listener={"hsts": {"max_age": "1h"}})
    r = rampart(cfg)
    port = r.port
    sts = "max-age=3600"
    # ALPN chose h2; the backend saw https
    p, body, tail = curl(pki, port, "/json?x=1")
    assert tail == "200 2", p
    j = json.loads(body)
    hs = {k.lower(): v for k, v in j["headers"]}
    assert j["method"] == "GET" and j["target"] == "/json?x=1"
    assert hs["x-forwarded-proto"] == "https" and "proto=https" in hs["forwarded"], hs
    assert hs["host"] == f"a.test:{port}"
    # HEAD: the head only, with HSTS (on proxied and on local answers)
    for path in ("/json", "/local"):
        p, body, tail = curl(pki, port, path, "-I")
        assert tail == "200 2" and body.startswith(b"HTTP/2 200"), p
        assert f"strict-transport-security: {sts}".encode() in body.lower(), body
    p, body, tail = curl(pki, port, "/local", "-D", "-")
    assert f"strict-transport-security: {sts}".encode() in body.lower() and tail == "200 2"
    # a 5 MiB upload echoed back whole, with and without a known length
    data = os.urandom(util.scale_size(5 * MIB))
    up = tmp_path / "up.bin"
    up.write_bytes(data)
    p, body, tail = curl(pki, port, "/echo", "--data-binary", f"@{up}",
                         "-H", "Content-Type: application/octet-stream")
    assert tail == "200 2" and body == data, (p.stderr, len(body))
    assert b.last().header("x-forwarded-proto") == "https"
    p, body, tail = curl(pki, port, "/upload", "-T", str(up), "-H",
                         "Transfer-Encoding: chunked")
    assert tail == "200 2" and body == str(len(data)).encode(), p
    # a 20 MiB download, byte for byte
    n = util.scale_size(20 * MIB)
    out = tmp_path / "down.bin"
    p, _, tail = curl(pki, port, f"/size/{n}", "-o", str(out))
    assert tail == "200 2", p
    assert out.stat().st_size == n
    chk = util.PatternChecker()
    with open(out, "rb") as f:
        while piece := f.read(MIB):
            chk.feed(piece)
    assert chk.ok and chk.count == n
    p, _, tail = curl(pki, port, f"/size/{n}?chunked=1", "-o", str(out))
    assert tail == "200 2" and out.stat().st_size == n, p
    # static files over h2 + TLS, and a range
    p, body, tail = curl(pki, port, "/files/f.bin")
    assert tail == "200 2" and body == blob
    p, body, tail = curl(pki, port, "/files/f.bin", "-r", "100-199")
    assert tail == "206 2" and body == blob[100:200], p
    p, body, tail = curl(pki, port, "/files/f.bin", "-r", "-10", "-D", str(tmp_path / "h"))
    assert tail == "206 2" and body == blob[-10:]
    head = (tmp_path / "h").read_text().lower()
    assert f"content-range: bytes {len(blob) - 10}-{len(blob) - 1}/{len(blob)}" in head, head
    assert f"strict-transport-security: {sts}" in head
    # every request above was HTTP/2 in the access log
    lines = [json.loads(x) for x in r.stdout_text().splitlines() if x.startswith("{")]
    assert lines and all(x["protocol"] == "HTTP/2.0" for x in lines), lines[-1]


# ---- 2. ALPN -------------------------------------------------------------------------------


def test_alpn_selects_h2_and_http2_false_never_does(rampart, backend, pki):
    b = backend()
    cert = pki.issue("srv", ["a.test"])[:2]
    cfg = tls_config(pki, [b.port], certs=[cert])
    off = util.free_port()
    cfg["listen"].append(tls_listener(off, [cert], listener={"http2": False}))
    r = rampart(cfg)
    rc, out = s_client(r.port, "-alpn", "h2,http/1.1")
    assert rc == 0 and alpn_of(out) == "h2", out
    rc, out = s_client(r.port, "-alpn", "http/1.1,h2")  # server preference: h2
    assert rc == 0 and alpn_of(out) == "h2", out
    rc, out = s_client(r.port, "-alpn", "http/1.1")
    assert rc == 0 and alpn_of(out) == "http/1.1", out
    rc, out = s_client(off, "-alpn", "h2,http/1.1")
    assert rc == 0 and alpn_of(out) == "http/1.1", out
    rc, out = s_client(off, "-alpn", "h2")  # h2 only, not offered: no ALPN, HTTP/1.1
    assert alpn_of(out) in (None, "http/1.1") or rc != 0, out
    # curl --http2 falls back to HTTP/1.1 there, and uses h2 on the other listener
    p, body, tail = curl(pki, off, "/json")
    assert tail == "200 1.1", p
    assert curl(pki, r.port, "/json")[2] == "200 2"
    # curl --http1.1 on the h2 listener: ALPN http/1.1
    assert curl(pki, r.port, "/json", http="--http1.1")[2] == "200 1.1"
    # h2 over TLS 1.2 (the default TLS 1.2 suites are all allowed for h2, RFC 9113 9.2.2)
    for v in (["--tlsv1.2", "--tls-max", "1.2"], ["--tlsv1.3"]):
        assert curl(pki, r.port, "/json", *v)[2] == "200 2", v


# ---- 3. h2load -----------------------------------------------------------------------------


def h2load(url, n, *extra):
    if not shutil.which("h2load"):
        pytest.skip("h2load is not installed")
    out = subprocess.run(["h2load", "-n", str(n), "-c", "4", "-m", "50", *extra, url],
                         capture_output=True, text=True, timeout=180)
    return out.stdout + out.stderr


def test_h2load_over_tls(rampart, backend, pki):
    b = backend()
    r = rampart(tls_config(pki, [b.port]))
    n = util.scale_conc(2000)
    out = h2load(f"https://127.0.0.1:{r.port}/json", n)
    assert "Application protocol: h2" in out, out
    assert f"{n} succeeded" in out and f"status codes: {n} 2xx" in out, out


def test_h2load_with_sni_to_two_certificates(rampart, pki):
    a = pki.issue("a", ["a.test"])
    bb = pki.issue("b", ["b.test"])
    routes = [{"match": {"host": "a.test", "path_prefix": "/"},
               "respond": {"status": 200, "body": "a\n"}},
              {"match": {"host": "b.test", "path_prefix": "/"},
               "respond": {"status": 200, "body": "b\n"}},
              {"match": {"path_prefix": "/"}, "respond": {"status": 404, "body": "no\n"}}]
    r = rampart(tls_config(pki, certs=[a[:2], bb[:2]], routes=routes))
    # each name gets its certificate with ALPN h2
    for name, want in (("a.test", a[2]), ("b.test", bb[2])):
        assert peer_cert(r.port, h2_ctx(pki), name).serial_number == want.serial_number
        rc, out = s_client(r.port, "-alpn", "h2", "-verify_return_error", "-CAfile",
                           str(pki.ca_pem), "-verify_hostname", name, sni=name)
        assert rc == 0 and alpn_of(out) == "h2" and "Verification: OK" in out, out
    n = util.scale_conc(1000)
    for name in ("a.test", "b.test"):
        out = h2load(f"https://{name}:{r.port}/", n, f"--connect-to=127.0.0.1:{r.port}")
        assert "Application protocol: h2" in out, out
        assert f"{n} succeeded" in out and f"status codes: {n} 2xx" in out, out
    # (the 2xx count proves :authority routed by name; SNI chose the certificates above)


def test_h2load_uploads_over_tls(rampart, backend, pki, tmp_path):
    b = backend()
    r = rampart(tls_config(pki, [b.port]))
    data = tmp_path / "post.bin"
    data.write_bytes(os.urandom(100 * 1024))
    n = util.scale_conc(400)
    out = h2load(f"https://127.0.0.1:{r.port}/upload", n, "-d", str(data))
    assert f"{n} succeeded" in out and f"status codes: {n} 2xx" in out, out
    assert b.nrequests == n and all(q.body_len == 100 * 1024 for q in b.requests)


# ---- 4. Python h2 on an ssl socket -----------------------------------------------------------


def test_multiplexed_streams_interleave_over_tls(rampart, backend, pki):
    b = backend()
    r = rampart(tls_config(pki, [b.port]))
    c = H2(r.port, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 32768},
           ssl_ctx=h2_ctx(pki), sni="a.test")
    assert c.sock.selected_alpn_protocol() == "h2"
    size = util.scale_size(MIB)
    sids = [c.request("GET", f"/size/{size}", authority="a.test") for _ in range(8)]
    small = c.request("GET", "/json", authority="a.test")
    for sid in sids:
        s = c.response(sid, 30)
        assert s["headers"][":status"] == "200" and s["ended"], s["headers"]
        chk = util.PatternChecker()
        chk.feed(bytes(s["data"]))
        assert chk.ok and chk.count == size
    j = json.loads(bytes(c.response(small)["data"]))
    assert {k.lower(): v for k, v in j["headers"]}["x-forwarded-proto"] == "https"
    first_end = next(i for i, (_, k) in enumerate(c.order) if k == "end")
    assert len({sid for sid, k in c.order[:first_end] if k == "data"}) > 1
    c.close()


def test_trailers_over_tls(rampart, backend, pki):
    b = backend()
    r = rampart(tls_config(pki, [b.port]))
    c = H2(r.port, ssl_ctx=h2_ctx(pki), sni="a.test")
    for _ in range(3):  # several on one connection
        sid = c.request("GET", "/trailers", headers=[("te", "trailers")], authority="a.test")
        s = c.response(sid)
        assert s["headers"][":status"] == "200" and "transfer-encoding" not in s["headers"]
        assert bytes(s["data"]) == b"hello trailer world"
        assert s["trailers"] == {"x-checksum": "abc123"}
        assert c.order[-2:] == [(sid, "trailers"), (sid, "end")]
    c.close()


def test_rapid_reset_goaway_over_tls(rampart, backend, pki):
    b = backend()
    r = rampart(tls_config(pki, [b.port], http2={"max_resets": 50}))
    c = H2(r.port, ssl_ctx=h2_ctx(pki), sni="a.test")
    for _ in range(200):
        if c.closed or c.terminated:
            break
        sid = c.request("GET", "/slow/5", flush=False, authority="a.test")
        c.conn.reset_stream(sid, error_code=CANCEL)
        try:
            c.flush()
        except OSError:
            break
    c.wait(lambda: c.terminated is not None, 10, "GOAWAY")
    assert c.terminated[0] == ENHANCE_YOUR_CALM
    assert c.wait_closed(10)
    c.close()
    assert r.alive()
    c = H2(r.port, ssl_ctx=h2_ctx(pki), sni="a.test")  # a new connection is served
    sid = c.request("GET", "/json", authority="a.test")
    assert c.response(sid)["headers"][":status"] == "200"
    c.close()


# ---- 5. gRPC over TLS ---------------------------------------------------------------------


def grpc_tls_channel(pki, port):
    creds = grpc.ssl_channel_credentials(root_certificates=pki.ca_pem.read_bytes())
    opts = GRPC_OPTS + [("grpc.ssl_target_name_override", "a.test")]
    return grpc.secure_channel(f"127.0.0.1:{port}", creds, options=opts)


def method(ch, kind, name):
    return getattr(ch, kind)(f"/test.Echo/{name}", request_serializer=None,
                             response_deserializer=None)


def grpc_calls(ch):
    resp, info = method(ch, "unary_unary", "Unary").with_call(b"hello", timeout=10)
    assert resp == b"hello" and info.code() == grpc.StatusCode.OK
    assert ("x-initial", "i1") in info.initial_metadata()
    assert ("x-trail", "t1") in info.trailing_metadata()
    got = list(method(ch, "unary_stream", "ServerStream")(b"50", timeout=10))
    assert got == [b"msg-%d" % i for i in range(50)]
    msgs = [b"m%d" % i for i in range(20)]
    assert list(method(ch, "stream_stream", "Bidi")(iter(msgs), timeout=10)) == [
        m.upper() for m in msgs]
    total = method(ch, "stream_unary", "ClientStream")(iter([b"ab", b"cde"]), timeout=10)
    assert total == b"5"
    with pytest.raises(grpc.RpcError) as e:
        method(ch, "unary_unary", "Unary")(b"abort:PERMISSION_DENIED", timeout=10)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert e.value.details() == "aborted on request"
    assert ("x-why", "asked") in e.value.trailing_metadata()
    with pytest.raises(grpc.RpcError) as e:
        method(ch, "unary_unary", "Nope")(b"", timeout=10)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    big = b"".join(util.pattern_chunks(util.scale_size(4 * MIB)))
    assert method(ch, "unary_unary", "Unary")(big, timeout=30) == big
    futs = [method(ch, "unary_unary", "Unary").future(b"c%d" % i, timeout=20)
            for i in range(util.scale_conc(64))]
    assert [f.result() for f in futs] == [b"c%d" % i for i in range(len(futs))]


def grpc_through(rampart, pki, server, upstream):
    """The gRPC calls over TLS to rampart, proxied to server with the upstream settings given."""
    try:
        up = dict(upstream, servers=[f"127.0.0.1:{server.port}"])
        r = rampart(tls_config(pki, upstreams={"g": up},
                               routes=[{"match": {"path_prefix": "/"}, "proxy": "g"}]))
        ch = grpc_tls_channel(pki, r.port)
        try:
            grpc_calls(ch)
        finally:
            ch.close()
    finally:
        server.stop()


def test_grpc_tls_client_to_h2c_backend(rampart, pki):
    grpc_through(rampart, pki, GrpcServer(), {"protocol": "h2c"})


def test_grpc_tls_end_to_end_to_a_tls_backend(rampart, pki):
    ca = trustme.CA()
    ca_path = pki.dir / "backend-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    cert = ca.issue_cert("backend.test", "127.0.0.1")
    creds = grpc.ssl_server_credentials([(cert.private_key_pem.bytes(),
                                          cert.cert_chain_pems[0].bytes())])
    grpc_through(rampart, pki, GrpcServer(creds),
                 {"protocol": "h2", "tls": {"ca": str(ca_path), "sni": "backend.test"}})


# ---- 6. mTLS identity on HTTP/2 streams ------------------------------------------------------


def test_mtls_identity_on_h2_streams(rampart, backend, pki, tmp_path):
    b = backend()
    client_ca = trustme.CA()
    client_ca_path = tmp_path / "client-ca.pem"
    client_ca.cert_pem.write_to_path(str(client_ca_path))
    alice = client_ca.issue_cert("alice.example", common_name="alice")
    alice.cert_chain_pems[0].write_to_path(str(tmp_path / "alice.pem"))
    alice.private_key_pem.write_to_path(str(tmp_path / "alice.key"))
    alice_fp = x509.load_pem_x509_certificate(alice.cert_chain_pems[0].bytes()).fingerprint(
        hashes.SHA256()).hex()
    cfg = tls_config(pki, [b.port], tls={"client_auth": {"mode": "optional",
                                                          "ca": str(client_ca_path)}})
    r = rampart(cfg)
    forged = ["-H", f"{SUBJ}: CN=mallory", "-H", f"{FP}: {'00' * 32}",
              "-H", f"{SUBJ.lower()}: CN=x"]
    p, _, tail = curl(pki, r.port, "/who", "--cert", str(tmp_path / "alice.pem"),
                      "--key", str(tmp_path / "alice.key"), *forged)
    assert tail == "200 2", p
    req = b.last()
    assert len(req.headers_all(SUBJ)) == 1 and "CN=alice" in req.header(SUBJ), req.headers
    assert req.headers_all(FP) == [alice_fp], req.headers
    # several streams of one connection carry it (Python h2 with the client certificate)
    ctx = h2_ctx(pki)
    ctx.load_cert_chain(str(tmp_path / "alice.pem"), str(tmp_path / "alice.key"))
    c = H2(r.port, ssl_ctx=ctx, sni="a.test")
    sids = [c.request("GET", f"/who/{i}", authority="a.test",
                      headers=[(FP.lower(), "ff" * 32)]) for i in range(4)]
    for sid in sids:
        assert c.response(sid)["headers"][":status"] == "200"
    c.close()
    who = [q for q in b.requests if q.path.startswith("/who/")]
    assert len(who) == 4 and all(q.headers_all(FP) == [alice_fp] for q in who)
    # a resumed session keeps the identity of its first handshake (TLS 1.2 and 1.3)
    for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx.minimum_version = ctx.maximum_version = v
        c = H2(r.port, ssl_ctx=ctx, sni="a.test")
        assert c.response(c.request("GET", "/first", authority="a.test"))["ended"]
        session = c.sock.session
        c.close()
        c = H2(r.port, ssl_ctx=ctx, sni="a.test", session=session)
        assert c.sock.session_reused, v
        s = c.response(c.request("GET", "/resumed", authority="a.test"))
        assert s["headers"][":status"] == "200", s
        c.close()
        assert b.last().path == "/resumed" and b.last().headers_all(FP) == [alice_fp], v
    # without a certificate: no identity, and the forged copies are gone
    p, _, tail = curl(pki, r.port, "/anon", *forged)
    assert tail == "200 2", p
    req = b.last()
    assert req.path == "/anon" and req.header(SUBJ) is None and req.header(FP) is None, \
        req.headers


def test_mtls_header_names_follow_a_reload(rampart, backend, pki, tmp_path):
    """A reload that renames the identity headers: streams (and HTTP/1.1 requests) of
    connections made after it carry the identity under the new names."""
    b = backend()
    client_ca = trustme.CA()
    client_ca_path = tmp_path / "client-ca.pem"
    client_ca.cert_pem.write_to_path(str(client_ca_path))
    alice = client_ca.issue_cert("alice.example", common_name="alice")
    alice.cert_chain_pems[0].write_to_path(str(tmp_path / "alice.pem"))
    alice.private_key_pem.write_to_path(str(tmp_path / "alice.key"))
    cert_args = ["--cert", str(tmp_path / "alice.pem"), "--key", str(tmp_path / "alice.key")]
    cfg = tls_config(pki, [b.port], tls={"client_auth": {"mode": "required",
                                                          "ca": str(client_ca_path)}})
    r = rampart(cfg)
    assert curl(pki, r.port, "/one", *cert_args)[2] == "200 2"
    assert "CN=alice" in b.last().header(SUBJ)
    cfg["listen"][0]["tls"]["client_auth"].update({"subject_header": "X-Who",
                                                    "fingerprint_header": "X-Who-Hash"})
    cfg["routes"].insert(0, {"match": {"path": "/v2"}, "respond": {"status": 200, "body": "2"}})
    r.write_config(cfg)
    r.reload()
    util.wait_for(lambda: curl(pki, r.port, "/v2", *cert_args)[1] == b"2", timeout=10,
                  what="the reloaded config")
    for http in ("--http2", "--http1.1"):
        for i in range(4):  # new connections, on every worker
            p, _, tail = curl(pki, r.port, f"/two/{i}", *cert_args, "-H", "X-Who: CN=forged",
                              http=http)
            assert tail.startswith("200"), p
            req = b.last()
            assert req.headers_all("X-Who") and len(req.headers_all("X-Who")) == 1, req.headers
            assert "CN=alice" in req.header("X-Who") and req.header("X-Who-Hash"), req.headers
            assert req.header(SUBJ) is None and req.header(FP) is None, req.headers


# ---- 7. certificate reload while HTTP/2 streams run --------------------------------------------


def test_cert_reload_under_h2_load(rampart, backend, pki):
    import httpx

    b = backend()
    first = pki.issue("a", ["a.test"])
    cfg = tls_config(pki, [b.port], certs=[first[:2]])
    r = rampart(cfg)
    port = r.port
    stop = threading.Event()
    failures, counts, lock = [], {"kept": 0, "new": 0}, threading.Lock()
    ctx = h2_ctx(pki, alpn=("h2", "http/1.1"))
    url = f"https://a.test:{port}"

    def transport():
        return httpx.HTTPTransport(http2=True, verify=ctx, retries=0)

    def check(resp, kind):
        if resp.status_code != 200 or resp.http_version != "HTTP/2" or \
                not resp.content.startswith(b"b1 GET /p"):
            failures.append((kind, resp.status_code, resp.http_version, resp.content[:80]))
        with lock:
            counts[kind] += 1

    def kept():  # one connection, many streams, across every reload
        with httpx.Client(transport=transport(), timeout=10) as cl:
            while not stop.is_set():
                try:
                    check(cl.get(f"{url}/p/kept"), "kept")
                except Exception as e:  # noqa: BLE001 - every failure counts
                    failures.append(("kept", repr(e)))

    def fresh():  # a new TLS connection for each request: sees each new certificate
        while not stop.is_set():
            try:
                with httpx.Client(transport=transport(), timeout=10) as cl:
                    check(cl.get(f"{url}/p/new"), "new")
            except Exception as e:  # noqa: BLE001
                failures.append(("new", repr(e)))

    # a.test must resolve: httpx has no --resolve; connect through a patched name lookup
    threads = [threading.Thread(target=kept), threading.Thread(target=fresh),
               threading.Thread(target=fresh)]
    with resolve_to_loopback("a.test"):
        for t in threads:
            t.start()
        try:
            issued = []
            for i in range(4):
                time.sleep(1.0)
                issued.append(pki.issue("a", ["a.test"])[2].serial_number)
                if i == 2:
                    r.reload()  # and a SIGHUP in the middle
            last = issued[-1]
            util.wait_for(lambda: peer_cert(port, h2_ctx(pki), "a.test").serial_number == last,
                          timeout=10, interval=0.3, what="the last certificate in use")
            # a new connection after the reloads still gets h2
            c = H2(port, ssl_ctx=h2_ctx(pki), sni="a.test")
            assert c.sock.selected_alpn_protocol() == "h2"
            c.close()
            time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=15)
    assert not failures, failures[:5]
    assert counts["kept"] > 10 and counts["new"] > 4, counts  # (low: the machine may be busy)
    assert r.alive()


class resolve_to_loopback:
    """Within the block, socket.getaddrinfo resolves `name` to 127.0.0.1 (test process only)."""

    def __init__(self, name):
        self.name = name
        self.orig = socket.getaddrinfo

    def __enter__(self):
        orig, name = self.orig, self.name

        def fake(host, *a, **kw):
            return orig("127.0.0.1" if host == name else host, *a, **kw)

        socket.getaddrinfo = fake
        return self

    def __exit__(self, *exc):
        socket.getaddrinfo = self.orig


# ---- 8. session resumption with h2 -------------------------------------------------------------


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_session_resumption_with_alpn_h2(rampart, backend, pki, tmp_path, version):
    b = backend()
    r = rampart(tls_config(pki, [b.port], workers=2, timeouts={"header": "1s",
                                                               "keepalive": "1s"}))
    sess = tmp_path / "sess.pem"
    # the h2 preface and an empty SETTINGS: rampart answers (and TLS 1.3 tickets arrive with it)
    hello = PREFACE + frame(4, 0, 0, b"")
    rc, out = s_client(r.port, version, "-alpn", "h2", "-sess_out", str(sess), "-ign_eof",
                       stdin=hello)
    assert "New," in out and alpn_of(out) == "h2", out
    for _ in range(4):
        rc, out = s_client(r.port, version, "-alpn", "h2", "-sess_in", str(sess), "-ign_eof",
                           stdin=hello)
        assert "Reused," in out and alpn_of(out) == "h2", out
    # a resumed h2 session serves requests (Python's ssl, ALPN h2, the same session)
    ctx = h2_ctx(pki)
    ctx.maximum_version = ctx.minimum_version = (ssl.TLSVersion.TLSv1_2 if version == "-tls1_2"
                                                 else ssl.TLSVersion.TLSv1_3)
    c = H2(r.port, ssl_ctx=ctx, sni="a.test")
    assert c.response(c.request("GET", "/json", authority="a.test"))["headers"][":status"] == \
        "200"
    session = c.sock.session
    c.close()
    c = H2(r.port, ssl_ctx=ctx, sni="a.test", session=session)
    assert c.sock.session_reused and c.sock.selected_alpn_protocol() == "h2"
    assert c.response(c.request("GET", "/json", authority="a.test"))["headers"][":status"] == \
        "200"
    c.close()


# ---- 9. GOAWAY on SIGTERM ----------------------------------------------------------------------


def test_goaway_on_sigterm_over_tls(rampart, backend, pki):
    b = backend()
    r = rampart(tls_config(pki, [b.port]))
    raw = socket.create_connection(("127.0.0.1", r.port), timeout=10)
    s = h2_ctx(pki).wrap_socket(raw, server_hostname="a.test")
    assert s.selected_alpn_protocol() == "h2"
    fields = (bytes([0x82, 0x87]) + literal(b":path", b"/slow/1.5", indexing=False)
              + literal(b":authority", b"a.test", indexing=False))
    s.sendall(PREFACE + frame(4, 0, 0, b"") + frame(1, 0x5, 1, fields))
    util.wait_for(lambda: b.nrequests >= 1, timeout=5, what="the request at the backend")
    r.terminate()
    buf = b""
    clean = False
    s.settimeout(10)
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            d = s.recv(65536)
            if not d:
                clean = True  # close_notify
                break
            buf += d
    except (socket.timeout, OSError):
        pass
    s.close()
    frames = parse_frames(buf)
    goaway = [f for f in frames if f[0] == 7]
    assert goaway and int.from_bytes(goaway[0][3][4:8], "big") == NO_ERROR, frames
    assert int.from_bytes(goaway[0][3][:4], "big") == 1
    heads = [f for f in frames if f[0] == 1 and f[2] == 1]
    assert heads and dict(hpack.Decoder().decode(heads[0][3]))[":status"] == "200"
    data = [f for f in frames if f[0] == 0 and f[2] == 1]
    assert b"".join(f[3] for f in data) == b"slow done\n" and data[-1][1] & 1
    assert clean, "the connection ended without close_notify"
    rc, hung = r.wait(10)
    assert rc == 0 and not hung


# ---- flow control, back-pressure and errors over TLS -----------------------------------------


def test_stalled_reader_over_tls_keeps_memory_bounded(rampart, backend, pki):
    b = backend()
    r = rampart(tls_config(pki, [b.port]))
    size = util.scale_size(20 * MIB)
    c = H2(r.port, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1},
           ssl_ctx=h2_ctx(pki), sni="a.test")
    c.conn.increment_flow_control_window(2**31 - 1 - 65535)
    c.flush()
    base = r.rss_kib()
    sid = c.request("GET", f"/size/{size}", authority="a.test")
    c.wait(lambda: c.st(sid)["headers"] is not None, 10, "response head")
    time.sleep(1.5)  # not reading: rampart must stop reading the backend (TLS records wait)
    grown = r.rss_kib() - base
    if not util.SANITIZED:
        assert grown < 12 * 1024, f"rampart grew by {grown} KiB while the client stalled"
    s = c.response(sid, 60)
    chk = util.PatternChecker()
    chk.feed(bytes(s["data"]))
    assert s["ended"] and chk.ok and chk.count == size
    c.close()


def test_concurrent_uploads_with_small_windows_over_tls(rampart, backend, pki):
    b = backend()
    r = rampart(tls_config(pki, [b.port], http2={"initial_window": "16k"}))
    c = H2(r.port, ssl_ctx=h2_ctx(pki), sni="a.test")
    n, size = util.scale_conc(24), util.scale_size(400 * 1024)
    sids = [c.request("POST", f"/upload/{i}", headers=[("content-length", str(size))],
                      end=False, authority="a.test") for i in range(n)]
    # the bodies go out interleaved, each as its stream and connection windows allow
    pending = {sid: memoryview(bytes([i & 0xFF]) * size) for i, sid in enumerate(sids)}
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        sent = False
        for sid in list(pending):
            view = pending[sid]
            win = min(c.conn.local_flow_control_window(sid), c.conn.max_outbound_frame_size)
            if win > 0:
                k = min(win, len(view))
                c.conn.send_data(sid, bytes(view[:k]), end_stream=(k == len(view)))
                pending[sid] = view[k:]
                sent = True
                if not len(pending[sid]):
                    del pending[sid]
        c.flush()
        if not sent:
            c.pump(0.5)
        assert not c.closed
    assert not pending, "the windows did not reopen"
    for sid in sids:
        s = c.response(sid, 30)
        assert s["headers"][":status"] == "200" and bytes(s["data"]) == str(size).encode(), s
    c.close()


def test_local_errors_over_h2_tls_carry_hsts(rampart, pki):
    dead = util.free_port()
    cfg = tls_config(pki, [dead], listener={"hsts": {"max_age": "60s"}},
                     routes=[{"match": {"path_prefix": "/app"}, "proxy": "app"}])
    r = rampart(cfg)
    c = H2(r.port, ssl_ctx=h2_ctx(pki), sni="a.test")
    for path, status in (("/app/x", "502"), ("/nowhere", "404")):
        s = c.response(c.request("GET", path, authority="a.test"))
        assert s["headers"][":status"] == status, s
        assert s["headers"].get("strict-transport-security") == "max-age=60", s["headers"]
    c.close()


def test_idle_h2_tls_connection_gets_goaway_and_close_notify(rampart, backend, pki):
    b = backend()
    r = rampart(tls_config(pki, [b.port], timeouts={"keepalive": "1s"}))
    c = H2(r.port, ssl_ctx=h2_ctx(pki), sni="a.test")
    c.response(c.request("GET", "/json", authority="a.test"))
    t0 = time.monotonic()
    assert c.wait_closed(5)
    assert c.terminated is not None and c.terminated[0] == NO_ERROR
    assert time.monotonic() - t0 < 4
    c.close()


def test_h2_preface_without_alpn_on_tls(rampart, backend, pki):
    """A client that sends the HTTP/2 preface over TLS without negotiating h2 (prior knowledge
    inside TLS): rampart either speaks HTTP/2 or refuses it as a bad HTTP/1.1 request; it must
    not hang or fail."""
    b = backend()
    r = rampart(tls_config(pki, [b.port]))
    for alpn in ((), ("http/1.1",)):
        ctx = client_ctx(pki)
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        raw = socket.create_connection(("127.0.0.1", r.port), timeout=5)
        s = ctx.wrap_socket(raw, server_hostname="a.test")
        assert s.selected_alpn_protocol() in (None, "http/1.1")
        s.sendall(PREFACE + frame(4, 0, 0, b""))
        s.settimeout(5)
        try:
            got = s.recv(65536)
        except (socket.timeout, OSError):
            got = b""
        s.close()
        assert got.startswith(b"HTTP/1.1 4") or (len(got) >= 9 and got[3] == 4), got[:100]
    assert r.alive()


def test_client_vanishing_mid_stream_over_tls(rampart, backend, pki):
    b = backend()
    r = rampart(tls_config(pki, [b.port]))
    for _ in range(3):
        c = H2(r.port, ssl_ctx=h2_ctx(pki), sni="a.test")
        sids = [c.request("GET", f"/size/{util.scale_size(8 * MIB)}", authority="a.test")
                for _ in range(4)]
        c.wait(lambda: all(c.st(s)["data"] for s in sids), 10, "some data on every stream")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.sock.close()  # a reset, not a TLS close
    time.sleep(0.5)
    c = H2(r.port, ssl_ctx=h2_ctx(pki), sni="a.test")
    assert c.response(c.request("GET", "/json", authority="a.test"))["headers"][":status"] == \
        "200"
    c.close()
    assert r.alive()


# ---- reloads that turn http2 on and off ---------------------------------------------------------


def test_reload_turns_http2_on_and_off_for_a_tls_listener(rampart, backend, pki):
    """ALPN follows the reloaded `http2` (the listener's TLS set is rebuilt), and the connection
    must then speak what ALPN chose: with h2 selected, HTTP/2 (not HTTP/1.1 answering the
    preface with a 400)."""
    b = backend()
    cfg = tls_config(pki, [b.port], listener={"http2": False})
    plain = util.free_port()
    cfg["listen"].append({"address": f"127.0.0.1:{plain}", "http2": False})
    r = rampart(cfg)
    assert curl(pki, r.port, "/json")[2] == "200 1.1"
    for on in (True, False, True):
        cfg["listen"][0]["http2"] = on
        cfg["listen"][1]["http2"] = on
        cfg["routes"].insert(0, {"match": {"path": f"/gen{on}{len(cfg['routes'])}"},
                                 "respond": {"status": 200, "body": "x"}})
        r.write_config(cfg)
        r.reload()
        marker = cfg["routes"][0]["match"]["path"]
        util.wait_for(lambda: curl(pki, r.port, marker, http="--http1.1")[2] == "200 1.1",
                      timeout=10, what="the reloaded config")
        want = "2" if on else "1.1"
        util.wait_for(lambda: curl(pki, r.port, "/json")[2] == f"200 {want}", timeout=10,
                      what=f"HTTP/{want} after the reload")
        for _ in range(4):  # new connections, on every worker
            p, body, tail = curl(pki, r.port, "/json")
            assert tail == f"200 {want}", (on, p)
            rc, out = s_client(r.port, "-alpn", "h2,http/1.1")
            assert alpn_of(out) == ("h2" if on else "http/1.1"), out
        # h2c with prior knowledge on the plain listener follows the same key
        def h2c():
            return subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-o", "/dev/null",
                                   "-w", "%{http_code} %{http_version}",
                                   f"http://127.0.0.1:{plain}/json"],
                                  capture_output=True, timeout=20).stdout

        util.wait_for(lambda: (h2c() == b"200 2") == on, timeout=10, what="h2c after reload")
        for _ in range(4):
            assert (h2c() == b"200 2") == on, on
    assert r.alive()


def test_client_that_stops_reading_is_closed_after_send_timeout(rampart, backend, pki):
    b = backend()
    r = rampart(tls_config(pki, [b.port], timeouts={"send": "2s", "keepalive": "60s"}))
    c = H2(r.port, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1},
           ssl_ctx=h2_ctx(pki), sni="a.test")
    c.conn.increment_flow_control_window(2**31 - 1 - 65535)
    c.flush()
    size = 32 * MIB  # not scaled: far more than socket buffers hold
    for _ in range(4):
        c.request("GET", f"/size/{size}", authority="a.test")
    time.sleep(6)  # never reading: rampart gives up after timeouts.send
    # what was queued in the sockets still arrives, then the end (close_notify or a reset)
    t0 = time.monotonic()
    c.sock.settimeout(3)
    ended, got = False, 0
    try:
        while time.monotonic() - t0 < 20:
            d = c.sock.recv(1 << 20)
            if not d:
                ended = True
                break
            got += len(d)
    except socket.timeout:
        pass
    except OSError:
        ended = True  # a reset
    c.close()
    assert ended, f"rampart kept a client that does not read ({got} bytes read after the stall)"
    assert got < 4 * size, got
    assert r.alive()
    c = H2(r.port, ssl_ctx=h2_ctx(pki), sni="a.test")
    assert c.response(c.request("GET", "/json", authority="a.test"))["headers"][":status"] == \
        "200"
    c.close()
