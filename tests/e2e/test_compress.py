# Response compression (route key `compress`) end to end: coding negotiation from
# Accept-Encoding, gzip/br/zstd round trips for Content-Length and chunked backends, every rule
# that leaves a response untouched, ETag/Vary handling, HEAD, trailers, streaming flushes, and
# real clients (curl --compressed over HTTP/1.1 and h2c prior knowledge).
import ctypes
import ctypes.util
import gzip
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import zlib

import pytest

from util import Client, build_request, encode_chunked, get, make_config, response_head

# ---------------------------------------------------------------------------------------------
# decoders: gzip by Python's zlib, zstd by the zstd command, brotli through libbrotlidec (the
# library rampart links; there is no brotli command or Python module on this machine)

ZSTD = shutil.which("zstd")
CURL = shutil.which("curl")


def _load_brotlidec():
    name = ctypes.util.find_library("brotlidec") or "libbrotlidec.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.BrotliDecoderCreateInstance.restype = ctypes.c_void_p
    lib.BrotliDecoderCreateInstance.argtypes = [ctypes.c_void_p] * 3
    lib.BrotliDecoderDestroyInstance.argtypes = [ctypes.c_void_p]
    lib.BrotliDecoderDecompressStream.restype = ctypes.c_int
    lib.BrotliDecoderDecompressStream.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_size_t)]
    return lib


BROTLI = _load_brotlidec()


def brotli_decode(data):
    """Whole-stream brotli decode; raises ValueError on corrupt or truncated input."""
    st = BROTLI.BrotliDecoderCreateInstance(None, None, None)
    inbuf = ctypes.create_string_buffer(bytes(data), len(data) or 1)
    avail_in = ctypes.c_size_t(len(data))
    next_in = ctypes.c_void_p(ctypes.addressof(inbuf))
    out = bytearray()
    chunk = 65536
    obuf = ctypes.create_string_buffer(chunk)
    try:
        while True:
            avail_out = ctypes.c_size_t(chunk)
            next_out = ctypes.c_void_p(ctypes.addressof(obuf))
            rc = BROTLI.BrotliDecoderDecompressStream(st, ctypes.byref(avail_in),
                                                      ctypes.byref(next_in),
                                                      ctypes.byref(avail_out),
                                                      ctypes.byref(next_out), None)
            out += obuf.raw[: chunk - avail_out.value]
            if rc == 1:  # BROTLI_DECODER_RESULT_SUCCESS
                if avail_in.value:
                    raise ValueError("bytes after the end of the brotli stream")
                return bytes(out)
            if rc == 3:  # NEEDS_MORE_OUTPUT
                continue
            raise ValueError("truncated brotli stream" if rc == 2 else "corrupt brotli stream")
    finally:
        BROTLI.BrotliDecoderDestroyInstance(st)


def zstd_decode(data):
    p = subprocess.run([ZSTD, "-d", "-c", "-q"], input=data, capture_output=True, timeout=20)
    if p.returncode != 0:
        raise ValueError(f"zstd -d failed: {p.stderr!r}")
    return p.stdout


def gzip_decode(data):
    # one member expected; gzip.decompress also checks the CRC and length trailer
    return gzip.decompress(data)


def decode(coding, data):
    if coding == "gzip":
        return gzip_decode(data)
    if coding == "br":
        if BROTLI is None:
            pytest.skip("libbrotlidec cannot be loaded: no way to decode br here")
        return brotli_decode(data)
    if coding == "zstd":
        if ZSTD is None:
            pytest.skip("no zstd command: no way to decode zstd here")
        return zstd_decode(data)
    raise AssertionError(f"unexpected coding {coding!r}")


