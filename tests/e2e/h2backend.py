# A scriptable HTTP/2 cleartext (prior knowledge) origin for the end-to-end suite, built on
# python3-h2 over raw sockets: one thread per connection, responses that can wait without
# blocking the connection's other streams, flow control respected both ways. It records what it
# received (pseudo-headers and fields in order, body, trailers) and counts TCP connections.
import json
import socket
import threading
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings


class GoingAway(Exception):
    """Ends the connection after its GOAWAY went out."""


class Request:
    def __init__(self, stream_id, headers):
        self.stream_id = stream_id
        self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
        self.body = bytearray()
        self.trailers = []
        self.ended = False

    def header(self, name, default=None):
        for k, v in self.headers:
            if k == name:
                return v
        return default

    @property
    def path(self):
        return self.header(":path")


class H2Backend:
    """Paths:
    /json              200 JSON {headers, body_len, trailers} after the request ended
    /echo              the request body back, with trailer x-echo-length
    /delay/S           waits S seconds (other streams go on), then 200 "delayed"
    /size/N            N bytes of the test pattern (flow-controlled)
    /grpcish           200 application/grpc, a body, trailers grpc-status: 0, grpc-message: ok
    /refuse-once/K     the first request with key K is refused (RST_STREAM REFUSED_STREAM)
    /goaway-once/K     the first request with key K gets GOAWAY (last stream id below it), then
                       the connection closes
    /rst               RST_STREAM INTERNAL_ERROR before any response
    /head204           204 without body
    /empty             200 ending in its HEADERS frame, with x-empty: yes
    /bighead/N/K       200 with K header fields x-big-i of N bytes each
    anything else      200 "h2 <method> <path>\\n"
    """

    def __init__(self, name="h2", port=0, ssl_ctx=None):
        self.ssl_ctx = ssl_ctx  # TLS (ALPN h2) when set
        self.alpn = []  # protocol chosen on each TLS connection
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.connections = 0
        self.closed = 0  # connections that ended (either side)
        self.requests = []
        self.max_concurrent = 0  # most streams open at once on one connection
        self.refused = set()
        self.stopping = False
        self.threads = []
        self.conns = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    # lifecycle --------------------------------------------------------------------------
    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.sock.accept()
            except OSError:
                continue
            with self.lock:
                self.connections += 1
                self.conns.append(s)
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            self.threads.append(t)
            t.start()

    def kill(self):
        """Close the listener and every connection at once (a crashed backend)."""
        self.stopping = True
        self.sock.close()
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.acceptor.join(5)
        for t in self.threads:
            t.join(5)

    def stop(self):
        self.kill()
        alive = [t for t in self.threads + [self.acceptor] if t.is_alive()]
        return [f"h2 backend {self.name}: {len(alive)} threads still running"] if alive else []

    # one connection ---------------------------------------------------------------------
    def _serve(self, s):
        if self.ssl_ctx is not None:
            try:
                s.settimeout(5)
                s = self.ssl_ctx.wrap_socket(s, server_side=True)
            except OSError:
                s.close()
                with self.lock:
                    self.closed += 1
                return
            with self.lock:
                self.alpn.append(s.selected_alpn_protocol())
        cfg = h2.config.H2Configuration(client_side=False, header_encoding=None)
        conn = h2.connection.H2Connection(config=cfg)
        conn.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000})
        conn.initiate_connection()
        s.settimeout(0.02)
        reqs = {}
        due = []  # (time, stream_id, callable)
        out = {}  # stream_id -> [bytes pending, end, trailers]
        try:
            s.sendall(conn.data_to_send())
            while not self.stopping:
                try:
                    data = s.recv(65536)
                    if not data:
                        break
                except socket.timeout:
                    data = None
                if data:
                    for ev in conn.receive_data(data):
                        self._event(conn, ev, reqs, due, out)
                now = time.monotonic()
                for item in [d for d in due if d[0] <= now]:
                    due.remove(item)
                    item[2]()
                self._pump(conn, out)
                pending = conn.data_to_send()
                if pending:
                    s.sendall(pending)
        except GoingAway:
            try:
                s.sendall(conn.data_to_send())
                time.sleep(0.05)
            except OSError:
                pass
        except (OSError, h2.exceptions.ProtocolError):
            pass
        finally:
            try:
                s.close()
            except OSError:
                pass
            with self.lock:
                self.closed += 1

    def _pump(self, conn, out):
        for sid in list(out):
            buf, end, trailers = out[sid]
            try:
                while buf:
                    n = min(len(buf), conn.local_flow_control_window(sid),
                            conn.max_outbound_frame_size)
                    if n <= 0:
                        break
                    conn.send_data(sid, bytes(buf[:n]))
                    del buf[:n]
                if not buf:
                    if trailers:
                        conn.send_headers(sid, trailers, end_stream=True)
                    elif end:
                        conn.end_stream(sid)
                    del out[sid]
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, KeyError):
                out.pop(sid, None)

    def _respond(self, conn, out, sid, status, headers=(), body=b"", trailers=None):
        hs = [(":status", str(status))] + list(headers)
        if not body and not trailers:
            conn.send_headers(sid, hs, end_stream=True)
            return
        conn.send_headers(sid, hs)
        out[sid] = [bytearray(body), True, list(trailers) if trailers else None]

    def _event(self, conn, ev, reqs, due, out):
        if isinstance(ev, h2.events.RequestReceived):
            r = Request(ev.stream_id, ev.headers)
            reqs[ev.stream_id] = r
            with self.lock:
                self.requests.append(r)
                self.max_concurrent = max(self.max_concurrent, len(reqs))
            path = r.path or "/"
            if path.startswith("/refuse-once/"):
                with self.lock:
                    first = path not in self.refused
                    self.refused.add(path)
                if first:
                    conn.reset_stream(ev.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                    reqs.pop(ev.stream_id, None)
            elif path.startswith("/goaway-once/"):
                with self.lock:
                    first = path not in self.refused
                    self.refused.add(path)
                if first:
                    conn.close_connection(last_stream_id=ev.stream_id - 2 if ev.stream_id > 2 else 0)
                    reqs.pop(ev.stream_id, None)
                    raise GoingAway()
            elif path == "/rst":
                conn.reset_stream(ev.stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
                reqs.pop(ev.stream_id, None)
        elif isinstance(ev, h2.events.DataReceived):
            r = reqs.get(ev.stream_id)
            if r is not None:
                r.body += ev.data
            conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.TrailersReceived):
            r = reqs.get(ev.stream_id)
            if r is not None:
                r.trailers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in ev.headers]
        elif isinstance(ev, h2.events.StreamEnded):
            r = reqs.get(ev.stream_id)
            if r is not None:
                r.ended = True
                self._answer(conn, r, reqs, due, out)
        elif isinstance(ev, h2.events.StreamReset):
            reqs.pop(ev.stream_id, None)
            out.pop(ev.stream_id, None)

    def _answer(self, conn, r, reqs, due, out):
        sid = r.stream_id
        path = (r.path or "/").split("?", 1)[0]
        method = r.header(":method")

        def done():
            reqs.pop(sid, None)

        if path == "/json":
            body = json.dumps({"headers": r.headers, "body_len": len(r.body),
                               "trailers": r.trailers}).encode()
            self._respond(conn, out, sid, 200, [("content-type", "application/json")], body)
        elif path == "/echo":
            self._respond(conn, out, sid, 200, [("x-echo-method", method)], bytes(r.body),
                          trailers=[("x-echo-length", str(len(r.body)))])
        elif path.startswith("/delay/"):
            secs = float(path.split("/")[2])

            def later():
                try:
                    self._respond(conn, out, sid, 200, [("content-type", "text/plain")],
                                  b"delayed")
                except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                    pass
                done()

            due.append((time.monotonic() + secs, sid, later))
            return
        elif path.startswith("/size/"):
            n = int(path.split("/")[2])
            body = (bytes(range(256)) * (n // 256 + 1))[:n]
            self._respond(conn, out, sid, 200, [("content-length", str(n))], body)
        elif path == "/grpcish":
            self._respond(conn, out, sid, 200, [("content-type", "application/grpc")],
                          b"\x00\x00\x00\x00\x02hi",
                          trailers=[("grpc-status", "0"), ("grpc-message", "ok")])
        elif path == "/head204":
            self._respond(conn, out, sid, 204, [("x-empty", "yes")])
        elif path.startswith("/bighead/"):
            n, k = (int(x) for x in path.split("/")[2:4])
            self._respond(conn, out, sid, 200, [(f"x-big-{i}", "b" * n) for i in range(k)],
                          b"big")
        elif path == "/empty":
            self._respond(conn, out, sid, 200, [("x-empty", "yes")])
        else:
            self._respond(conn, out, sid, 200, [("content-type", "text/plain")],
                          f"{self.name} {method} {path}\n".encode())
        done()
