#!/usr/bin/python3
"""Numbers for bench/run.sh: parses one wrk --latency output, and turns the raw result lines
of a whole run into the comparison table (plain text on stdout, markdown into a file).

  report.py wrk FILE              -> "RPS P50_MS P99_MS ERRORS REQUESTS" ("-" where wrk gave
                                     nothing)
  report.py h2load FILE...        -> "RPS MEAN_MS ERRORS REQUESTS PROTOCOL" over one or more
                                     h2load outputs (several: requests / summed elapsed time)
  report.py table RAW MD [TITLE]  -> prints the tables, writes the markdown to MD
RAW lines (tab-separated):
  run  ROUND SCENARIO PROXY STATUS RPS P50_MS P99_MS PEAK_RSS_KB ERRORS
  idle PROXY STATUS BASE_RSS_KB LOADED_RSS_KB READY ALIVE
  tls  ROUND SCENARIO PROXY STATUS RPS P50_MS P99_MS MEAN_MS CPU_US_PER_REQ PEAK_RSS_KB ERRORS
  tlsidle PROXY STATUS BASE_RSS_KB LOADED_RSS_KB BASE_PSS_KB LOADED_PSS_KB READY ALIVE
  lb   ROUND PROXY-BALANCER STATUS RPS P50_MS P99_MS ERRORS SLOW_SHARE_PERCENT
  lbpick FILE   (lb_pick_bench's markdown, copied under the load-balancing table)
  note TEXT
"""
import re
import statistics
import sys

PROXIES = ["nginx", "haproxy", "rampart"]
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNIT_MS[m.group(2)] if m else None


def parse_wrk(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        out = f.read()
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    errors = 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    total = re.search(r"^\s*(\d+) requests in ", out, re.M)
    fields = [
        f"{float(rps.group(1)):.1f}" if rps else "-",
        f"{to_ms(p50.group(1)):.3f}" if p50 and to_ms(p50.group(1)) is not None else "-",
        f"{to_ms(p99.group(1)):.3f}" if p99 and to_ms(p99.group(1)) is not None else "-",
        str(errors),
        total.group(1) if total else "-",
    ]
    print(" ".join(fields))


def parse_h2load(paths):
    """Sums one or more h2load runs: a single run gives h2load's own req/s (which leaves out
    any warm-up), several give all succeeded requests over their summed elapsed times."""
    done, elapsed, errors, mean_sum, single_rps, proto = 0, 0.0, 0, 0.0, None, "-"
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            out = f.read()
        fin = re.search(r"finished in ([0-9.]+)(ms|s), ([0-9.]+) req/s", out)
        req = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, "
                        r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
        if not fin or not req:
            errors += 1
            continue
        n = int(req.group(1))
        errors += sum(int(x) for x in req.groups()[1:])
        codes = re.search(r"status codes: \d+ 2xx, \d+ 3xx, (\d+) 4xx, (\d+) 5xx", out)
        if codes:
            n -= int(codes.group(1)) + int(codes.group(2))
            errors += int(codes.group(1)) + int(codes.group(2))
        done += n
        elapsed += float(fin.group(1)) / (1000.0 if fin.group(2) == "ms" else 1.0)
        single_rps = float(fin.group(3))
        mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", out)
        if mean and to_ms(mean.group(1)) is not None:
            mean_sum += to_ms(mean.group(1)) * n
        p = re.search(r"Application protocol: (\S+)", out)
        if p:
            proto = p.group(1)
    if done == 0 or elapsed == 0:
        print(f"- - {errors} 0 {proto}")
        return
    rps = single_rps if len(paths) == 1 else done / elapsed
    print(f"{rps:.1f} {mean_sum / done:.3f} {errors} {done} {proto}")


def num(text):
    try:
        return float(text)
    except ValueError:
        return None


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}"