class IncrementalDecoder:
    """feed(compressed) -> the bytes decodable so far; finish() -> the rest, checking that the
    stream ended. gzip: zlib; br: libbrotlidec's stream API; zstd: the command over everything
    received (on a truncated stream it still writes out the blocks it completed)."""

    def __init__(self, coding):
        self.coding = coding
        if coding == "gzip":
            self.z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "br":
            if BROTLI is None:
                pytest.skip("libbrotlidec cannot be loaded: no way to decode br here")
            self.st = BROTLI.BrotliDecoderCreateInstance(None, None, None)
            self.ended = False
        else:
            if ZSTD is None:
                pytest.skip("no zstd command: no way to decode zstd here")
            self.data = b""
            self.given = 0

    def feed(self, data):
        if self.coding == "gzip":
            return self.z.decompress(data)
        if self.coding == "br":
            return self._br(data)
        self.data += data
        p = subprocess.run([ZSTD, "-d", "-c", "-q"], input=self.data, capture_output=True,
                           timeout=20)
        out = p.stdout[self.given:]
        self.given = len(p.stdout)
        return out

    def _br(self, data):
        inbuf = ctypes.create_string_buffer(bytes(data), len(data) or 1)
        avail_in = ctypes.c_size_t(len(data))
        next_in = ctypes.c_void_p(ctypes.addressof(inbuf))
        out = bytearray()
        obuf = ctypes.create_string_buffer(65536)
        while True:
            avail_out = ctypes.c_size_t(65536)
            next_out = ctypes.c_void_p(ctypes.addressof(obuf))
            rc = BROTLI.BrotliDecoderDecompressStream(self.st, ctypes.byref(avail_in),
                                                      ctypes.byref(next_in),
                                                      ctypes.byref(avail_out),
                                                      ctypes.byref(next_out), None)
            out += obuf.raw[: 65536 - avail_out.value]
            if rc == 3:
                continue
            if rc == 1:
                self.ended = True
            elif rc != 2:
                raise ValueError("corrupt brotli stream")
            return bytes(out)

    def finish(self):
        if self.coding == "gzip":
            out = self.z.flush()
            assert self.z.eof, "gzip stream did not end"
            return out
        if self.coding == "br":
            BROTLI.BrotliDecoderDestroyInstance(self.st)
            assert self.ended, "brotli stream did not end"
            return b""
        whole = zstd_decode(self.data)  # raises unless the stream is complete
        return whole[self.given:]


# ---------------------------------------------------------------------------------------------
# bodies, backend handlers and config


def text_body(n):
    """n bytes of compressible, non-repeating-at-short-range text."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += b"line %06d: the quick brown fox jumps over the lazy dog %d\n" % (i, i * 7919 % 1000)
        i += 1
    return bytes(out[:n])


BIG = text_body(100 * 1024)


def split(body, parts=7):
    step = max(1, len(body) // parts)
    return [body[i:i + step] for i in range(0, len(body), step)] or [b""]


def reply(body, ctype="text/plain", headers=(), chunked=False, trailers=None, status=200,
          reason=None):
    """A backend handler answering with body (Content-Length or chunked), ctype (None: no
    Content-Type), extra headers and, for chunked, trailers. HEAD gets the head only."""

    def fn(be, req, conn):
        hs = be.base_headers()
        if ctype is not None:
            hs.append(("Content-Type", ctype))
        hs += list(headers)
        no_body = status in (204, 304)
        if chunked:
            hs.append(("Transfer-Encoding", "chunked"))
        elif not no_body and not any(k.lower() == "content-length" for k, _ in hs):
            hs.append(("Content-Length", str(len(body))))
        conn.sendall(response_head(status, hs, reason))
        if req.method == "HEAD" or no_body:
            return True
        if chunked:
            for piece in encode_chunked(split(body), trailers):
                conn.sendall(piece)
        else:
            conn.sendall(body)
        return True

    return fn


CUSTOM = {"encodings": ["gzip", "br"], "min_length": 1000, "types": ["text/*", "application/json"],
          "gzip_level": 1, "br_level": 4, "zstd_level": 3}


def start(rampart, backend, compress=True, **over):
    """rampart with three routes to one backend: /plain/ (no compress), /custom/ (the map
    CUSTOM) and / (compress: `compress`)."""
    b = backend()
    routes = [
        {"match": {"path_prefix": "/plain/"}, "proxy": "app"},
        {"match": {"path_prefix": "/custom/"}, "proxy": "app", "compress": dict(CUSTOM)},
        {"match": {"path_prefix": "/"}, "proxy": "app", "compress": compress},
    ]
    r = rampart(make_config(backends=[b.port], routes=routes, **over))
    return r, b


def ae(value):
    return [("Accept-Encoding", value)]


def vary_tokens(resp):
    return [t.strip().lower() for v in resp.headers_all("vary") for t in v.split(",") if t.strip()]


def assert_compressed(resp, coding, original, h1=True):
    assert resp.status == 200, resp
    assert resp.headers_all("content-encoding") == [coding], resp.headers
    assert resp.header("content-length") is None, resp.headers
    if h1:
        assert resp.chunked, resp.headers
    assert vary_tokens(resp).count("accept-encoding") == 1, resp.headers
    got = decode(coding, resp.body)
    assert got == original, (len(got), len(original))


def assert_untouched(resp, original, status=200):
    """The backend's body and Content-Length reached the client as they were."""
    assert resp.status == status, resp
    assert resp.header("content-encoding") is None, resp.headers
    assert resp.header("content-length") == str(len(original)), resp.headers
    assert resp.body == original


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


