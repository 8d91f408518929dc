# Regression tests for the eight TLS / HTTP/2 defects of the security review (fixed together):
# ALPN h2 after a reload, resets provoked by the client ("MadeYouReset"), userinfo in HTTP/2
# :authority and host, identity fields in request trailers, mTLS identity after a reload, h2
# backend connections across a TLS reload, HEAD error answers over HTTP/2, PING-kept idle
# connections. Each test failed on the code before the fixes.
import subprocess
import time

import pytest
import trustme

from h2backend import H2Backend
from test_h2_server import ENHANCE_YOUR_CALM, H2, frame, h2cfg
from test_tls_mtls import pki  # noqa: F401 - the fixture
from tls_pki import Pki, tls_listener
from util import Client, free_port, get, make_config, reload_to, send_raw, status_of, wait_for

SUBJ = "X-Client-Cert-Subject"
FP = "X-Client-Cert-Fingerprint"




@pytest.fixture
def h2_backend():
    started = []

    def factory(ssl_ctx=None):
        b = H2Backend(f"h2b{len(started) + 1}", ssl_ctx=ssl_ctx)
        started.append(b)
        return b

    yield factory
    problems = []
    for b in started:
        problems += b.stop()
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def mtls(pki):
    """Server certificate for localhost, a client CA and alice's certificate from it."""
    return pki


def curl_https(ca, port, *args, path="/"):
    """curl to https://localhost:port; returns (http_code + ' ' + http_version, process)."""
    argv = ["curl", "-sS", "--max-time", "5", "--cacert", ca, "-o", "/dev/null",
            "-w", "%{http_code} %{http_version}", *args, f"https://localhost:{port}{path}"]
    p = subprocess.run(argv, capture_output=True, timeout=15, stdin=subprocess.DEVNULL)
    return p.stdout.decode(), p


# ---- 1. a reload that turns http2 on for a TLS listener ---------------------------------------


def test_alpn_h2_after_a_reload_turns_http2_on(rampart, backend, tmp_path):
    b = backend()
    srv_pki = Pki(tmp_path)
    cert = srv_pki.issue("srv", ["localhost"])[:2]
    port = free_port()

    def cfg(h2):
        c = make_config(backends=[b.port], port=port, workers=1)
        c["listen"] = [tls_listener(port, [cert], listener={"http2": h2})]
        return c

    r = rampart(cfg(False))
    got, p = curl_https(str(srv_pki.ca_pem), port, "--http2")
    assert got == "200 1.1", p
    reload_to(r, cfg(True))
    # the context that answers the handshake now offers h2: the session must speak it (the old
    # code negotiated h2 but kept parsing HTTP/1.1 and closed: an empty reply)
    wait_for(lambda: curl_https(str(srv_pki.ca_pem), port, "--http2")[0] == "200 2", timeout=5,
             what="HTTP/2 with status 200 after the reload")


# ---- 2. MadeYouReset: resets nghttp2 sends for client violations count ----------------------


def test_resets_provoked_by_the_client_count_against_max_resets(rampart, backend):
    b = backend()
    r = rampart(h2cfg([b.port], http2={"max_resets": 20}))
    c = H2(r.port, validate=False)
    opened = 0
    # each stream: HEADERS (POST, content-length: 1) starts the exchange, then a DATA frame of
    # 2 bytes with END_STREAM that nghttp2 answers with RST_STREAM PROTOCOL_ERROR
    for _ in range(30):
        if c.closed or c.terminated:
            break
        sids = []
        for _ in range(10):
            sid = c.conn.get_next_available_stream_id()
            c.conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", "/x"),
                                      (":authority", "localhost"), ("content-length", "1")])
            sids.append(sid)
        try:
            c.flush()
            time.sleep(0.02)
            c.sock.sendall(b"".join(frame(0, 0x1, sid, b"ab") for sid in sids))
        except OSError:
            break
        opened += len(sids)
        c.pump(0.1)
    try:
        c.wait(lambda: c.terminated is not None, 5, "GOAWAY")
    except AssertionError:
        pass
    time.sleep(0.3)
    with b.lock:
        heads = b.heads
    assert c.terminated is not None or c.closed, (
        f"{opened} streams reset by rampart, {heads} reached the backend: no GOAWAY")
    assert c.terminated is None or c.terminated[0] == ENHANCE_YOUR_CALM, c.terminated
    # GOAWAY comes at the 21st reset; a batch in flight may still start exchanges
    assert heads <= 60, f"the backend saw {heads} requests ({opened} streams opened)"
    c.close()
    assert r.alive() and get(r.port, "/json").status == 200


