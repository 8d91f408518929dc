# The same proxy driven by widely used clients rather than the suite's raw-socket client: curl,
# Python's http.client and httpx, each over keep-alive, with bodies in both directions.
import http.client
import subprocess

import httpx

from util import make_config


def test_curl_get_post_and_upload(rampart, backend, tmp_path):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    base = f"http://127.0.0.1:{r.port}"
    out = subprocess.run(["curl", "-sS", "-i", f"{base}/echo/get"], capture_output=True,
                         timeout=20, check=True).stdout
    assert out.startswith(b"HTTP/1.1 200"), out[:200]
    assert b"\r\nServer: rampart\r\n" in out
    out = subprocess.run(["curl", "-sS", "--data-binary", "hello curl", f"{base}/echo/post"],
                         capture_output=True, timeout=20, check=True).stdout
    assert out == b"hello curl"
    # a chunked upload of a file (-T with Transfer-Encoding: chunked)
    f = tmp_path / "up.bin"
    f.write_bytes(b"0123456789" * 30000)
    out = subprocess.run(["curl", "-sS", "-T", str(f), "-H", "Transfer-Encoding: chunked",
                          f"{base}/upload"], capture_output=True, timeout=20, check=True).stdout
    assert out == b"300000"
    # two URLs on one connection: curl reuses it
    res = subprocess.run(["curl", "-sS", "-v", "-o", "/dev/null", "-o", "/dev/null",
                          f"{base}/echo/a", f"{base}/echo/b"], capture_output=True, timeout=20)
    assert b"Re-using existing connection" in res.stderr or b"Reusing existing" in res.stderr


def test_http_client_keep_alive(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port], workers=1))
    c = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
    for i in range(20):
        body = f"body-{i}".encode() * 100
        c.request("PUT", f"/echo/{i}", body=body)
        resp = c.getresponse()
        assert resp.status == 200
        assert resp.read() == body
    c.close()
    assert b.connections <= 2


def test_httpx_streaming(rampart, backend):
    b = backend()
    r = rampart(make_config(backends=[b.port]))
    with httpx.Client(base_url=f"http://127.0.0.1:{r.port}", timeout=20) as client:
        total = 0
        with client.stream("GET", "/size/3000000") as resp:
            assert resp.status_code == 200
            for chunk in resp.iter_bytes():
                total += len(chunk)
        assert total == 3000000

        def gen():
            for _ in range(64):
                yield b"x" * 16384

        resp = client.post("/upload", content=gen())
        assert resp.status_code == 200
        assert resp.text == str(64 * 16384)