class Dechunker:
    """Incremental HTTP/1.1 chunked-body parser: feed() returns the chunk data it completed;
    done turns true after the last chunk (trailers are not needed here)."""

    def __init__(self):
        self.buf = bytearray()
        self.state = "size"  # size -> data -> crlf -> size ... -> done
        self.left = 0
        self.done = False

    def feed(self, data):
        self.buf += data
        out = bytearray()
        while True:
            if self.state == "size":
                i = self.buf.find(b"\r\n")
                if i < 0:
                    break
                size = int(bytes(self.buf[:i]).split(b";")[0], 16)
                del self.buf[: i + 2]
                if size == 0:
                    self.state, self.done = "done", True
                    break
                self.state, self.left = "data", size
            elif self.state == "data":
                k = min(self.left, len(self.buf))
                if k == 0:
                    break
                out += self.buf[:k]
                del self.buf[:k]
                self.left -= k
                if self.left == 0:
                    self.state = "crlf"
            elif self.state == "crlf":
                if len(self.buf) < 2:
                    break
                assert self.buf[:2] == b"\r\n", bytes(self.buf[:2])
                del self.buf[:2]
                self.state = "size"
            else:
                break
        return bytes(out)


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
# real clients: curl over HTTP/1.1 and h2c


def curl(*args, timeout=30):
    return subprocess.run([CURL, "-sS", *args], capture_output=True, timeout=timeout)


