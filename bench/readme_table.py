#!/usr/bin/env python3
"""Prints README's performance table from bench/run's reports, so that every
figure in it comes from one run.

    python3 bench/readme_table.py build-bench/bench-last/run-*/report.json
    python3 bench/readme_table.py build-bench/bench-last/report.txt   # one pass

Each argument is a report's JSON line (a file whose last line is one, or a
.jsonl file of several, as kept in docs/bench/); with
several (bench/run --repeat N) a figure is the median and the range column
gives min–max. Targets and the verdict are report.py's (judged on the median).
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402  (TARGETS, fmt)

# (row, JSON key, unit); a ratio's unit is "x".
ROWS = [
    ("memory `Check`, 1 session/key, 10,000 keys", "memory_check_ns", " ns"),
    ("memory `Check`, 10 sessions/key", "memory_check_ns_10", " ns"),
    ("memory `Check` floor (parse, hash, lookup, compare)", "memory_check_floor_ns", " ns"),
    ("memory `Check` vs its floor", "memory_check_vs_floor", "x"),
    ("memory `Check`, 2 threads vs 1", "memory_check_2t_vs_1t", "x"),
    ("memory `Check`, metrics on vs off", "memory_check_metrics_vs_off", "x"),
    ("memory `Check` with encryption at rest vs without", "memory_check_encrypted_vs_plain", "x"),
    ("memory `Set`", "memory_set_per_s", "/s"),
    ("memory `AsyncSessions` `Check`, 1 loop (time vs `Sessions`)", "async_memory_check_vs_sync", "x"),
    ("memory `AsyncSessions` `Check`, 2 loops vs 1", "async_memory_check_2l_vs_1l", "x"),
    ("DBSC refresh (challenge, proof verified, new cookie)", "dbsc_refresh_per_s", "/s"),
    ("memory `Check` of a device-bound session", "memory_check_bound_ns", " ns"),
    ("Redis `Check`, 16 threads", "redis_check_per_s", "/s"),
    ("Redis `Check` vs raw hiredis `GET`, 16 threads", "redis_check_vs_get", "x"),
    ("Redis `Set` vs raw hiredis `GET`, 16 threads", "redis_set_vs_get", "x"),
    ("Redis `Check` over TLS vs TCP, 16 threads", "redis_tls_check_vs_tcp", "x"),
    ("`redis-benchmark` GET over TLS vs TCP (the reference)", "redis_benchmark_tls_vs_tcp", "x"),
    ("Redis async `Check`, 1 loop", "redis_async_check_per_s", "/s"),
    ("Redis async `Check` vs `redis-benchmark -P 16` GET", "redis_async_check_vs_pipelined_get", "x"),
    ("Redis async `Check` over TLS vs TCP", "redis_async_tls_check_vs_tcp", "x"),
    ("Redis async `Check`, 2 loops vs 1", "async_redis_check_2l_vs_1l", "x"),
    ("memcached `Check` vs raw libmemcached get, 16 threads", "memcached_check_vs_get", "x"),
    ("PostgreSQL `Check` vs raw prepared `SELECT`, 16 threads", "postgres_check_vs_select", "x"),
    ("stateless `Check` of an Auth.js token vs `@auth/core`", "jwe_vs_authjs", "x"),
    ("A256GCM decrypt vs `jose`", "jwe_gcm_vs_jose", "x"),
    ("httplib example, `Wrap` vs unwrapped route (wrk)", "http_wrapped_vs_unwrapped", "x"),
    ("POCO example, `Wrap` vs unwrapped route (wrk)", "http_poco_wrapped_vs_unwrapped", "x"),
    ("Beast example, `Wrap` vs unwrapped route (wrk -t2 -c64)", "http_beast_wrapped_vs_unwrapped", "x"),
    ("Beast example on Redis, `Wrap` vs unwrapped", "http_beast_redis_wrapped_vs_unwrapped", "x"),
    ("bytes per session in Redis (marginal, no meta)", "bytes_per_session", " B"),
    ("bytes per session, memory store (RSS)", "bytes_per_session_memory", " B"),
    ("bytes per session, Redis (`used_memory`)", "bytes_per_session_redis", " B"),
    ("bytes per session, PostgreSQL (table + indexes)", "bytes_per_session_postgres", " B"),
    ("memory store churn: RSS slope", "churn_rss_slope_bytes_per_min", " B/min"),
]


def reports(path):
    """A .jsonl file: one report per line (kept runs, e.g. docs/bench/);
    any other file: its last line is the report."""
    with open(path) as f:
        lines = [line for line in f if line.strip()]
    return [json.loads(line) for line in (lines if path.endswith(".jsonl") else lines[-1:])]


def main(paths):
    if not paths:
        sys.exit(__doc__)
    runs = [run for p in paths for run in reports(p)]
    targets = {field: (op, bound) for field, op, bound in report.TARGETS}
    print("| row | median | range (%d run%s) | target | met |" % (len(runs), "" if len(runs) == 1 else "s"))
    print("|---|---|---|---|---|")
    for label, key, unit in ROWS:
        values = sorted(r[key] for r in runs if report.is_number(r.get(key)))
        if not values:
            continue
        median = statistics.median(values)
        spread = "" if len(values) == 1 else "%s–%s" % (report.fmt(values[0]), report.fmt(values[-1]))
        target, met = "", ""
        if key in targets:
            op, bound = targets[key]
            target = "%s %s%s" % ({"<=": "≤", ">=": "≥"}[op], bound, "" if unit == "x" else unit)
            met = "yes" if (median <= bound if op == "<=" else median >= bound) else "**no**"
        print("| %s | %s%s | %s | %s | %s |" % (label, report.fmt(median), unit, spread, target, met))
    quick = all(r.get("quick") for r in runs)
    machine = runs[0].get("machine") or {}
    print()
    print("%s; %s, %s CPUs; load at start %s." % (
        "`bench/run --quick`" if quick else "`bench/run`", machine.get("cpu", "?"), machine.get("cpus", "?"),
        ", ".join("%.1f" % x for x in (machine.get("load_avg_at_start") or [])) or "?"))


if __name__ == "__main__":
    main(sys.argv[1:])
