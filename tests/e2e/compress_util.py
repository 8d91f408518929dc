# Shared pieces of the compression tests (test_compress.py, test_compress_h2.py): decoders
# (gzip by zlib, zstd by the zstd command, brotli by libbrotlidec through ctypes), bodies,
# a scriptable backend reply, the three-route config, and assertions on compressed/untouched
# responses.
import ctypes
import ctypes.util
import gzip
import shutil
import subprocess
import zlib

import pytest

from util import encode_chunked, make_config, response_head

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


def curl(*args, timeout=30):
    return subprocess.run([CURL, "-sS", *args], capture_output=True, timeout=timeout)


def curl_headers(text):
    hs = []
    for line in text.decode("latin-1").split("\r\n")[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            hs.append((k.strip().lower(), v.strip()))
    return hs
