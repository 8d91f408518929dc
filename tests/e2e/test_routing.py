# Route selection (host exact and wildcard, path exact/prefix/regex, methods, headers, first
# match wins, 404 when none), redirect and respond actions, path rewrites and header edits,
# and path normalisation before matching.
import pytest

from util import get, http, make_config


def respond(body, status=200, ctype="text/plain"):
    return {"status": status, "body": body, "content_type": ctype}


ROUTES = [
    {"match": {"host": "exact.test", "path_prefix": "/"}, "respond": respond("exact-host\n")},
    {"match": {"host": "*.wild.test", "path_prefix": "/"}, "respond": respond("wild-host\n")},
    {"match": {"host": ["one.test", "two.test"], "path_prefix": "/"},
     "respond": respond("host-list\n")},
    {"match": {"path": "/exact"}, "respond": respond("path-exact\n")},
    {"match": {"path_regex": "^/re/[0-9]+$"}, "respond": respond("path-regex\n")},
    {"match": {"path_prefix": "/m/", "methods": ["POST", "PUT"]}, "respond": respond("methods\n")},
    {"match": {"path_prefix": "/h/", "headers": {"X-Flag": "on"}}, "respond": respond("hdr-on\n")},
    {"match": {"path_prefix": "/h/", "headers": {"X-Any": "*"}}, "respond": respond("hdr-any\n")},
    {"match": {"path_prefix": "/first/"}, "respond": respond("first\n")},
    {"match": {"path_prefix": "/first/"}, "respond": respond("second\n")},
    {"match": {"path": "/b"}, "respond": respond("bee\n")},
    {"match": {"path_prefix": "/a/"}, "respond": respond("ay\n")},
    {"match": {"path_prefix": "/teapot"},
     "respond": {"status": 418, "body": "{\"tea\": 1}", "content_type": "application/json"}},
    {"match": {"path_prefix": "/old/"},
     "redirect": {"status": 301, "location": "https://new.example$request_uri"}},
    {"match": {"path_prefix": "/tmp-redirect"}, "redirect": {"location": "/elsewhere"}},
    {"match": {"path_prefix": "/secure/"},
     "redirect": {"status": 308, "location": "https://$host$request_uri"}},
    {"match": {"path_prefix": "/api/"}, "strip_prefix": "/api", "add_prefix": "/v2", "proxy": "app"},
    {"match": {"path_prefix": "/strip-only/"}, "strip_prefix": "/strip-only", "proxy": "app"},
    {"match": {"path_prefix": "/hdrs/"}, "proxy": "app",
     "request_headers": {"set": {"X-Set": "s1", "User-Agent": "rampart-test"},
                         "add": {"X-Added": "a1"}, "remove": ["X-Remove-Me"]},
     "response_headers": {"set": {"X-Resp-Set": "r1"}, "add": {"X-Resp-Add": "r2"},
                          "remove": ["X-Backend"]}},
    {"match": {"path_prefix": "/proxied/"}, "proxy": "app"},
]


@pytest.fixture
def routed(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], routes=ROUTES))
    return r, b


CASES = [
    # (method, target, headers, status, body)
    ("GET", "/x", [("Host", "exact.test")], 200, b"exact-host\n"),
    ("GET", "/x", [("Host", "EXACT.test:8080")], 200, b"exact-host\n"),
    ("GET", "/x", [("Host", "a.wild.test")], 200, b"wild-host\n"),
    ("GET", "/x", [("Host", "a.b.wild.test")], 200, b"wild-host\n"),
    ("GET", "/x", [("Host", "wild.test")], 404, None),
    ("GET", "/x", [("Host", "two.test")], 200, b"host-list\n"),
    ("GET", "/exact", [], 200, b"path-exact\n"),
    ("GET", "/exact/", [], 404, None),
    ("GET", "/exactly", [], 404, None),
    ("GET", "/exact?q=1", [], 200, b"path-exact\n"),
    ("GET", "/re/123", [], 200, b"path-regex\n"),
    ("GET", "/re/12a", [], 404, None),
    ("POST", "/m/x", [], 200, b"methods\n"),
    ("GET", "/m/x", [], 404, None),
    ("GET", "/h/x", [("X-Flag", "on")], 200, b"hdr-on\n"),
    ("GET", "/h/x", [("X-Flag", "off")], 404, None),
    ("GET", "/h/x", [("X-Flag", "off"), ("X-Any", "zzz")], 200, b"hdr-any\n"),
    ("GET", "/first/x", [], 200, b"first\n"),
    ("GET", "/nothing-here", [], 404, None),
    ("GET", "/a/../b", [], 200, b"bee\n"),
    ("GET", "/a/./../b", [], 200, b"bee\n"),
    ("GET", "/a//x", [], 200, b"ay\n"),
    ("GET", "/%62", [], 200, b"bee\n"),
]


@pytest.mark.parametrize("method,target,headers,status,body", CASES,
                         ids=[f"{c[0]} {c[1]} {c[2]}" for c in CASES])
def test_route_selection(routed, method, target, headers, status, body):
    r, b = routed
    resp = http(r.port, method, target, headers, body=b"" if method == "POST" else None)
    assert resp.status == status, resp
    if body is not None:
        assert resp.body == body
    assert b.heads == 0


