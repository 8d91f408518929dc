# Malformed and ambiguous requests (RFC 9112 sections 2-7 and 11): each gets a 4xx/5xx from
# rampart itself, the connection is closed, and the backend never sees the request.
import pytest

from util import make_config, raw_exchange

CRLF = b"\r\n"


def req(*lines, body=b""):
    return CRLF.join(lines) + CRLF + CRLF + body


# Not here: "HTTP/1.2", which RFC 9110 section 2.5 says to process as HTTP/1.1 (ambiguous as a
# rejection test).
HEAD_CASES = {
    "cl_and_te": (req(b"POST / HTTP/1.1", b"Host: x", b"Content-Length: 5",
                      b"Transfer-Encoding: chunked", body=b"0\r\n\r\n"), {400}),
    "te_and_cl": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                      b"Content-Length: 5", body=b"0\r\n\r\n"), {400}),
    "two_different_cl": (req(b"POST / HTTP/1.1", b"Host: x", b"Content-Length: 5",
                             b"Content-Length: 6", body=b"hello!"), {400}),
    "duplicate_cl": (req(b"POST / HTTP/1.1", b"Host: x", b"Content-Length: 5",
                         b"Content-Length: 5", body=b"hello"), {400}),
    "cl_list": (req(b"POST / HTTP/1.1", b"Host: x", b"Content-Length: 1,1", body=b"a"), {400}),
    "cl_plus": (req(b"POST / HTTP/1.1", b"Host: x", b"Content-Length: +5", body=b"hello"), {400}),
    "cl_negative": (req(b"POST / HTTP/1.1", b"Host: x", b"Content-Length: -1"), {400}),
    "cl_hex": (req(b"POST / HTTP/1.1", b"Host: x", b"Content-Length: 0x5", body=b"hello"), {400}),
    "cl_overflow": (req(b"POST / HTTP/1.1", b"Host: x",
                        b"Content-Length: 99999999999999999999999999"), {400, 413}),
    "obs_fold": (req(b"GET / HTTP/1.1", b"Host: x", b"X-A: a", b"  folded"), {400}),
    "space_before_colon": (req(b"GET / HTTP/1.1", b"Host : x"), {400}),
    "space_before_colon_other": (req(b"GET / HTTP/1.1", b"Host: x", b"X-A : 1"), {400}),
    "bare_cr_in_value": (req(b"GET / HTTP/1.1", b"Host: x", b"X-A: a\rb"), {400}),
    "bare_lf_line_endings": (b"GET / HTTP/1.1\nHost: x\n\n", {400}),
    "nul_in_header": (req(b"GET / HTTP/1.1", b"Host: x", b"X-A: a\x00b"), {400}),
    "ctl_in_header": (req(b"GET / HTTP/1.1", b"Host: x", b"X-A: a\x01b"), {400}),
    "ctl_in_target": (req(b"GET /a\x01b HTTP/1.1", b"Host: x"), {400}),
    "space_in_target": (req(b"GET /a b HTTP/1.1", b"Host: x"), {400}),
    "del_in_target": (req(b"GET /a\x7fb HTTP/1.1", b"Host: x"), {400}),
    "bad_method_char": (req(b"GE(T / HTTP/1.1", b"Host: x"), {400}),
    "empty_method": (req(b" / HTTP/1.1", b"Host: x"), {400}),
    "double_space_request_line": (req(b"GET  / HTTP/1.1", b"Host: x"), {400}),
    "bad_version_token": (req(b"GET / HTTX/1.1", b"Host: x"), {400}),
    "version_garbage": (req(b"GET / HTTP/1.1x", b"Host: x"), {400}),
    "http09": (b"GET /\r\n\r\n", {400}),
    "major_version_3": (req(b"GET / HTTP/3.0", b"Host: x"), {400, 505}),
    "missing_host_11": (req(b"GET / HTTP/1.1", b"X-A: 1"), {400}),
    "two_hosts": (req(b"GET / HTTP/1.1", b"Host: x", b"Host: y"), {400}),
    "bad_host_value": (req(b"GET / HTTP/1.1", b"Host: a b"), {400}),
    "bad_header_name": (req(b"GET / HTTP/1.1", b"Host: x", b"Bad[Name]: 1"), {400}),
    "empty_header_name": (req(b"GET / HTTP/1.1", b"Host: x", b": 1"), {400}),
    "header_without_colon": (req(b"GET / HTTP/1.1", b"Host: x", b"NoColonHere"), {400}),
    "te_gzip_chunked": (req(b"POST / HTTP/1.1", b"Host: x",
                            b"Transfer-Encoding: gzip, chunked", body=b"0\r\n\r\n"), {400, 501}),
    "te_chunked_not_last": (req(b"POST / HTTP/1.1", b"Host: x",
                                b"Transfer-Encoding: chunked, gzip", body=b"0\r\n\r\n"), {400, 501}),
    "te_unknown": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: bogus",
                       body=b"0\r\n\r\n"), {400, 501}),
    "te_chunked_twice": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                             b"Transfer-Encoding: chunked", body=b"0\r\n\r\n"), {400, 501}),
    "te_in_http10": (req(b"POST / HTTP/1.0", b"Host: x", b"Transfer-Encoding: chunked",
                         body=b"0\r\n\r\n"), {400}),
    "te_xchunked": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: xchunked",
                        body=b"0\r\n\r\n"), {400, 501}),
    "te_chunked_comma_cl": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                                b"Content-Length: 0", body=b"0\r\n\r\n"), {400}),
    "te_vertical_tab": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding:\x0bchunked",
                            body=b"0\r\n\r\n"), {400, 501}),
    "asterisk_form_get": (req(b"GET * HTTP/1.1", b"Host: x"), {400}),
    "lf_only_request_line": (b"GET / HTTP/1.1\nHost: x\r\n\r\n", {400}),
    "header_name_non_ascii": (req(b"GET / HTTP/1.1", b"Host: x", b"X-\xc3\xa9: 1"), {400}),
    "cl_space_inside": (req(b"POST / HTTP/1.1", b"Host: x", b"Content-Length: 1 0",
                            body=b"0123456789"), {400}),
    "cl_empty": (req(b"POST / HTTP/1.1", b"Host: x", b"Content-Length: ", body=b""), {400}),
    "host_with_slash": (req(b"GET / HTTP/1.1", b"Host: a/b"), {400}),
    "host_with_at": (req(b"GET / HTTP/1.1", b"Host: user@a"), {400}),
    "bad_percent_in_path": (req(b"GET /a%zz HTTP/1.1", b"Host: x"), {400}),
    "encoded_nul_in_path": (req(b"GET /a%00b HTTP/1.1", b"Host: x"), {400}),
    "relative_target": (req(b"GET a/b HTTP/1.1", b"Host: x"), {400}),
}

