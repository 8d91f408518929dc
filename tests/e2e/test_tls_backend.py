# TLS to backends: a plain client through rampart to a TLS origin (trustme certificates), with
# verification of the chain and of the name or IP, SNI, verify: false, a client certificate to
# the backend, connection reuse and session resumption, pools that keep TLS settings apart, and
# configuration errors (check and reload).
import subprocess
import time

import pytest
import trustme

import util
from tlsbackend import TlsBackend
from util import RAMPART_BIN, dump_config, get, make_config, wait_for


@pytest.fixture
def tls_backend():
    yield from util.started_servers(lambda n, *args, **kw: TlsBackend(*args, **kw))


@pytest.fixture
def ca():
    return trustme.CA()


def write_ca(tmp_path, ca, name="ca.pem"):
    p = tmp_path / name
    ca.cert_pem.write_to_path(str(p))
    return str(p)


def tls_config(servers, tls, **over):
    """One upstream "app" over TLS, a catch-all route to it."""
    return make_config(
        upstreams={"app": {"servers": [{"address": s} for s in servers], "tls": tls}},
        routes=[{"match": {"path_prefix": "/"}, "proxy": "app"}],
        **over,
    )


def test_plain_client_to_tls_backend(rampart, tls_backend, ca, tmp_path):
    b = tls_backend(ca)
    r = rampart(tls_config([b.address], {"ca": write_ca(tmp_path, ca), "sni": "backend.test"}))
    for i in range(3):
        resp = get(r.port, f"/hello/{i}")
        assert resp.status == 200, resp
        assert resp.body == f"tls1 GET /hello/{i}\n".encode()
    info = b.info(1)
    assert info["sni"] == "backend.test"
    assert info["alpn"] == "http/1.1"  # h2 is offered only to upstreams with protocol h2
    assert info["version"] in ("TLSv1.2", "TLSv1.3")
    assert b.last().header("host") == "localhost"


def test_sni_defaults_to_the_server_name(rampart, tls_backend, ca, tmp_path):
    b = tls_backend(ca, names=("localhost",))
    r = rampart(tls_config([f"localhost:{b.port}"], {"ca": write_ca(tmp_path, ca)}))
    assert get(r.port, "/").status == 200
    assert b.info(1)["sni"] == "localhost"


def test_sni_defaults_to_host_header(rampart, tls_backend, ca, tmp_path):
    b = tls_backend(ca, names=("api.internal",))
    cfg = tls_config([b.address], {"ca": write_ca(tmp_path, ca)})
    cfg["upstreams"]["app"]["host_header"] = f"api.internal:{b.port}"
    r = rampart(cfg)
    assert get(r.port, "/").status == 200
    assert b.info(1)["sni"] == "api.internal"
    assert b.last().header("host") == f"api.internal:{b.port}"


def test_ip_address_is_verified_without_sni(rampart, tls_backend, ca, tmp_path):
    b = tls_backend(ca, names=("127.0.0.1",))
    r = rampart(tls_config([b.address], {"ca": write_ca(tmp_path, ca)}))
    assert get(r.port, "/").status == 200
    assert b.info(1)["sni"] is None  # RFC 6066: no IP literals in SNI
    # a certificate for another address fails
    b2 = tls_backend(ca, names=("10.1.2.3",), name="tls2")
    r2 = rampart(tls_config([b2.address], {"ca": write_ca(tmp_path, ca)}))
    assert get(r2.port, "/").status == 502


def test_unknown_ca_is_a_502_and_logged(rampart, tls_backend, ca, tmp_path):
    b = tls_backend(ca)
    other = trustme.CA()
    r = rampart(tls_config([b.address], {"ca": write_ca(tmp_path, other), "sni": "backend.test"}))
    resp = get(r.port, "/")
    assert resp.status == 502
    assert b.nrequests == 0
    wait_for(lambda: "TLS handshake failed" in r.stderr_text(), what="the failure in the log")
    log = r.stderr_text()
    assert b.address in log and "certificate verify failed" in log, log


def test_wrong_hostname_is_a_502_and_logged(rampart, tls_backend, ca, tmp_path):
    b = tls_backend(ca, names=("backend.test",))
    r = rampart(tls_config([b.address], {"ca": write_ca(tmp_path, ca), "sni": "other.test"}))
    assert get(r.port, "/").status == 502
    assert b.nrequests == 0
    wait_for(lambda: "hostname mismatch" in r.stderr_text(), what="the reason in the log")
    assert b.info(1) is None  # rampart gave up during the handshake


