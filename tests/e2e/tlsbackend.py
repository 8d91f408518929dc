# A TLS origin for the end-to-end suite: util.Backend behind Python's ssl module, with a trustme
# certificate. It records the SNI, ALPN, resumption and client certificate of every connection,
# and counts handshakes (completed and failed), so tests can see what rampart sent.
import socket
import ssl
import threading

import util


class TlsBackend(util.Backend):
    """util.Backend speaking TLS. names: DNS and IP SANs of its certificate (issued by `ca`).
    client_ca: a trustme CA whose certificates the backend requires from its clients."""

    def __init__(self, ca, names=("backend.test", "127.0.0.1"), name="tls1", client_ca=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(*names).configure_cert(self.ctx)
        self.ctx.set_alpn_protocols(["h2", "http/1.1"])
        self.ctx.sni_callback = self._sni
        if client_ca is not None:
            client_ca.configure_trust(self.ctx)
            self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.tls_lock = threading.Lock()
        self.handshakes = 0  # completed
        self.failed = []  # reasons of failed handshakes
        self.resumed = 0
        self.conn_info = {}  # connection id -> dict(sni, alpn, resumed, peer)
        self._pending_sni = threading.local()
        super().__init__(name)

    def _sni(self, sslobj, server_name, ctx):
        self._pending_sni.name = server_name

    def _accept_loop(self):
        while not self.stop_event.is_set():
            try:
                raw, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                self.conns.add(raw)
                t = threading.Thread(target=self._tls_serve, args=(raw,), daemon=True)
                self.threads.append(t)
            t.start()

    def _tls_serve(self, raw):
        raw.settimeout(10)
        self._pending_sni.name = None
        try:
            conn = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.tls_lock:
                self.failed.append(str(e))
            with self.lock:
                self.conns.discard(raw)
            raw.close()
            return
        peer = conn.getpeercert()
        subject = None
        if peer:
            subject = ",".join(f"{k}={v}" for rdn in peer.get("subject", ()) for k, v in rdn)
        with self.lock:
            self.conns.discard(raw)
            self.conns.add(conn)
            self.connections += 1
            cid = self.connections
        with self.tls_lock:
            self.handshakes += 1
            self.resumed += 1 if conn.session_reused else 0
            self.conn_info[cid] = {
                "sni": self._pending_sni.name,
                "alpn": conn.selected_alpn_protocol(),
                "resumed": conn.session_reused,
                "peer": subject,
                "version": conn.version(),
            }
        self._serve(conn, cid)

    def info(self, cid):
        with self.tls_lock:
            return self.conn_info.get(cid)