def cells(runs):
    """Median (and best req/s) per scenario and proxy over the rounds that succeeded."""
    extra = ["mean", "cpu"] if runs and "cpu" in runs[0] else []
    order, table = [], {}
    for r in runs:
        key = (r["scenario"], r["proxy"])
        if r["scenario"] not in order:
            order.append(r["scenario"])
        table.setdefault(key, []).append(r)
    result = {}
    for key, rs in table.items():
        # "errors": a TLS/h2 run where over 0.1 % of requests failed; its rate (successes
        # only) is kept, and the row says so.
        ok = [r for r in rs if r["status"] in ("ok", "errors") and r["rps"] is not None]
        if not ok:
            statuses = sorted({r["status"] for r in rs})
            result[key] = {"status": ", ".join(statuses)}
            continue
        med = lambda name: statistics.median(  # noqa: E731 - a one-line helper reads best here
            [r[name] for r in ok if r[name] is not None] or [0.0])
        result[key] = {
            "status": ("ok" if len(ok) == len(rs) else f"ok {len(ok)}/{len(rs)}")
            + (", errors" if any(r["status"] == "errors" for r in ok) else ""),
            "rps": med("rps"),
            "best": max(r["rps"] for r in ok),
            "p50": med("p50"),
            "p99": med("p99"),
            "rss": max((r["rss"] for r in ok if r["rss"] is not None), default=None),
            "errors": sum(r["errors"] or 0 for r in ok),
        }
        for name in extra:
            vals = [r[name] for r in ok if r[name] is not None]
            result[key][name] = statistics.median(vals) if vals else None
    return order, result


TLS_MEANING = {
    "tls-new": "new TLS connections/s, full handshake, 1 request each (h2load --h1 bursts)",
    "tls-resume": "TLS connections/s resumed by ticket, 1 request each (h2load --h1, "
                  "Connection: close)",
    "tls-ka-128B": "HTTPS/1.1 keep-alive, 128 B (wrk)",
    "tls-ka-1MiB": "HTTPS/1.1 keep-alive, 1 MiB (wrk)",
    "h2-128B": "HTTP/2 over TLS (ALPN h2), multiplexed (streams: see the notes), 128 B (h2load)",
    "h2c-128B": "h2c prior knowledge, multiplexed (streams: see the notes), 128 B (h2load)",
}


def tls_rows(order, result):
    head = ["scenario", "proxy", "req/s (median)", "req/s (best)", "p50 ms", "p99 ms",
            "mean ms", "proxy CPU us/req", "peak RSS MiB", "errors", "req/s vs nginx",
            "req/s vs haproxy", "CPU/req vs nginx", "CPU/req vs haproxy"]
    rows = []
    for scen in order:
        for proxy in PROXIES:
            c = result.get((scen, proxy))
            if c is None:
                continue
            if "rps" not in c:
                rows.append([scen, proxy, c["status"]] + ["-"] * (len(head) - 3))
                continue
            rat = ["-"] * 4
            if proxy == "rampart":
                ng, ha = result.get((scen, "nginx"), {}), result.get((scen, "haproxy"), {})
                rat = [ratio(c["rps"], ng.get("rps")), ratio(c["rps"], ha.get("rps")),
                       ratio(c["cpu"], ng.get("cpu")), ratio(c["cpu"], ha.get("cpu"))]
            status = "" if c["status"] == "ok" else f" ({c['status']})"
            rows.append([scen, proxy + status, fmt(c["rps"], ".0f"), fmt(c["best"], ".0f"),
                         fmt(c["p50"] or None, ".3f"), fmt(c["p99"] or None, ".3f"),
                         fmt(c["mean"], ".3f"), fmt(c["cpu"], ".1f"),
                         fmt(c["rss"] / 1024 if c["rss"] else None, ".1f"), str(int(c["errors"]))]
                        + rat)
    return head, rows


def tlsidle_rows(tlsidles):
    head = ["proxy", "connections", "still open", "RSS before MiB", "RSS with conns MiB",
            "RSS bytes per conn", "PSS before MiB", "PSS with conns MiB", "PSS bytes per conn"]
    rows = []
    for i in tlsidles:
        if i["status"] != "ok":
            rows.append([i["proxy"], i["status"]] + ["-"] * (len(head) - 2))
            continue
        per = lambda a, b: (b - a) * 1024 / i["ready"] if i["ready"] else None  # noqa: E731
        rows.append([i["proxy"], str(i["ready"]), str(i["alive"]), f"{i['base'] / 1024:.1f}",
                     f"{i['loaded'] / 1024:.1f}", fmt(per(i["base"], i["loaded"]), ".0f"),
                     f"{i['pbase'] / 1024:.1f}", f"{i['ploaded'] / 1024:.1f}",
                     fmt(per(i["pbase"], i["ploaded"]), ".0f")])
    return head, rows


LB_NAMES = {"lc": "least connections", "rr": "round robin", "p2c": "power of two choices",
            "random": "random"}
LB_BALANCE = {
    "nginx-lc": "least_conn", "nginx-rr": "(round robin)", "nginx-p2c": "random two least_conn",
    "haproxy-lc": "balance leastconn", "haproxy-rr": "balance roundrobin",
    "haproxy-p2c": "balance random(2)", "rampart-lc": "balance: least_conn",
    "rampart-rr": "balance: round_robin", "rampart-p2c": "balance: p2c",
    "rampart-random": "balance: random",
}


