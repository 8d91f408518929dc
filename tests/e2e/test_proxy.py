# Proxying semantics: methods and bodies both ways, framing, 100-continue, hop-by-hop removal,
# forwarding headers, Server/Via, Host rewriting, request ids, backend keep-alive and retry,
# pipelining and many concurrent clients.
import asyncio
import pytest

from util import (Client, Reader, build_request, get, http, make_config, read_status_head,
                  scale_conc, wait_for)


@pytest.fixture
def proxied(rampart, backend):
    """One backend behind rampart; returns (rampart, backend)."""
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    return r, b


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_methods_with_content_length_body(proxied, method):
    r, b = proxied
    body = (method.encode() + b"-payload-") * 100
    resp = http(r.port, method, "/echo/m?x=1", body=body, headers=[("Content-Length", str(len(body)))])
    assert resp.status == 200, resp
    assert resp.body == body
    assert resp.header("x-echo-method") == method
    assert resp.header("x-echo-target") == "/echo/m?x=1"
    req = b.last()
    assert req.method == method and req.body == body and req.body_len == len(body)


def test_chunked_request_body(proxied):
    r, b = proxied
    parts = [b"a" * 10, b"b" * 70000, b"c"]
    with Client(r.port) as c:
        resp = c.request("POST", "/echo/chunked", body=parts, chunked=True)
    assert resp.status == 200, resp
    assert resp.body == b"".join(parts)
    assert b.last().body == b"".join(parts)


def test_get_without_body_has_no_body_at_backend(proxied):
    r, b = proxied
    resp = get(r.port, "/plain")
    assert resp.status == 200 and resp.body == b"b1 GET /plain\n"
    req = b.last()
    assert req.body_len == 0
    te = req.header("transfer-encoding")
    cl = req.header("content-length")
    assert te is None and cl in (None, "0")


def test_response_content_length(proxied):
    r, b = proxied
    resp = get(r.port, "/size/100000")
    assert resp.status == 200
    assert len(resp.body) == 100000
    assert resp.header("content-length") == "100000" or resp.chunked


def test_response_chunked_with_trailers(proxied):
    r, b = proxied
    with Client(r.port) as c:
        resp = c.request("GET", "/trailers", headers=[("TE", "trailers")])
    assert resp.status == 200
    assert resp.body == b"hello trailer world"
    assert resp.chunked, resp
    assert ("x-checksum", "abc123") in [(k.lower(), v) for k, v in resp.trailers], resp.trailers


def test_response_chunked_sizes(proxied):
    r, b = proxied
    resp = get(r.port, "/size/300000?chunked=1")
    assert resp.status == 200 and len(resp.body) == 300000


def test_close_delimited_backend_response(proxied):
    r, b = proxied
    with Client(r.port) as c:
        resp = c.request("GET", "/closedelim/50000")
        assert resp.status == 200
        assert len(resp.body) == 50000
        # whatever framing rampart chose, the client connection stays usable if it said so
        if not resp.closes() and (resp.chunked or resp.header("content-length")):
            again = c.request("GET", "/again")
            assert again.status == 200


def test_head(proxied):
    r, b = proxied
    with Client(r.port) as c:
        resp = c.request("HEAD", "/size/1234")
        assert resp.status == 200
        assert resp.header("content-length") in ("1234", None)
        # no body bytes: the next response on this connection parses cleanly
        resp2 = c.request("GET", "/after-head")
        assert resp2.status == 200 and resp2.body == b"b1 GET /after-head\n"
    assert b.requests[0].method == "HEAD"


def test_expect_100_continue(proxied):
    r, b = proxied
    body = b"x" * 5000
    with Client(r.port) as c:
        c.send(build_request("POST", "/echo/expect", [("Expect", "100-continue"),
                                                      ("Content-Length", str(len(body)))]))
        # the interim response must come before we send the body
        first = read_status_head(c.reader)
        assert first.status == 100, first
        c.send(body)
        resp = c.read_response("POST")
    assert resp.status == 200 and resp.body == body
    assert b.last().body == body


