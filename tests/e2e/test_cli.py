# The command line: --version, --help, `check` with error positions, and the zero-config start.
import re
import subprocess

from util import RAMPART_BIN, Client, dump_config, free_port, make_config


def run(args, timeout=10):
    return subprocess.run([RAMPART_BIN] + args, capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_version():
    p = run(["--version"])
    assert p.returncode == 0, p
    out = (p.stdout + p.stderr).decode()
    assert "rampart 0.1.0" in out


def test_help():
    p = run(["--help"])
    assert p.returncode == 0, p
    out = (p.stdout + p.stderr).decode().lower()
    assert "usage" in out or "rampart" in out
    assert "-c" in out


def test_check_good_file(tmp_path):
    f = tmp_path / "good.yaml"
    f.write_text(dump_config(make_config(backends=[free_port()])))
    p = run(["check", "-c", str(f)])
    assert p.returncode == 0, (p.stdout, p.stderr)


BAD = """\
workers: 2
listen:
  - address: "127.0.0.1:18080"
upstreams:
  app:
    servers:
      - address: "127.0.0.1:19001"
    keepalivee: 32
routes:
  - match: {path_prefix: /}
    proxy: app
timeouts:
  header: tenseconds
"""


def error_lines(out, name):
    pat = re.compile(r"^(\S*?):(\d+):(\d+): (.+)$")
    errs = []
    for line in out.splitlines():
        m = pat.match(line.strip())
        if m and m.group(1).endswith(name):
            errs.append((int(m.group(2)), int(m.group(3)), m.group(4)))
    return errs


def test_check_reports_every_error_with_position(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    p = run(["check", "-c", str(f)])
    out = (p.stdout + p.stderr).decode()
    assert p.returncode == 1, out
    errs = error_lines(out, "bad.yaml")
    lines = sorted({e[0] for e in errs})
    assert lines == [8, 13], out
    unknown = [e for e in errs if e[0] == 8]
    assert all(e[1] >= 1 for e in errs)
    assert unknown[0][1] == 5, out  # the key starts in column 5
    msg = unknown[0][2].lower()
    assert "keepalivee" in msg and "did you mean" in msg and "keepalive" in msg.split("did you mean")[1]


def test_check_invalid_yaml_syntax(tmp_path):
    f = tmp_path / "syntax.yaml"
    f.write_text("workers: 2\nlisten: [\n  {address: \n")
    p = run(["check", "-c", str(f)])
    out = (p.stdout + p.stderr).decode()
    assert p.returncode == 1, out
    assert error_lines(out, "syntax.yaml"), out


def test_check_unknown_upstream(tmp_path):
    cfg = make_config(backends=[free_port()])
    cfg["routes"][0]["proxy"] = "nosuch"
    f = tmp_path / "u.yaml"
    f.write_text(dump_config(cfg))
    p = run(["check", "-c", str(f)])
    out = (p.stdout + p.stderr).decode()
    assert p.returncode == 1, out
    assert error_lines(out, "u.yaml"), out


def test_zero_config_round_robin(rampart, backend):
    b1, b2 = backend("b1"), backend("b2")
    port = free_port()
    rampart(args=["--listen", f"127.0.0.1:{port}", "--to", b1.address, "--to", b2.address,
                  "--workers", "2"], port=port)
    seen = []
    for i in range(20):  # a fresh connection each time
        with Client(port) as c:
            r = c.request("GET", f"/rr/{i}")
            assert r.status == 200, r
            seen.append(r.header("x-backend"))
    with Client(port) as c:  # and one keep-alive connection
        for i in range(20):
            r = c.request("GET", f"/rr-ka/{i}")
            assert r.status == 200, r
            seen.append(r.header("x-backend"))
    n1, n2 = seen.count("b1"), seen.count("b2")
    assert n1 + n2 == 40
    assert b1.nrequests == n1 and b2.nrequests == n2
    assert abs(n1 - n2) <= 4, (n1, n2)


BAD3 = """\
workers: many
listenn:
  - address: "127.0.0.1:18080"
limits:
  max_body_size: 1x
"""


def test_check_three_errors_in_file_order(tmp_path):
    f = tmp_path / "bad3.yaml"
    f.write_text(BAD3)
    p = run(["check", "-c", str(f)])
    out = (p.stdout + p.stderr).decode()
    assert p.returncode == 1, out
    errs = error_lines(out, "bad3.yaml")
    lines = [e[0] for e in errs]
    for want in (1, 2, 5):
        assert want in lines, out
    assert lines == sorted(lines), out
    (unknown,) = [e for e in errs if e[0] == 2]
    assert "did you mean" in unknown[2].lower() and "listen" in unknown[2], out


def test_missing_config_file(tmp_path):
    p = run(["-c", str(tmp_path / "nope.yaml")])
    assert p.returncode != 0
    assert "nope.yaml" in (p.stdout + p.stderr).decode()


def test_check_missing_file(tmp_path):
    p = run(["check", "-c", str(tmp_path / "nope.yaml")])
    assert p.returncode == 1
    assert "nope.yaml" in (p.stdout + p.stderr).decode()


def test_unknown_option():
    p = run(["--no-such-option"])
    assert p.returncode != 0
    assert p.stderr or p.stdout


def test_zero_config_bad_address():
    p = run(["--listen", "127.0.0.1:notaport", "--to", "127.0.0.1:1"])
    assert p.returncode != 0
    assert b"notaport" in p.stdout + p.stderr


def test_port_in_use_fails_fast(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        f = tmp_path / "busy.yaml"
        f.write_text(dump_config(make_config(port=port, routes=[
            {"match": {"path": "/"}, "respond": {"status": 200, "body": "x"}}])))
        p = run(["-c", str(f)], timeout=10)
        assert p.returncode != 0
        assert str(port) in (p.stdout + p.stderr).decode()
    finally:
        s.close()


MANY = """\
workers: "two"
listen:
  - address: "127.0.0.1:18080"
routes:
  - match: {path_prefix: /}
  - match: {path_regex: "([a-"}
    respond: {status: 200}
  - match: {path: /z}
    proxyy: app
  - match: {path: /t}
    respond: {status: 999}
timeouts: {header: -5s, body: 10q}
limits: {max_body_size: lots}
"""


def test_check_reports_many_kinds_of_error(tmp_path):
    f = tmp_path / "many.yaml"
    f.write_text(MANY)
    p = run(["check", "-c", str(f)])
    out = (p.stdout + p.stderr).decode()
    assert p.returncode == 1, out
    errs = error_lines(out, "many.yaml")
    lines = {e[0] for e in errs}
    # wrong type, no action, bad regex, unknown key, out of range, two bad durations, bad size
    for want in (1, 5, 6, 9, 11, 12, 13):
        assert want in lines, (want, out)
    assert len([e for e in errs if e[0] == 12]) == 2, out
    assert any("did you mean" in e[2] and "proxy" in e[2] for e in errs if e[0] == 9), out
