# TLS termination on listeners: SNI (exact, wildcard, default), RSA and ECDSA side by side, ALPN,
# protocol versions, session resumption (tickets shared by workers, session cache), OCSP
# stapling, certificate errors found by `rampart check`, certificate reload (file change,
# SIGHUP, under load), redirect_https, HSTS, X-Forwarded-Proto and static files over TLS.
# Certificates come from a trustme CA; leaves are issued here with `cryptography`.
import datetime
import http.client
import os
import socket
import ssl
import subprocess
import threading
import time

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

import util

OPENSSL = "openssl"


# ---------------------------------------------------------------------------------------------
# certificates


class Pki:
    """A CA (trustme) and leaf certificates written as PEM files into a directory."""

    def __init__(self, d):
        self.dir = d
        self.ca = trustme.CA()
        self.ca_key = serialization.load_pem_private_key(self.ca.private_key_pem.bytes(), None)
        self.ca_cert = x509.load_pem_x509_certificate(self.ca.cert_pem.bytes())
        self.ca_pem = d / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem))
        self.ca_key_path = d / "ca.key"
        self.ca.private_key_pem.write_to_path(str(self.ca_key_path))

    def issue(self, stem, names, kind="rsa", days=30, expired=False, password=None):
        """Writes stem.pem (leaf + CA) and stem.key; returns (cert path, key path, x509)."""
        key = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(
            ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=days)
        if expired:
            start, end = now - datetime.timedelta(days=10), now - datetime.timedelta(days=2)
        cn = names[0] if names else stem
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        cert_path, key_path = self.dir / f"{stem}.pem", self.dir / f"{stem}.key"
        enc = (serialization.BestAvailableEncryption(password.encode()) if password
               else serialization.NoEncryption())
        chain = cert.public_bytes(serialization.Encoding.PEM) + self.ca.cert_pem.bytes()
        write_atomic(cert_path, chain)
        write_atomic(key_path, key.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8, enc))
        return cert_path, key_path, cert