def test_hop_by_hop_headers_removed(proxied):
    r, b = proxied
    hs = [
        ("Connection", "keep-alive, X-Private, X-Other"),
        ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"),
        ("Upgrade", "foo/1"),
        ("Proxy-Connection", "keep-alive"),
        ("X-Private", "secret"),
        ("X-Other", "secret2"),
        ("X-Kept", "yes"),
    ]
    resp = get(r.port, "/hop", hs)
    assert resp.status == 200, resp
    names = b.last().names()
    for h in ("connection", "keep-alive", "te", "upgrade", "proxy-connection", "x-private",
              "x-other"):
        if h == "connection":
            # rampart may send its own Connection: keep-alive, never the client's tokens
            vals = ",".join(b.last().headers_all("connection")).lower()
            assert "x-private" not in vals and "x-other" not in vals
            continue
        assert h not in names, (h, b.last().headers)
    assert b.last().header("x-kept") == "yes"


def test_hop_by_hop_response_headers_removed(proxied):
    r, b = proxied
    target = "/status/200?h=Connection:%20X-Resp-Private&h=X-Resp-Private:%201&h=Keep-Alive:%20t=1&h=X-Ok:%202"
    resp = get(r.port, target)
    assert resp.status == 200
    names = [k.lower() for k, _ in resp.headers]
    assert "x-resp-private" not in names and "keep-alive" not in names
    assert resp.header("x-ok") == "2"


def parse_forwarded(value):
    out = {}
    for elem in value.split(",")[-1:]:
        for pair in elem.split(";"):
            k, _, v = pair.strip().partition("=")
            out[k.lower()] = v.strip('"')
    return out


def test_forwarding_headers(proxied):
    r, b = proxied
    resp = get(r.port, "/fwd", [("Host", "example.test"), ("X-Forwarded-For", "1.2.3.4"),
                                ("Forwarded", "for=1.2.3.4")])
    assert resp.status == 200
    req = b.last()
    assert req.headers_all("x-forwarded-for") == ["127.0.0.1"], req.headers
    assert req.header("x-forwarded-proto") == "http"
    assert req.header("x-forwarded-host") == "example.test"
    fwd = req.headers_all("forwarded")
    assert len(fwd) == 1 and "1.2.3.4" not in fwd[0], fwd
    f = parse_forwarded(fwd[0])
    assert f.get("for") == "127.0.0.1" and f.get("proto") == "http" and f.get("host") == "example.test", fwd
    assert req.header("host") == "example.test"


def test_forwarding_headers_trusted(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], proxy={"trust_forwarded": True}))
    resp = get(r.port, "/fwd", [("Host", "example.test"), ("X-Forwarded-For", "1.2.3.4")])
    assert resp.status == 200
    xff = ", ".join(b.last().headers_all("x-forwarded-for"))
    assert [p.strip() for p in xff.split(",")] == ["1.2.3.4", "127.0.0.1"], xff


def test_via_and_server_header(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], proxy={"via": True}))
    resp = get(r.port, "/via")
    assert resp.status == 200
    assert resp.headers_all("server") == ["rampart"], resp.headers
    assert "1.1 rampart" in b.last().header("via", ""), b.last().headers


def test_server_header_replaced_no_via_by_default(proxied):
    r, b = proxied
    resp = get(r.port, "/srv")
    assert resp.headers_all("server") == ["rampart"], resp.headers
    assert b.last().header("via") is None


def test_upstream_host_header(rampart, backend):
    b = backend()
    cfg = make_config(backends=[b.port])
    cfg["upstreams"]["app"]["host_header"] = "backend.internal"
    r = rampart(cfg)
    resp = get(r.port, "/hh", [("Host", "public.example")])
    assert resp.status == 200
    assert b.last().headers_all("host") == ["backend.internal"]
    assert b.last().header("x-forwarded-host") == "public.example"