def lb_cells(lbruns):
    """Median req/s, p50, p99 and slow-backend share per proxy-balancer over the rounds."""
    order, by = [], {}
    for r in lbruns:
        if r["proxy"] not in order:
            order.append(r["proxy"])
        by.setdefault(r["proxy"], []).append(r)
    result = {}
    for name, rs in by.items():
        ok = [r for r in rs if r["status"] == "ok" and r["rps"] is not None]
        if not ok:
            result[name] = {"status": ", ".join(sorted({r["status"] for r in rs}))}
            continue
        med = lambda k: statistics.median(  # noqa: E731
            [r[k] for r in ok if r[k] is not None] or [0.0])
        result[name] = {"status": "ok" if len(ok) == len(rs) else f"ok {len(ok)}/{len(rs)}",
                        "rps": med("rps"), "best": max(r["rps"] for r in ok),
                        "p50": med("p50"), "p99": med("p99"), "share": med("share"),
                        "p99s": [r["p99"] for r in ok], "errors": sum(r["errors"] or 0 for r in ok)}
    return order, result


def lb_rows(order, result):
    head = ["proxy", "balancer", "req/s (median)", "req/s (best)", "p50 ms", "p99 ms",
            "p99 ms per round", "% to slow backend", "errors", "req/s vs nginx lc",
            "req/s vs haproxy lc", "p99 vs nginx lc (lower is better)",
            "p99 vs haproxy lc (lower is better)"]
    rank = {"nginx": 0, "haproxy": 1, "rampart": 2}
    names = sorted(order, key=lambda n: (rank.get(n.split("-")[0], 3), n))
    ng, ha = result.get("nginx-lc", {}), result.get("haproxy-lc", {})
    rows = []
    for name in names:
        c = result[name]
        bal = LB_BALANCE.get(name, name)
        if "rps" not in c:
            rows.append([name.split("-")[0], bal, c["status"]] + ["-"] * (len(head) - 3))
            continue
        rat = ["-"] * 4
        if name.startswith("rampart-"):
            rat = [ratio(c["rps"], ng.get("rps")), ratio(c["rps"], ha.get("rps")),
                   ratio(c["p99"], ng.get("p99")), ratio(c["p99"], ha.get("p99"))]
        status = "" if c["status"] == "ok" else f" ({c['status']})"
        rows.append([name.split("-")[0] + status, bal, fmt(c["rps"], ".0f"),
                     fmt(c["best"], ".0f"), fmt(c["p50"], ".3f"), fmt(c["p99"], ".3f"),
                     " / ".join(fmt(x, ".2f") for x in c["p99s"]), fmt(c["share"], ".2f"),
                     str(int(c["errors"]))] + rat)
    return head, rows


