"""Renders bench/run.sh's results.tsv as the markdown report: medians with min-max, the ratios
the benchmark issue sets targets for, and whether each target holds.

    report.py RESULTS MODE DURATION REPEATS LOAD_SECONDS"""
import collections
import datetime
import os
import platform
import statistics
import subprocess
import sys


def load(path):
    values = collections.defaultdict(list)
    with open(path) as results:
        for line in results:
            cell, metric, value = line.rstrip("\n").split("\t")
            values[(cell, metric)].append(value)
    return values


def numbers(values, cell, metric):
    return [float(v) for v in values.get((cell, metric), [])]


def median(values, cell, metric):
    found = numbers(values, cell, metric)
    return statistics.median(found) if found else float("nan")


def spread(values, cell, metric, fmt="{:,.0f}"):
    found = numbers(values, cell, metric)
    if not found:
        return "n/a"
    text = fmt.format(statistics.median(found))
    if len(found) > 1:
        text += " (" + fmt.format(min(found)) + "–" + fmt.format(max(found)) + ")"
    return text


def fields(line):
    return dict(item.split("=", 1) for item in line.split())


def machine():
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(l.split(":", 1)[1].strip() for l in info if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=os.path.dirname(__file__)).stdout.strip()
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}; aitools {commit}"


def main():
    path, mode, duration, repeats, load_seconds = sys.argv[1:6]
    v = load(path)
    out = []
    out.append(f"# aitools benchmark report ({mode})\n")
    out.append(f"{datetime.datetime.now():%Y-%m-%d %H:%M}, {machine()}. Servers pinned to cpu 0, "
               f"wrk (`-t1`, keep-alive) to cpu 1; throughput cells {duration} s each, "
               f"{repeats} interleaved runs: median (min–max).\n")

    out.append("## Throughput (requests/s)\n")
    cells = sorted({c.split("|")[1] for c, _ in v if c.startswith("throughput|")},
                   key=lambda name: [c for c, _ in v].index(f"throughput|{name}|32"))
    out.append("| server, request | -c32 | -c256 | failed |")
    out.append("|---|---|---|---|")
    for name in cells:
        failed = sum(numbers(v, f"throughput|{name}|32", "failed") +
                     numbers(v, f"throughput|{name}|256", "failed"))
        out.append(f"| {name} | {spread(v, f'throughput|{name}|32', 'rps')} | "
                   f"{spread(v, f'throughput|{name}|256', 'rps')} | {failed:.0f} |")
    out.append("")
    out.append("| peak RSS | MiB |")
    out.append("|---|---|")
    for cell, metric in v:
        if cell.startswith("rss|"):
            out.append(f"| {cell[4:]} | {median(v, cell, metric) / 1024:.1f} |")
    out.append("")

    def ratio(a, b, conns):
        return median(v, f"throughput|{a}|{conns}", "rps") / median(v, f"throughput|{b}|{conns}", "rps")

    targets = []
    for conns in ("32", "256"):
        targets += [
            (f"static ≥ 0.90× raw Pistache (GET, -c{conns})",
             ratio("aitools static GET", "raw Pistache GET", conns), "≥", 0.90),
            (f"actor-backed ≥ 0.75× raw Pistache (actor_echo GET, -c{conns})",
             ratio("aitools actor_echo GET", "raw Pistache GET", conns), "≥", 0.75),
            (f"actor-backed ≥ 0.75× raw Pistache (embedded greeting actor GET, -c{conns})",
             ratio("aitools embedded greeting actor GET", "raw Pistache GET", conns), "≥", 0.75),
            (f"for reference: raw Pistache + CAF actor vs raw Pistache (GET, -c{conns})",
             ratio("raw Pistache + CAF actor GET", "raw Pistache GET", conns), "info", 0),
            (f"for reference: actor-backed vs raw Pistache + CAF actor (GET, -c{conns})",
             ratio("aitools actor_echo GET", "raw Pistache + CAF actor GET", conns), "info", 0),
            (f"echo ≥ 7× FastAPI/uvicorn (POST 1 KB, -c{conns})",
             ratio("aitools echo POST 1 KB", "FastAPI/uvicorn POST 1 KB", conns), "≥", 7.0),
            (f"static ≥ 3× FastAPI/uvicorn (GET, -c{conns})",
             ratio("aitools static GET", "FastAPI/uvicorn GET", conns), "≥", 3.0),
        ]

    out.append("## Route-count scaling (GET on one `{param}` route)\n")
    out.append("| routes | requests/s | reload pass (ms) | POST /admin/reload until served (ms) | RSS (MiB) |")
    out.append("|---|---|---|---|---|")
    counts = sorted({int(c.split("|")[1]) for c, _ in v if c.startswith("routes|")})
    for count in counts:
        cell = f"routes|{count}"
        out.append(f"| {count:,} | {spread(v, cell, 'rps')} | {spread(v, cell, 'pass_ms', '{:,.1f}')} | "
                   f"{spread(v, cell, 'reload_ms', '{:,.1f}')} | {median(v, cell, 'rss_kib') / 1024:.1f} |")
    out.append("")
    if 10 in counts and 10000 in counts:
        targets.append(("10k routes within 5 % of 10 routes (requests/s)",
                        median(v, "routes|10000", "rps") / median(v, "routes|10", "rps"), "≥", 0.95))
    if 100000 in counts:
        targets.append(("100k-route table built and swapped < 1 s (reload until served, ms)",
                        median(v, "routes|100000", "reload_ms"), "<", 1000.0))

    latency = fields(v[("latency", "line")][0])
    burst = fields(v[("burst", "line")][0])
    out.append("## Reload latency (atomic rename → first response with the new generation)\n")
    latencies = [("the run directory's disk", latency)]
    if ("latency_tmpfs", "line") in v:
        latencies.append(("tmpfs", fields(v[("latency_tmpfs", "line")][0])))
    out.append("| services directory on | trials | p50 | p90 | p99 | max |")
    out.append("|---|---|---|---|---|---|")
    for where, found in latencies:
        out.append(f"| {where} | {found['trials']} | " +
                   " | ".join(f"{float(found[k]):.2f} ms" for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")) +
                   " |")
    out.append("")
    out.append(f"Burst: {burst['saves']} saves in {burst['window_ms']} ms → "
               f"{burst['generations']} generations, final state is the last write: "
               f"{burst['final_correct']} (served {float(burst['settle_ms']):.0f} ms after the last save).\n")
    for where, found in latencies:
        targets += [(f"rename → live p50 ≤ 5 ms ({where})", float(found["p50_ms"]), "≤", 5.0),
                    (f"rename → live p99 ≤ 10 ms ({where})", float(found["p99_ms"]), "≤", 10.0)]
    targets += [("100-save burst ≤ 10 generations", float(burst["generations"]), "≤", 10.0),
                ("100-save burst: final state is the last write",
                 1.0 if burst["final_correct"] == "yes" else 0.0, "≥", 1.0)]

    rounds = len(numbers(v, "load|aitools|steady", "rps"))
    out.append(f"## Reload under load (wrk -c32, {load_seconds} s, one change a second)\n")
    out.append(f"Each server: {rounds} round(s) of {load_seconds} s without reloads, then {load_seconds} s "
               "with; requests/s are the median over the rounds, failed requests their sum.\n")
    out.append("| server | requests/s, no reloads | requests/s, reloading | drop | failed requests (non-2xx + socket errors) |")
    out.append("|---|---|---|---|---|")
    for name, how in (("aitools", "manifest saved (rename)"), ("caddy", "POST /load"),
                      ("nginx", "nginx -s reload")):
        steady = median(v, f"load|{name}|steady", "rps")
        reloading = median(v, f"load|{name}|reloading", "rps")
        failed = sum(numbers(v, f"load|{name}|reloading", "failed"))
        out.append(f"| {name} ({how}) | {steady:,.0f} | {reloading:,.0f} | "
                   f"{(1 - reloading / steady) * 100:.1f} % | {failed:.0f} |")
        if name == "aitools":
            targets += [("reload under load: 0 failed requests", failed, "≤", 0.0),
                        ("reload under load: throughput drop ≤ 5 %", (1 - reloading / steady) * 100, "≤", 5.0)]
    generations = numbers(v, "load|aitools|reloading", "generations")
    if generations:
        out.append(f"\naitools applied {generations[0]:.0f} generations during the reloading runs.")
    out.append("")

    churn = fields(v[("churn", "line")][0])
    growth_mib = float(churn["growth_after_100_kib"]) / 1024
    out.append("## Memory under churn\n")
    out.append(f"{churn['reloads']} reloads (each a changed manifest applied by POST /admin/reload) in "
               f"{float(churn['seconds']):.1f} s: RSS {float(churn['rss_start_kib']) / 1024:.1f} MiB at start, "
               f"{float(churn['rss_after_100_kib']) / 1024:.1f} MiB after 100, "
               f"{float(churn['rss_end_kib']) / 1024:.1f} MiB after all ({growth_mib:+.2f} MiB).\n")
    targets.append(("RSS after 10k reloads ≤ 2 MiB above RSS after 100 (MiB)", growth_mib, "≤", 2.0))

    out.append("## Targets\n")
    out.append("| target | measured | holds |")
    out.append("|---|---|---|")
    holds = {"≥": lambda value, bound: value >= bound, "≤": lambda value, bound: value <= bound,
             "<": lambda value, bound: value < bound}
    for text, value, op, bound in targets:
        shown = f"{value:.2f}×" if "×" in text else f"{value:,.2f}"
        verdict = "—" if op == "info" else ("yes" if holds[op](value, bound) else "**no**")
        out.append(f"| {text} | {shown} | {verdict} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
