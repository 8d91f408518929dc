# Client certificates on TLS listeners (mTLS): required and optional modes with curl --cert,
# the verified subject and SHA-256 fingerprint passed to the backend, and client-sent copies of
# those headers stripped (on TLS and plain listeners alike). Needs TLS listeners: the tests skip
# while this rampart does not take a `tls:` listener.
import subprocess

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from util import RAMPART_BIN, dump_config, free_port, make_config

SUBJ = "X-Client-Cert-Subject"
FP = "X-Client-Cert-Fingerprint"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Server CA + localhost certificate, client CA + alice's certificate, a stranger's."""
    tmp_path = tmp_path_factory.mktemp("pki")
    server_ca, client_ca, other_ca = trustme.CA(), trustme.CA(), trustme.CA()
    files = {}

    def put(name, blob):
        p = tmp_path / name
        blob.write_to_path(str(p))
        files[name] = str(p)

    leaf = server_ca.issue_cert("localhost", "127.0.0.1")
    put("server.pem", leaf.cert_chain_pems[0])
    put("server.key", leaf.private_key_pem)
    put("server-ca.pem", server_ca.cert_pem)
    put("client-ca.pem", client_ca.cert_pem)
    alice = client_ca.issue_cert("alice.example", common_name="alice")
    put("alice.pem", alice.cert_chain_pems[0])
    put("alice.key", alice.private_key_pem)
    eve = other_ca.issue_cert("eve.example", common_name="eve")
    put("eve.pem", eve.cert_chain_pems[0])
    put("eve.key", eve.private_key_pem)
    der = x509.load_pem_x509_certificate(alice.cert_chain_pems[0].bytes())
    files["alice_fp"] = der.fingerprint(hashes.SHA256()).hex()
    return files


def mtls_config(pki, backend_port, mode, plain_port=None):
    port = free_port()
    cfg = make_config(backends=[backend_port], port=port)
    cfg["listen"] = [{
        "address": f"127.0.0.1:{port}",
        "tls": {
            "certificates": [{"cert": pki["server.pem"], "key": pki["server.key"]}],
            "client_auth": {"mode": mode, "ca": pki["client-ca.pem"]},
        },
    }]
    if plain_port:
        cfg["listen"].append({"address": f"127.0.0.1:{plain_port}"})
    return cfg


def start_or_skip(rampart, cfg, tmp_path):
    f = tmp_path / "probe.yaml"
    f.write_text(dump_config(cfg))
    p = subprocess.run([RAMPART_BIN, "check", "-c", str(f)], capture_output=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        out = (p.stdout + p.stderr).decode()
        if "tls" in out and ("unknown key" in out or "expected" in out):
            pytest.skip("this rampart has no TLS listeners yet: " + out.strip().splitlines()[0])
        pytest.fail(out)
    return rampart(cfg)


def curl(pki, port, cert=None, headers=(), path="/who"):
    argv = ["curl", "-sS", "--max-time", "10", "--cacert", pki["server-ca.pem"],
            "-o", "/dev/null", "-w", "%{http_code}"]
    if cert:
        argv += ["--cert", pki[f"{cert}.pem"], "--key", pki[f"{cert}.key"]]
    for h in headers:
        argv += ["-H", h]
    argv.append(f"https://localhost:{port}{path}")
    return subprocess.run(argv, capture_output=True, timeout=20, stdin=subprocess.DEVNULL)


def test_required_passes_the_verified_identity(rampart, backend, pki, tmp_path):
    b = backend()
    r = start_or_skip(rampart, mtls_config(pki, b.port, "required"), tmp_path)
    p = curl(pki, r.port, cert="alice",
             headers=[f"{SUBJ}: CN=mallory", f"{FP}: 00", f"{SUBJ.lower()}: CN=x"])
    assert p.stdout == b"200", p
    req = b.last()
    assert req.headers_all(SUBJ) and len(req.headers_all(SUBJ)) == 1, req.headers
    assert "CN=alice" in req.header(SUBJ)
    assert req.headers_all(FP) == [pki["alice_fp"]]


def test_required_refuses_a_client_without_a_certificate(rampart, backend, pki, tmp_path):
    b = backend()
    r = start_or_skip(rampart, mtls_config(pki, b.port, "required"), tmp_path)
    p = curl(pki, r.port)
    assert p.returncode != 0 and p.stdout in (b"", b"000"), p
    assert b.nrequests == 0


def test_a_certificate_from_another_ca_is_refused(rampart, backend, pki, tmp_path):
    b = backend()
    for mode in ("required", "optional"):
        r = start_or_skip(rampart, mtls_config(pki, b.port, mode), tmp_path)
        p = curl(pki, r.port, cert="eve")
        assert p.returncode != 0, (mode, p)
    assert b.nrequests == 0


def test_optional_passes_without_headers(rampart, backend, pki, tmp_path):
    b = backend()
    r = start_or_skip(rampart, mtls_config(pki, b.port, "optional"), tmp_path)
    p = curl(pki, r.port, headers=[f"{SUBJ}: CN=mallory", f"{FP}: abcd"])
    assert p.stdout == b"200", p
    req = b.last()
    assert req.header(SUBJ) is None and req.header(FP) is None, req.headers
    # with a certificate, the identity is there
    p = curl(pki, r.port, cert="alice")
    assert p.stdout == b"200", p
    assert b.last().header(FP) == pki["alice_fp"]


def test_plain_listener_strips_identity_headers(rampart, backend, pki, tmp_path):
    b = backend()
    plain = free_port()
    r = start_or_skip(rampart, mtls_config(pki, b.port, "optional", plain_port=plain), tmp_path)
    from util import get
    resp = get(plain, "/x", headers={SUBJ: "CN=mallory", FP: "ff" * 32})
    assert resp.status == 200
    req = b.last()
    assert req.header(SUBJ) is None and req.header(FP) is None, req.headers
    assert r.alive()


def test_custom_header_names(rampart, backend, pki, tmp_path):
    b = backend()
    cfg = mtls_config(pki, b.port, "required")
    cfg["listen"][0]["tls"]["client_auth"].update(
        {"subject_header": "X-SSL-Subject", "fingerprint_header": "X-SSL-Hash"})
    r = start_or_skip(rampart, cfg, tmp_path)
    p = curl(pki, r.port, cert="alice", headers=["X-SSL-Hash: forged"])
    assert p.stdout == b"200", p
    req = b.last()
    assert req.headers_all("X-SSL-Hash") == [pki["alice_fp"]]
    assert "CN=alice" in req.header("X-SSL-Subject")
    assert req.header(SUBJ) is None


def test_sessions_do_not_resume_across_client_auth_settings(rampart, backend, pki, tmp_path):
    """A session from a listener without client certificates must not resume on one that
    requires them (ticket keys are process-wide): the second handshake is a full one and the
    client's certificate is checked."""
    import socket
    import ssl

    b = backend()
    cfg = mtls_config(pki, b.port, "required")
    open_port = free_port()
    cfg["listen"].append({
        "address": f"127.0.0.1:{open_port}",
        "tls": {"certificates": [{"cert": pki["server.pem"], "key": pki["server.key"]}]},
    })
    r = start_or_skip(rampart, cfg, tmp_path)
    ctx = ssl.create_default_context(cafile=pki["server-ca.pem"])
    ctx.load_cert_chain(pki["alice.pem"], pki["alice.key"])

    def fetch(port, session=None):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                s.sendall(b"GET /who HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
                return data, s.session, s.session_reused

    data, sess, _ = fetch(open_port)
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert b.last().header(FP) is None  # that listener asks for no certificate
    data, _, reused = fetch(r.port, session=sess)
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert not reused
    assert b.last().header(FP) == pki["alice_fp"]
    # the same listener resumes its own sessions, and the identity stays
    _, sess2, _ = fetch(r.port)
    _, _, reused2 = fetch(r.port, session=sess2)
    assert reused2
    assert b.last().header(FP) == pki["alice_fp"]
