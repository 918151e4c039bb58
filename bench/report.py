#!/usr/bin/env python3
"""Writes bench/RESULTS.md (to stdout) from one harness run and its extras.

    bench/report.py --run NAME --started ISO --command CMD [--pg-settings FILE] MAIN.jsonl [EXTRAS.jsonl]

The peer table is the harness' (same columns as its summarize.py), plus the targets of issue 3
as ratios computed within the run, the extras (scale-out, memory, soak) and bench/NOTES.md.
"""
import argparse
import json
import os
import platform

ORDER = ["pg-floor", "apalis", "apalis-plain", "graphile-worker", "pg-boss", "pg-boss-notify",
         "procrastinate", "demandflow", "demandflow-lib"]
HERE = os.path.dirname(os.path.abspath(__file__))


def fmt(v, nd=0):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:,.{nd}f}"


def md(rows):
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows[1:]]
    return "\n".join(out)


def load(path):
    if not path or not os.path.exists(path):
        return []
    return [json.loads(line) for line in open(path) if line.strip()]


def by_system(rows):
    by = {}
    for r in rows:
        if r.get("phase") == "lifecycle":
            continue
        by.setdefault(r.get("label", r.get("system")), {})[r["phase"]] = r
    return by


def peer_table(by):
    hdr = ["system", "insert 1-by-1 jobs/s", "insert bulk jobs/s", "drain jobs/s", "lat p50 ms",
           "lat p95 ms", "lat p99 ms", "max handler gap ms", "notes"]
    out = [hdr]
    for s in sorted(by, key=lambda s: ORDER.index(s) if s in ORDER else 99):
        p = by[s]
        g = lambda ph, k: (p.get(ph) or {}).get(k)  # noqa: E731
        notes = [f"{ph}: {r['error']}" for ph, r in p.items() if "error" in r]
        lat = p.get("latency") or {}
        if lat.get("received") is not None and lat.get("received") != lat.get("jobs"):
            notes.append(f"latency: only {lat['received']}/{lat['jobs']} received")
        if s == "pg-floor":
            notes.append("pgbench, no library; latency n/a")
        loads = [r["load1_before"] for r in p.values() if r.get("load1_before") is not None]
        others = sorted({t.split(":")[0] for r in p.values() for t in (r.get("other_cpu") or "").split()})
        if others:
            notes.append("busy meanwhile: " + " ".join(others))
        if loads:
            notes.append(f"load1 max {max(loads):.1f}")
        out.append([s, fmt(g("insert_single", "jobs_per_s")), fmt(g("insert_bulk", "jobs_per_s")),
                    fmt(g("drain", "jobs_per_s")), fmt(g("latency", "p50_ms"), 1),
                    fmt(g("latency", "p95_ms"), 1), fmt(g("latency", "p99_ms"), 1),
                    fmt(g("latency", "max_handler_gap_ms"), 1), ", ".join(notes)])
    return out


def lifecycle(rows):
    lc = [r for r in rows if r.get("phase") == "lifecycle"]
    if not lc:
        return None, {}
    clients = sorted({r["clients"] for r in lc})
    out = [["pg-floor lifecycle (enqueue+claim+complete)"] + [f"{c} clients jobs/s" for c in clients]]
    table = {}
    for mode in ["single", "batch100"]:
        m = {r["clients"]: r for r in lc if r["mode"] == mode}
        table[mode] = {c: r.get("jobs_per_s") for c, r in m.items()}
        if m:
            out.append([mode] + [fmt(m.get(c, {}).get("jobs_per_s")) for c in clients])
    return out, table


def ratio(a, b):
    return None if a is None or not b else a / b


def verdict(ok):
    return "-" if ok is None else ("**met**" if ok else "**not met**")