# ---- 3. userinfo in :authority and host -------------------------------------------------------


def test_h2_authority_and_host_with_userinfo_are_400(rampart, backend):
    b = backend()
    r = rampart(h2cfg([b.port]))
    c = H2(r.port, validate=False)
    sid = c.request("GET", "/json", authority="x@admin.example")
    s = c.response(sid)
    assert s["headers"] and s["headers"][":status"] == "400", s
    sid = c.conn.get_next_available_stream_id()
    c.conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":path", "/json"),
                              ("host", "x@admin.example")], end_stream=True)
    c.flush()
    s = c.response(sid)
    assert s["headers"] and s["headers"][":status"] == "400", s
    assert b.nrequests == 0
    # a plain authority still goes through on the same connection
    sid = c.request("GET", "/json", authority="admin.example")
    assert c.response(sid)["headers"][":status"] == "200"
    assert b.nrequests == 1
    c.close()
    # HTTP/1.1: as before, 400 and not forwarded
    raw = send_raw(r.port, b"GET /json HTTP/1.1\r\nHost: x@admin.example\r\n"
                           b"Connection: close\r\n\r\n")
    assert status_of(raw) == 400, raw[:200]
    assert b.nrequests == 1


# ---- 4. identity fields in request trailers ---------------------------------------------------


def test_identity_fields_in_request_trailers_are_dropped(rampart, backend, h2_backend, mtls):
    b = backend()
    hb = h2_backend()
    plain, tls_port = free_port(), free_port()
    cfg = make_config(backends=[b.port], port=plain,
                      upstreams={"h2": {"servers": [f"127.0.0.1:{hb.port}"], "protocol": "h2c"}},
                      routes=[{"match": {"path_prefix": "/json"}, "proxy": "h2"},
                              {"match": {"path_prefix": "/"}, "proxy": "app"}])
    cfg["listen"].append({
        "address": f"127.0.0.1:{tls_port}",
        "tls": {"certificates": [{"cert": mtls["server.pem"], "key": mtls["server.key"]}],
                "client_auth": {"mode": "optional", "ca": mtls["client-ca.pem"]}},
    })
    r = rampart(cfg)
    trailers = [(SUBJ, "CN=admin"), (FP, "00ff"), ("X-Other", "kept")]
    with Client(r.port) as c:
        resp = c.request("POST", "/echo", body=b"abc", chunked=True, trailers=trailers)
        assert resp.status == 200 and resp.body == b"abc", resp
    req = b.last()
    names = [k.lower() for k, _ in req.trailers]
    assert "x-other" in names, req.trailers
    assert SUBJ.lower() not in names and FP.lower() not in names, req.trailers
    # through an HTTP/2 backend the trailers become a trailer HEADERS frame: the same rule
    with Client(r.port) as c:
        resp = c.request("POST", "/json", body=b"abc", chunked=True, trailers=trailers)
        assert resp.status == 200, resp
    got = hb.requests[-1]
    names = [k.lower() for k, _ in got.trailers]
    assert "x-other" in names, got.trailers
    assert SUBJ.lower() not in names and FP.lower() not in names, got.trailers


# ---- 5. mTLS identity after a reload ----------------------------------------------------------


def mtls_cfg(mtls, backend_port, port, client_auth):
    cfg = make_config(backends=[backend_port], port=port, workers=1)
    tls = {"certificates": [{"cert": mtls["server.pem"], "key": mtls["server.key"]}]}
    if client_auth:
        tls["client_auth"] = dict(client_auth, ca=mtls["client-ca.pem"])
    cfg["listen"] = [{"address": f"127.0.0.1:{port}", "tls": tls}]
    return cfg


def curl_alice(mtls, port, *headers):
    args = ["--http1.1", "--cert", mtls["alice.pem"], "--key", mtls["alice.key"]]
    for h in headers:
        args += ["-H", h]
    return curl_https(mtls["server-ca.pem"], port, *args)


def test_client_auth_turned_on_by_a_reload_sends_the_identity(rampart, backend, mtls):
    b = backend()
    port = free_port()
    r = rampart(mtls_cfg(mtls, b.port, port, None))
    assert curl_alice(mtls, port)[0] == "200 1.1"
    assert b.last().header(FP) is None
    reload_to(r, mtls_cfg(mtls, b.port, port, {"mode": "required"}))

    def identity():
        got, p = curl_alice(mtls, port, f"{SUBJ}: CN=admin")
        return got == "200 1.1" and b.last().headers_all(FP) == [mtls["alice_fp"]]

    wait_for(identity, timeout=5, what="alice's fingerprint at the backend")
    req = b.last()
    assert len(req.headers_all(SUBJ)) == 1 and "CN=alice" in req.header(SUBJ), req.headers


