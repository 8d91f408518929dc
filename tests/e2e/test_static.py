# The static file handler: index, Content-Type, validators and conditional requests, ranges,
# HEAD, directory redirects, and path traversal attempts that must never leave the root.
import os

import pytest

from util import Client, get, http, make_config, raw_exchange

INDEX = b"<html><body>index page</body></html>\n"
DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def site(tmp_path, rampart):
    root = tmp_path / "www"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "data.bin").write_bytes(DATA)
    (root / "style.css").write_bytes(b"body { color: red }\n")
    (root / "app.js").write_bytes(b"console.log(1)\n")
    (root / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    (root / "doc.json").write_bytes(b'{"a": 1}\n')
    (root / "notes.txt").write_bytes(b"plain notes\n")
    (root / "sub" / "index.html").write_bytes(b"sub index\n")
    (root / "sub" / "file.txt").write_bytes(b"sub file\n")
    (tmp_path / "secret.txt").write_bytes(b"TOPSECRET\n")
    cfg = make_config(routes=[
        {"match": {"path_prefix": "/files/"}, "strip_prefix": "/files",
         "static": {"root": str(root), "index": "index.html"}},
        {"match": {"path_prefix": "/"}, "static": {"root": str(root), "index": "index.html"}},
    ])
    r = rampart(cfg)
    return r, root


def test_index_at_root(site):
    r, _ = site
    resp = get(r.port, "/")
    assert resp.status == 200
    assert resp.body == INDEX
    assert resp.header("content-type", "").startswith("text/html")
    assert resp.header("content-length") == str(len(INDEX))


@pytest.mark.parametrize("name,ctype", [
    ("style.css", "text/css"), ("app.js", "javascript"), ("img.png", "image/png"),
    ("doc.json", "application/json"), ("notes.txt", "text/plain"),
    ("data.bin", "application/octet-stream"), ("index.html", "text/html"),
])
def test_content_type(site, name, ctype):
    r, root = site
    resp = get(r.port, "/" + name)
    assert resp.status == 200
    assert resp.body == (root / name).read_bytes()
    assert ctype in resp.header("content-type", ""), resp.headers


def test_strip_prefix_static(site):
    r, _ = site
    resp = get(r.port, "/files/sub/file.txt")
    assert resp.status == 200 and resp.body == b"sub file\n"


def test_validators_and_conditionals(site):
    r, _ = site
    resp = get(r.port, "/data.bin")
    etag = resp.header("etag")
    lm = resp.header("last-modified")
    assert etag and etag.startswith('"') and etag.endswith('"'), resp.headers
    assert lm and lm.endswith("GMT"), resp.headers
    r304 = get(r.port, "/data.bin", [("If-None-Match", etag)])
    assert r304.status == 304 and r304.body == b""
    assert r304.header("etag") == etag
    r304 = get(r.port, "/data.bin", [("If-None-Match", f'"nope", W/{etag}')])
    assert r304.status == 304
    r200 = get(r.port, "/data.bin", [("If-None-Match", '"other"')])
    assert r200.status == 200 and r200.body == DATA
    ims = get(r.port, "/data.bin", [("If-Modified-Since", lm)])
    assert ims.status == 304 and ims.body == b""
    old = get(r.port, "/data.bin", [("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")])
    assert old.status == 200 and old.body == DATA
    # If-None-Match wins over If-Modified-Since
    both = get(r.port, "/data.bin", [("If-None-Match", '"other"'), ("If-Modified-Since", lm)])
    assert both.status == 200


def test_etag_changes_with_content(site):
    r, root = site
    e1 = get(r.port, "/notes.txt").header("etag")
    (root / "notes.txt").write_bytes(b"plain notes, now longer\n")
    os.utime(root / "notes.txt", (1_000_000_000, 1_000_000_000))
    resp = get(r.port, "/notes.txt")
    assert resp.body == b"plain notes, now longer\n"
    assert resp.header("etag") != e1


def test_ranges(site):
    r, _ = site
    resp = get(r.port, "/data.bin", [("Range", "bytes=0-9")])
    assert resp.status == 206
    assert resp.body == DATA[:10]
    assert resp.header("content-range") == f"bytes 0-9/{len(DATA)}"
    assert resp.header("content-length") == "10"
    resp = get(r.port, "/data.bin", [("Range", "bytes=-5")])
    assert resp.status == 206 and resp.body == DATA[-5:]
    assert resp.header("content-range") == f"bytes {len(DATA) - 5}-{len(DATA) - 1}/{len(DATA)}"
    resp = get(r.port, "/data.bin", [("Range", "bytes=1000-")])
    assert resp.status == 206 and resp.body == DATA[1000:]
    resp = get(r.port, "/data.bin", [("Range", "bytes=100-99999")])
    assert resp.status == 206 and resp.body == DATA[100:]
    resp = get(r.port, "/data.bin", [("Range", "bytes=5000-6000")])
    assert resp.status == 416
    assert resp.header("content-range") == f"bytes */{len(DATA)}"
    resp = get(r.port, "/data.bin", [("Range", "items=0-1")])
    assert resp.status == 200 and resp.body == DATA


def test_head_has_no_body(site):
    r, _ = site
    with Client(r.port) as c:
        resp = c.request("HEAD", "/data.bin")
        assert resp.status == 200
        assert resp.header("content-length") == str(len(DATA))
        nxt = c.request("GET", "/notes.txt")  # would be garbled if HEAD had sent a body
        assert nxt.status == 200 and nxt.body == b"plain notes\n"


def test_directory_without_slash_redirects(site):
    r, _ = site
    resp = get(r.port, "/sub")
    assert resp.status == 301
    assert resp.header("location") in ("/sub/", f"http://localhost/sub/")
    resp = get(r.port, "/sub/")
    assert resp.status == 200 and resp.body == b"sub index\n"


def test_missing_file_404_and_post_405(site):
    r, _ = site
    assert get(r.port, "/nope.txt").status == 404
    resp = http(r.port, "POST", "/notes.txt", body=b"x")
    assert resp.status == 405
    assert "GET" in resp.header("allow", "")


TRAVERSALS = [
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/../../../../etc/passwd",
    "/sub/../../secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt",
    "/..\\secret.txt",
    "/%2e%2e%5csecret.txt",
    "/files/../secret.txt",
    "/files/%2e%2e/%2e%2e/secret.txt",
    "/files/..%2f..%2fsecret.txt",
    "/.%2e/secret.txt",
    "/%00/../secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_never_escapes_root(site, target):
    r, _ = site
    resp, _ = raw_exchange(r.port, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
                              check_close=False)
    assert resp is not None
    assert resp.status in (400, 403, 404), resp
    assert b"TOPSECRET" not in resp.body and b"root:" not in resp.body


def test_query_string_ignored_for_files(site):
    r, _ = site
    resp = get(r.port, "/notes.txt?v=123")
    assert resp.status == 200 and resp.body == b"plain notes\n"


def test_directory_redirect_keeps_query(site):
    r, _ = site
    resp = get(r.port, "/sub?x=1")
    assert resp.status == 301
    assert resp.header("location").endswith("/sub/?x=1"), resp.headers


def test_percent_encoded_file_name(site):
    r, root = site
    (root / "sp ace.txt").write_bytes(b"spaced\n")
    resp = get(r.port, "/sp%20ace.txt")
    assert resp.status == 200 and resp.body == b"spaced\n"


def test_if_range_and_multi_range(site):
    r, _ = site
    etag = get(r.port, "/data.bin").header("etag")
    resp = get(r.port, "/data.bin", [("Range", "bytes=0-9"), ("If-Range", etag)])
    assert resp.status == 206 and resp.body == DATA[:10]
    resp = get(r.port, "/data.bin", [("Range", "bytes=0-9"), ("If-Range", '"stale"')])
    assert resp.status == 200 and resp.body == DATA
    resp = get(r.port, "/data.bin", [("Range", "bytes=0-1,5-6")])
    assert resp.status in (200, 206)
    if resp.status == 200:
        assert resp.body == DATA


def test_if_match_precondition(site):
    r, _ = site
    resp = get(r.port, "/data.bin", [("If-Match", '"nope"')])
    assert resp.status == 412
    etag = get(r.port, "/data.bin").header("etag")
    assert get(r.port, "/data.bin", [("If-Match", etag)]).status == 200


def test_head_range_and_304_keep_connection(site):
    r, _ = site
    with Client(r.port) as c:
        resp = c.request("HEAD", "/data.bin", [("Range", "bytes=0-9")])
        assert resp.status in (200, 206) and resp.body == b""
        etag = c.request("GET", "/data.bin").header("etag")
        assert c.request("GET", "/data.bin", [("If-None-Match", etag)]).status == 304
        resp = c.request("GET", "/data.bin", [("Range", "bytes=5000-")])
        assert resp.status == 416
        resp = c.request("GET", "/notes.txt")
        assert resp.status == 200 and resp.body == b"plain notes\n"


def test_large_static_file(site):
    r, root = site
    from util import PatternChecker, pattern_chunks

    n = 20 << 20
    with open(root / "big.bin", "wb") as f:
        for p in pattern_chunks(n):
            f.write(p)
    chk = PatternChecker()
    with Client(r.port, timeout=30) as c:
        resp = c.request("GET", "/big.bin", sink=chk.feed)
    assert resp.status == 200 and chk.count == n and chk.ok
    resp = get(r.port, "/big.bin", [("Range", f"bytes={n - 100}-")])
    assert resp.status == 206 and len(resp.body) == 100
