# TLS test helpers: a per-test PKI (a trustme CA, leaves issued with python3-cryptography: RSA
# or ECDSA, any SAN names, expired, encrypted keys), listener configs with tls, and clients
# (Python's ssl for HTTPS and peer certificates, `openssl s_client`, `rampart check`).
import datetime
import os
import socket
import ssl
import subprocess

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
        data = util.recv_to_eof(s)
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


def alpn_of(out):
    """The protocol `openssl s_client` reports ALPN chose, None when none was."""
    for line in out.splitlines():
        if line.startswith("ALPN protocol:"):
            return line.split(":", 1)[1].strip()
        if line.startswith("No ALPN negotiated"):
            return None
    raise AssertionError(out)