def test_request_id_generated(proxied):
    r, b = proxied
    ids = set()
    for _ in range(3):
        resp = get(r.port, "/rid")
        rid = resp.header("x-request-id")
        assert rid, resp.headers
        assert b.last().headers_all("x-request-id") == [rid]
        ids.add(rid)
    assert len(ids) == 3


def test_request_id_passed_through(proxied):
    r, b = proxied
    resp = get(r.port, "/rid", [("X-Request-ID", "client-id-42")])
    assert resp.header("x-request-id") == "client-id-42"
    assert b.last().headers_all("x-request-id") == ["client-id-42"]


def test_backend_keepalive_reuse(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], workers=1))
    with Client(r.port) as c:
        for i in range(50):
            resp = c.request("GET", f"/ka/{i}")
            assert resp.status == 200 and resp.body == f"b1 GET /ka/{i}\n".encode()
    assert b.nrequests == 50
    assert b.connections <= 2, b.connections


def test_backend_keepalive_reuse_across_clients(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], workers=1))
    for i in range(20):
        assert get(r.port, f"/ka2/{i}").status == 200
    assert b.connections <= 2, b.connections


def test_retry_when_pooled_connection_dropped(rampart, backend):
    """The backend closes a reused connection instead of answering: an idempotent request is
    retried once on a fresh connection."""
    b = backend()
    b.drop_reused = True
    r = rampart(make_config(backends=[b.port], workers=1))
    with Client(r.port) as c:
        for i in range(4):
            resp = c.request("GET", f"/retry/{i}")
            assert resp.status == 200, resp
            assert resp.body == f"b1 GET /retry/{i}\n".encode()
    assert b.nrequests == 4


def test_pooled_connection_closed_by_backend_when_idle(rampart, backend):
    b = backend()
    b.idle_close = 0.2
    r = rampart(make_config(backends=[b.port], workers=1))
    assert get(r.port, "/idle/1").status == 200
    wait_for(lambda: not b.conns, timeout=5, what="backend closing the idle connection")
    resp = get(r.port, "/idle/2")
    assert resp.status == 200 and resp.body == b"b1 GET /idle/2\n"


def test_pipelining(proxied):
    r, b = proxied
    with Client(r.port) as c:
        c.send(b"".join(build_request("GET", f"/pipe/{i}") for i in range(3)))
        bodies = [c.read_response().body for _ in range(3)]
    assert bodies == [f"b1 GET /pipe/{i}\n".encode() for i in range(3)]


def test_pipelined_post_bodies(proxied):
    r, b = proxied
    data = b""
    for i in range(3):
        body = f"body-{i}".encode() * 50
        data += build_request("POST", f"/echo/{i}", body=body) + body
    with Client(r.port) as c:
        c.send(data)
        resps = [c.read_response("POST") for _ in range(3)]
    assert [x.body for x in resps] == [f"body-{i}".encode() * 50 for i in range(3)]


def test_many_concurrent_clients(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    n = scale_conc(1000)

    async def one(i, start):
        await start.wait()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", r.port), 30)
        try:
            writer.write(build_request("GET", f"/c/{i}", [("Connection", "close")]))
            await writer.drain()
            data = await asyncio.wait_for(reader.read(-1), 60)
            return data
        finally:
            writer.close()

    async def main():
        start = asyncio.Event()
        tasks = [asyncio.create_task(one(i, start)) for i in range(n)]
        await asyncio.sleep(0.1)
        start.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(asyncio.wait_for(main(), 120))
    ok = 0
    bad = []
    for i, res in enumerate(results):
        if isinstance(res, bytes) and res.startswith(b"HTTP/1.1 200") and res.endswith(
                f"b1 GET /c/{i}\n".encode()):
            ok += 1
        else:
            bad.append((i, res if isinstance(res, Exception) else res[:100]))
    assert ok == n, bad[:5]
    assert b.nrequests == n


def test_backend_sees_request_target_unchanged(proxied):
    r, b = proxied
    resp = get(r.port, "/q/a%20b?x=1&y=%2F")
    assert resp.status == 200
    assert b.last().target == "/q/a%20b?x=1&y=%2F"