def test_failed_server_is_skipped_for_a_good_one(rampart, tls_backend, ca, tmp_path):
    good = tls_backend(ca, name="good")
    bad = tls_backend(trustme.CA(), name="bad")  # a certificate rampart cannot verify
    r = rampart(tls_config([bad.address, good.address],
                           {"ca": write_ca(tmp_path, ca), "sni": "backend.test"}))
    for i in range(6):
        resp = get(r.port, f"/{i}")
        assert resp.status == 200 and resp.header("x-backend") == "good", resp
    assert bad.nrequests == 0


def test_verify_false_accepts_any_certificate(rampart, tls_backend, tmp_path):
    b = tls_backend(trustme.CA())
    r = rampart(tls_config([b.address], {"verify": False, "sni": "whatever.test"}))
    assert get(r.port, "/").status == 200
    assert b.info(1)["sni"] == "whatever.test"


def test_tls_true_uses_the_system_store(rampart, tls_backend, ca):
    b = tls_backend(ca)  # trustme's CA is not in the system store
    r = rampart(tls_config([b.address], True))
    assert get(r.port, "/").status == 502
    wait_for(lambda: "certificate verify failed" in r.stderr_text(), what="the reason")


def test_client_certificate_to_the_backend(rampart, tls_backend, ca, tmp_path):
    client_ca = trustme.CA()
    b = tls_backend(ca, client_ca=client_ca)
    leaf = client_ca.issue_cert("rampart.client", common_name="rampart.client")
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    leaf.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    tls = {"ca": write_ca(tmp_path, ca), "sni": "backend.test",
           "cert": "client.pem", "key": "client.key"}  # relative to the config file
    r = rampart(tls_config([b.address], tls))
    assert get(r.port, "/").status == 200
    assert "rampart.client" in (b.info(1)["peer"] or "")
    # without the certificate the backend refuses the handshake
    r2 = rampart(tls_config([b.address], {"ca": write_ca(tmp_path, ca), "sni": "backend.test"}))
    assert get(r2.port, "/").status == 502


def test_connections_are_reused(rampart, tls_backend, ca, tmp_path):
    b = tls_backend(ca)
    r = rampart(tls_config([b.address], {"ca": write_ca(tmp_path, ca), "sni": "backend.test"}))
    n = 40
    for i in range(n):
        assert get(r.port, f"/{i}").status == 200
    assert b.nrequests == n
    assert b.handshakes <= 4, b.handshakes  # one per worker (2), a little slack


def test_sessions_are_resumed(rampart, tls_backend, ca, tmp_path):
    b = tls_backend(ca)
    cfg = tls_config([b.address], {"ca": write_ca(tmp_path, ca), "sni": "backend.test"})
    cfg["upstreams"]["app"]["keepalive"] = 0  # a new connection for every request
    cfg["workers"] = 1
    r = rampart(cfg)
    for i in range(6):
        assert get(r.port, f"/{i}").status == 200
    assert b.handshakes == 6
    assert b.resumed >= 4, b.conn_info


def test_pools_keep_tls_settings_apart(rampart, tls_backend, ca, tmp_path):
    b = tls_backend(ca, names=("a.test", "b.test"))
    cafile = write_ca(tmp_path, ca)
    cfg = make_config(
        upstreams={
            "a": {"servers": [b.address], "tls": {"ca": cafile, "sni": "a.test"}},
            "b": {"servers": [b.address], "tls": {"ca": cafile, "sni": "b.test"}},
            "plain": {"servers": [b.address]},
        },
        routes=[
            {"match": {"path_prefix": "/a/"}, "proxy": "a"},
            {"match": {"path_prefix": "/b/"}, "proxy": "b"},
            {"match": {"path_prefix": "/plain/"}, "proxy": "plain"},
        ],
        workers=1,
    )
    r = rampart(cfg)
    for i in range(5):
        assert get(r.port, f"/a/{i}").status == 200
        assert get(r.port, f"/b/{i}").status == 200
    with b.lock:
        reqs = list(b.requests)
    for req in reqs:
        assert b.info(req.conn_id)["sni"] == req.path[1] + ".test", (req, b.info(req.conn_id))
    assert b.handshakes == 2
    # a plain upstream to the same address never gets a pooled TLS connection
    assert get(r.port, "/plain/x").status == 502
    assert b.nrequests == 10