def render(order, result, idles, notes, title, tls=None, tlsidles=(), lb=None, lbpick=()):
    head = ["scenario", "proxy", "req/s (median)", "req/s (best)", "p50 ms", "p99 ms",
            "peak RSS MiB", "errors", "req/s vs nginx", "req/s vs haproxy", "RSS vs nginx",
            "RSS vs haproxy"]
    rows = []
    for scen in order:
        for proxy in PROXIES:
            c = result.get((scen, proxy))
            if c is None:
                continue
            if "rps" not in c:
                rows.append([scen, proxy, c["status"]] + ["-"] * (len(head) - 3))
                continue
            rat = ["-"] * 4
            if proxy == "rampart":
                ng, ha = result.get((scen, "nginx"), {}), result.get((scen, "haproxy"), {})
                rat = [ratio(c["rps"], ng.get("rps")), ratio(c["rps"], ha.get("rps")),
                       ratio(c["rss"], ng.get("rss")), ratio(c["rss"], ha.get("rss"))]
            status = "" if c["status"] == "ok" else f" ({c['status']})"
            rows.append([scen, proxy + status, fmt(c["rps"], ".0f"), fmt(c["best"], ".0f"),
                         fmt(c["p50"], ".3f"), fmt(c["p99"], ".3f"),
                         fmt(c["rss"] / 1024 if c["rss"] else None, ".1f"), str(c["errors"])]
                        + rat)
    ihead = ["proxy", "connections", "still open", "RSS before MiB", "RSS with conns MiB",
             "bytes per idle conn"]
    irows = []
    for i in idles:
        if i["status"] != "ok":
            irows.append([i["proxy"], i["status"], "-", "-", "-", "-"])
            continue
        per = (i["loaded"] - i["base"]) * 1024 / i["ready"] if i["ready"] else None
        irows.append([i["proxy"], str(i["ready"]), str(i["alive"]), f"{i['base'] / 1024:.1f}",
                      f"{i['loaded'] / 1024:.1f}", fmt(per, ".0f")])

    def text_table(h, rs):
        widths = [max(len(str(x)) for x in col) for col in zip(h, *rs)]
        line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))  # noqa: E731
        return "\n".join([line(h), line(["-" * w for w in widths])] + [line(r) for r in rs])

    def md_table(h, rs):
        out = ["| " + " | ".join(h) + " |", "|" + "|".join("---" for _ in h) + "|"]
        return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rs])

    text, md = [], [f"# {title}", ""] + [f"- {n}" for n in notes]
    if rows:
        text += [text_table(head, rows)]
        md += ["", "## Throughput and latency", "", md_table(head, rows)]
    if irows:
        text += ["", text_table(ihead, irows)]
        md += ["", "## Idle keep-alive connections", "", md_table(ihead, irows)]
    if tls and tls[0]:
        thead, trows = tls_rows(*tls)
        text += ["", text_table(thead, trows)]
        md += ["", "## TLS and HTTP/2", ""]
        md += [f"- `{s}`: {TLS_MEANING.get(s, s)}" for s in tls[0]]
        md += ["", md_table(thead, trows)]
    if tlsidles:
        ihead2, irows2 = tlsidle_rows(tlsidles)
        text += ["", text_table(ihead2, irows2)]
        md += ["", "## Idle TLS connections", "", md_table(ihead2, irows2)]
    if lb and lb[0]:
        lhead, lrows = lb_rows(*lb)
        text += ["", text_table(lhead, lrows)]
        md += ["", "## Load balancing: four backends, one slow", "", md_table(lhead, lrows)]
    for path in lbpick:
        with open(path, encoding="utf-8", errors="replace") as f:
            md += ["", "## Balancer pick cost (lb_pick_bench)", "", f.read().rstrip("\n")]
    return "\n".join(text), "\n".join(md) + "\n"


def table(raw, md_path, title):
    runs, idles, notes, tlsruns, tlsidles, lbruns, lbpick = [], [], [], [], [], [], []
    with open(raw, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] == "run" and len(p) == 10:
                runs.append({"round": p[1], "scenario": p[2], "proxy": p[3], "status": p[4],
                             "rps": num(p[5]), "p50": num(p[6]), "p99": num(p[7]),
                             "rss": num(p[8]), "errors": num(p[9])})
            elif p[0] == "idle" and len(p) == 7:
                idles.append({"proxy": p[1], "status": p[2], "base": num(p[3]) or 0,
                              "loaded": num(p[4]) or 0, "ready": int(num(p[5]) or 0),
                              "alive": int(num(p[6]) or 0)})
            elif p[0] == "tls" and len(p) == 12:
                tlsruns.append({"round": p[1], "scenario": p[2], "proxy": p[3], "status": p[4],
                                "rps": num(p[5]), "p50": num(p[6]), "p99": num(p[7]),
                                "mean": num(p[8]), "cpu": num(p[9]), "rss": num(p[10]),
                                "errors": num(p[11]) or 0})
            elif p[0] == "tlsidle" and len(p) == 9:
                tlsidles.append({"proxy": p[1], "status": p[2], "base": num(p[3]) or 0,
                                 "loaded": num(p[4]) or 0, "pbase": num(p[5]) or 0,
                                 "ploaded": num(p[6]) or 0, "ready": int(num(p[7]) or 0),
                                 "alive": int(num(p[8]) or 0)})
            elif p[0] == "lb" and len(p) == 9:
                lbruns.append({"round": p[1], "proxy": p[2], "status": p[3], "rps": num(p[4]),
                               "p50": num(p[5]), "p99": num(p[6]), "errors": num(p[7]),
                               "share": num(p[8])})
            elif p[0] == "lbpick" and len(p) == 2:
                lbpick.append(p[1])
            elif p[0] == "note":
                notes.append(p[1])
    order, result = cells(runs)
    text, md = render(order, result, idles, notes, title, cells(tlsruns), tlsidles,
                      lb_cells(lbruns), lbpick)
    print(text)
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(md)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "wrk":
        parse_wrk(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "h2load":
        parse_h2load(sys.argv[2:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "table":
        table(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "Bench results")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
