# The access log: one JSON object per request with the fields an operator needs, and log file
# reopening on SIGUSR1 (for rotation by rename).
import json
import os
import re

from util import Client, get, http, make_config, wait_for


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def values(obj):
    """All scalar values of a (possibly nested) JSON object, with their key names."""
    for k, v in obj.items():
        if isinstance(v, dict):
            yield from values(v)
        else:
            yield k, v


def lines_for(text, needle):
    return [o for o in json_lines(text) if any(v == needle or (isinstance(v, str) and needle in v)
                                               for _, v in values(o))]


def test_json_access_log(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    body = b"q" * 123
    resp = http(r.port, "POST", "/logtest/one?x=1", body=body)
    assert resp.status == 200
    rid = resp.header("x-request-id")
    get(r.port, "/logtest/two")
    get(r.port, "/logtest/three")

    def found():
        return all(len(lines_for(r.stdout_text(), f"/logtest/{n}")) == 1
                   for n in ("one", "two", "three"))

    wait_for(found, timeout=5, what=f"one access line per request\n{r.logs()}")
    (obj,) = lines_for(r.stdout_text(), "/logtest/one")
    kv = list(values(obj))
    vals = [v for _, v in kv]
    keys = [k.lower() for k, _ in kv]
    assert "POST" in vals, obj
    assert "/logtest/one?x=1" in vals or "/logtest/one" in vals, obj
    assert 200 in vals or "200" in vals, obj
    assert any(isinstance(v, str) and v.startswith("127.0.0.1") for v in vals), obj  # client
    assert any(isinstance(v, str) and v.endswith(f":{b.port}") for v in vals), obj  # upstream
    assert rid and rid in vals, obj
    byte_keys = [k for k in keys if re.search(r"byte|size|length|sent|recv", k)]
    assert len(byte_keys) >= 2, obj
    nums = [int(v) for k, v in kv if re.search(r"byte|size|length|sent|recv", k.lower())
            and str(v).isdigit()]
    assert any(n >= 123 for n in nums), obj  # bytes in covers at least the request body
    assert any(re.search(r"dur|time|ms|latency|elapsed", k) and isinstance(v, (int, float))
               for k, v in zip(keys, vals)), obj


def test_access_log_reopen_on_usr1(rampart, backend, tmp_path):
    b = backend()
    logf = tmp_path / "access.log"
    r = rampart(make_config(backends=[b.port], log={"access": str(logf)}))
    assert get(r.port, "/before-rotate").status == 200
    wait_for(lambda: logf.exists() and "/before-rotate" in logf.read_text(), timeout=5,
             what="first line in the access log")
    rotated = tmp_path / "access.log.1"
    os.rename(logf, rotated)
    r.reopen_logs()
    wait_for(logf.exists, timeout=5, what="access log reopened at the original path")
    assert get(r.port, "/after-rotate").status == 200
    wait_for(lambda: "/after-rotate" in logf.read_text(), timeout=5,
             what="new line in the new access log")
    assert "/after-rotate" not in rotated.read_text()
    assert "/before-rotate" not in logf.read_text()
    assert "/before-rotate" in rotated.read_text()
    assert r.alive()


def test_access_log_off(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], log={"access": "off"}))
    with Client(r.port) as c:
        for i in range(3):
            assert c.request("GET", f"/quiet/{i}").status == 200
    assert "/quiet/" not in r.stdout_text()


def test_combined_access_log(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], log={"format": "combined"}))
    get(r.port, "/combined/path?q=1", [("User-Agent", "ua-test/1.0"), ("Referer", "http://ref/")])

    def line():
        for ln in r.stdout_text().splitlines():
            if "/combined/path?q=1" in ln:
                return ln
        return None

    ln = wait_for(line, timeout=5, what="combined access line")
    assert ln.startswith("127.0.0.1 "), ln
    assert '"GET /combined/path?q=1 HTTP/1.1" 200 ' in ln, ln
    assert '"ua-test/1.0"' in ln and '"http://ref/"' in ln, ln


def test_log_line_escapes_hostile_input(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    resp = get(r.port, "/esc", [("User-Agent", 'evil"\\ agent\xe9\t{')])
    assert resp.status == 200
    wait_for(lambda: "/esc" in r.stdout_text(), timeout=5, what="access line")
    r.out.read_bytes().decode("utf-8")  # JSON lines must be valid UTF-8 whatever the client sent
    for ln in r.stdout_text().splitlines():
        if "/esc" in ln:
            obj = json.loads(ln)  # must stay valid JSON
            assert 'evil"\\ agent' in json.dumps(obj) or any(
                isinstance(v, str) and v.startswith('evil"\\ agent') for _, v in values(obj)), obj


def test_errors_and_local_responses_are_logged(rampart):
    r = rampart(make_config(routes=[
        {"match": {"path": "/here"}, "respond": {"status": 201, "body": "x"}}]))
    get(r.port, "/here")
    get(r.port, "/missing-route")

    def both():
        t = r.stdout_text()
        return lines_for(t, "/here") and lines_for(t, "/missing-route")

    wait_for(both, timeout=5, what="lines for local responses")
    (here,) = lines_for(r.stdout_text(), "/here")
    (miss,) = lines_for(r.stdout_text(), "/missing-route")
    assert 201 in [v for _, v in values(here)] or "201" in [v for _, v in values(here)]
    assert 404 in [v for _, v in values(miss)] or "404" in [v for _, v in values(miss)]


def test_error_log_file_reopen_on_usr1(rampart, tmp_path):
    from util import free_port

    dead = free_port()
    errf = tmp_path / "error.log"
    r = rampart(make_config(backends=[dead], log={"error": str(errf), "level": "info"}))
    assert get(r.port, "/first").status == 502
    wait_for(lambda: errf.exists() and str(dead) in errf.read_text(), timeout=5,
             what="refused-connection warning in the error log")
    os.rename(errf, tmp_path / "error.log.1")
    r.reopen_logs()
    wait_for(errf.exists, timeout=5, what="error log reopened")
    assert get(r.port, "/second").status == 502
    wait_for(lambda: str(dead) in errf.read_text(), timeout=5, what="warning in the new error log")