def write_atomic(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


def tls_listener(port, certs, **tls_over):
    """A listen item with tls; certs: list of (cert, key) paths or dicts."""
    entries = []
    for c in certs:
        entries.append(c if isinstance(c, dict) else {"cert": str(c[0]), "key": str(c[1])})
    item = {"address": f"127.0.0.1:{port}", "tls": {"certificates": entries}}
    extra = tls_over.pop("listener", {})
    item["tls"].update(tls_over)
    item.update(extra)
    return item


def respond_config(listen, workers=2, routes=None, **over):
    port = util.free_port()
    cfg = util.make_config(port=port, routes=routes or [
        {"match": {"path_prefix": "/"}, "respond": {"status": 200, "body": "hello\n"}}], **over)
    cfg["listen"] = listen
    cfg["workers"] = workers
    return cfg


def client_ctx(pki, **kw):
    ctx = ssl.create_default_context(cafile=str(pki.ca_pem))
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def peer_cert(port, ctx, sni):
    """The leaf certificate the server presents for sni (no hostname check)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            return x509.load_der_x509_certificate(s.getpeercert(binary_form=True))


def san_names(cert):
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName)


def https_get(port, pki, host, path="/", ctx=None, session=None):
    """One request on a new TLS connection; returns (status, headers dict, body, ssl socket
    session, reused)."""
    ctx = ctx or client_ctx(pki)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname=host, session=session)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.setdefault(k.strip().lower(), v.strip())
        return status, headers, body, s.session, s.session_reused
    finally:
        s.close()


def s_client(port, *args, sni="a.test", stdin=b"", timeout=10):
    argv = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", sni, *args]
    p = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def run_check(path):
    return subprocess.run([util.RAMPART_BIN, "check", "-c", str(path)], capture_output=True,
                          text=True, timeout=30)


# ---------------------------------------------------------------------------------------------
# SNI and certificate selection


def test_sni_exact_wildcard_and_default(rampart, pki):
    a = pki.issue("a", ["a.test", "*.a.test"])
    b = pki.issue("b", ["b.test"])
    port = util.free_port()
    r = rampart(respond_config([tls_listener(port, [a[:2], b[:2]])]))
    ctx = client_ctx(pki)
    assert san_names(peer_cert(port, ctx, "a.test")) == ["a.test", "*.a.test"]
    assert san_names(peer_cert(port, ctx, "www.a.test")) == ["a.test", "*.a.test"]
    assert san_names(peer_cert(port, ctx, "b.test")) == ["b.test"]
    loose = client_ctx(pki, check_hostname=False)
    assert san_names(peer_cert(port, loose, "unknown.test")) == ["a.test", "*.a.test"]  # default
    status, _, body, _, _ = https_get(port, pki, "b.test")
    assert status == 200 and body == b"hello\n"
    assert "tls cert RSA (default): a.test, *.a.test" in r.stderr_text()


def test_names_override_certificate_sans(rampart, pki):
    a = pki.issue("a", ["a.test"])
    b = pki.issue("b", ["b.test"])
    port = util.free_port()
    certs = [{"cert": str(a[0]), "key": str(a[1])},
             {"cert": str(b[0]), "key": str(b[1]), "names": ["other.test"]}]
    rampart(respond_config([tls_listener(port, certs)]))
    loose = client_ctx(pki, check_hostname=False)
    assert san_names(peer_cert(port, loose, "other.test")) == ["b.test"]
    assert san_names(peer_cert(port, loose, "b.test")) == ["a.test"]  # not named: default


def server_key_bits(out):
    for line in out.splitlines():
        if line.startswith("Server public key is"):
            return int(line.split()[4])
    raise AssertionError(out)


def test_rsa_and_ecdsa_side_by_side(rampart, pki):
    r_ = pki.issue("rsa", ["c.test"], kind="rsa")
    e_ = pki.issue("ecdsa", ["c.test"], kind="ec")
    port = util.free_port()
    rampart(respond_config([tls_listener(port, [r_[:2], e_[:2]])]))
    rc, out = s_client(port, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256", sni="c.test")
    assert rc == 0 and server_key_bits(out) == 2048, out
    rc, out = s_client(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", sni="c.test")
    assert rc == 0 and server_key_bits(out) == 256, out
    rc, out = s_client(port, "-tls1_3", "-sigalgs", "rsa_pss_rsae_sha256", sni="c.test")
    assert rc == 0 and server_key_bits(out) == 2048, out
    rc, out = s_client(port, "-tls1_3", "-sigalgs", "ecdsa_secp256r1_sha256", sni="c.test")
    assert rc == 0 and server_key_bits(out) == 256, out
    # a client that supports both gets ECDSA (server preference: ECDSA suites first)
    rc, out = s_client(port, "-tls1_2", sni="c.test")
    assert rc == 0 and server_key_bits(out) == 256, out


# ---------------------------------------------------------------------------------------------
# protocol: ALPN, versions


def alpn_of(out):
    for line in out.splitlines():
        if line.startswith("ALPN protocol:"):
            return line.split(":", 1)[1].strip()
        if line.startswith("No ALPN negotiated"):
            return None
    raise AssertionError(out)


def test_alpn(rampart, pki):
    a = pki.issue("a", ["a.test"])
    p1, p2 = util.free_port(), util.free_port()
    listen = [tls_listener(p1, [a[:2]]), tls_listener(p2, [a[:2]], listener={"http2": False})]
    rampart(respond_config(listen))
    rc, out = s_client(p1, "-alpn", "h2,http/1.1")
    assert rc == 0 and alpn_of(out) in ("h2", "http/1.1")
    rc, out = s_client(p1, "-alpn", "http/1.1")
    assert alpn_of(out) == "http/1.1"
    rc, out = s_client(p2, "-alpn", "h2,http/1.1")
    assert alpn_of(out) == "http/1.1"  # http2: false never offers h2
    rc, out = s_client(p2, "-alpn", "spdy/3")
    assert rc == 0 and alpn_of(out) is None


def test_versions(rampart, pki):
    a = pki.issue("a", ["a.test"])
    p1, p2 = util.free_port(), util.free_port()
    listen = [tls_listener(p1, [a[:2]]), tls_listener(p2, [a[:2]], min_version="1.3")]
    rampart(respond_config(listen))
    assert s_client(p1, "-tls1_2")[0] == 0
    assert s_client(p1, "-tls1_3")[0] == 0
    rc, out = s_client(p1, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert rc != 0, out
    assert s_client(p2, "-tls1_2")[0] != 0
    assert s_client(p2, "-tls1_3")[0] == 0
    # TLS 1.2 offers only ECDHE with AEAD
    rc, out = s_client(p1, "-tls1_2", "-cipher", "AES128-SHA256")
    assert rc != 0, out


# ---------------------------------------------------------------------------------------------
# session resumption


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_tickets_resume_across_workers(rampart, pki, version):
    a = pki.issue("a", ["a.test"])
    port = util.free_port()
    rampart(respond_config([tls_listener(port, [a[:2]], session_cache=0)], workers=4))
    ctx = client_ctx(pki)
    v = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = ctx.maximum_version = v
    status, _, _, sess, reused = https_get(port, pki, "a.test", ctx=ctx)
    assert status == 200 and not reused
    reuses = 0
    for _ in range(24):  # new connections land on the workers in turn (SO_REUSEPORT hash)
        status, _, _, sess2, reused = https_get(port, pki, "a.test", ctx=ctx, session=sess)
        assert status == 200
        reuses += reused
        if version == "1.3":
            sess = sess2  # TLS 1.3 tickets are single use by clients' convention
    assert reuses == 24


def test_ticket_keys_rotate(rampart, pki):
    a = pki.issue("a", ["a.test"])
    port = util.free_port()
    rampart(respond_config([tls_listener(port, [a[:2]], session_cache=0, ticket_rotate="1s")]))
    ctx = client_ctx(pki)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    _, _, _, sess, _ = https_get(port, pki, "a.test", ctx=ctx)
    assert sess.has_ticket
    time.sleep(1.4)  # the key rotated: the previous one still decrypts
    assert https_get(port, pki, "a.test", ctx=ctx, session=sess)[4]
    time.sleep(2.6)  # two rotations later the ticket's key is gone: a full handshake
    assert not https_get(port, pki, "a.test", ctx=ctx, session=sess)[4]


def test_session_cache_without_tickets(rampart, pki):
    a = pki.issue("a", ["a.test"])
    port = util.free_port()
    rampart(respond_config([tls_listener(port, [a[:2]], session_tickets=False)], workers=2))
    ctx = client_ctx(pki)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    _, _, _, sess, reused = https_get(port, pki, "a.test", ctx=ctx)
    assert not reused and not sess.has_ticket
    for _ in range(8):
        _, _, _, _, reused = https_get(port, pki, "a.test", ctx=ctx, session=sess)
        assert reused


def test_resumption_with_openssl_cli(rampart, pki, tmp_path):
    a = pki.issue("a", ["a.test"])
    port = util.free_port()
    rampart(respond_config([tls_listener(port, [a[:2]])], workers=2))
    sess = tmp_path / "sess.pem"
    rc, out = s_client(port, "-tls1_2", "-sess_out", str(sess))
    assert rc == 0 and "New," in out
    for _ in range(4):
        rc, out = s_client(port, "-tls1_2", "-sess_in", str(sess))
        assert rc == 0 and "Reused," in out, out


# ---------------------------------------------------------------------------------------------
# OCSP stapling


def make_ocsp(pki, leaf_cert, leaf_path, out):
    idx = pki.dir / "index.txt"
    exp = leaf_cert.not_valid_after.strftime("%y%m%d%H%M%SZ")
    subj = "/CN=" + leaf_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    idx.write_text(f"V\t{exp}\t\t{leaf_cert.serial_number:X}\tunknown\t{subj}\n")
    subprocess.run([OPENSSL, "ocsp", "-index", str(idx), "-rsigner", str(pki.ca_pem), "-rkey",
                    str(pki.ca_key_path), "-CA", str(pki.ca_pem), "-issuer", str(pki.ca_pem),
                    "-cert", str(leaf_path), "-respout", str(out), "-ndays", "1"],
                   check=True, capture_output=True, timeout=30)


def test_ocsp_stapling(rampart, pki):
    a = pki.issue("a", ["a.test"])
    resp = pki.dir / "a.ocsp"
    make_ocsp(pki, a[2], a[0], resp)
    b = pki.issue("b", ["b.test"])
    bad = pki.dir / "b.ocsp"
    bad.write_bytes(b"not an OCSP response")
    port = util.free_port()
    certs = [{"cert": str(a[0]), "key": str(a[1]), "ocsp": str(resp)},
             {"cert": str(b[0]), "key": str(b[1]), "ocsp": str(bad)}]
    r = rampart(respond_config([tls_listener(port, certs)]))
    rc, out = s_client(port, "-status", sni="a.test")
    assert rc == 0 and "OCSP Response Status: successful" in out, out
    rc, out = s_client(port, "-status", sni="b.test")
    assert rc == 0 and "OCSP response: no response sent" in out, out
    assert "b.ocsp: not a DER OCSP response" in r.stderr_text()
    # the good response appears for b once its file is replaced (checked every few seconds)
    make_ocsp(pki, b[2], b[0], pki.dir / "b2.ocsp")
    os.replace(pki.dir / "b2.ocsp", bad)

    def stapled():
        return "OCSP Response Status: successful" in s_client(port, "-status", sni="b.test")[1]

    util.wait_for(stapled, timeout=10, interval=0.5, what="the new OCSP response")


# ---------------------------------------------------------------------------------------------
# configuration errors


def write_tls_config(tmp_path, certs, name="tls.yaml"):
    port = util.free_port()
    cfg = respond_config([tls_listener(port, certs)])
    path = tmp_path / name
    path.write_text(util.dump_config(cfg))
    return path


def cert_entry_line(path):
    lines = path.read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if "- cert:" in line)


def test_check_certificate_errors(pki, tmp_path):
    good = pki.issue("good", ["a.test"])
    other = pki.issue("other", ["b.test"])
    expired = pki.issue("expired", ["a.test"], expired=True)
    locked = pki.issue("locked", ["a.test"], password="s3cret")
    cases = [
        ([(good[0], other[1])], "does not match certificate"),
        ([expired[:2]], "expired on"),
        ([(pki.dir / "missing.pem", good[1])], "cannot open certificate file"),
        ([(good[0], pki.dir / "missing.key")], "cannot open key file"),
        ([{"cert": str(locked[0]), "key": str(locked[1]), "password": "wrong"}], "wrong password"),
        ([locked[:2]], "is encrypted"),
    ]
    for certs, why in cases:
        path = write_tls_config(tmp_path, certs)
        p = run_check(path)
        assert p.returncode == 1, p.stdout
        line = cert_entry_line(path)
        assert f"{path}:{line}:" in p.stdout and why in p.stdout, (why, p.stdout)
    ok = write_tls_config(tmp_path, [{"cert": str(locked[0]), "key": str(locked[1]),
                                      "password": "s3cret"}])
    p = run_check(ok)
    assert p.returncode == 0, p.stdout
    assert "tls cert RSA (default): a.test" in p.stdout


def test_check_tls_key_errors(tmp_path, pki):
    good = pki.issue("good", ["a.test"])
    port = util.free_port()
    cfg = respond_config([tls_listener(port, [good[:2]], min_version="1.1", ciphers="NOPE")])
    cfg["listen"][0]["redirect_https"] = ""
    cfg["listen"].append({"address": f"127.0.0.1:{util.free_port()}", "hsts": {"max_age": "1h"}})
    path = tmp_path / "bad.yaml"
    path.write_text(util.dump_config(cfg))
    p = run_check(path)
    assert p.returncode == 1
    assert "min_version: expected one of 1.2, 1.3" in p.stdout
    assert "redirect_https is for plain listeners" in p.stdout
    assert "hsts needs tls" in p.stdout
    cfg = respond_config([tls_listener(port, [good[:2]], ciphers="NOPE")])
    path.write_text(util.dump_config(cfg))
    p = run_check(path)
    assert p.returncode == 1 and "ciphers: not accepted by OpenSSL" in p.stdout, p.stdout


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
                    data = b""
                    while True:
                        d = s.recv(65536)
                        if not d:
                            break
                        data += d
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
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
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