def targets(by, lc, extras):
    gw = by.get("graphile-worker", {})
    rest = by.get("demandflow", {})
    lib = by.get("demandflow-lib", {})
    g = lambda p, ph, k: (p.get(ph) or {}).get(k)  # noqa: E731
    floor16 = (lc.get("batch100") or {}).get(16)
    rows = [["target", "demandflow (REST)", "demandflow-lib", "verdict (REST)"]]

    def both(f):
        return f(rest), f(lib)

    d_gw = both(lambda p: ratio(g(p, "drain", "jobs_per_s"), g(gw, "drain", "jobs_per_s")))
    rows.append(["drain ≥ 4× graphile-worker", *[fmt(x, 2) + "×" if x else "-" for x in d_gw],
                 verdict(None if d_gw[0] is None else d_gw[0] >= 4)])
    d_fl = both(lambda p: ratio(g(p, "drain", "jobs_per_s"), floor16))
    rows.append(["drain ≥ 0.5× pg-floor batch100 @16 clients", *[fmt(x, 2) + "×" if x else "-" for x in d_fl],
                 verdict(None if d_fl[0] is None else d_fl[0] >= 0.5)])
    s_gw = both(lambda p: ratio(g(p, "insert_single", "jobs_per_s"), g(gw, "insert_single", "jobs_per_s")))
    rows.append(["single enqueue ≥ 2× graphile-worker addJob", *[fmt(x, 2) + "×" if x else "-" for x in s_gw],
                 verdict(None if s_gw[0] is None else s_gw[0] >= 2)])
    b = both(lambda p: g(p, "insert_bulk", "jobs_per_s"))
    rows.append(["bulk through REST ≥ 50,000 jobs/s", *[fmt(x) + "/s" if x else "-" for x in b],
                 verdict(None if b[0] is None else b[0] >= 50000)])
    p99 = both(lambda p: g(p, "latency", "p99_ms"))
    gp99 = g(gw, "latency", "p99_ms")
    rows.append([f"pickup p99 ≤ graphile-worker's ({fmt(gp99, 1)} ms)", *[fmt(x, 1) + " ms" if x is not None else "-" for x in p99],
                 verdict(None if p99[0] is None or gp99 is None else p99[0] <= gp99)])
    gap = both(lambda p: g(p, "latency", "max_handler_gap_ms"))
    rows.append(["no gap > 100 ms between handler starts (200/s)", *[fmt(x, 1) + " ms" if x is not None else "-" for x in gap],
                 verdict(None if gap[0] is None else gap[0] <= 100)])
    api_rss = [r.get("api_peak_rss_kib") for r in extras + [rest.get("drain") or {}, rest.get("insert_bulk") or {}, rest.get("insert_single") or {}]
               if r.get("api_peak_rss_kib")]
    wrk_rss = [r.get("worker_peak_rss_kib") for r in extras + [rest.get("drain") or {}, lib.get("drain") or {}, rest.get("latency") or {}]
               if r.get("worker_peak_rss_kib")]
    a, w = (max(api_rss) if api_rss else None), (max(wrk_rss) if wrk_rss else None)
    rows.append(["api peak RSS ≤ 64 MiB (max over every phase)", fmt(a / 1024, 1) + " MiB" if a else "-", "-",
                 verdict(None if a is None else a <= 64 * 1024)])
    rows.append(["worker peak RSS ≤ 64 MiB (max over every phase)", fmt(w / 1024, 1) + " MiB" if w else "-", "-",
                 verdict(None if w is None else w <= 64 * 1024)])
    curves = {"demandflow": {}, "demandflow-lib": {}}
    for r in extras:
        if r.get("phase") == "drain" and "workers" in r and r.get("system") in curves:
            curves[r["system"]][r["workers"]] = r.get("jobs_per_s")

    def shape(c):
        ks = sorted(c)
        ok = all(c[ks[i + 1]] >= c[ks[i]] * 0.95 for i in range(len(ks) - 1))
        return " → ".join(fmt(c[k]) for k in ks), ok

    if curves["demandflow"]:
        (txt, ok), (ltxt, lok) = shape(curves["demandflow"]), shape(curves["demandflow-lib"]) if curves["demandflow-lib"] else ("-", None)
        rows.append(["drain does not fall, workers 1 → 2 → 4 (5 % noise allowed)", txt, ltxt,
                     verdict(ok) + ("" if lok is None or lok == ok else f" (lib: {verdict(lok)})")])
    return rows


