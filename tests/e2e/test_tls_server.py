# TLS termination on listeners: SNI (exact, wildcard, default), RSA and ECDSA side by side, ALPN,
# protocol versions, session resumption (tickets shared by workers, ticket key rotation, session
# cache), OCSP stapling, and certificate errors found by `rampart check`.
# Certificates: tls_pki.py (a trustme CA, leaves issued with python3-cryptography).
import os
import ssl
import subprocess
import time

import pytest
from cryptography.x509.oid import NameOID

import util
from tls_pki import (OPENSSL, Pki, alpn_of, client_ctx, https_get, peer_cert, respond_config,
                     run_check, s_client, san_names, tls_listener)


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


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
