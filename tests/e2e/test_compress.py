# Response compression (route key `compress`) end to end over HTTP/1.x: coding negotiation
# from Accept-Encoding, gzip/br/zstd round trips for Content-Length, chunked and close-delimited
# backends, every rule that leaves a response untouched, ETag/Vary, HEAD, trailers, flushes
# while the backend pauses, truncated and incompressible bodies, reloads and `rampart check`.
# HTTP/2 clients, curl and h2c backends are in test_compress_h2.py.
import gzip
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest

from compress_util import (BIG, CUSTOM, Dechunker, IncrementalDecoder, ae, assert_compressed,
                           assert_untouched, decode, gzip_decode, reply, split, start, text_body,
                           vary_tokens)
from util import Client, build_request, encode_chunked, get, make_config, response_head


# ---------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_round_trip_content_length_and_chunked(rampart, backend, coding):
    r, b = start(rampart, backend)
    b.on("/cl", reply(BIG, "text/plain"))
    b.on("/ch", reply(BIG, "text/plain", chunked=True))
    with Client(r.port) as c:  # two compressed responses on one kept-alive connection
        for path in ("/cl", "/ch", "/cl"):
            resp = c.request("GET", path, ae(coding))
            assert_compressed(resp, coding, BIG)
            assert len(resp.body) < len(BIG) // 4, (coding, len(resp.body))
    assert [q.header("accept-encoding") for q in b.requests] == [coding] * 3