def test_identity_fields_renamed_by_a_reload(rampart, backend, mtls):
    b = backend()
    port = free_port()
    old = {"mode": "required", "subject_header": "X-Old-Subject", "fingerprint_header": "X-Old-Fp"}
    new = {"mode": "required", "subject_header": "X-New-Subject", "fingerprint_header": "X-New-Fp"}
    r = rampart(mtls_cfg(mtls, b.port, port, old))
    assert curl_alice(mtls, port)[0] == "200 1.1"
    assert b.last().headers_all("X-Old-Fp") == [mtls["alice_fp"]]
    reload_to(r, mtls_cfg(mtls, b.port, port, new))

    def renamed():
        got, p = curl_alice(mtls, port, "X-New-Subject: CN=admin", "X-New-Fp: forged")
        return got == "200 1.1" and b.last().headers_all("X-New-Fp") == [mtls["alice_fp"]]

    wait_for(renamed, timeout=5, what="the identity under the new names")
    req = b.last()
    subj = req.headers_all("X-New-Subject")
    assert len(subj) == 1 and "CN=alice" in subj[0], req.headers
    assert req.header("X-Old-Fp") is None and req.header("X-Old-Subject") is None, req.headers


# ---- 6. HTTP/2 backend connections across a reload of their TLS settings ----------------------


def test_h2_backend_connection_not_reused_after_a_ca_change(rampart, h2_backend, tmp_path):
    import ssl

    ca, other = trustme.CA(), trustme.CA()
    ca_path, other_path = tmp_path / "ca.pem", tmp_path / "other.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    other.cert_pem.write_to_path(str(other_path))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("backend.test", "127.0.0.1").configure_cert(ctx)
    ctx.set_alpn_protocols(["h2"])
    hb = h2_backend(ssl_ctx=ctx)
    port = free_port()

    def cfg(ca_file):
        up = {"servers": [f"127.0.0.1:{hb.port}"], "protocol": "h2", "keepalive_timeout": "60s",
              "tls": {"ca": str(ca_file), "sni": "backend.test"}}
        return make_config(port=port, workers=1, upstreams={"h2": up},
                           routes=[{"match": {"path_prefix": "/"}, "proxy": "h2"}])

    r = rampart(cfg(ca_path))
    assert get(r.port, "/x").status == 200
    assert hb.connections == 1
    # a CA that does not sign the backend: the kept connection must not serve the next request
    reload_to(r, cfg(other_path))
    wait_for(lambda: get(r.port, "/x").status == 502, timeout=3,
             what="502 from a new connection that fails verification")
    # and back to the right CA: a new verified connection
    reload_to(r, cfg(ca_path))
    wait_for(lambda: get(r.port, "/x").status == 200, timeout=5, what="200 again")


# ---- 7. HEAD answered early over HTTP/2 -------------------------------------------------------


def test_head_error_answer_has_no_data_over_h2(rampart, backend):
    b = backend()
    r = rampart(h2cfg([b.port]))
    c = H2(r.port)
    sid = c.request("HEAD", "/json", headers=[(f"x-f{i}", "1") for i in range(150)])
    s = c.response(sid, 5)
    # a body would make python h2 fail the connection (InvalidBodyLengthError): closed, no end
    assert not c.closed, "the connection failed: DATA on a HEAD response?"
    assert s["headers"] and s["headers"][":status"] == "431", s
    assert s["ended"] and not s["data"], s
    assert "data" not in [k for i, k in c.order if i == sid]
    # the connection goes on
    sid = c.request("HEAD", "/json")
    s = c.response(sid, 5)
    assert s["headers"][":status"] == "200" and s["ended"] and not s["data"]
    assert b.nrequests == 1
    c.close()


# ---- 8. PINGs do not keep an idle HTTP/2 connection open --------------------------------------


def test_pings_do_not_keep_an_idle_h2_connection_open(rampart, backend):
    b = backend()
    r = rampart(h2cfg([b.port], timeouts={"keepalive": "2s"}))
    c = H2(r.port)
    t0 = time.monotonic()
    next_ping = t0
    while not (c.closed or c.terminated) and time.monotonic() - t0 < 8:
        if time.monotonic() >= next_ping:
            c.conn.ping(b"12345678")
            try:
                c.flush()
            except OSError:
                break
            next_ping += 1.0
        c.pump(0.2)
    took = time.monotonic() - t0
    assert c.closed or c.terminated is not None, "a PING every second kept the connection open"
    assert took < 6.5, took
    c.close()
    assert r.alive() and b.nrequests == 0
