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
