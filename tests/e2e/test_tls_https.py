# HTTPS behaviour of TLS listeners: certificate reload (file change, SIGHUP, a broken file,
# under load), redirect_https, HSTS, X-Forwarded-Proto, static files over TLS, handshake
# failures and timeouts. Certificates: tls_pki.py.
import http.client
import os
import socket
import threading
import time

import pytest
from cryptography import x509

import util
from tls_pki import (Pki, client_ctx, https_get, peer_cert, respond_config, tls_listener,
                     write_atomic)


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


# ---------------------------------------------------------------------------------------------
# reloading certificates


def serial_seen(port, pki, sni="a.test"):
    return peer_cert(port, client_ctx(pki), sni).serial_number


def test_cert_reload_on_file_change_and_sighup(rampart, pki):
    first = pki.issue("a", ["a.test"])
    port = util.free_port()
    r = rampart(respond_config([tls_listener(port, [first[:2]])]))
    assert serial_seen(port, pki) == first[2].serial_number
    second = pki.issue("a", ["a.test"])  # same files, new certificate and key
    util.wait_for(lambda: serial_seen(port, pki) == second[2].serial_number, timeout=10,
                  interval=0.3, what="the new certificate")
    assert "certificates reloaded" in r.stderr_text()
    # a broken file: logged, the last good certificate stays
    write_atomic(first[0], b"-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n")
    util.wait_for(lambda: "cannot be used" in r.stderr_text(), timeout=10, what="the error")
    assert serial_seen(port, pki) == second[2].serial_number
    # SIGHUP with the broken file: the reload fails, nothing changes
    r.reload()
    util.wait_for(lambda: "reload of" in r.stderr_text(), timeout=10, what="the failed reload")
    assert "no PEM certificate" in r.stderr_text()
    assert serial_seen(port, pki) == second[2].serial_number
    # fixed files and SIGHUP: the reload takes them
    third = pki.issue("a", ["a.test"])
    r.reload()
    util.wait_for(lambda: serial_seen(port, pki) == third[2].serial_number, timeout=10,
                  interval=0.3, what="the certificate after SIGHUP")
    assert r.alive()


def test_cert_reload_under_load(rampart, pki):
    first = pki.issue("a", ["a.test"])
    port = util.free_port()
    rampart(respond_config([tls_listener(port, [first[:2]])], workers=2))
    stop = threading.Event()
    failures, serials, done = [], set(), [0]

    def client():
        ctx = client_ctx(pki)
        while not stop.is_set():
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=5)
                with ctx.wrap_socket(raw, server_hostname="a.test") as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
                    data = util.recv_to_eof(s)
                    if not data.startswith(b"HTTP/1.1 200") or not data.endswith(b"hello\n"):
                        failures.append(data[:100])
                    serials.add(x509.load_der_x509_certificate(
                        s.getpeercert(binary_form=True)).serial_number)
                done[0] += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                failures.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        issued = []
        for _ in range(4):
            time.sleep(1.2)
            issued.append(pki.issue("a", ["a.test"])[2].serial_number)
        last = issued[-1]
        util.wait_for(lambda: last in serials, timeout=10, what="the last certificate in use")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert not failures, failures[:5]
    assert done[0] > 20
    assert first[2].serial_number in serials


# ---------------------------------------------------------------------------------------------
# HTTPS behaviour: redirects, HSTS, forwarded proto, static files


def raw_http(port, request):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        data = util.recv_to_eof(s)
    return data.decode("latin-1")


def test_redirect_https(rampart, pki):
    a = pki.issue("a", ["a.test"])
    tls_port, p1, p2 = util.free_port(), util.free_port(), util.free_port()
    listen = [tls_listener(tls_port, [a[:2]]),
              {"address": f"127.0.0.1:{p1}", "redirect_https": ""},
              {"address": f"127.0.0.1:{p2}", "redirect_https": f"a.test:{tls_port}"}]
    rampart(respond_config(listen))
    out = raw_http(p1, b"GET /x/y?z=1 HTTP/1.1\r\nHost: www.example.test:8080\r\n"
                       b"Connection: close\r\n\r\n")
    assert out.startswith("HTTP/1.1 308 ")
    assert "\r\nLocation: https://www.example.test/x/y?z=1\r\n" in out
    out = raw_http(p2, b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                       b"Connection: close\r\n\r\nabc")
    assert out.startswith("HTTP/1.1 308 ")
    assert f"\r\nLocation: https://a.test:{tls_port}/form\r\n" in out
    status, _, body, _, _ = https_get(tls_port, pki, "a.test", "/form")
    assert status == 200 and body == b"hello\n"


