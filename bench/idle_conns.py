#!/usr/bin/python3
"""Idle keep-alive connections for bench/run.sh: opens COUNT connections to a proxy, sends one
request on each and reads its whole response, then holds them all open and idle.

Usage: idle_conns.py [--tls] HOST PORT COUNT PATH [TIMEOUT]
With --tls each connection first completes a TLS handshake (no certificate check; the suite and
group come from OpenSSL's defaults or OPENSSL_CONF) and speaks HTTP/1.1 over it.
Prints "ready OPEN" once every connection got its response (OPEN = how many did), then waits
until a line arrives on stdin (or TIMEOUT seconds pass), prints "alive N" (how many connections
the proxy kept open meanwhile) and exits, closing them all.
"""
import resource
import selectors
import socket
import ssl
import sys
import time

MAX_IN_FLIGHT = 256  # stay well under listen backlogs, so no SYN is dropped and retried


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, need)
    if hard != resource.RLIM_INFINITY and want > hard:
        want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


class Conn:
    __slots__ = ("sock", "buf", "need", "done", "state")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.need = None  # total bytes of the response once its head is parsed
        self.done = False
        self.state = "connect"  # connect -> (handshake ->) read


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def step_handshake(c, sel):
    """One do_handshake step; True once done. Re-arms the selector for what TLS waits for."""
    try:
        c.sock.do_handshake()
    except ssl.SSLWantReadError:
        sel.modify(c.sock, selectors.EVENT_READ, c)
        return False
    except ssl.SSLWantWriteError:
        sel.modify(c.sock, selectors.EVENT_WRITE, c)
        return False
    return True


def response_complete(c):
    if c.need is None:
        end = c.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        length = 0
        for line in c.buf[:end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        c.need = end + 4 + length
    return len(c.buf) >= c.need


def main():
    args = sys.argv[1:]
    ctx = None
    if args and args[0] == "--tls":
        ctx, args = tls_context(), args[1:]
    host, port, count, path = args[0], int(args[1]), int(args[2]), args[3]
    timeout = float(args[4]) if len(args) > 4 else 120.0
    limit = raise_nofile(count + 64)
    if limit < count + 16:
        print(f"error: RLIMIT_NOFILE {limit} too low for {count} connections", file=sys.stderr)
        return 2
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    conns, started, finished, failed = [], 0, 0, 0
    deadline = time.monotonic() + timeout
    while finished + failed < count and time.monotonic() < deadline:
        while started < count and started - finished - failed < MAX_IN_FLIGHT:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, port))
            c = Conn(s)
            conns.append(c)
            sel.register(s, selectors.EVENT_WRITE, c)
            started += 1
        for key, ev in sel.select(timeout=1.0):
            c = key.data
            try:
                if c.state == "connect":
                    err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, "connect")
                    if ctx is not None:
                        sel.unregister(c.sock)
                        c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost",
                                                 do_handshake_on_connect=False)
                        sel.register(c.sock, selectors.EVENT_WRITE, c)
                        c.state = "handshake"
                    else:
                        c.state = "send"
                if c.state == "handshake":
                    if not step_handshake(c, sel):
                        continue
                    c.state = "send"
                if c.state == "send":
                    c.sock.sendall(request)  # tiny: fits the socket buffer at once
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                    c.state = "read"
                    continue
                try:
                    data = c.sock.recv(65536)
                except ssl.SSLWantReadError:  # a record not whole yet, or a session ticket
                    continue
                if not data:
                    raise OSError("closed before the response ended")
                c.buf += data
                if response_complete(c):
                    c.done, c.buf = True, b""
                    sel.unregister(c.sock)
                    finished += 1
            except (OSError, ValueError):
                sel.unregister(c.sock)
                c.sock.close()
                failed += 1
    print(f"ready {finished}", flush=True)
    if failed or finished < count:
        print(f"warning: {failed} failed, {count - finished - failed} unfinished", file=sys.stderr)

    # Hold: the caller samples the proxy's memory now, then writes a line to stdin.
    sel_in = selectors.DefaultSelector()
    sel_in.register(sys.stdin, selectors.EVENT_READ)
    sel_in.select(timeout=max(1.0, deadline - time.monotonic()))

    # A connection the proxy closed meanwhile reads as EOF; an idle open one would block.
    alive = 0
    for c in conns:
        if not c.done:
            continue
        try:
            c.sock.setblocking(False)
            alive += 0 if c.sock.recv(1) == b"" else 1
        except (BlockingIOError, ssl.SSLWantReadError):
            alive += 1
        except OSError:
            pass
    print(f"alive {alive}", flush=True)
    for c in conns:
        c.sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
