# Abusive or unusual clients must not hurt anyone else: a pipelining client that never reads
# neither starves the worker nor makes rampart buffer without bound; an answer given before the
# request body was read still reaches the client (lingering close); a tunnel passes a half-close.
import socket
import threading
import time

from util import free_port, get, make_config, scale_conc

BIG = "z" * 20000


def local_routes():
    return [
        {"match": {"path": "/big"}, "respond": {"status": 200, "body": BIG,
                                                "content_type": "text/plain"}},
        {"match": {"path": "/t"}, "respond": {"status": 200, "body": "t",
                                              "content_type": "text/plain"}},
    ]


def test_pipelining_client_that_never_reads(rampart):
    r = rampart(make_config(routes=local_routes(), workers=1))
    before = r.rss_kib()
    s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    req = b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
    stop = time.monotonic() + 3
    sent = 0
    s.settimeout(0.2)
    try:
        while time.monotonic() < stop and sent < 20000:
            try:
                s.sendall(req * 100)
                sent += 100
            except socket.timeout:
                break  # rampart stopped reading: back-pressure reached the client
        # the worker still serves others while this client hogs nothing
        for _ in range(5):
            assert get(r.port, "/t").status == 200
        grown = r.rss_kib() - before
        assert grown < 32 * 1024, f"rampart grew by {grown} KiB for one client that never reads"
    finally:
        s.close()


def test_early_answer_reaches_client_that_keeps_sending(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], limits={"max_body_size": "1k"}))
    s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
    body = b"x" * (512 * 1024)
    s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    got = bytearray()

    def reader():
        while True:
            try:
                d = s.recv(65536)
            except OSError:
                return
            if not d:
                return
            got.extend(d)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(0, len(body), 16384):
            chunk = body[i:i + 16384]
            s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    except OSError:
        pass  # rampart may stop reading once it has answered
    t.join(10)
    s.close()
    assert got.startswith(b"HTTP/1.1 413"), bytes(got[:200])
    assert b.heads == 0 or b.nrequests == 0


def test_tunnel_passes_half_close(rampart):
    # a raw upgrade backend: answers 101, echoes until the client half-closes, then sends a
    # last message and closes its side
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    bport = lsock.getsockname()[1]

    def serve():
        c, _ = lsock.accept()
        c.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head:
            head += c.recv(4096)
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
                  b"Upgrade: raw\r\n\r\n")
        seen = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            seen += d
        c.sendall(b"bye after " + str(len(seen)).encode())
        c.close()

    t = threading.Thread(target=serve)
    t.start()
    cfg = make_config(upstreams={"raw": {"servers": [{"address": f"127.0.0.1:{bport}"}]}},
                      routes=[{"proxy": "raw"}])
    r = rampart(cfg)
    s = socket.create_connection(("127.0.0.1", r.port), timeout=5)
    s.sendall(b"GET /t HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: raw\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    s.sendall(b"hello")
    s.shutdown(socket.SHUT_WR)
    rest = head.split(b"\r\n\r\n", 1)[1]
    while True:
        d = s.recv(4096)
        if not d:
            break
        rest += d
    s.close()
    t.join(5)
    lsock.close()
    assert rest == b"bye after 5", rest


def test_shutdown_finishes_an_answer_still_being_sent(rampart):
    """SIGTERM while a large answer waits in rampart's buffers: the client still gets all of
    it, then the process exits 0."""
    size = 4 * 1024 * 1024
    routes = [{"match": {"path": "/huge"},
               "respond": {"status": 200, "body": "h" * size, "content_type": "text/plain"}}]
    r = rampart(make_config(routes=routes, workers=1))
    s = socket.create_connection(("127.0.0.1", r.port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b"GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.5)  # rampart fills the socket and keeps the rest buffered
    r.proc.send_signal(15)
    got = bytearray()
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        got.extend(d)
    s.close()
    head, _, body = bytes(got).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
    assert len(body) == size
    assert r.proc.wait(10) == 0


def test_long_configured_fields_on_local_answers(rampart):
    """A long Content-Type and Server from the config with a body close to one buffer: the
    head is sized for them (under the sanitizers this would catch an overrun)."""
    ctype = "text/plain; x=" + "a" * 1000
    body = "b" * 15872
    routes = [{"match": {"path": "/c"},
               "respond": {"status": 200, "body": body, "content_type": ctype}}]
    r = rampart(make_config(routes=routes, proxy={"server_header": "s" * 600}))
    for _ in range(3):
        resp = get(r.port, "/c")
        assert resp.status == 200
        assert resp.header("content-type") == ctype
        assert resp.body == body.encode()
