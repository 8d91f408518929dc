#!/usr/bin/python3
"""A tiny demo backend for the rampart quickstart (standard library only).

Answers every request with a small page naming itself and echoing the method, path and request
headers it received, so you can see what rampart forwards (X-Forwarded-For and friends).
Speaks HTTP/1.1 with keep-alive, so rampart's upstream connection pool gets reused.

    python3 examples/demo_backend.py --port 9001 --name a

Ask for JSON with "Accept: application/json" or "?format=json".
"""

import argparse
import html
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 1 << 20  # read (and count) at most this much of a request body


class DemoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length

    def version_string(self):
        return "rampart-demo-backend"

    def _read_body(self):
        """Drain the request body so the connection stays usable for the next request."""
        length = self.headers.get("Content-Length")
        if length is None:
            return 0
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            return 0
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            return 0
        self.rfile.read(n)
        return n

    def _answer(self):
        body_len = self._read_body()
        name, port = self.server.demo_name, self.server.server_address[1]
        url = urlsplit(self.path)
        info = {
            "backend": name,
            "port": port,
            "method": self.command,
            "path": url.path,
            "query": url.query,
            "client": self.client_address[0],
            "request_body_bytes": body_len,
            "headers": [[k, v] for k, v in self.headers.items()],
        }
        want_json = "json" in self.headers.get("Accept", "") or parse_qs(url.query).get(
            "format"
        ) == ["json"]
        if want_json:
            payload = (json.dumps(info, indent=2) + "\n").encode()
            ctype = "application/json"
        else:
            payload = render_html(info).encode()
            ctype = "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Demo-Backend", name)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _answer

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        """Quiet: the proxy's access log is the one worth reading."""


def render_html(info):
    e = html.escape
    rows = "\n".join(
        f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in info["headers"]
    )
    title = f"demo backend {info['backend']} on port {info['port']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body {{ font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 46rem;
        padding: 0 1rem; color: #0f172a; background: #f8fafc; }}
 h1 {{ font-size: 1.4rem; margin-bottom: .2rem; }}
 .tag {{ display: inline-block; padding: .1rem .6rem; border-radius: 999px; color: #fff;
        background: {"#0369a1" if info["port"] % 2 else "#7c3aed"}; font-weight: 600; }}
 table {{ border-collapse: collapse; width: 100%; margin-top: 1rem; }}
 th, td {{ text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e2e8f0;
          vertical-align: top; font-family: ui-monospace, Menlo, monospace; font-size: .88rem; }}
 th {{ white-space: nowrap; color: #475569; }}
 p {{ color: #475569; }}
</style></head><body>
<h1>demo backend <span class="tag">{e(info["backend"])}</span> on port {info["port"]}</h1>
<p>{e(info["method"])} <code>{e(info["path"])}{"?" + e(info["query"]) if info["query"] else ""}</code>
 from {e(info["client"])}. Reload: rampart balances between the two backends.
 <a href="/">Back to the welcome page</a>.</p>
<h2>Request headers as this backend received them</h2>
<table>
{rows}
</table>
</body></html>
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()

    ThreadingHTTPServer.daemon_threads = True  # do not wait for idle keep-alive clients on exit
    ThreadingHTTPServer.allow_reuse_address = True
    try:
        server = ThreadingHTTPServer((args.host, args.port), DemoHandler)
    except OSError as err:
        print(f"demo backend {args.name}: cannot listen on {args.host}:{args.port}: {err}",
              file=sys.stderr)
        return 1
    server.demo_name = args.name
    # SIGTERM (sent by run-demo.sh on exit) ends serve_forever cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