def test_hsts_and_forwarded_proto(rampart, backend, pki):
    a = pki.issue("a", ["a.test"])
    b = backend()
    b.on("/own-sts", lambda be, req, conn: be.respond(
        conn, req, 200, b"own", [("Strict-Transport-Security", "max-age=5")]))
    port, plain = util.free_port(), util.free_port()
    listen = [tls_listener(port, [a[:2]], listener={
        "hsts": {"max_age": "8760h", "include_subdomains": True, "preload": True}}),
        {"address": f"127.0.0.1:{plain}"}]
    routes = [{"match": {"path": "/local"}, "respond": {"status": 200, "body": "local\n"}},
              {"match": {"path_prefix": "/"}, "proxy": "app"}]
    cfg = respond_config(listen, routes=routes,
                         upstreams={"app": {"servers": [{"address": b.address}]}})
    rampart(cfg)
    want = "max-age=31536000; includeSubDomains; preload"
    status, h, body, _, _ = https_get(port, pki, "a.test", "/local")
    assert status == 200 and h.get("strict-transport-security") == want
    status, h, body, _, _ = https_get(port, pki, "a.test", "/nothing-here")
    assert h.get("strict-transport-security") == want
    assert b.last().header("x-forwarded-proto") == "https"
    assert "proto=https" in b.last().header("forwarded")
    status, h, body, _, _ = https_get(port, pki, "a.test", "/own-sts")
    assert h.get("strict-transport-security") == "max-age=5" and body == b"own"
    out = raw_http(plain, b"GET /local HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert "Strict-Transport-Security" not in out
    raw_http(plain, b"GET /p HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert b.last().header("x-forwarded-proto") == "http"


def test_static_file_over_tls(rampart, pki, tmp_path):
    a = pki.issue("a", ["a.test"])
    root = tmp_path / "www"
    root.mkdir()
    data = os.urandom(util.scale_size(3 * 1024 * 1024) + 12345)
    (root / "big.bin").write_bytes(data)
    port = util.free_port()
    routes = [{"match": {"path_prefix": "/"}, "static": {"root": str(root)}}]
    rampart(respond_config([tls_listener(port, [a[:2]])], routes=routes))
    loose = client_ctx(pki, check_hostname=False)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=loose, timeout=10)
    for _ in range(2):  # keep-alive: the second answer follows the first on one connection
        conn.request("GET", "/big.bin", headers={"Host": "a.test"})
        resp = conn.getresponse()
        got = resp.read()
        assert resp.status == 200 and got == data
    conn.request("GET", "/big.bin", headers={"Host": "a.test", "Range": "bytes=100-199"})
    resp = conn.getresponse()
    assert resp.status == 206 and resp.read() == data[100:200]
    conn.close()


def test_handshake_garbage_and_stall(rampart, pki):
    a = pki.issue("a", ["a.test"])
    port = util.free_port()
    cfg = respond_config([tls_listener(port, [a[:2]])])
    cfg["timeouts"]["header"] = "1s"
    rampart(cfg)
    # plain HTTP on a TLS port: the handshake fails and the connection is closed
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        data = b""
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
        except ConnectionResetError:
            pass
        assert b"HTTP/1.1 200" not in data
    # a client that never finishes its handshake is closed after timeouts.header
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        t0 = time.monotonic()
        try:
            assert s.recv(4096) == b""
        except ConnectionResetError:
            pass
        assert 0.5 < time.monotonic() - t0 < 4
    # keep-alive over TLS: several requests on one connection, then a clean shutdown
    loose = client_ctx(pki, check_hostname=False)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=loose, timeout=5)
    for _ in range(5):
        conn.request("GET", "/", headers={"Host": "a.test"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == b"hello\n"
    conn.close()
