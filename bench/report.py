#!/usr/bin/python3
"""Numbers for bench/run.sh: parses one wrk --latency output, and turns the raw result lines
of a whole run into the comparison table (plain text on stdout, markdown into a file).

  report.py wrk FILE              -> "RPS P50_MS P99_MS ERRORS" (a "-" where wrk gave nothing)
  report.py table RAW MD [TITLE]  -> prints the table, writes the markdown to MD
RAW lines (tab-separated):
  run  ROUND SCENARIO PROXY STATUS RPS P50_MS P99_MS PEAK_RSS_KB ERRORS
  idle PROXY STATUS BASE_RSS_KB LOADED_RSS_KB READY ALIVE
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
    fields = [
        f"{float(rps.group(1)):.1f}" if rps else "-",
        f"{to_ms(p50.group(1)):.3f}" if p50 and to_ms(p50.group(1)) is not None else "-",
        f"{to_ms(p99.group(1)):.3f}" if p99 and to_ms(p99.group(1)) is not None else "-",
        str(errors),
    ]
    print(" ".join(fields))


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
    order, table = [], {}
    for r in runs:
        key = (r["scenario"], r["proxy"])
        if r["scenario"] not in order:
            order.append(r["scenario"])
        table.setdefault(key, []).append(r)
    result = {}
    for key, rs in table.items():
        ok = [r for r in rs if r["status"] == "ok" and r["rps"] is not None]
        if not ok:
            statuses = sorted({r["status"] for r in rs})
            result[key] = {"status": ", ".join(statuses)}
            continue
        med = lambda name: statistics.median(  # noqa: E731 - a one-line helper reads best here
            [r[name] for r in ok if r[name] is not None] or [0.0])
        result[key] = {
            "status": "ok" if len(ok) == len(rs) else f"ok {len(ok)}/{len(rs)}",
            "rps": med("rps"),
            "best": max(r["rps"] for r in ok),
            "p50": med("p50"),
            "p99": med("p99"),
            "rss": max((r["rss"] for r in ok if r["rss"] is not None), default=None),
            "errors": sum(r["errors"] or 0 for r in ok),
        }
    return order, result


def render(order, result, idles, notes, title):
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

    text = [text_table(head, rows)]
    md = [f"# {title}", ""] + [f"- {n}" for n in notes] + ["", "## Throughput and latency", "",
                                                            md_table(head, rows)]
    if irows:
        text += ["", text_table(ihead, irows)]
        md += ["", "## Idle keep-alive connections", "", md_table(ihead, irows)]
    return "\n".join(text), "\n".join(md) + "\n"


def table(raw, md_path, title):
    runs, idles, notes = [], [], []
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
            elif p[0] == "note":
                notes.append(p[1])
    order, result = cells(runs)
    text, md = render(order, result, idles, notes, title)
    print(text)
    with open(md_path, "w", encoding="utf-8") as f:
        f.write(md)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "wrk":
        parse_wrk(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "table":
        table(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "Bench results")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