def run_check(path):
    return subprocess.run([RAMPART_BIN, "check", "-c", str(path)], capture_output=True,
                          timeout=10, stdin=subprocess.DEVNULL)


def test_check_reports_tls_file_errors(tmp_path, ca):
    cfg = tls_config(["127.0.0.1:9"], {"ca": "missing-ca.pem"})
    f = tmp_path / "c.yaml"
    f.write_text(dump_config(cfg))
    p = run_check(f)
    out = (p.stdout + p.stderr).decode()
    assert p.returncode != 0
    line = next(i + 1 for i, t in enumerate(f.read_text().splitlines()) if "missing-ca" in t)
    assert f"c.yaml:{line}:" in out and "ca: cannot read" in out and "missing-ca.pem" in out, out

    # a key that is not the certificate's
    leaf, other = ca.issue_cert("x.test"), ca.issue_cert("y.test")
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "c.pem"))
    other.private_key_pem.write_to_path(str(tmp_path / "k.pem"))
    f.write_text(dump_config(tls_config(["127.0.0.1:9"], {"cert": "c.pem", "key": "k.pem"})))
    p = run_check(f)
    out = (p.stdout + p.stderr).decode()
    assert p.returncode != 0 and "does not match the certificate" in out, out
    assert "c.yaml:" in out

    # and a good one describes the upstream
    other.cert_chain_pems[0].write_to_path(str(tmp_path / "c.pem"))
    p = run_check(f)
    out = (p.stdout + p.stderr).decode()
    assert p.returncode == 0 and "tls" in out, out


def test_reload_with_a_broken_tls_file_keeps_the_old_config(rampart, tls_backend, ca, tmp_path):
    b = tls_backend(ca)
    cafile = write_ca(tmp_path, ca)
    cfg = tls_config([b.address], {"ca": cafile, "sni": "backend.test"})
    r = rampart(cfg)
    assert get(r.port, "/").status == 200
    bad = tls_config([b.address], {"ca": "nope.pem"}, port=r.port)
    r.write_config(bad)
    r.reload()
    wait_for(lambda: "nope.pem" in r.stderr_text(), what="the reload error")
    time.sleep(0.3)
    assert r.alive()
    assert get(r.port, "/").status == 200
    # a good reload swaps the context; requests keep working across it
    r.write_config(tls_config([b.address], {"ca": cafile, "sni": "backend.test"}, port=r.port))
    r.reload()
    for i in range(10):
        assert get(r.port, f"/{i}").status == 200
        time.sleep(0.05)


def test_post_bodies_over_tls(rampart, tls_backend, ca, tmp_path):
    b = tls_backend(ca)
    r = rampart(tls_config([b.address], {"ca": write_ca(tmp_path, ca), "sni": "backend.test"}))
    body = bytes(range(256)) * 4096  # 1 MiB
    resp = util.http(r.port, "POST", "/upload", body=body, timeout=20)
    assert resp.status == 200
    assert b.last().body_len == len(body)
    resp = get(r.port, f"/size/{3 * 1024 * 1024}", timeout=20)
    assert resp.status == 200 and len(resp.body) == 3 * 1024 * 1024


def test_a_stalled_handshake_times_out_as_a_connect(rampart, tmp_path):
    """A backend that accepts TCP but never answers the ClientHello: timeouts.connect covers the
    handshake, and the client gets a 504."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        port = srv.getsockname()[1]
        cfg = tls_config([f"127.0.0.1:{port}"], {"verify": False})
        cfg["timeouts"]["connect"] = "500ms"
        r = rampart(cfg)
        start = time.monotonic()
        resp = get(r.port, "/")
        assert resp.status == 504, resp
        assert 0.4 < time.monotonic() - start < 5
        wait_for(lambda: "connect timed out" in r.stderr_text(), what="the timeout in the log")
        assert held, "the backend saw no connection"
    finally:
        stop.set()
        t.join(5)
        for c in held:
            c.close()
        srv.close()