def test_uncompressed_route_is_left_alone(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/plain/x", reply(BIG, "text/plain"))
    resp = get(r.port, "/plain/x", ae("gzip, br, zstd"))
    assert_untouched(resp, BIG)
    assert "accept-encoding" not in vary_tokens(resp)


def test_empty_chunked_body(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/empty", reply(b"", "text/plain", chunked=True))
    with Client(r.port) as c:
        resp = c.request("GET", "/empty", ae("gzip"))
        assert resp.status == 200
        coding = resp.header("content-encoding")
        assert (decode(coding, resp.body) if coding else resp.body) == b""
        assert c.request("GET", "/after").status == 200  # the connection is still in step


# ---------------------------------------------------------------------------------------------
# negotiation


CHOICES = [
    ("gzip", "gzip"),
    ("br", "br"),
    ("zstd", "zstd"),
    ("GZip", "gzip"),
    ("x-gzip", "gzip"),
    ("gzip, br, zstd", "zstd"),  # tie: server order zstd, br, gzip
    ("gzip, br", "br"),
    ("gzip;q=1, br;q=0.5, zstd;q=0.4", "gzip"),
    ("br;q=0.9, gzip;q=0.9, zstd;q=0.1", "br"),
    ("gzip;q=0.2,br;q=0.3 , zstd ;q=0.25", "br"),
    ("*", "zstd"),
    ("*;q=0.5, gzip", "gzip"),
    ("zstd;q=0, *", "br"),
    ("zstd;q=0, br;q=0, *;q=0.1", "gzip"),
    ("identity;q=0.5, gzip;q=0.1", "gzip"),
    ("deflate, gzip;q=0.5", "gzip"),
    ("gzip;q=0", None),
    ("identity", None),
    ("deflate, compress", None),
    ("*;q=0, identity", None),
    ("", None),
]


def check_choices(port, cases):
    """Fetches /n once per (Accept-Encoding, expected coding or None); returns the mismatches
    (one rampart for the whole table keeps the file fast)."""
    bad = []
    for accept, expected in cases:
        resp = get(port, "/n", ae(accept))
        try:
            if expected is None:
                assert_untouched(resp, BIG)
                # eligible, but the client took none of the codings: caches must keep
                # variants apart
                assert vary_tokens(resp).count("accept-encoding") == 1, resp.headers
            else:
                assert_compressed(resp, expected, BIG)
        except AssertionError as e:
            bad.append((accept, expected, resp.header("content-encoding"), str(e)[:200]))
    return bad


def test_accept_encoding_choice(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/n", reply(BIG, "text/plain"))
    assert check_choices(r.port, CHOICES) == []


def test_no_accept_encoding_sends_identity_with_vary(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/n", reply(BIG, "text/plain"))
    resp = get(r.port, "/n")
    assert_untouched(resp, BIG)
    assert vary_tokens(resp) == ["accept-encoding"], resp.headers


def test_two_accept_encoding_fields_combine(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/n", reply(BIG, "text/plain"))
    resp = get(r.port, "/n", [("Accept-Encoding", "gzip;q=0.5"), ("Accept-Encoding", "br")])
    assert_compressed(resp, "br", BIG)


def test_configured_encodings_and_order(rampart, backend):
    # /custom/ allows gzip and br only, gzip first
    r, b = start(rampart, backend)
    b.on("/custom/t", reply(BIG, "text/plain"))
    assert_compressed(get(r.port, "/custom/t", ae("zstd, br, gzip")), "gzip", BIG)
    assert_compressed(get(r.port, "/custom/t", ae("zstd, br")), "br", BIG)
    assert_compressed(get(r.port, "/custom/t", ae("zstd;q=1, br;q=0.5")), "br", BIG)
    resp = get(r.port, "/custom/t", ae("zstd"))
    assert_untouched(resp, BIG)


def test_compress_map_with_only_some_keys(rampart, backend):
    r, b = start(rampart, backend, compress={"encodings": ["br", "gzip"]})
    b.on("/t", reply(BIG, "text/plain"))
    assert_compressed(get(r.port, "/t", ae("gzip, br, zstd")), "br", BIG)
    b.on("/small", reply(b"s" * 255, "text/plain"))  # default min_length still 256
    assert_untouched(get(r.port, "/small", ae("br")), b"s" * 255)


def test_gzip_level_reaches_zlib(rampart, backend):
    """zlib writes the level class into the gzip header's XFL byte: 4 for level 1 (fastest),
    0 for the default 5. /custom/ has gzip_level 1, / the default."""
    r, b = start(rampart, backend)
    b.on("/custom/t", reply(BIG, "text/plain"))
    b.on("/t", reply(BIG, "text/plain"))
    fast = get(r.port, "/custom/t", ae("gzip"))
    dflt = get(r.port, "/t", ae("gzip"))
    assert_compressed(fast, "gzip", BIG)
    assert_compressed(dflt, "gzip", BIG)
    assert fast.body[:2] == b"\x1f\x8b" and dflt.body[:2] == b"\x1f\x8b"
    assert fast.body[8] == 4 and dflt.body[8] == 0, (fast.body[:10], dflt.body[:10])


# ---------------------------------------------------------------------------------------------
# responses that must pass untouched


def test_already_encoded_response_untouched(rampart, backend):
    r, b = start(rampart, backend)
    pre = gzip.compress(BIG)
    b.on("/pre", reply(pre, "text/plain", headers=[("Content-Encoding", "gzip")]))
    b.on("/prebr", reply(b"x" * 5000, "text/plain", headers=[("Content-Encoding", "br")]))
    resp = get(r.port, "/pre", ae("zstd, br, gzip"))
    assert resp.headers_all("content-encoding") == ["gzip"]
    assert resp.header("content-length") == str(len(pre)) and resp.body == pre
    resp = get(r.port, "/prebr", ae("gzip"))
    assert resp.headers_all("content-encoding") == ["br"]
    assert resp.header("content-length") == "5000" and resp.body == b"x" * 5000


def test_content_encoding_identity_is_compressible(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/id", reply(BIG, "text/plain", headers=[("Content-Encoding", "identity")]))
    resp = get(r.port, "/id", ae("gzip"))
    assert_compressed(resp, "gzip", BIG)


@pytest.mark.parametrize("cc", ["no-transform", "public, max-age=60, no-transform",
                                "NO-TRANSFORM"])
def test_cache_control_no_transform_untouched(rampart, backend, cc):
    r, b = start(rampart, backend)
    b.on("/nt", reply(BIG, "text/plain", headers=[("Cache-Control", cc)]))
    b.on("/ntc", reply(BIG, "text/plain", headers=[("Cache-Control", cc)], chunked=True))
    assert_untouched(get(r.port, "/nt", ae("gzip, br, zstd")), BIG)
    resp = get(r.port, "/ntc", ae("gzip, br, zstd"))
    assert resp.status == 200 and resp.header("content-encoding") is None
    assert resp.body == BIG


def test_cache_control_without_no_transform_compresses(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/cc", reply(BIG, "text/plain", headers=[("Cache-Control", "public, max-age=60")]))
    assert_compressed(get(r.port, "/cc", ae("gzip")), "gzip", BIG)


def test_partial_content_untouched(rampart, backend):
    r, b = start(rampart, backend)
    part = BIG[100:1100]
    b.on("/part", reply(part, "text/plain", status=206, reason="Partial Content",
                        headers=[("Content-Range", f"bytes 100-1099/{len(BIG)}")]))
    resp = get(r.port, "/part", ae("gzip"))
    assert_untouched(resp, part, status=206)
    assert resp.header("content-range") == f"bytes 100-1099/{len(BIG)}"


def test_request_with_range_untouched(rampart, backend):
    # the origin ignores Range and sends the whole 200: still not compressed, since the
    # client asked for a range of the identity representation
    r, b = start(rampart, backend)
    b.on("/whole", reply(BIG, "text/plain"))
    resp = get(r.port, "/whole", ae("gzip") + [("Range", "bytes=0-99")])
    assert_untouched(resp, BIG)
    assert b.last().header("range") == "bytes=0-99"


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(rampart, backend, status):
    r, b = start(rampart, backend)
    b.on("/nb", reply(b"", "text/plain", status=status, headers=[("ETag", '"v1"')]))
    with Client(r.port) as c:
        resp = c.request("GET", "/nb", ae("gzip"))
        assert resp.status == status, resp
        assert resp.header("content-encoding") is None, resp.headers
        assert resp.body == b""
        if status == 304:
            # a 304 describes the representation the client already holds; an identity GET
            # gets the strong tag back
            assert resp.header("etag") in ('"v1"', 'W/"v1"')
        assert c.request("GET", "/after").status == 200  # no stray bytes on the connection


def test_interim_103_then_compressed_200(rampart, backend):
    r, b = start(rampart, backend)

    def early_hints(be, req, conn):
        conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")
        return reply(BIG, "text/html")(be, req, conn)

    b.on("/eh", early_hints)
    resp = get(r.port, "/eh", ae("gzip"))
    for i in resp.interim:
        assert i.status == 103 and i.header("content-encoding") is None, i
    assert_compressed(resp, "gzip", BIG)


@pytest.mark.parametrize("ctype", ["image/png", "application/octet-stream", None,
                                   "text/htmlx", "application/jsonp"])
def test_type_not_listed_untouched(rampart, backend, ctype):
    r, b = start(rampart, backend)
    b.on("/ty", reply(BIG, ctype))
    assert_untouched(get(r.port, "/ty", ae("gzip, br, zstd")), BIG)


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "TEXT/HTML", "text/css",
                                   "application/json;charset=UTF-8", "image/svg+xml",
                                   "application/wasm", "font/ttf", "text/javascript",
                                   "application/problem+json", "Text/Plain ; charset=\"x\""])
def test_listed_types_compressed(rampart, backend, ctype):
    r, b = start(rampart, backend)
    b.on("/ty", reply(BIG, ctype))
    resp = get(r.port, "/ty", ae("gzip"))
    assert_compressed(resp, "gzip", BIG)
    assert resp.header("content-type") == ctype  # the type itself is not rewritten


def test_custom_types_with_wildcard(rampart, backend):
    # /custom/ types: text/*, application/json
    r, b = start(rampart, backend)
    b.on("/custom/", lambda be, req, conn: reply(BIG, req.query["t"][0])(be, req, conn))
    def fetch(t):
        return get(r.port, "/custom/?t=" + urllib.parse.quote(t), ae("gzip"))

    for t in ("text/x-anything", "TEXT/csv; charset=utf-8", "application/json"):
        assert_compressed(fetch(t), "gzip", BIG)
    for t in ("application/javascript", "image/svg+xml", "textual/plain"):
        assert_untouched(fetch(t), BIG)


def test_min_length_edge_default(rampart, backend):
    r, b = start(rampart, backend)
    b255, b256 = text_body(255), text_body(256)
    b.on("/l255", reply(b255, "text/plain"))
    b.on("/l256", reply(b256, "text/plain"))
    b.on("/l0", reply(b"", "text/plain"))
    assert_untouched(get(r.port, "/l255", ae("gzip")), b255)
    assert_untouched(get(r.port, "/l0", ae("gzip")), b"")
    assert_compressed(get(r.port, "/l256", ae("gzip")), "gzip", b256)


def test_min_length_edge_configured(rampart, backend):
    r, b = start(rampart, backend)  # /custom/ has min_length 1000
    b999, b1000 = text_body(999), text_body(1000)
    b.on("/custom/l999", reply(b999, "text/plain"))
    b.on("/custom/l1000", reply(b1000, "text/plain"))
    assert_untouched(get(r.port, "/custom/l999", ae("gzip")), b999)
    assert_compressed(get(r.port, "/custom/l1000", ae("gzip")), "gzip", b1000)


# ---------------------------------------------------------------------------------------------
# ETag and Vary


@pytest.mark.parametrize("etag,expected", [('"x"', 'W/"x"'), ('W/"x"', 'W/"x"'),
                                           ('"a-b-c"', 'W/"a-b-c"')])
def test_etag_weakened_when_compressed(rampart, backend, etag, expected):
    r, b = start(rampart, backend)
    b.on("/e", reply(BIG, "text/plain", headers=[("ETag", etag)]))
    resp = get(r.port, "/e", ae("br"))
    assert_compressed(resp, "br", BIG)
    assert resp.headers_all("etag") == [expected]
    # identity (no acceptable coding) keeps the backend's tag
    resp = get(r.port, "/e", ae("identity"))
    assert_untouched(resp, BIG)
    assert resp.headers_all("etag") == [etag]


def test_etag_untouched_when_not_eligible(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/png", reply(BIG, "image/png", headers=[("ETag", '"img"')]))
    resp = get(r.port, "/png", ae("gzip"))
    assert_untouched(resp, BIG)
    assert resp.headers_all("etag") == ['"img"']


@pytest.mark.parametrize("vary,expected", [
    ([], ["accept-encoding"]),
    (["Origin"], ["origin", "accept-encoding"]),
    (["Origin, Cookie"], ["origin", "cookie", "accept-encoding"]),
    (["Accept-Encoding"], ["accept-encoding"]),
    (["accept-encoding"], ["accept-encoding"]),
    (["Origin, Accept-Encoding"], ["origin", "accept-encoding"]),
    (["Origin", "Accept-Encoding"], ["origin", "accept-encoding"]),
])
@pytest.mark.parametrize("accept", ["gzip", "identity"])
def test_vary(rampart, backend, vary, expected, accept):
    r, b = start(rampart, backend)
    b.on("/v", reply(BIG, "text/plain", headers=[("Vary", v) for v in vary]))
    resp = get(r.port, "/v", ae(accept))
    if accept == "gzip":
        assert_compressed(resp, "gzip", BIG)
    else:
        assert_untouched(resp, BIG)
    assert sorted(vary_tokens(resp)) == sorted(expected), resp.headers_all("vary")


def test_vary_star_kept(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/vs", reply(BIG, "text/plain", headers=[("Vary", "*")]))
    resp = get(r.port, "/vs", ae("gzip"))
    # "*" already varies on everything; compressing or not, the "*" must survive
    coding = resp.header("content-encoding")
    assert (decode(coding, resp.body) if coding else resp.body) == BIG
    assert "*" in vary_tokens(resp), resp.headers


# ---------------------------------------------------------------------------------------------
# HEAD


@pytest.mark.parametrize("chunked", [False, True])
def test_head_has_the_get_headers(rampart, backend, chunked):
    r, b = start(rampart, backend)
    b.on("/h", reply(BIG, "text/html", headers=[("ETag", '"h"')], chunked=chunked))
    with Client(r.port) as c:
        g = c.request("GET", "/h", ae("gzip, br"))
        h = c.request("HEAD", "/h", ae("gzip, br"))
        assert h.status == 200 and h.body == b""
        assert h.headers_all("content-encoding") == g.headers_all("content-encoding") == ["br"]
        assert h.header("content-length") is None, h.headers
        assert vary_tokens(h) == vary_tokens(g) == ["accept-encoding"]
        assert h.headers_all("etag") == g.headers_all("etag") == ['W/"h"']
        # the HEAD answer left nothing behind on the connection
        after = c.request("GET", "/h", ae("gzip"))
        assert_compressed(after, "gzip", BIG)


def test_head_for_identity_client_matches_its_get(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/hi", reply(BIG, "text/plain", headers=[("ETag", '"e"')]))
    with Client(r.port) as c:
        g = c.request("GET", "/hi", ae("identity"))
        h = c.request("HEAD", "/hi", ae("identity"))
    assert_untouched(g, BIG)
    assert h.status == 200 and h.body == b"" and h.header("content-encoding") is None
    assert h.header("content-length") == g.header("content-length") == str(len(BIG))
    assert vary_tokens(h) == vary_tokens(g) == ["accept-encoding"]
    assert h.headers_all("etag") == g.headers_all("etag") == ['"e"']


def test_head_not_eligible_keeps_length(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/hp", reply(BIG, "image/png"))
    with Client(r.port) as c:
        h = c.request("HEAD", "/hp", ae("gzip"))
        assert h.status == 200 and h.header("content-encoding") is None
        assert h.header("content-length") == str(len(BIG)) and h.body == b""
        assert_untouched(c.request("GET", "/hp", ae("gzip")), BIG)


# ---------------------------------------------------------------------------------------------
# trailers, HTTP/1.0, streaming


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
def test_trailers_after_compressed_body(rampart, backend, coding):
    r, b = start(rampart, backend)
    b.on("/tr", reply(BIG, "text/plain", chunked=True, headers=[("Trailer", "X-Checksum")],
                      trailers=[("X-Checksum", "abc123")]))
    with Client(r.port) as c:
        resp = c.request("GET", "/tr", ae(coding) + [("TE", "trailers")])
        assert_compressed(resp, coding, BIG)
        assert ("x-checksum", "abc123") in [(k.lower(), v) for k, v in resp.trailers], \
            resp.trailers
        assert c.request("GET", "/after").status == 200


def test_http10_client_gets_the_original_bytes(rampart, backend):
    # no chunked framing for 1.0: either identity with Content-Length or a compressed body
    # ended by closing; whichever, the decoded body must be the original
    r, b = start(rampart, backend)
    b.on("/old", reply(BIG, "text/plain"))
    with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
        s.sendall(b"GET /old HTTP/1.0\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hs = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    assert lines[0].split(" ")[1] == "200", lines[0]
    assert "chunked" not in hs.get("transfer-encoding", ""), hs
    if "content-encoding" in hs:
        assert hs["content-encoding"] == "gzip"
        assert gzip_decode(body) == BIG
    else:
        assert body == BIG and hs.get("content-length") == str(len(BIG))


@pytest.mark.parametrize("coding,chunked", [("gzip", False), ("gzip", True), ("br", True),
                                            ("zstd", False)])
def test_streaming_flush_before_backend_finishes(rampart, backend, coding, chunked):
    """The backend sends 10 KB, waits 1 s, then the rest: the client decodes a prefix of the
    first part while the backend is still waiting."""
    r, b = start(rampart, backend)
    body = text_body(60 * 1024)
    first, rest = body[:10 * 1024], body[10 * 1024:]
    second_sent = threading.Event()

    def slow(be, req, conn):
        hs = be.base_headers() + [("Content-Type", "text/plain")]
        hs.append(("Transfer-Encoding", "chunked") if chunked else
                  ("Content-Length", str(len(body))))
        conn.sendall(response_head(200, hs))
        conn.sendall(b"%x\r\n%s\r\n" % (len(first), first) if chunked else first)
        be.stop_event.wait(1.0)
        second_sent.set()
        conn.sendall(b"".join(encode_chunked([rest])) if chunked else rest)
        return True

    b.on("/slow", slow)
    with socket.create_connection(("127.0.0.1", r.port), timeout=10) as s:
        s.sendall(build_request("GET", "/slow", ae(coding)))
        buf = b""
        while b"\r\n\r\n" not in buf:
            s.settimeout(5)
            d = s.recv(65536)
            assert d, "closed before the response head"
            buf += d
        head, _, buf = buf.partition(b"\r\n\r\n")
        head = head.decode("latin-1").lower()
        assert f"content-encoding: {coding}" in head and "transfer-encoding: chunked" in head, head
        dech = Dechunker()
        z = IncrementalDecoder(coding)
        decoded = z.feed(dech.feed(buf))
        deadline = time.monotonic() + 5
        # read in 0.7 s slices until something decodes or the backend sends its second part
        while not decoded and not second_sent.is_set() and time.monotonic() < deadline:
            s.settimeout(0.7)
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            assert d, "closed early"
            decoded += z.feed(dech.feed(d))
        before_rest = not second_sent.is_set()
        early = decoded
        assert early and before_rest, "nothing decodable arrived before the backend's pause ended"
        assert body.startswith(early) and len(early) <= len(first), len(early)
        # then the rest, to the end of the stream
        s.settimeout(10)
        while not dech.done:
            d = s.recv(65536)
            assert d, "closed before the last chunk"
            decoded += z.feed(dech.feed(d))
        decoded += z.finish()
        assert decoded == body


# ---------------------------------------------------------------------------------------------
# more edges: q-value spelling, framing variants, pipelining, aborts, reloads


SPELLINGS = [
    ("gzip;q=0.000", None),
    ("gzip ; q=0", None),
    ("gzip;Q=0", None),
    ("gzip;q=1.000", "gzip"),
    ("gzip;q=0.001", "gzip"),
    ("br;q=0.0, gzip", "gzip"),
    (" , gzip ,, ", "gzip"),
]


def test_accept_encoding_spelling(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/n", reply(BIG, "text/plain"))
    assert check_choices(r.port, SPELLINGS) == []


def test_identity_refused_and_nothing_else(rampart, backend):
    # RFC 9110 12.5.3: the server may answer 406 or send identity anyway; never a coding the
    # client did not list
    r, b = start(rampart, backend)
    b.on("/n", reply(BIG, "text/plain"))
    for accept in ("identity;q=0", "*;q=0", "deflate, identity;q=0"):
        resp = get(r.port, "/n", ae(accept))
        assert resp.status in (200, 406), resp
        assert resp.header("content-encoding") is None, (accept, resp.headers)
        if resp.status == 200:
            assert resp.body == BIG


def test_close_delimited_backend_compressed(rampart, backend):
    r, b = start(rampart, backend)

    def closedelim(be, req, conn):
        hs = be.base_headers() + [("Content-Type", "text/plain"), ("Connection", "close")]
        conn.sendall(response_head(200, hs))
        for piece in split(BIG):
            conn.sendall(piece)
        return False

    b.on("/cd", closedelim)
    with Client(r.port) as c:
        assert_compressed(c.request("GET", "/cd", ae("gzip")), "gzip", BIG)
        assert_compressed(c.request("GET", "/cd", ae("br")), "br", BIG)


def test_tiny_backend_chunks(rampart, backend):
    r, b = start(rampart, backend)
    body = text_body(5000)

    def tiny(be, req, conn):
        conn.sendall(response_head(200, be.base_headers() + [("Content-Type", "text/plain"),
                                                              ("Transfer-Encoding", "chunked")]))
        conn.sendall(b"".join(b"1\r\n%c\r\n" % c for c in body) + b"0\r\n\r\n")
        return True

    b.on("/tiny", tiny)
    for coding in ("gzip", "br", "zstd"):
        assert_compressed(get(r.port, "/tiny", ae(coding)), coding, body)


def test_pipelined_compressed_responses(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/p", reply(BIG, "text/plain"))
    b.on("/q", reply(BIG, "text/plain", chunked=True))
    b.on("/img", reply(BIG, "image/png"))
    reqs = [("/p", "gzip"), ("/img", "gzip"), ("/q", "zstd"), ("/p", "identity"), ("/q", "br")]
    with Client(r.port) as c:
        c.send(b"".join(build_request("GET", p, ae(a)) for p, a in reqs))
        for p, a in reqs:
            resp = c.read_response()
            if p == "/img" or a == "identity":
                assert_untouched(resp, BIG)
            else:
                assert_compressed(resp, a, BIG)


def test_post_response_compressed(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/form", reply(BIG, "application/json"))
    with Client(r.port) as c:
        resp = c.request("POST", "/form", ae("gzip"), body=b"a=1")
        assert_compressed(resp, "gzip", BIG)
    assert b.last().body == b"a=1"


def test_big_body_each_coding(rampart, backend):
    r, b = start(rampart, backend)
    big = text_body(4 * 1024 * 1024) + bytes(range(256)) * 256  # text plus incompressible tail
    b.on("/huge", reply(big, "text/plain", chunked=True))
    for coding in ("gzip", "br", "zstd"):
        assert_compressed(get(r.port, "/huge", ae(coding), timeout=30), coding, big)


def test_client_abort_mid_compressed_body(rampart, backend):
    r, b = start(rampart, backend)
    big = text_body(2 * 1024 * 1024) + bytes(range(256)) * 4096  # 1 MiB that will not shrink
    b.on("/abort", reply(big, "text/plain", chunked=True))
    for coding in ("gzip", "br", "zstd"):
        s = socket.create_connection(("127.0.0.1", r.port), timeout=10)
        s.sendall(build_request("GET", "/abort", ae(coding)))
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        s.close()  # abandon the stream in the middle
    time.sleep(0.3)
    assert r.alive()
    b.on("/ok", reply(BIG, "text/plain"))
    assert_compressed(get(r.port, "/ok", ae("zstd")), "zstd", BIG)


def test_reload_switches_compression(rampart, backend):
    from util import reload_to

    b = backend()
    b.on("/r", reply(BIG, "text/plain"))
    on = make_config(backends=[b.port], routes=[{"match": {"path_prefix": "/"}, "proxy": "app",
                                                 "compress": True}])
    r = rampart(on)
    assert_compressed(get(r.port, "/r", ae("gzip")), "gzip", BIG)
    off = dict(on, routes=[{"match": {"path_prefix": "/"}, "proxy": "app"}])
    reload_to(r, off)
    assert_untouched(get(r.port, "/r", ae("gzip")), BIG)
    custom = dict(on, routes=[{"match": {"path_prefix": "/"}, "proxy": "app",
                               "compress": {"encodings": ["br"]}}])
    reload_to(r, custom)
    assert_compressed(get(r.port, "/r", ae("gzip, br, zstd")), "br", BIG)
    assert_untouched(get(r.port, "/r", ae("gzip, zstd")), BIG)


# ---------------------------------------------------------------------------------------------
# a backend that dies mid-body must not yield a complete-looking compressed stream


@pytest.mark.parametrize("chunked", [False, True])
def test_truncated_backend_body_is_not_completed(rampart, backend, chunked):
    r, b = start(rampart, backend)

    def truncated(be, req, conn):
        hs = be.base_headers() + [("Content-Type", "text/plain")]
        hs.append(("Transfer-Encoding", "chunked") if chunked else
                  ("Content-Length", str(len(BIG))))
        half = BIG[: len(BIG) // 2]
        conn.sendall(response_head(200, hs) + (b"%x\r\n%s\r\n" % (len(half), half)
                                               if chunked else half))
        return False  # close: the rest never comes

    b.on("/cut", truncated)
    with Client(r.port) as c:
        c.send(build_request("GET", "/cut", ae("gzip")))
        with pytest.raises((EOFError, ConnectionResetError, ValueError)):
            resp = c.read_response()
            # if a response came out whole, it must at least not pass for the full body
            pytest.fail(f"truncated body delivered as complete: {resp.headers} "
                        f"{len(resp.body)} bytes")
    assert r.alive()


def test_concurrent_compressed_streams(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/cc", reply(BIG, "text/plain", chunked=True))
    codings = ["gzip", "br", "zstd"] * 11
    results = [None] * len(codings)

    def one(i):
        try:
            results[i] = get(r.port, "/cc", ae(codings[i]), timeout=20)
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(codings))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for coding, resp in zip(codings, results):
        assert not isinstance(resp, Exception) and resp is not None, resp
        assert_compressed(resp, coding, BIG)


# ---------------------------------------------------------------------------------------------
# incompressible bodies: a coder may release a large block at once (brotli stores an
# incompressible meta-block whole); the filter must still deliver it


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
@pytest.mark.parametrize("chunked", [False, True])
def test_incompressible_body_over_4mib(rampart, backend, coding, chunked):
    import random

    r, b = start(rampart, backend)
    noise = random.Random(5).randbytes(5 * 1024 * 1024)
    b.on("/noise", reply(noise, "text/plain", chunked=chunked))
    resp = get(r.port, "/noise", ae(coding), timeout=30)
    assert_compressed(resp, coding, noise)
    assert "compressing the response failed" not in r.stderr_text()


# ---------------------------------------------------------------------------------------------
# configuration: `rampart check` accepts the documented shapes and names bad values


def check_compress(tmp_path, value, name):
    from util import RAMPART_BIN, dump_config, free_port

    cfg = make_config(backends=[free_port()])
    cfg["routes"][0]["compress"] = value
    f = tmp_path / f"{name}.yaml"
    f.write_text(dump_config(cfg))
    p = subprocess.run([RAMPART_BIN, "check", "-c", str(f)], capture_output=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


@pytest.mark.parametrize("value", [True, False, dict(CUSTOM), {"encodings": ["zstd"]},
                                   {"min_length": "1k"}, {"types": ["text/*", "font/woff2"]}])
def test_config_accepted(tmp_path, value):
    rc, out = check_compress(tmp_path, value, "good")
    assert rc == 0, out


@pytest.mark.parametrize("value", [{"encodings": ["deflate"]}, {"encodings": []},
                                   {"gzip_level": 10}, {"br_level": 12}, {"zstd_level": 20},
                                   {"types": ["html"]}, {"min_length": "lots"},
                                   {"levels": 3}, "sometimes", ["gzip"]])
def test_config_rejected_with_position(tmp_path, value):
    rc, out = check_compress(tmp_path, value, "bad")
    assert rc == 1, out
    assert "bad.yaml:" in out, out