def test_respond_action(routed):
    r, _ = routed
    resp = get(r.port, "/teapot")
    assert resp.status == 418
    assert resp.body == b'{"tea": 1}'
    assert resp.header("content-type") == "application/json"
    assert resp.header("content-length") == "10"
    ok = get(r.port, "/exact")
    assert ok.header("content-type") == "text/plain"


def test_respond_head(routed):
    r, _ = routed
    from util import Client

    with Client(r.port) as c:
        resp = c.request("HEAD", "/exact")
        assert resp.status == 200 and resp.header("content-length") in ("11", None)
        assert c.request("GET", "/exact").body == b"path-exact\n"


def test_redirect_action(routed):
    r, _ = routed
    resp = get(r.port, "/old/page?x=1&y=2")
    assert resp.status == 301
    assert resp.header("location") == "https://new.example/old/page?x=1&y=2"
    resp = get(r.port, "/tmp-redirect/z")
    assert resp.status == 302
    assert resp.header("location") == "/elsewhere"


def test_strip_and_add_prefix(routed):
    r, b = routed
    resp = get(r.port, "/api/users/7?full=1")
    assert resp.status == 200, resp
    assert b.last().target == "/v2/users/7?full=1"
    resp = get(r.port, "/strip-only/z")
    assert resp.status == 200
    assert b.last().target == "/z"


def test_request_and_response_header_edits(routed):
    r, b = routed
    resp = get(r.port, "/hdrs/x", [("X-Set", "client"), ("X-Set", "client2"),
                                   ("X-Added", "client-added"), ("X-Remove-Me", "bye"),
                                   ("User-Agent", "orig")])
    assert resp.status == 200
    req = b.last()
    assert req.headers_all("x-set") == ["s1"]
    assert req.headers_all("user-agent") == ["rampart-test"]
    assert req.headers_all("x-added") == ["client-added", "a1"]
    assert req.header("x-remove-me") is None
    assert resp.headers_all("x-resp-set") == ["r1"]
    assert resp.headers_all("x-resp-add") == ["r2"]
    assert resp.header("x-backend") is None


def test_proxy_forwards_normalised_path(routed):
    r, b = routed
    resp = get(r.port, "/proxied/a/../b")
    assert resp.status == 200
    # routed by the normalised path; what is sent upstream must not climb above the route
    assert ".." not in b.last().target


def test_no_routes_404(rampart):
    r = rampart(make_config(routes=[{"match": {"path": "/only"}, "respond": respond("x")}]))
    assert get(r.port, "/").status == 404
    assert get(r.port, "/only").status == 200


HOST_CASES = [
    ("exact.test.", b"exact-host\n"),
    ("Exact.Test", b"exact-host\n"),
    ("x.WILD.test:99", b"wild-host\n"),
    ("one.test.:80", b"host-list\n"),
]


@pytest.mark.parametrize("host,body", HOST_CASES)
def test_host_normalisation(routed, host, body):
    r, _ = routed
    resp = get(r.port, "/x", [("Host", host)])
    assert resp.status == 200 and resp.body == body, resp


def test_absolute_form_authority_wins(routed):
    r, _ = routed
    from util import raw_exchange

    resp, _ = raw_exchange(r.port, b"GET http://exact.test/x HTTP/1.1\r\nHost: other.test\r\n\r\n",
                           check_close=False)
    assert resp is not None and resp.status == 200 and resp.body == b"exact-host\n", resp


def test_redirect_request_uri_keeps_encoding(routed):
    r, _ = routed
    resp = get(r.port, "/old/a%20b?q=%2F")
    assert resp.status == 301
    assert resp.header("location") == "https://new.example/old/a%20b?q=%2F"


def test_redirect_to_https_per_route_with_host(routed):
    """A route-level HTTP-to-HTTPS redirect: $host is the request's host without its port."""
    r, _ = routed
    resp = get(r.port, "/secure/p?x=1", [("Host", "Shop.Example:8080")])
    assert resp.status == 308
    assert resp.header("location") in ("https://shop.example/secure/p?x=1",
                                       "https://Shop.Example/secure/p?x=1")


def test_request_headers_set_host_replaces_it(rampart, backend):
    """`set` replaces every instance, Host included: the backend must never get two Hosts."""
    b = backend()
    r = rampart(make_config(backends=[b.port], routes=[
        {"match": {"path_prefix": "/"}, "proxy": "app",
         "request_headers": {"set": {"Host": "forced.example"}}}]))
    assert get(r.port, "/hh", [("Host", "orig.example")]).status == 200
    assert b.last().headers_all("host") == ["forced.example"], b.last().headers


def test_response_headers_on_local_responses(rampart, tmp_path):
    """Route response header edits apply whatever the handler (respond, redirect, static)."""
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "f.txt").write_text("f")
    edits = {"set": {"X-Edit": "1"}}
    r = rampart(make_config(routes=[
        {"match": {"path": "/resp"}, "respond": {"status": 200, "body": "x"},
         "response_headers": edits},
        {"match": {"path": "/redir"}, "redirect": {"location": "/y"}, "response_headers": edits},
        {"match": {"path_prefix": "/"}, "static": {"root": str(tmp_path / "www")},
         "response_headers": edits},
    ]))
    missing = []
    for target in ("/resp", "/redir", "/f.txt"):
        resp = get(r.port, target)
        assert resp.status in (200, 302)
        if resp.header("x-edit") != "1":
            missing.append(target)
    assert missing == [], f"response_headers not applied for {missing}"