BODY_CASES = {
    "chunk_size_zz": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                          body=b"zz\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk_size_overflow": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                                body=b"fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), {400, 413}),
    "chunk_size_negative": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                                body=b"-5\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk_missing_crlf": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                               body=b"5\r\nhelloXX0\r\n\r\n"), {400}),
    "chunk_size_empty": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                             body=b"\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk_trailer_obs_fold": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                                   body=b"0\r\nX-T: a\r\n b\r\n\r\n"), {400}),
    "chunk_ext_ctl": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                          body=b"5;a=\x00\r\nhello\r\n0\r\n\r\n"), {400}),
    "chunk_size_bare_lf": (req(b"POST / HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
                               body=b"5\nhello\r\n0\r\n\r\n"), {400}),
}


@pytest.fixture
def target(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    return r, b


def check(r, raw, allowed):
    resp, closed = raw_exchange(r.port, raw)
    assert resp is not None, "rampart closed the connection without a response"
    assert resp.status in allowed, resp
    assert closed, "connection left open after a framing error"
    return resp


@pytest.mark.parametrize("name", sorted(HEAD_CASES))
def test_malformed_head(target, name):
    r, b = target
    raw, allowed = HEAD_CASES[name]
    check(r, raw, allowed)
    assert b.heads == 0 and b.nrequests == 0, b.requests
    assert r.alive()


@pytest.mark.parametrize("name", sorted(BODY_CASES))
def test_malformed_chunked_body(target, name):
    r, b = target
    raw, allowed = BODY_CASES[name]
    check(r, raw, allowed)
    # the head may have been streamed to the backend, but never a complete request
    assert b.nrequests == 0, b.requests
    assert r.alive()


def test_valid_control_still_works(target):
    """The same shapes, well formed, are proxied (guards the table against false passes)."""
    r, b = target
    good = [
        req(b"POST /ok1 HTTP/1.1", b"Host: x", b"Content-Length: 5", body=b"hello"),
        req(b"POST /ok2 HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
            body=b"5\r\nhello\r\n0\r\n\r\n"),
        req(b"GET /ok3 HTTP/1.1", b"Host: x", b"X-A: a b\tc"),
        req(b"GET /ok4 HTTP/1.0"),
        req(b"POST /ok5 HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
            body=b"5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
    ]
    for raw in good:
        resp, _ = raw_exchange(r.port, raw, check_close=False)
        assert resp is not None and resp.status == 200, (raw, resp)
    assert b.nrequests == len(good)
    assert [x.body for x in b.requests] == [b"hello", b"hello", b"", b"", b"hello"]


def test_smuggled_request_after_error_is_not_processed(target):
    """Bytes after a rejected request must never be parsed as a new request."""
    r, b = target
    raw = (req(b"POST /first HTTP/1.1", b"Host: x", b"Content-Length: 1,1", body=b"a")
           + req(b"GET /smuggled HTTP/1.1", b"Host: x"))
    resp, closed = raw_exchange(r.port, raw)
    assert resp is not None and resp.status == 400
    assert closed
    assert all("/smuggled" not in q.target for q in b.requests) and b.heads == 0


def test_chunked_body_then_pipelined_request(target):
    """A well formed chunked body is consumed exactly: the request after it is the next one."""
    r, b = target
    raw = (req(b"POST /one HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
               body=b"3\r\nabc\r\n0\r\n\r\n")
           + req(b"GET /two HTTP/1.1", b"Host: x", b"Connection: close"))
    from util import send_raw

    data = send_raw(r.port, raw, timeout=5)
    assert data.count(b"HTTP/1.1 200") == 2, data
    assert [q.target for q in b.requests] == ["/one", "/two"]
    assert b.requests[0].body == b"abc"


def test_trailer_fields_not_forwarded_as_framing(target):
    """Trailers may not smuggle framing fields into the forwarded head."""
    r, b = target
    raw = req(b"POST /tr HTTP/1.1", b"Host: x", b"Transfer-Encoding: chunked",
              body=b"3\r\nabc\r\n0\r\nContent-Length: 50\r\nX-Ok: 1\r\n\r\n")
    resp, _ = raw_exchange(r.port, raw, check_close=False)
    assert resp is not None and resp.status in (200, 400)
    if resp.status == 200:
        q = b.last()
        assert q.body == b"abc"
        assert q.header("content-length") in (None, "3"), q.headers
        assert "content-length" not in [k.lower() for k, _ in q.trailers], \
            f"framing field forwarded in trailers: {q.trailers}"
