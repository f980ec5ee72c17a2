#!/usr/bin/env python3
"""routes_report.py RECORDS.csv TSV HTML: the per-route table of a run (docs/experiments.md).

RECORDS.csv is the request log (--request-log, docs/csv-format.md; RFC 4180). A route is
the method and the target's path without query and fragment, as on /metrics. The 50 routes
with the most energy get a row each, the rest one "other" row. Percentiles are
nearest-rank: p = the ceil(p/100 * n)-th smallest energy. TSV (for gnuplot): rank, route,
count, mean, p50, p90, p99 uJ, sorted by total energy. HTML: the table.
Bad input: one line "routes_report: FILE:LINE: COLUMN: WHAT" and exit 1."""
import csv
import html
import math
import sys

TOP = 50
NEEDED = ("method", "target", "energy_uj")


def fail(where, what):
    print(f"routes_report: {where}: {what}", file=sys.stderr)
    sys.exit(1)


def route_of(method, target):
    low = target.lower()
    if low.startswith("http://") or low.startswith("https://"):
        rest = target[target.index("://") + 3:]
        cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        target = rest[cut:] if rest[cut:cut + 1] == "/" else "/"
    for sep in "?#":
        target = target.split(sep, 1)[0]
    return f"{method} {target}"


def rank(sorted_values, p):
    return sorted_values[max(1, math.ceil(p / 100 * len(sorted_values))) - 1]


def main():
    if len(sys.argv) != 4:
        print("usage: routes_report.py RECORDS.csv TSV HTML", file=sys.stderr)
        sys.exit(2)
    path = sys.argv[1]
    energies = {}
    with open(path, newline="") as f:
        reader = csv.reader(f, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            fail(f"{path}:1", "empty file: no header")
        for name in NEEDED:
            if name not in header:
                fail(f"{path}:1", f"{name}: column missing")
        col = {name: header.index(name) for name in NEEDED}
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if len(row) != len(header):
                    fail(where, f"{len(row)} cells, the header has {len(header)}")
                text = row[col["energy_uj"]]
                try:
                    uj = float(text)
                except ValueError:
                    uj = float("nan")
                if not math.isfinite(uj) or uj < 0:
                    fail(where, f'energy_uj: "{text}" is not a number >= 0')
                key = route_of(row[col["method"]], row[col["target"]])
                energies.setdefault(key, []).append(uj)
        except csv.Error as e:
            fail(f"{path}:{reader.line_num}", f"not RFC 4180 CSV ({e})")
    routes = sorted(energies.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    rows = routes[:TOP]
    rest = [uj for _, v in routes[TOP:] for uj in v]
    if rest:
        rows.append((f"other ({len(routes) - TOP} routes)", rest))
    with open(sys.argv[2], "w") as tsv, open(sys.argv[3], "w") as out:
        out.write("<table><tr><th>route</th><th>requests</th><th>energy (uJ)</th>"
                  "<th>mean</th><th>p50</th><th>p90</th><th>p99</th></tr>\n")
        for i, (name, v) in enumerate(rows, 1):
            s = sorted(v)
            cells = [len(s), sum(s), sum(s) / len(s), rank(s, 50), rank(s, 90), rank(s, 99)]
            fmt = [f"{cells[0]}"] + [f"{c:.1f}" for c in cells[1:]]
            label = name.replace("\t", " ").replace('"', "'")  # gnuplot quotes with '"'
            tsv.write("\t".join([str(i), label] + fmt[:1] + fmt[2:]) + "\n")
            out.write(f"<tr><td>{html.escape(name)}</td>" +
                      "".join(f"<td>{c}</td>" for c in fmt) + "</tr>\n")
        out.write("</table>\n")


main()
