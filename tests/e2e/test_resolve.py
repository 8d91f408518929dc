# DNS re-resolution of upstream host names (src/lb/resolver.c) against a real DNS server: a
# dnsmasq started here on 127.0.0.1 with an ephemeral port answers from a hosts file that the
# tests rewrite (SIGHUP re-reads it). Backends listen on 127.0.0.1/.2/.3 with one port number.
# The name is "localhost": the loader resolves it with the system resolver at load, on any
# machine; from then on only the resolver thread (asking our dnsmasq) moves the slots.
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import util

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
NAME = "localhost"

pytestmark = pytest.mark.skipif(
    not os.access(DNSMASQ, os.X_OK), reason="dnsmasq is not installed (scripts/deps.sh)"
)


def free_dns_port():
    """A port free on 127.0.0.1 for UDP and TCP both (dnsmasq listens on both)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise AssertionError("no port free for both UDP and TCP on 127.0.0.1")


def dns_query_a(port, name, timeout=0.5):
    """The IPv4 addresses the server on 127.0.0.1:port gives for name (None: no answer)."""
    qid = int.from_bytes(os.urandom(2), "big")
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, ("127.0.0.1", port))
        r = s.recv(4096)
    except OSError:
        return None
    finally:
        s.close()
    if len(r) < 12 or int.from_bytes(r[:2], "big") != qid:
        return None
    an = int.from_bytes(r[6:8], "big")
    pos = len(q)  # the question is echoed as sent
    out = []
    for _ in range(an):
        if r[pos] & 0xC0 == 0xC0:
            pos += 2
        else:
            while r[pos]:
                pos += r[pos] + 1
            pos += 1
        rtype, _, _, rdlen = struct.unpack(">HHIH", r[pos : pos + 10])
        pos += 10
        if rtype == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(r[pos : pos + 4]))
        pos += rdlen
    return sorted(out)


class Dnsmasq:
    """dnsmasq in the foreground on 127.0.0.1:port answering only from our hosts file."""

    def __init__(self, tmp, port=None):
        self.tmp = tmp
        self.port = port or free_dns_port()
        self.hosts = tmp / "dns-hosts"
        self.log = tmp / "dnsmasq.log"
        self.proc = None

    def start(self, *ips):
        self.write(ips)
        argv = [
            DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts",
            f"--addn-hosts={self.hosts}", f"--port={self.port}", "--listen-address=127.0.0.1",
            "--bind-interfaces", "--local-ttl=1", f"--local=/{NAME}/",
            f"--pid-file={self.tmp / 'dnsmasq.pid'}", "--conf-file=/dev/null",
            f"--log-facility={self.log}", "--log-queries",
        ]
        if os.getuid() == 0:
            argv.append("--user=root")  # the hosts file is under a private tmp directory
        self.errfile = open(self.tmp / "dnsmasq.stderr", "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.errfile)

        def ready():
            if self.proc.poll() is not None:
                err = (self.tmp / "dnsmasq.stderr").read_text(errors="replace")
                raise RuntimeError(f"dnsmasq exited with {self.proc.returncode}: {err}")
            return dns_query_a(self.port, NAME) == sorted(ips)

        try:
            util.wait_for(ready, timeout=10, what="dnsmasq to answer")
        except AssertionError:
            self.stop()
            raise
        return self

    def write(self, ips):
        self.hosts.write_text("".join(f"{ip} {NAME}\n" for ip in ips))

    def set(self, *ips):
        """New addresses for NAME; returns once dnsmasq answers with them."""
        self.write(ips)
        self.proc.send_signal(signal.SIGHUP)
        util.wait_for(lambda: dns_query_a(self.port, NAME) == sorted(ips), timeout=10,
                      what=f"dnsmasq to answer {ips}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if getattr(self, "errfile", None):
            self.errfile.close()
            self.errfile = None


@pytest.fixture
def dns(tmp_path):
    started = []

    def factory(*ips, port=None):
        for attempt in range(3):  # a port free a moment ago may be taken since
            d = Dnsmasq(tmp_path, port)
            started.append(d)
            try:
                return d.start(*ips)
            except AssertionError:
                if port is not None or attempt == 2:
                    raise

    yield factory
    for d in started:
        d.stop()


class IpBackend:
    """An HTTP/1.1 keep-alive origin bound to one loopback IP; answers with that IP."""

    def __init__(self, ip, port):
        self.ip = ip
        self.hits = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with outer.lock:
                    outer.hits += 1
                body = outer.ip.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer((ip, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return self.hits

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def ip_backends():
    """Origins on 127.0.0.1, .2 and .3, all on one port: {ip: IpBackend}."""
    made = []
    for _ in range(20):
        try:
            first = IpBackend("127.0.0.2", 0)
            made = [first]
            for ip in ("127.0.0.1", "127.0.0.3"):
                made.append(IpBackend(ip, first.port))
            break
        except OSError:
            for b in made:
                b.stop()
            made = []
    assert made, "no port free on 127.0.0.1-3"
    yield {b.ip: b for b in made}
    for b in made:
        b.stop()


def config(dns_port, port):
    return util.make_config(
        upstreams={"app": {"servers": [{"address": f"{NAME}:{port}"}], "resolve": 4}},
        routes=[{"match": {"path_prefix": "/"}, "proxy": "app"}],
        resolver={"servers": [f"127.0.0.1:{dns_port}"], "min_interval": "200ms",
                  "max_interval": "2s", "timeout": "300ms"},
    )


def who(rp, n=12):
    """Which backends answered n requests (a set of IPs); raises on a non-200."""
    seen = set()
    for _ in range(n):
        r = util.get(rp.port, "/", timeout=5)
        assert r.status == 200, r
        seen.add(r.body.decode())
    return seen


def test_requests_follow_dns_changes(rampart, dns, ip_backends):
    port = ip_backends["127.0.0.1"].port
    d = dns("127.0.0.1")
    rp = rampart(config(d.port, port))
    util.wait_for(lambda: who(rp) == {"127.0.0.1"}, timeout=10, what="traffic on 127.0.0.1")

    d.set("127.0.0.2")
    util.wait_for(lambda: who(rp) == {"127.0.0.2"}, timeout=15, what="traffic moving to .2")
    util.wait_for(
        lambda: f"{NAME} resolved: +127.0.0.2:{port} -127.0.0.1:{port}" in rp.stderr_text(),
        timeout=5, what="the change in the log")
    before = ip_backends["127.0.0.1"].count()
    assert who(rp, 20) == {"127.0.0.2"}
    assert ip_backends["127.0.0.1"].count() == before  # the vanished address takes nothing new

    d.set("127.0.0.2", "127.0.0.3")
    util.wait_for(lambda: who(rp, 20) == {"127.0.0.2", "127.0.0.3"}, timeout=15,
                  what="traffic on both .2 and .3")
    assert f"{NAME} resolved: +127.0.0.3:{port} (ttl" in rp.stderr_text()

    # a reload with the same name keeps the slots: no address leaves or comes back
    n_lines = rp.stderr_text().count(" resolved: ")
    rp.reload()
    util.wait_for(lambda: rp.stderr_text().count("reload") >= 1, timeout=10, what="the reload")
    time.sleep(1.5)
    assert who(rp, 20) == {"127.0.0.2", "127.0.0.3"}
    assert rp.stderr_text().count(" resolved: ") == n_lines, rp.stderr_text()[-3000:]


def test_dns_outage_keeps_addresses(rampart, dns, ip_backends):
    port = ip_backends["127.0.0.2"].port
    d = dns("127.0.0.2")
    rp = rampart(config(d.port, port))
    util.wait_for(lambda: who(rp) == {"127.0.0.2"}, timeout=15, what="traffic on 127.0.0.2")

    d.stop()
    util.wait_for(lambda: f"{NAME}: lookup failed" in rp.stderr_text(), timeout=15,
                  what="the failed lookup in the log")
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:  # several failed rounds (min_interval 200ms)
        assert who(rp, 5) == {"127.0.0.2"}
        time.sleep(0.1)
    assert f"-127.0.0.2:{port}" not in rp.stderr_text()

    # the server comes back with another answer: lookups work again and traffic follows
    d2 = dns("127.0.0.3", port=d.port)
    util.wait_for(lambda: f"{NAME}: lookups work again" in rp.stderr_text(), timeout=15,
                  what="the recovery in the log")
    util.wait_for(lambda: who(rp) == {"127.0.0.3"}, timeout=15, what="traffic moving to .3")
    d2.stop()
