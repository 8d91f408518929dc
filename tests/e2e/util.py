# Helpers for the end-to-end suite: ports, config generation, a rampart process wrapper, a raw
# HTTP/1.1 client and response parser, and a scriptable HTTP/1.1 origin built on raw sockets.
# Everything here talks only to 127.0.0.1, and every socket and wait is bounded in time.
import asyncio
import copy
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.parse

import yaml

# absolute, because each rampart runs with its test's tmp_path as working directory
RAMPART_BIN = os.path.abspath(os.environ["RAMPART_BIN"]) if os.environ.get("RAMPART_BIN") else ""
SANITIZED = os.environ.get("RAMPART_SANITIZED") == "1"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def scale_size(n):
    """Heavy test sizes are divided by 5 under sanitizers."""
    return n // 5 if SANITIZED else n


def scale_conc(n):
    """Concurrency is divided by 4 under sanitizers."""
    return max(1, n // 4) if SANITIZED else n


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_for(pred, timeout=5.0, interval=0.05, what="condition"):
    """Polls pred() until it returns a true value; returns it or raises AssertionError."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - report the last one
            last_exc = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_exc!r})")


# ---------------------------------------------------------------------------------------------
# body pattern: deterministic bytes so large transfers can be checked without storing them

_PATTERN = bytes(range(256)) * 256  # 64 KiB


def pattern_chunks(n, chunk=65536):
    """Yields n bytes of the test pattern in pieces of at most `chunk` bytes."""
    left = n
    while left > 0:
        k = min(left, chunk, len(_PATTERN))
        yield _PATTERN[:k]
        left -= k


class PatternChecker:
    """Checks a stream against pattern_chunks output (position modulo 256)."""

    def __init__(self):
        self.count = 0
        self.ok = True

    def feed(self, data):
        if self.ok and data:
            off = self.count % 256
            # compare against a pattern slice starting at the same offset
            ref = (_PATTERN[off:] + _PATTERN)[: len(data)] if len(data) <= len(_PATTERN) else None
            if ref is None:
                for i in range(0, len(data), 32768):
                    part = data[i : i + 32768]
                    o = (self.count + i) % 256
                    if part != (_PATTERN[o:] + _PATTERN[:o])[: len(part)]:
                        self.ok = False
                        break
            elif data != ref:
                self.ok = False
        self.count += len(data)


# ---------------------------------------------------------------------------------------------
# config generation

DEFAULT_TIMEOUTS = {
    "header": "5s",
    "body": "10s",
    "keepalive": "10s",
    "send": "10s",
    "connect": "2s",
    "backend_read": "10s",
    "upgrade_idle": "30s",
    "drain": "3s",
}


def deep_merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def make_config(backends=(), port=None, routes=None, upstreams=None, **over):
    """A config dict in the shape rampart reads. backends: ports of one upstream "app" that the
    default catch-all route proxies to. Keyword arguments deep-merge over the defaults."""
    port = port or free_port()
    cfg = {
        "workers": 2,
        "listen": [{"address": f"127.0.0.1:{port}"}],
    }
    ups = {}
    if backends:
        ups["app"] = {
            "servers": [{"address": f"127.0.0.1:{b}"} for b in backends],
            "keepalive": 32,
        }
    if upstreams:
        ups.update(upstreams)
    if ups:
        cfg["upstreams"] = ups
    if routes is None:
        routes = [{"match": {"path_prefix": "/"}, "proxy": "app"}] if backends else []
    cfg["routes"] = routes
    cfg["timeouts"] = dict(DEFAULT_TIMEOUTS)
    cfg["limits"] = {
        "max_request_line": "8k",
        "max_header_size": "32k",
        "max_headers": 100,
        "max_body_size": "1g",
    }
    cfg["proxy"] = {"trust_forwarded": False, "via": False, "server_header": "rampart"}
    cfg["log"] = {"access": "stdout", "format": "json", "error": "stderr", "level": "info"}
    return deep_merge(cfg, over)


def config_port(cfg):
    return int(cfg["listen"][0]["address"].rsplit(":", 1)[1])


class _NoAliasDumper(yaml.SafeDumper):
    """rampart reads plain YAML: a dict used twice must be written out twice, not as &id/*id."""

    def ignore_aliases(self, data):
        return True


def dump_config(cfg):
    return yaml.dump(cfg, Dumper=_NoAliasDumper, sort_keys=False, default_flow_style=False)


# ---------------------------------------------------------------------------------------------
# the rampart process


class Rampart:
    """One rampart process: config in tmp_path, stdout/stderr to files there."""

    def __init__(self, tmp_path, config=None, args=None, port=None, name="rampart"):
        if not RAMPART_BIN:
            raise RuntimeError("RAMPART_BIN is not set")
        self.tmp = tmp_path
        self.name = name
        self.config_path = tmp_path / f"{name}.yaml"
        self.out = tmp_path / f"{name}.stdout"
        self.log = tmp_path / f"{name}.stderr"
        self.proc = None
        self.args = args
        self.config = config
        if port is None and isinstance(config, dict):
            port = config_port(config)
        self.port = port
        self.stopped = False

    # config -------------------------------------------------------------------------------
    def write_config(self, config):
        self.config = config
        text = config if isinstance(config, str) else dump_config(config)
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config_path)

    # lifecycle ----------------------------------------------------------------------------
    def start(self, wait=True, timeout=10.0):
        if self.args is not None:
            argv = [RAMPART_BIN] + list(self.args)
        else:
            self.write_config(self.config)
            argv = [RAMPART_BIN, "-c", str(self.config_path)]
        self._fout = open(self.out, "wb")
        self._ferr = open(self.log, "wb")
        self.proc = subprocess.Popen(
            argv, stdout=self._fout, stderr=self._ferr, stdin=subprocess.DEVNULL, cwd=self.tmp
        )
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"rampart exited with {self.proc.returncode} before listening\n{self.logs()}"
                )
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
                s.close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"rampart did not accept on port {self.port} in {timeout}s\n{self.logs()}")

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def reload(self):
        self.signal(signal.SIGHUP)

    def reopen_logs(self):
        self.signal(signal.SIGUSR1)

    def terminate(self):
        self.signal(signal.SIGTERM)

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout=10.0):
        """Waits for exit; kills our own PID if it hangs. Returns (returncode, hung)."""
        try:
            return self.proc.wait(timeout=timeout), False
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return self.proc.returncode, True

    def stop(self, timeout=10.0):
        """SIGTERM, bounded wait, and the checks. Returns a list of problems (empty when fine)."""
        if self.stopped:
            return []
        self.stopped = True
        problems = []
        self.terminate()
        rc, hung = self.wait(timeout)
        for f in (self._fout, self._ferr):
            f.close()
        if hung:
            problems.append(f"{self.name}: did not exit within {timeout}s of SIGTERM (killed)")
        elif rc != 0:
            problems.append(f"{self.name}: exit code {rc} after SIGTERM")
        problems += self.sanitizer_problems()
        if problems:
            problems.append(self.logs())
        return problems

    def sanitizer_problems(self):
        if not SANITIZED:
            return []
        text = self.stderr_text()
        return [f"{self.name}: sanitizer report: {m}" for m in SANITIZER_MARKERS if m in text]

    # output -------------------------------------------------------------------------------
    def stdout_text(self):
        try:
            return self.out.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stderr_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def logs(self, limit=6000):
        return (
            f"--- {self.name} stdout (tail) ---\n{self.stdout_text()[-limit:]}\n"
            f"--- {self.name} stderr (tail) ---\n{self.stderr_text()[-limit:]}"
        )

    def rss_kib(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0


# ---------------------------------------------------------------------------------------------
# a buffered reader over a socket, used by both the client and the backend


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self):
        d = self.sock.recv(262144)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def readline(self, limit=1 << 20):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[: i + 1])
                del self.buf[: i + 1]
                return line
            if len(self.buf) > limit:
                raise ValueError("line too long")
            self.fill()

    def read_exact(self, n, sink=None):
        out = bytearray()
        left = n
        while left > 0:
            if not self.buf:
                self.fill()
            k = min(left, len(self.buf))
            piece = bytes(self.buf[:k])
            del self.buf[:k]
            left -= k
            if sink:
                sink(piece)
            else:
                out += piece
        return bytes(out)

    def read_until_close(self, sink=None, limit=1 << 31):
        out = bytearray()
        while True:
            if self.buf:
                piece = bytes(self.buf)
                self.buf.clear()
                if sink:
                    sink(piece)
                else:
                    out += piece
                    if len(out) > limit:
                        raise ValueError("body too long")
            try:
                self.fill()
            except EOFError:
                return bytes(out)


def parse_headers(reader):
    headers = []
    while True:
        line = reader.readline()
        if line in (b"\r\n", b"\n"):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name, value.strip()))


def hget(headers, name, default=None):
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return default


def hall(headers, name):
    name = name.lower()
    return [v for k, v in headers if k.lower() == name]


def read_chunked(reader, sink=None):
    """Reads a chunked body; returns (body, trailers, chunk_sizes)."""
    out = bytearray()
    sizes = []
    while True:
        line = reader.readline().decode("latin-1").strip()
        size = int(line.split(";", 1)[0], 16)
        sizes.append(size)
        if size == 0:
            trailers = parse_headers(reader)
            return bytes(out), trailers, sizes
        data = reader.read_exact(size, sink)
        if not sink:
            out += data
        crlf = reader.read_exact(2)
        if crlf != b"\r\n":
            raise ValueError(f"bad chunk terminator {crlf!r}")


class Response:
    def __init__(self):
        self.version = ""
        self.status = 0
        self.reason = ""
        self.headers = []
        self.body = b""
        self.trailers = []
        self.chunked = False
        self.interim = []  # 1xx responses seen before this one

    def header(self, name, default=None):
        return hget(self.headers, name, default)

    def headers_all(self, name):
        return hall(self.headers, name)

    def closes(self):
        tokens = [t.strip().lower() for v in self.headers_all("connection") for t in v.split(",")]
        return "close" in tokens or self.version == "HTTP/1.0" and "keep-alive" not in tokens

    def __repr__(self):
        return f"<Response {self.status} {self.headers!r} body={self.body[:200]!r}>"


def read_status_head(reader):
    line = reader.readline().decode("latin-1").rstrip("\r\n")
    parts = line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"bad status line {line!r}")
    r = Response()
    r.version = parts[0]
    r.status = int(parts[1])
    r.reason = parts[2] if len(parts) > 2 else ""
    r.headers = parse_headers(reader)
    return r


def read_response(reader, method="GET", sink=None, skip_interim=True):
    """Reads one response (skipping 1xx except 101 when skip_interim)."""
    interim = []
    while True:
        r = read_status_head(reader)
        if skip_interim and 100 <= r.status < 200 and r.status != 101:
            interim.append(r)
            continue
        break
    r.interim = interim
    if method == "HEAD" or r.status in (204, 304) or 100 <= r.status < 200:
        return r
    te = r.header("transfer-encoding")
    if te is not None and "chunked" in te.lower():
        r.chunked = True
        r.body, r.trailers, _ = read_chunked(reader, sink)
    elif r.header("content-length") is not None:
        r.body = reader.read_exact(int(r.header("content-length")), sink)
    else:
        r.body = reader.read_until_close(sink)
    return r


# ---------------------------------------------------------------------------------------------
# client


def build_request(method, target, headers=None, body=None, host="localhost", chunked=None):
    """Serialises a request head (and a bytes body). headers: list of (name, value) or dict."""
    hs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    names = {k.lower() for k, _ in hs}
    if "host" not in names and host is not None:
        hs.insert(0, ("Host", host))
    if isinstance(body, (bytes, bytearray)) and "content-length" not in names and not chunked:
        if body or method in ("POST", "PUT", "PATCH"):
            hs.append(("Content-Length", str(len(body))))
    if chunked and "transfer-encoding" not in names:
        hs.append(("Transfer-Encoding", "chunked"))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hs) + "\r\n"
    return head.encode("latin-1")


def encode_chunked(parts, trailers=None):
    for p in parts:
        if p:
            yield b"%x\r\n" % len(p) + bytes(p) + b"\r\n"
    tr = "".join(f"{k}: {v}\r\n" for k, v in (trailers or []))
    yield b"0\r\n" + tr.encode("latin-1") + b"\r\n"


class Client:
    """One HTTP/1.1 client connection to 127.0.0.1:port."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.reader = Reader(self.sock)

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, target, headers=None, body=None, host="localhost", chunked=False,
                sink=None, trailers=None):
        if chunked:
            parts = [body] if isinstance(body, (bytes, bytearray)) else (body or [])
            self.send(build_request(method, target, headers, None, host, chunked=True))
            for piece in encode_chunked(parts, trailers):
                self.send(piece)
        else:
            self.send(build_request(method, target, headers, body, host))
            if body:
                self.send(bytes(body))
        return self.read_response(method, sink=sink)

    def read_response(self, method="GET", sink=None):
        return read_response(self.reader, method, sink=sink)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def http(port, method, target, headers=None, body=None, timeout=10.0, **kw):
    """One request on a fresh connection."""
    with Client(port, timeout=timeout) as c:
        return c.request(method, target, headers, body, **kw)


def get(port, target, headers=None, **kw):
    return http(port, "GET", target, headers, **kw)


def send_raw(port, data, timeout=3.0, half_close=False):
    """Sends raw bytes, returns everything received until the peer closes or `timeout` of
    silence passes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.settimeout(timeout)
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        out = bytearray()
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not d:
                break
            out += d
        return bytes(out)


def raw_exchange(port, data, timeout=5.0, check_close=True):
    """Sends raw bytes and reads exactly one response; returns (Response, closed_after). If the
    server closes without answering, returns (None, True). closed_after is None when not
    checked (check_close=False); checking waits up to 1 s for the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.settimeout(timeout)
        try:
            s.sendall(data)
        except OSError:
            pass
        r = Reader(s)
        try:
            resp = read_response(r)
        except (EOFError, ConnectionResetError):
            return None, True
        if not check_close:
            return resp, None
        # does the server close the connection afterwards?
        s.settimeout(1.0)
        try:
            closed = s.recv(1) == b""
        except socket.timeout:
            closed = False
        except OSError:
            closed = True
        return resp, closed


def status_of(raw):
    """Status code from the first line of a raw response, or None."""
    if not raw.startswith(b"HTTP/"):
        return None
    try:
        return int(raw.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# scriptable backend


class Req:
    def __init__(self, method, target, version, headers, conn_id, nth):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = b""
        self.body_len = 0
        self.trailers = []
        self.conn_id = conn_id
        self.nth = nth  # 1 for the first request on its connection
        u = urllib.parse.urlsplit(target)
        self.path = u.path
        self.query = urllib.parse.parse_qs(u.query)

    def header(self, name, default=None):
        return hget(self.headers, name, default)

    def headers_all(self, name):
        return hall(self.headers, name)

    def names(self):
        return [k.lower() for k, _ in self.headers]

    def __repr__(self):
        return f"<Req {self.method} {self.target} {self.headers!r}>"


BODY_STORE_CAP = 1 << 20


def response_head(status, headers, reason=None):
    reason = reason or {200: "OK", 101: "Switching Protocols"}.get(status, "Status")
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return (head + "\r\n").encode("latin-1")


class Backend:
    """A threaded HTTP/1.1 origin on an ephemeral port. Counts connections, request heads and
    complete requests; records each request. Behaviour is chosen by path prefix (see
    `_builtin`); tests may add handlers with `on(prefix, fn)` where fn(backend, req, conn)
    writes the response and returns True to keep the connection."""

    def __init__(self, name="b1", port=0):
        self.name = name
        self.lock = threading.Lock()
        self.connections = 0
        self.heads = 0
        self.requests = []
        self.handlers = []
        self.drop_reused = False  # close without answering any request but a connection's first
        self.early = {}  # path prefix -> (status, body): answer before reading the body, close
        self.idle_close = None  # seconds: close a kept-alive connection after this much idle
        self.body_cap = BODY_STORE_CAP  # request body bytes kept per request (the rest counted)
        self.stop_event = threading.Event()
        self.threads = []
        self.conns = set()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))  # a given port: a restart after kill()
        self.sock.listen(1024)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.accept_thread.start()

    def on(self, prefix, fn):
        self.handlers.insert(0, (prefix, fn))

    @property
    def nrequests(self):
        with self.lock:
            return len(self.requests)

    def last(self):
        with self.lock:
            return self.requests[-1]

    # plumbing ----------------------------------------------------------------------------
    def _accept_loop(self):
        while not self.stop_event.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                self.connections += 1
                cid = self.connections
                self.conns.add(conn)
                t = threading.Thread(target=self._serve, args=(conn, cid), daemon=True)
                self.threads.append(t)
            t.start()

    def _serve(self, conn, cid):
        conn.settimeout(30)
        reader = Reader(conn)
        nth = 0
        try:
            while not self.stop_event.is_set():
                if nth and self.idle_close is not None and not reader.buf:
                    conn.settimeout(self.idle_close)
                try:
                    line = reader.readline()
                    while line in (b"\r\n", b"\n"):
                        line = reader.readline()
                except (EOFError, OSError, ValueError):
                    break
                conn.settimeout(30)
                parts = line.decode("latin-1").rstrip("\r\n").split(" ")
                if len(parts) != 3:
                    break
                headers = parse_headers(reader)
                nth += 1
                with self.lock:
                    self.heads += 1
                req = Req(parts[0], parts[1], parts[2], headers, cid, nth)
                if self.drop_reused and nth > 1:
                    break
                early = [v for k, v in self.early.items() if req.path.startswith(k)]
                if early:
                    with self.lock:
                        self.requests.append(req)
                    self.respond(conn, req, early[0][0], early[0][1], [("Connection", "close")])
                    conn.shutdown(socket.SHUT_WR)
                    conn.settimeout(2)
                    try:  # drain a little so the close is not a reset while the client sends
                        while conn.recv(65536):
                            pass
                    except OSError:
                        pass
                    break
                if (req.header("expect") or "").lower() == "100-continue":
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                self._read_body(reader, req)
                with self.lock:
                    self.requests.append(req)
                keep = self._dispatch(req, conn, reader)
                conn_tokens = (req.header("connection") or "").lower()
                if not keep or "close" in conn_tokens or req.version == "HTTP/1.0":
                    break
        except (OSError, EOFError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass
            with self.lock:
                self.conns.discard(conn)

    def _read_body(self, reader, req):
        store = bytearray()

        def sink(piece):
            req.body_len += len(piece)
            if len(store) < self.body_cap:
                store.extend(piece[: self.body_cap - len(store)])

        te = (req.header("transfer-encoding") or "").lower()
        if "chunked" in te:
            _, req.trailers, _ = read_chunked(reader, sink)
        elif req.header("content-length") is not None:
            reader.read_exact(int(req.header("content-length")), sink)
        req.body = bytes(store)

    def _dispatch(self, req, conn, reader):
        for prefix, fn in self.handlers:
            if req.path.startswith(prefix):
                return fn(self, req, conn)
        for prefix, fn in BUILTIN:
            if req.path.startswith(prefix):
                return fn(self, req, conn, reader)
        return h_default(self, req, conn, reader)

    def base_headers(self):
        return [("Server", "origin-backend"), ("X-Backend", self.name)]

    def respond(self, conn, req, status=200, body=b"", headers=(), reason=None):
        hs = self.base_headers() + list(headers)
        if not any(k.lower() == "content-length" for k, _ in hs):
            hs.append(("Content-Length", str(len(body))))
        conn.sendall(response_head(status, hs, reason) + (b"" if req.method == "HEAD" else body))
        return True

    def stop(self):
        """Stops accepting, closes every connection and joins every thread. Returns problems."""
        self.stop_event.set()
        self.accept_thread.join(5)
        self.sock.close()
        with self.lock:
            conns = list(self.conns)
            threads = list(self.threads)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        problems = []
        for t in threads:
            t.join(10)
            if t.is_alive():
                problems.append(f"backend {self.name}: connection thread did not end")
        if self.accept_thread.is_alive():
            problems.append(f"backend {self.name}: accept thread did not end")
        return problems

    # crash simulation (test_lb_failover.py) ------------------------------------------------
    def kill(self):
        """Dies abruptly: the listener is shut (new connects are refused at once) and every
        open connection is reset (RST, no FIN) as soon as its thread next reads. A response
        being written still goes out. Start Backend(name, port=old.port) to bring it back;
        stop() still joins the threads afterwards."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # Linux: stops listening, wakes accept()
        except OSError:
            pass
        self.accept_thread.join(5)
        self.sock.close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:  # linger 0 first: a thread that closes its connection now sends RST
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.stop_event.set()
        for c in conns:
            try:
                # wakes a blocked recv (with EOF) without sending anything to the peer; the
                # close in _serve's finally then resets the connection
                c.shutdown(socket.SHUT_RD)
            except OSError:
                pass


# built-in behaviours ---------------------------------------------------------------------------


def h_default(b, req, conn, reader):
    body = f"{b.name} {req.method} {req.target}\n".encode()
    return b.respond(conn, req, 200, body, [("X-Echo-Target", req.target)])


def h_echo(b, req, conn, reader):
    hs = [("X-Echo-Method", req.method), ("X-Echo-Target", req.target),
          ("X-Echo-Length", str(req.body_len))]
    return b.respond(conn, req, 200, req.body, hs)


def h_json(b, req, conn, reader):
    body = json.dumps({"method": req.method, "target": req.target, "headers": req.headers,
                       "body_len": req.body_len}).encode()
    return b.respond(conn, req, 200, body, [("Content-Type", "application/json")])


def h_size(b, req, conn, reader):
    n = int(req.path.split("/")[2])
    chunked = req.query.get("chunked") == ["1"]
    hs = b.base_headers() + [("Content-Type", "application/octet-stream")]
    if chunked:
        hs.append(("Transfer-Encoding", "chunked"))
    else:
        hs.append(("Content-Length", str(n)))
    conn.sendall(response_head(200, hs))
    if req.method == "HEAD":
        return True
    if chunked:
        for piece in encode_chunked(pattern_chunks(n)):
            conn.sendall(piece)
    else:
        for piece in pattern_chunks(n):
            conn.sendall(piece)
    return True


def h_slow(b, req, conn, reader):
    secs = float(req.path.split("/")[2])
    b.stop_event.wait(secs)
    return b.respond(conn, req, 200, b"slow done\n")


def h_close(b, req, conn, reader):
    return False


def h_trailers(b, req, conn, reader):
    hs = b.base_headers() + [("Transfer-Encoding", "chunked"), ("Trailer", "X-Checksum")]
    conn.sendall(response_head(200, hs))
    for piece in encode_chunked([b"hello ", b"trailer ", b"world"], [("X-Checksum", "abc123")]):
        conn.sendall(piece)
    return True


def h_closedelim(b, req, conn, reader):
    n = int(req.path.split("/")[2]) if req.path.count("/") >= 2 else 1000
    hs = b.base_headers() + [("Connection", "close")]
    conn.sendall(response_head(200, hs))
    for piece in pattern_chunks(n):
        conn.sendall(piece)
    return False


def h_upload(b, req, conn, reader):
    return b.respond(conn, req, 200, str(req.body_len).encode())


def h_status(b, req, conn, reader):
    code = int(req.path.split("/")[2])
    hs = []
    for h in req.query.get("h", []):
        k, _, v = h.partition(":")
        hs.append((k, v.strip()))
    body = b"" if code in (204, 304) else f"status {code}\n".encode()
    if code in (204, 304):
        conn.sendall(response_head(code, b.base_headers() + hs))
        return True
    return b.respond(conn, req, code, body, hs)


def h_upgrade(b, req, conn, reader):
    hs = [("Connection", "Upgrade"), ("Upgrade", req.header("upgrade") or "echo")]
    conn.sendall(response_head(101, hs))
    if reader.buf:
        conn.sendall(bytes(reader.buf))
        reader.buf.clear()
    conn.settimeout(10)
    while not b.stop_event.is_set():
        try:
            d = conn.recv(65536)
        except OSError:
            break
        if not d:
            break
        conn.sendall(d)
    return False


BUILTIN = [
    ("/echo", h_echo),
    ("/json", h_json),
    ("/size/", h_size),
    ("/slow/", h_slow),
    ("/closedelim", h_closedelim),
    ("/close", h_close),
    ("/trailers", h_trailers),
    ("/upload", h_upload),
    ("/status/", h_status),
    ("/upgrade", h_upgrade),
]


# ---------------------------------------------------------------------------------------------
# WebSocket echo backend (python3-websockets 10.x, asyncio in a thread)


class WsBackend:
    def __init__(self):
        import websockets  # noqa: F401 - fail early if missing

        self.port = None
        self.loop = None
        self.connections = 0
        self.paths = []
        self._ready = threading.Event()
        self._error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self._ready.wait(10) or self._error:
            raise RuntimeError(f"websocket backend failed: {self._error!r}")
        self.address = f"127.0.0.1:{self.port}"

    def _run(self):
        import websockets

        async def echo(ws, *args):
            self.connections += 1
            self.paths.append(getattr(ws, "path", None))
            try:
                async for msg in ws:
                    await ws.send(msg)
            except websockets.ConnectionClosed:
                pass

        async def main():
            self.stop_fut = asyncio.get_running_loop().create_future()
            async with websockets.serve(echo, "127.0.0.1", 0) as server:
                self.port = server.sockets[0].getsockname()[1]
                self._ready.set()
                await self.stop_fut

        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(main())
        except Exception as e:  # noqa: BLE001
            self._error = e
            self._ready.set()
        finally:
            self.loop.close()

    def stop(self):
        if self.loop and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(lambda: self.stop_fut.done() or self.stop_fut.set_result(None))
            except RuntimeError:
                pass
        self.thread.join(10)
        return ["websocket backend thread did not end"] if self.thread.is_alive() else []


def started_servers(make):
    """Body of a server-factory fixture: yields factory(*args, **kw) -> make(n, *args, **kw)
    (n counts from 1, for default names); at teardown stops every server started and fails the
    test with whatever problems their stop() reports."""
    import pytest

    started = []

    def factory(*args, **kw):
        srv = make(len(started) + 1, *args, **kw)
        started.append(srv)
        return srv

    yield factory
    problems = []
    for srv in started:
        problems += srv.stop()
    if problems:
        pytest.fail("\n".join(problems))


def recv_to_eof(sock, chunk=65536):
    """Everything a socket delivers until the peer closes it."""
    data = b""
    while True:
        d = sock.recv(chunk)
        if not d:
            return data
        data += d