def extras_tables(extras):
    out = []
    drains = [r for r in extras if r.get("phase") == "drain"]
    if drains:
        t = [["system", "workers", "drain jobs/s", "s", "worker peak RSS MiB", "api peak RSS MiB",
              "worker CPU s", "machine CPU busy"]]
        for r in drains:
            t.append([r.get("system"), r.get("workers"), fmt(r.get("jobs_per_s")), fmt(r.get("seconds"), 2),
                      fmt((r.get("worker_peak_rss_kib") or 0) / 1024, 1),
                      fmt(r["api_peak_rss_kib"] / 1024, 1) if r.get("api_peak_rss_kib") else "-",
                      fmt(r.get("worker_cpu_s"), 2), fmt((r.get("machine_cpu_busy") or 0) * 100) + " %"])
        out.append(("Scale-out: drain with 1, 2 and 4 worker processes (concurrency 16 each), and memory", t))
    ins = [r for r in extras if r.get("phase") in ("insert_single", "insert_bulk")]
    if ins:
        t = [["phase", "api processes", "producers", "jobs/s", "api peak RSS MiB", "api CPU s", "machine CPU busy"]]
        for r in ins:
            t.append([r["phase"], r.get("apis"), r.get("producers"), fmt(r.get("jobs_per_s")),
                      fmt((r.get("api_peak_rss_kib") or 0) / 1024, 1), fmt(r.get("api_cpu_s"), 2),
                      fmt((r.get("machine_cpu_busy") or 0) * 100) + " %"])
        out.append(("Scale-out: REST enqueue with 1 and 2 api processes", t))
    soaks = [r for r in extras if r.get("phase") == "soak"]
    for r in soaks:
        if "error" in r:
            out.append(("Soak", [["error"], [r["error"]]]))
            continue
        t = [["measure", "value"]]
        for k, label in [("rate", "enqueue rate (jobs/s)"), ("seconds", "enqueue duration (s)"),
                         ("jobs", "jobs accepted"), ("failed_calls", "enqueue calls failed"),
                         ("workers", "worker processes"), ("kills", "SIGKILLs (each followed by a restart)"),
                         ("lease_ms", "lease (ms)"), ("sleep_ms", "each job sleeps (ms)"), ("lost", "**jobs lost**"), ("states", "final states"),
                         ("executions", "handler runs seen in the worker logs"),
                         ("extra_executions", "runs beyond one per job"),
                         ("jobs_with_more_than_one_attempt", "jobs with more than one recorded attempt"),
                         ("unrecorded_extra", "**runs that are not a recorded attempt**"),
                         ("pickup_p50_ms", "pickup p50 (ms)"), ("pickup_p99_ms", "pickup p99 (ms)"),
                         ("pickup_max_ms", "pickup max (ms)"), ("max_handler_gap_ms", "longest gap between handler starts (ms)"),
                         ("worker_peak_rss_kib", "worker peak RSS (KiB)"), ("api_peak_rss_kib", "api peak RSS (KiB)"),
                         ("wait_after_produce_s", "wait for the last jobs after enqueue ended (s)")]:
            v = r.get(k)
            t.append([label, json.dumps(v) if isinstance(v, dict) else fmt(v, 1 if isinstance(v, float) else 0)])
        out.append((f"Soak ({r.get('args', '')})", t))
    return out


def machine(pg_settings, commit):
    lines = []
    try:
        model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except Exception:
        model = "?"
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
    lines.append(f"* {os.cpu_count()} vCPU ({model}), {int(mem) / 1024 / 1024:.0f} GiB RAM, Linux {platform.release()}; "
                 "Postgres, the peers, the driver, api and worker all share these cores.")
    if pg_settings and os.path.exists(pg_settings):
        s = [l.strip() for l in open(pg_settings) if l.strip()]
        if s:
            lines.append(f"* {s[0].split(' on ')[0]}; " + ", ".join(f"`{x}`" for x in s[1:]))
    if commit:
        lines.append(f"* demandflow at `{commit}` (the binaries were built from it)")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--started", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--pg-settings")
    ap.add_argument("--commit", help="the commit the binaries were built from")
    ap.add_argument("main")
    ap.add_argument("extras", nargs="?")
    a = ap.parse_args()
    rows, extras = load(a.main), load(a.extras)
    by = by_system(rows)
    lc_rows, lc = lifecycle(rows)
    print("# demandflow against its peers: throughput and latency\n")
    print(f"Run `{a.run}`, started {a.started}. Reproduce with `{a.command}` from the repository root "
          "(the harness is `../shared/bench/peers`, or `PEERS_DIR`). Raw rows: "
          f"[`results/{a.run}.jsonl`](results/{a.run}.jsonl)"
          + (f" and [`results/{os.path.basename(a.extras)}`](results/{os.path.basename(a.extras)})" if a.extras else "") + ".\n")
    print("## Machine\n")
    print(machine(a.pg_settings, a.commit) + "\n")
    print("## Peer table (one run, fresh database per phase)\n")
    print("Jobs/s (higher is better); latency = handler start − enqueue call, ms (lower is better). "
          "`demandflow` enqueues over the REST API, `demandflow-lib` through the `jobs` crate; both are run by "
          "the real `worker` binary. The method is the harness' (see its README); how demandflow's driver "
          "measures is in `bench/src/main.rs` and below.\n")
    print(md(peer_table(by)))
    if lc_rows:
        print()
        print(md(lc_rows))
    print("\n## Targets (issue 3), as ratios within this run\n")
    print(md(targets(by, lc, extras)))
    for title, t in extras_tables(extras):
        print(f"\n## {title}\n")
        print(md(t))
    notes = os.path.join(HERE, "NOTES.md")
    if os.path.exists(notes):
        print()
        print(open(notes).read().rstrip())


if __name__ == "__main__":
    main()