def curl_headers(text):
    hs = []
    for line in text.decode("latin-1").split("\r\n")[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            hs.append((k.strip().lower(), v.strip()))
    return hs


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
@pytest.mark.parametrize("h2", [False, True])
@pytest.mark.parametrize("chunked", [False, True])
def test_curl_compressed_round_trip(rampart, backend, tmp_path, h2, chunked):
    r, b = start(rampart, backend)
    b.on("/big", reply(BIG, "text/html; charset=utf-8", chunked=chunked))
    url = f"http://127.0.0.1:{r.port}/big"
    ver = ["--http2-prior-knowledge"] if h2 else ["--http1.1"]
    hdr = tmp_path / "h.txt"
    # curl's own Accept-Encoding (it lists deflate, gzip, br, zstd here): zstd wins
    out = curl(*ver, "--compressed", "-D", str(hdr), "-w", "%{http_version}", "-o",
               str(tmp_path / "body"), url)
    assert out.returncode == 0, out
    assert out.stdout == (b"2" if h2 else b"1.1"), out
    assert (tmp_path / "body").read_bytes() == BIG
    hs = curl_headers(hdr.read_bytes())
    assert ("content-encoding", "zstd") in hs, hs
    assert not any(k == "content-length" for k, _ in hs), hs
    # each coding asked for alone, decoded by curl
    for coding in ("gzip", "br", "zstd"):
        out = curl(*ver, "--compressed", "-H", f"Accept-Encoding: {coding}", "-D", "-", url)
        head, _, body = out.stdout.partition(b"\r\n\r\n")
        assert out.returncode == 0, out
        assert ("content-encoding", coding) in curl_headers(head), head
        assert body == BIG, (coding, len(body))


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_h2_raw_compressed_body(rampart, backend, coding):
    """Over h2 the compressed bytes themselves (curl without decoding) decode with our own
    decoders, and the response carries the right fields."""
    r, b = start(rampart, backend)
    b.on("/big", reply(BIG, "text/plain", chunked=True, headers=[("ETag", '"z"')]))
    out = curl("--http2-prior-knowledge", "-H", f"Accept-Encoding: {coding}", "-D", "-",
               f"http://127.0.0.1:{r.port}/big")
    assert out.returncode == 0, out
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/2 200"), head
    hs = curl_headers(head)
    assert ("content-encoding", coding) in hs and ("etag", 'W/"z"') in hs, hs
    assert not any(k == "content-length" for k, _ in hs), hs
    assert [v.lower() for k, v in hs if k == "vary"] == ["accept-encoding"], hs
    assert decode(coding, body) == BIG


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_h2_untouched_and_head(rampart, backend):
    r, b = start(rampart, backend)
    b.on("/png", reply(BIG, "image/png"))
    b.on("/big", reply(BIG, "text/plain"))
    base = f"http://127.0.0.1:{r.port}"
    out = curl("--http2-prior-knowledge", "-H", "Accept-Encoding: gzip", "-D", "-",
               f"{base}/png")
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    hs = curl_headers(head)
    assert ("content-length", str(len(BIG))) in hs and body == BIG, hs
    assert not any(k == "content-encoding" for k, _ in hs), hs
    out = curl("--http2-prior-knowledge", "-I", "-H", "Accept-Encoding: gzip",
               f"{base}/big")
    assert out.returncode == 0, out
    hs = curl_headers(out.stdout)
    assert ("content-encoding", "gzip") in hs, hs
    assert not any(k == "content-length" for k, _ in hs), hs


def test_h2_trailers_after_compressed_body(rampart, backend):
    h2srv = pytest.importorskip("test_h2_server")
    r, b = start(rampart, backend)
    b.on("/tr", reply(BIG, "text/plain", chunked=True, headers=[("Trailer", "X-Checksum")],
                      trailers=[("X-Checksum", "abc123")]))
    c = h2srv.H2(r.port)
    try:
        sid = c.request("GET", "/tr", [("accept-encoding", "gzip"), ("te", "trailers")])
        st = c.response(sid)
        assert st["reset"] is None and st["headers"][":status"] == "200", st["headers"]
        assert st["headers"].get("content-encoding") == "gzip", st["headers"]
        assert "content-length" not in st["headers"], st["headers"]
        assert gzip_decode(bytes(st["data"])) == BIG
        assert (st["trailers"] or {}).get("x-checksum") == "abc123", st["trailers"]
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# more edges: q-value spelling, framing variants, pipelining, aborts, reloads, h2 flushes


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


def test_h2_streaming_flush_before_backend_finishes(rampart, backend):
    h2srv = pytest.importorskip("test_h2_server")
    r, b = start(rampart, backend)
    body = text_body(60 * 1024)
    first, rest = body[:10 * 1024], body[10 * 1024:]
    second_sent = threading.Event()

    def slow(be, req, conn):
        hs = be.base_headers() + [("Content-Type", "text/plain"),
                                  ("Transfer-Encoding", "chunked")]
        conn.sendall(response_head(200, hs) + b"%x\r\n%s\r\n" % (len(first), first))
        be.stop_event.wait(1.0)
        second_sent.set()
        conn.sendall(b"".join(encode_chunked([rest])))
        return True

    b.on("/slow", slow)
    c = h2srv.H2(r.port)
    try:
        sid = c.request("GET", "/slow", [("accept-encoding", "gzip")])
        z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        st = c.st(sid)
        fed = 0
        decoded = b""
        deadline = time.monotonic() + 5
        while not decoded and not second_sent.is_set() and time.monotonic() < deadline:
            c.pump(0.7)
            decoded += z.decompress(bytes(st["data"][fed:]))
            fed = len(st["data"])
        assert decoded and not second_sent.is_set(), "nothing decodable before the pause ended"
        assert st["headers"].get("content-encoding") == "gzip", st["headers"]
        assert body.startswith(decoded) and len(decoded) <= len(first)
        st = c.response(sid)
        decoded += z.decompress(bytes(st["data"][fed:])) + z.flush()
        assert z.eof and decoded == body
    finally:
        c.close()


def test_h2_head_and_204(rampart, backend):
    h2srv = pytest.importorskip("test_h2_server")
    r, b = start(rampart, backend)
    b.on("/big", reply(BIG, "text/plain", headers=[("ETag", '"s"')]))
    b.on("/nc", reply(b"", "text/plain", status=204))
    c = h2srv.H2(r.port)
    try:
        g = c.response(c.request("GET", "/big", [("accept-encoding", "br")]))
        h = c.response(c.request("HEAD", "/big", [("accept-encoding", "br")]))
        n = c.response(c.request("GET", "/nc", [("accept-encoding", "br")]))
        for st in (g, h):
            assert st["headers"].get("content-encoding") == "br", st["headers"]
            assert "content-length" not in st["headers"], st["headers"]
            assert st["headers"].get("etag") == 'W/"s"'
        assert decode("br", bytes(g["data"])) == BIG and h["data"] == b""
        assert n["headers"][":status"] == "204" and "content-encoding" not in n["headers"]
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# an HTTP/2 (h2c) backend: its frames become the same response path


@pytest.fixture
def h2_origin():
    pytest.importorskip("h2.connection")
    from h2backend import H2Backend
    import util

    class Origin(H2Backend):
        """H2Backend plus /t/small (100 bytes, content-length), /t/big (BIG, content-length),
        /t/trailers (BIG then a trailer)."""

        def _answer(self, conn, r, reqs, due, out):
            path = (r.path or "/").split("?", 1)[0]
            sid = r.stream_id
            text = [("content-type", "text/plain")]
            if path == "/t/small":
                self._respond(conn, out, sid, 200, text + [("content-length", "100")], b"s" * 100)
            elif path == "/t/big":
                self._respond(conn, out, sid, 200, text + [("content-length", str(len(BIG)))],
                              BIG)
            elif path == "/t/trailers":
                self._respond(conn, out, sid, 200, text, BIG, trailers=[("x-checksum", "abc123")])
            else:
                return super()._answer(conn, r, reqs, due, out)
            reqs.pop(sid, None)

    yield from util.started_servers(lambda n: Origin(f"h2o{n}"))


def h2_origin_config(port):
    return make_config(workers=1, upstreams={"h2": {"servers": [f"127.0.0.1:{port}"],
                                                    "protocol": "h2c"}},
                       routes=[{"match": {"path_prefix": "/"}, "proxy": "h2", "compress": True}])


def test_h2_backend_bodies_compressed(rampart, h2_origin):
    o = h2_origin()
    r = rampart(h2_origin_config(o.port))
    with Client(r.port) as c:
        assert_compressed(c.request("GET", "/t/big", ae("gzip")), "gzip", BIG)
        resp = c.request("GET", "/t/trailers", ae("br") + [("TE", "trailers")])
        assert_compressed(resp, "br", BIG)
        assert ("x-checksum", "abc123") in [(k.lower(), v) for k, v in resp.trailers]
        resp = c.request("GET", "/json", ae("zstd") + [("X-Pad", "p" * 4000)])
        assert resp.headers_all("content-encoding") == ["zstd"], resp.headers
        assert "p" * 4000 in decode("zstd", resp.body).decode()
        # not a listed type: as it came
        resp = c.request("GET", "/size/5000", ae("gzip"))
        assert resp.header("content-encoding") is None and len(resp.body) == 5000


def test_h2_backend_min_length_by_content_length(rampart, h2_origin):
    # the backend's content-length: 100 is below min_length: not compressed, like from an
    # HTTP/1.1 backend
    o = h2_origin()
    r = rampart(h2_origin_config(o.port))
    resp = get(r.port, "/t/small", ae("gzip"))
    assert resp.status == 200
    assert resp.header("content-encoding") is None, resp.headers
    assert resp.body == b"s" * 100


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


def test_h2_big_body_and_reset_mid_stream(rampart, backend):
    h2srv = pytest.importorskip("test_h2_server")
    r, b = start(rampart, backend)
    big = text_body(3 * 1024 * 1024)
    b.on("/big", reply(big, "text/plain", chunked=True))
    c = h2srv.H2(r.port)
    try:
        # one stream abandoned with RST_STREAM after its first data, one read to the end
        gone = c.request("GET", "/big", [("accept-encoding", "br")])
        c.wait(lambda: len(c.st(gone)["data"]) > 0, what="first data")
        c.conn.reset_stream(gone, 8)  # CANCEL
        c.flush()
        sid = c.request("GET", "/big", [("accept-encoding", "zstd")])
        st = c.response(sid, timeout=30)
        assert st["headers"].get("content-encoding") == "zstd", st["headers"]
        assert decode("zstd", bytes(st["data"])) == big
    finally:
        c.close()
    assert_compressed(get(r.port, "/big", ae("gzip")), "gzip", big)


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
