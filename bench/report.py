#!/usr/bin/env python3
"""Assembles bench/run's outputs into a table and one JSON line (printed last).

Reads from --dir: bench.json (Google Benchmark; metrics-pair.json: the
metrics on/off rows pinned to one CPU), bytes.json (jeff-bench
--jeff_bytes), node.json (jwe_peers.mjs), redis-benchmark.csv (-tls.csv over TLS) and the two
wrk outputs, million-{memory,redis,postgres}.json (jeff-bench-million) and
churn.json (jeff-bench-churn). A figure whose part is missing or failed is null.
With --combine, reads the JSON lines of several such reports instead (bench/run
--repeat N) and prints the min, median and max of each key.
"""
import argparse
import csv
import json
import os
import platform
import re
import statistics


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def benchmark_rows(bench):
    """run_name -> row: the median aggregate when there is one, else the run."""
    rows = {}
    for b in (bench or {}).get("benchmarks", []):
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            rows[name] = None
        elif b.get("aggregate_name") == "median" or (
                b.get("run_type") == "iteration" and name not in rows):
            rows[name] = b
    return rows


def median_cv(bench):
    """Median over rows of the repetitions' coefficient of variation (wall
    time): how far this run's figures can be trusted. None without repetitions."""
    cvs = sorted(b["real_time"] for b in (bench or {}).get("benchmarks", [])
                 if b.get("aggregate_name") == "cv" and not b.get("error_occurred"))
    return cvs[len(cvs) // 2] if cvs else None


def per_second(rows, name):
    row = rows.get(name)
    return row.get("items_per_second") if row else None


def nanoseconds(rows, name, clock="real_time"):
    row = rows.get(name)
    if not row:
        return None
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[row.get("time_unit", "ns")]
    return row[clock] * scale


def ratio(a, b):
    return a / b if a is not None and b else None


def redis_benchmark_get(path):
    try:
        with open(path) as f:
            for row in csv.reader(f):
                if row and row[0] == "GET":
                    return float(row[1])
    except OSError:
        pass
    return None


def wrk_rate(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    if re.search(r"Non-2xx or 3xx responses", text):
        return None
    m = re.search(r"Requests/sec:\s*([0-9.]+)", text)
    return float(m.group(1)) if m else None


def machine(bench):
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    ctx = (bench or {}).get("context", {})
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "mhz": ctx.get("mhz_per_cpu"),
        "load_avg_at_start": ctx.get("load_avg"),
        "kernel": platform.release(),
    }


# (field, comparison, bound): issues 7 and 28.
TARGETS = [
    ("memory_check_ns", "<=", 250), ("memory_check_ns_10", "<=", 550), ("memory_check_vs_floor", "<=", 1.6),
    ("memory_check_2t_vs_1t", ">=", 1.6), ("redis_check_vs_get", ">=", 0.95),
    ("redis_set_vs_get", ">=", 0.45), ("memcached_check_vs_get", ">=", 0.95),
    ("redis_tls_check_vs_tcp", ">=", 0.8), ("redis_async_tls_check_vs_tcp", ">=", 0.8),
    ("postgres_check_vs_select", ">=", 0.9),
    ("jwe_vs_authjs", ">=", 250), ("jwe_gcm_vs_jose", ">=", 150),
    ("http_wrapped_vs_unwrapped", ">=", 0.90), ("http_poco_wrapped_vs_unwrapped", ">=", 0.90),
    ("http_beast_wrapped_vs_unwrapped", ">=", 0.90), ("bytes_per_session", "<=", 85),
    ("redis_async_check_vs_sync", ">=", 2), ("async_memory_check_vs_sync", "<=", 1.5),
    ("async_memory_check_2l_vs_1l", ">=", 1.6), ("memory_check_metrics_vs_off", "<=", 1.05),
    ("memory_check_encrypted_vs_plain", "<=", 1.3), ("redis_async_check_vs_pipelined_get", ">=", 0.5),
]


def judge(out):
    """field -> whether out[field] meets its target (None: no figure)."""
    met = {}
    for field, op, bound in TARGETS:
        v = out.get(field)
        met[field] = None if v is None else (v <= bound if op == "<=" else v >= bound)
    return met


def combine(paths):
    """The JSON lines of several passes (report.py's last line each) -> one
    table and JSON object: min, median and max of every numeric key over
    the passes that have it, targets judged on the median."""
    runs = [r for r in (load_json(p) for p in paths) if isinstance(r, dict)]
    keys = []
    for r in runs:
        keys += [k for k, v in r.items() if k not in keys and is_number(v)]
    out = {}
    for k in keys:
        values = sorted(r[k] for r in runs if is_number(r.get(k)))
        out[k] = {"min": values[0], "median": statistics.median(values), "max": values[-1], "n": len(values)}
    medians = {k: v["median"] for k, v in out.items()}
    bounds = {f: "%s %s" % (op, b) for f, op, b in TARGETS}
    met = judge(medians)
    print("%-40s %12s %12s %12s %-9s %s" % ("key", "min", "median", "max", "target", "met"))
    for k in keys:
        ok = "" if k not in met else {True: "yes", False: "NO", None: "n/a"}[met[k]]
        print("%-40s %12s %12s %12s %-9s %s" % (k, fmt(out[k]["min"]), fmt(out[k]["median"]),
                                                fmt(out[k]["max"]), bounds.get(k, ""), ok))
    out["targets_met"] = met
    out["runs"] = len(runs)
    out["quick"] = all(r.get("quick") for r in runs) if runs else None
    out["machine"] = runs[0].get("machine") if runs else None
    print(json.dumps(out, separators=(",", ":")))


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float) and v < 10:
        return "%.2f%s" % (v, unit)
    return "{:,.0f}{}".format(v, unit)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir")
    parser.add_argument("--quick", default="0")
    parser.add_argument("--combine", nargs="+", metavar="JSON",
                        help="combine the JSON lines of several passes (bench/run --repeat)")
    args = parser.parse_args()
    if args.combine:
        return combine(args.combine)
    if not args.dir:
        parser.error("--dir or --combine is required")
    path = lambda name: os.path.join(args.dir, name)

    bench = load_json(path("bench.json"))
    rows = benchmark_rows(bench)
    node = load_json(path("node.json")) or {}
    stored = load_json(path("bytes.json")) or {}

    check_1t = "MemoryCheck/sessions:1/real_time/threads:1"
    redis_rawget = per_second(rows, "RedisRawGet/real_time/threads:16")
    memcached_rawget = per_second(rows, "MemcachedRawGet/real_time/threads:16")
    jwe_cbc = per_second(rows, "StatelessCheck/authjs")
    jwe_gcm = per_second(rows, "JweDecrypt/gcm")
    wrapped = wrk_rate(path("wrk-wrapped-keepalive.txt"))
    unwrapped = wrk_rate(path("wrk-unwrapped-keepalive.txt"))
    wrapped_close = wrk_rate(path("wrk-wrapped-close.txt"))
    unwrapped_close = wrk_rate(path("wrk-unwrapped-close.txt"))
    # Keep-alive slower than a connection per request: the server stalls
    # (Nagle + delayed ACK), and the ratio says nothing about jeff.
    stalled = None if unwrapped is None or unwrapped_close is None else unwrapped < unwrapped_close
    # The same on the POCO example (jeff/http/poco.hpp).
    poco_wrapped = wrk_rate(path("wrk-poco-wrapped-keepalive.txt"))
    poco_unwrapped = wrk_rate(path("wrk-poco-unwrapped-keepalive.txt"))
    poco_unwrapped_close = wrk_rate(path("wrk-poco-unwrapped-close.txt"))
    poco_stalled = (None if poco_unwrapped is None or poco_unwrapped_close is None
                    else poco_unwrapped < poco_unwrapped_close)

    def store_bytes(store, meta, field):
        try:
            return stored[store]["meta%d" % meta][field]
        except (KeyError, TypeError):
            return None

    def marginal(store, meta):
        one, ten = store_bytes(store, meta, "value_1"), store_bytes(store, meta, "value_10")
        return (ten - one) / 9 if one is not None and ten is not None else None

    out = {
        "memory_check_ns": nanoseconds(rows, check_1t),
        "memory_check_ns_10": nanoseconds(rows, "MemoryCheck/sessions:10/real_time/threads:1"),
        # CPU time too: on a busy machine wall time includes waiting for a core.
        "memory_check_cpu_ns": nanoseconds(rows, check_1t, "cpu_time"),
        "memory_check_cpu_ns_10": nanoseconds(rows, "MemoryCheck/sessions:10/real_time/threads:1", "cpu_time"),
        "memory_check_metrics_ns": nanoseconds(rows, "MemoryCheckMetrics/sessions:1/real_time/threads:1"),
        "memory_check_encrypted_ns": nanoseconds(rows, "MemoryCheckEncrypted/sessions:1/real_time/threads:1"),
        # The floor (memory_floor_bench.cpp): cookie parsed, token hashed,
        # one hash-table lookup, one constant-time compare; nothing else.
        "memory_check_floor_ns": nanoseconds(rows, "MemoryCheckFloor/real_time/threads:1"),
        # DBSC: a whole refresh (challenge, then proof verified + new bound
        # cookie) and Check of a bound session, beside memory_check_ns.
        "dbsc_refresh_per_s": per_second(rows, "MemoryDbscRefresh/real_time/threads:1"),
        "memory_check_bound_ns": nanoseconds(rows, "MemoryCheckBound/real_time/threads:1"),
        "memory_check_2t_vs_1t": ratio(per_second(rows, "MemoryCheck/sessions:1/real_time/threads:2"),
                                       per_second(rows, check_1t)),
        "memory_set_per_s": per_second(rows, "MemorySet/real_time/threads:1"),
        "memory_sessions_for_key_ns": nanoseconds(rows, "MemorySessionsForKey/sessions:1/real_time/threads:1"),
        "memory_sessions_for_key_ns_10": nanoseconds(rows, "MemorySessionsForKey/sessions:10/real_time/threads:1"),
        "redis_check_per_s": per_second(rows, "RedisCheck/sessions:1/real_time/threads:16"),
        "redis_check_1t_per_s": per_second(rows, "RedisCheck/sessions:1/real_time/threads:1"),
        "postgres_check_per_s": per_second(rows, "PostgresCheck/sessions:1/real_time/threads:16"),
        "postgres_check_1t_per_s": per_second(rows, "PostgresCheck/sessions:1/real_time/threads:1"),
        "postgres_set_per_s": per_second(rows, "PostgresSet/real_time/threads:16"),
        "postgres_rawselect_per_s": per_second(rows, "PostgresRawSelect/real_time/threads:16"),
        "postgres_rawselect_1t_per_s": per_second(rows, "PostgresRawSelect/real_time/threads:1"),
        "redis_tls_check_per_s": per_second(rows, "RedisTlsCheck/sessions:1/real_time/threads:16"),
        "redis_tls_check_1t_per_s": per_second(rows, "RedisTlsCheck/sessions:1/real_time/threads:1"),
        "redis_set_per_s": per_second(rows, "RedisSet/real_time/threads:16"),
        "redis_set_1t_per_s": per_second(rows, "RedisSet/real_time/threads:1"),
        "redis_rawget_per_s": redis_rawget,
        "redis_rawget_1t_per_s": per_second(rows, "RedisRawGet/real_time/threads:1"),
        "redis_benchmark_get_per_s": redis_benchmark_get(path("redis-benchmark.csv")),
        "redis_benchmark_tls_get_per_s": redis_benchmark_get(path("redis-benchmark-tls.csv")),
        "memcached_check_per_s": per_second(rows, "MemcachedCheck/sessions:1/real_time/threads:16"),
        "memcached_check_1t_per_s": per_second(rows, "MemcachedCheck/sessions:1/real_time/threads:1"),
        "memcached_set_per_s": per_second(rows, "MemcachedSet/real_time/threads:16"),
        "memcached_rawget_per_s": memcached_rawget,
        "memcached_rawget_1t_per_s": per_second(rows, "MemcachedRawGet/real_time/threads:1"),
        "jwe_cbc_decode_per_s": jwe_cbc,
        "jwe_cbc_decrypt_only_per_s": per_second(rows, "JweDecrypt/authjs"),
        "authjs_decode_per_s": node.get("authjs_decode_per_s"),
        "jwe_gcm_decode_per_s": jwe_gcm,
        "jwe_gcm_check_per_s": per_second(rows, "StatelessCheck/gcm"),
        "jose_gcm_decode_per_s": node.get("jose_gcm_decode_per_s"),
        "jose_cbc_decode_per_s": node.get("jose_cbc_decode_per_s"),
        "jwe_cbc_encode_per_s": per_second(rows, "JweEncrypt/cbc"),
        "jwe_gcm_encode_per_s": per_second(rows, "JweEncrypt/gcm"),
        "http_wrapped_per_s": wrapped,
        "http_unwrapped_per_s": unwrapped,
        "http_wrapped_close_per_s": wrapped_close,
        "http_unwrapped_close_per_s": unwrapped_close,
        "http_keepalive_stalled": stalled,
        "bytes_per_session": marginal("redis", 0),
        "bytes_per_session_meta100": marginal("redis", 100),
        "redis_record_bytes_1": store_bytes("redis", 0, "value_1"),
        "redis_memory_usage_1": store_bytes("redis", 0, "memory_usage_1"),
        "redis_memory_usage_1_meta100": store_bytes("redis", 100, "memory_usage_1"),
        "memcached_record_bytes_1": store_bytes("memcached", 0, "value_1"),
        "memcached_item_bytes_1": store_bytes("memcached", 0, "item_bytes_1"),
        "memcached_item_bytes_1_meta100": store_bytes("memcached", 100, "item_bytes_1"),
        "memcached_bytes_per_session": marginal("memcached", 0),
    }
    # AsyncSessions on AsyncRedisStore, one loop thread (jeff-bench-async-redis),
    # against Sessions on RedisStore with 16 threads, and redis-benchmark
    # pipelining 16 GETs per connection, on the same server in the same run.
    async_redis = load_json(path("async-redis.json")) or {}
    out["redis_async_check_per_s"] = async_redis.get("async_check_per_s")
    # The same over the server's TLS port (interleaved with the TCP runs).
    out["redis_async_tls_check_per_s"] = async_redis.get("async_tls_check_per_s")
    out["redis_async_in_flight"] = async_redis.get("in_flight")
    out["redis_sync_check_16t_per_s"] = async_redis.get("sync_check_per_s")
    out["redis_benchmark_get_p16_per_s"] = redis_benchmark_get(path("redis-benchmark-p16.csv"))
    out["redis_async_check_2l_per_s"] = async_redis.get("async_check_2l_per_s")
    out["async_redis_check_2l_vs_1l"] = ratio(out["redis_async_check_2l_per_s"], out["redis_async_check_per_s"])
    # AsyncSessions on the memory store, one and two loop threads, and
    # Sessions on one thread (jeff-bench-async-memory). _vs_sync is a time
    # ratio (lower is better): what the loop costs a Check.
    async_memory = load_json(path("async-memory.json")) or {}
    out["async_memory_check_1l_per_s"] = async_memory.get("async_check_1l_per_s")
    out["async_memory_check_2l_per_s"] = async_memory.get("async_check_2l_per_s")
    out["sync_memory_check_1t_per_s"] = async_memory.get("sync_check_1t_per_s")
    out["async_memory_check_vs_sync"] = ratio(out["sync_memory_check_1t_per_s"], out["async_memory_check_1l_per_s"])
    out["async_memory_check_2l_vs_1l"] = ratio(out["async_memory_check_2l_per_s"], out["async_memory_check_1l_per_s"])
    # Options::metrics on vs off, same run: a time ratio (lower is better),
    # from the pinned pair (metrics-pair.json) when it ran, else from the main rows.
    pair = benchmark_rows(load_json(path("metrics-pair.json")))
    if pair.get(check_1t) and pair.get("MemoryCheckMetrics/sessions:1/real_time/threads:1"):
        out["memory_check_pinned_ns"] = nanoseconds(pair, check_1t)
        out["memory_check_metrics_pinned_ns"] = nanoseconds(pair, "MemoryCheckMetrics/sessions:1/real_time/threads:1")
        out["memory_check_metrics_vs_off"] = ratio(out["memory_check_metrics_pinned_ns"], out["memory_check_pinned_ns"])
    else:
        out["memory_check_metrics_vs_off"] = ratio(out["memory_check_metrics_ns"], out["memory_check_ns"])
    # Records encrypted at rest vs in clear: a time ratio (lower is better),
    # from the same pinned pair when it has the row.
    if pair.get(check_1t) and pair.get("MemoryCheckEncrypted/sessions:1/real_time/threads:1"):
        out["memory_check_encrypted_pinned_ns"] = nanoseconds(pair, "MemoryCheckEncrypted/sessions:1/real_time/threads:1")
        out["memory_check_encrypted_vs_plain"] = ratio(out["memory_check_encrypted_pinned_ns"],
                                                       nanoseconds(pair, check_1t))
    else:
        out["memory_check_encrypted_vs_plain"] = ratio(out["memory_check_encrypted_ns"], out["memory_check_ns"])
    out["memory_check_vs_floor"] = ratio(out["memory_check_ns"], out["memory_check_floor_ns"])
    out["redis_check_vs_get"] = ratio(out["redis_check_per_s"], redis_rawget)
    out["redis_set_vs_get"] = ratio(out["redis_set_per_s"], redis_rawget)
    out["redis_tls_check_vs_tcp"] = ratio(out["redis_tls_check_per_s"], out["redis_check_per_s"])
    # The reference for it: redis-benchmark GET over TLS vs over TCP (same
    # server, -c 16, back to back): what the server's TLS costs a C client.
    out["redis_benchmark_tls_vs_tcp"] = ratio(out["redis_benchmark_tls_get_per_s"],
                                              out["redis_benchmark_get_per_s"])
    out["postgres_check_vs_select"] = ratio(out["postgres_check_per_s"], out["postgres_rawselect_per_s"])
    out["memcached_check_vs_get"] = ratio(out["memcached_check_per_s"], memcached_rawget)
    out["jwe_vs_authjs"] = ratio(jwe_cbc, out["authjs_decode_per_s"])
    out["jwe_gcm_vs_jose"] = ratio(jwe_gcm, out["jose_gcm_decode_per_s"])
    out["http_wrapped_vs_unwrapped"] = ratio(wrapped, unwrapped)
    out["http_wrapped_vs_unwrapped_close"] = ratio(wrapped_close, unwrapped_close)
    out["http_poco_wrapped_per_s"] = poco_wrapped
    out["http_poco_unwrapped_per_s"] = poco_unwrapped
    out["http_poco_wrapped_vs_unwrapped"] = ratio(poco_wrapped, poco_unwrapped)
    # The Beast example (AsyncSessions), wrk -t2 -c64, memory store and Redis.
    for store in ("", "redis_"):
        prefix = "beast-" + store.replace("_", "-")
        out["http_beast_%swrapped_per_s" % store] = wrk_rate(path("wrk-%swrapped-keepalive.txt" % prefix))
        out["http_beast_%sunwrapped_per_s" % store] = wrk_rate(path("wrk-%sunwrapped-keepalive.txt" % prefix))
        out["http_beast_%swrapped_vs_unwrapped" % store] = ratio(out["http_beast_%swrapped_per_s" % store],
                                                                out["http_beast_%sunwrapped_per_s" % store])
    out["redis_async_tls_check_vs_tcp"] = ratio(out["redis_async_tls_check_per_s"], out["redis_async_check_per_s"])
    out["redis_async_check_vs_sync"] = ratio(out["redis_async_check_per_s"], out["redis_sync_check_16t_per_s"])
    out["redis_async_check_vs_pipelined_get"] = ratio(out["redis_async_check_per_s"],
                                                      out["redis_benchmark_get_p16_per_s"])

    # A million sessions (jeff-bench-million): growth per session of each
    # store, and the count it was measured on (100,000 under --quick).
    for store in ("memory", "redis", "postgres"):
        million = load_json(path("million-%s.json" % store)) or {}
        out["bytes_per_session_%s" % store] = million.get("bytes_per_session")
        out["million_sessions_%s" % store] = million.get("sessions")
    out["redis_memory_usage_one_key_million"] = (load_json(path("million-redis.json")) or {}).get("memory_usage_one_key")
    # The memory store under churn (jeff-bench-churn): RSS slope, Check
    # percentiles in the first and last third (latency on a busy machine is
    # not a result: compare the thirds, not the figures), count vs bound.
    churn = load_json(path("churn.json")) or {}
    out["churn_rss_slope_bytes_per_min"] = churn.get("rss_slope_bytes_per_min")
    out["churn_seconds"] = churn.get("seconds")
    out["churn_live_sessions"] = churn.get("live_sessions")
    out["churn_sessions_bound"] = churn.get("sessions_bound")
    out["churn_store_entries"] = churn.get("store_entries")
    out["churn_store_entries_bound"] = churn.get("store_entries_bound")
    phases = churn.get("check_ns") or [{}, {}, {}]
    for third, phase in (("first", phases[0]), ("last", phases[-1])):
        for q in ("p50", "p99", "p999"):
            out["churn_check_%s_ns_%s" % (q, third)] = phase.get(q)

    met = judge(out)
    if stalled:
        met["http_wrapped_vs_unwrapped"] = None
    if poco_stalled:
        met["http_poco_wrapped_vs_unwrapped"] = None
    out["targets_met"] = met
    out["median_cv"] = median_cv(bench)
    out["quick"] = args.quick == "1"
    out["machine"] = machine(bench)

    table = [
        ("memory Check, 1 session/key, 1 thread", fmt(out["memory_check_ns"], " ns"), "", "memory_check_ns"),
        ("memory Check, 10 sessions/key, 1 thread", fmt(out["memory_check_ns_10"], " ns"), "", "memory_check_ns_10"),
        ("memory Check vs its floor (parse, hash, lookup, compare)", fmt(out["memory_check_vs_floor"], "x"),
         "floor " + fmt(out["memory_check_floor_ns"], " ns"), "memory_check_vs_floor"),
        ("memory Check, metrics on vs off", fmt(out["memory_check_metrics_vs_off"], "x"), "",
         "memory_check_metrics_vs_off"),
        ("memory Check, 2 threads vs 1", fmt(out["memory_check_2t_vs_1t"], "x"), "", "memory_check_2t_vs_1t"),
        ("memory Set", fmt(out["memory_set_per_s"], "/s"), "", None),
        ("memory SessionsForKey, 1 / 10 sessions",
         fmt(out["memory_sessions_for_key_ns"], " ns") + " / " + fmt(out["memory_sessions_for_key_ns_10"], " ns"), "", None),
        ("DBSC refresh (challenge, proof verified, new cookie)", fmt(out["dbsc_refresh_per_s"], "/s"),
         "memory Check " + fmt(out["memory_check_ns"], " ns"), None),
        ("memory Check of a bound session (2 cookies)", fmt(out["memory_check_bound_ns"], " ns"), "", None),
        ("Redis Check, 16 threads", fmt(out["redis_check_per_s"], "/s"),
         "raw GET " + fmt(redis_rawget, "/s"), "redis_check_vs_get"),
        ("Redis Set, 16 threads", fmt(out["redis_set_per_s"], "/s"), "raw GET", "redis_set_vs_get"),
        ("Redis Check over TLS, 16 threads", fmt(out["redis_tls_check_per_s"], "/s"),
         "TCP Check " + fmt(out["redis_check_per_s"], "/s"), "redis_tls_check_vs_tcp"),
        ("Redis Check over TLS, 1 thread", fmt(out["redis_tls_check_1t_per_s"], "/s"),
         "TCP Check " + fmt(out["redis_check_1t_per_s"], "/s"), None),
        ("redis-benchmark -t get -c 16 over TLS", fmt(out["redis_benchmark_tls_get_per_s"], "/s"),
         "over TCP " + fmt(out["redis_benchmark_get_per_s"], "/s"), "redis_benchmark_tls_vs_tcp"),
        ("Redis Check / Set / raw GET, 1 thread",
         " / ".join(fmt(out[k], "/s") for k in ("redis_check_1t_per_s", "redis_set_1t_per_s", "redis_rawget_1t_per_s")), "", None),
        ("redis-benchmark -t get -c 16", fmt(out["redis_benchmark_get_per_s"], "/s"), "", None),
        ("Redis async Check, 1 loop thread", fmt(out["redis_async_check_per_s"], "/s"),
         "sync Check 16 threads " + fmt(out["redis_sync_check_16t_per_s"], "/s"), "redis_async_check_vs_sync"),
        ("", "", "redis-benchmark get -P 16 " + fmt(out["redis_benchmark_get_p16_per_s"], "/s"),
         "redis_async_check_vs_pipelined_get"),
        ("Redis async Check over TLS, 1 loop thread", fmt(out["redis_async_tls_check_per_s"], "/s"),
         "over TCP " + fmt(out["redis_async_check_per_s"], "/s"), "redis_async_tls_check_vs_tcp"),
        ("Redis async Check, 2 loop threads vs 1", fmt(out["redis_async_check_2l_per_s"], "/s"),
         "1 loop " + fmt(out["redis_async_check_per_s"], "/s"), "async_redis_check_2l_vs_1l"),
        ("memory async Check, 1 loop thread (time vs sync)", fmt(out["async_memory_check_1l_per_s"], "/s"),
         "sync Check 1 thread " + fmt(out["sync_memory_check_1t_per_s"], "/s"), "async_memory_check_vs_sync"),
        ("memory async Check, 2 loop threads vs 1", fmt(out["async_memory_check_2l_per_s"], "/s"),
         "1 loop " + fmt(out["async_memory_check_1l_per_s"], "/s"), "async_memory_check_2l_vs_1l"),
        ("PostgreSQL Check, 16 threads", fmt(out["postgres_check_per_s"], "/s"),
         "raw libpq SELECT " + fmt(out["postgres_rawselect_per_s"], "/s"), "postgres_check_vs_select"),
        ("PostgreSQL Set, 16 threads", fmt(out["postgres_set_per_s"], "/s"), "", None),
        ("PostgreSQL Check / raw SELECT, 1 thread",
         " / ".join(fmt(out[k], "/s") for k in ("postgres_check_1t_per_s", "postgres_rawselect_1t_per_s")), "", None),
        ("memcached Check, 16 threads", fmt(out["memcached_check_per_s"], "/s"),
         "raw get " + fmt(memcached_rawget, "/s"), "memcached_check_vs_get"),
        ("memcached Set, 16 threads", fmt(out["memcached_set_per_s"], "/s"), "", None),
        ("JWE Auth.js token, full decode (CBC)", fmt(jwe_cbc, "/s"),
         "@auth/core decode " + fmt(out["authjs_decode_per_s"], "/s"), "jwe_vs_authjs"),
        ("JWE A256GCM decrypt", fmt(jwe_gcm, "/s"),
         "jose compactDecrypt " + fmt(out["jose_gcm_decode_per_s"], "/s"), "jwe_gcm_vs_jose"),
        ("JWE encode CBC / GCM", fmt(out["jwe_cbc_encode_per_s"], "/s") + " / " + fmt(out["jwe_gcm_encode_per_s"], "/s"), "", None),
        ("HTTP /account (wrapped) under wrk", fmt(wrapped, "/s"),
         "/login " + fmt(unwrapped, "/s") + (" (STALLED)" if stalled else ""), "http_wrapped_vs_unwrapped"),
        ("HTTP /account on POCO (wrapped) under wrk", fmt(poco_wrapped, "/s"),
         "/login " + fmt(poco_unwrapped, "/s") + (" (STALLED)" if poco_stalled else ""),
         "http_poco_wrapped_vs_unwrapped"),
        ("HTTP /account on Beast (wrapped), wrk -t2 -c64", fmt(out["http_beast_wrapped_per_s"], "/s"),
         "/login " + fmt(out["http_beast_unwrapped_per_s"], "/s"), "http_beast_wrapped_vs_unwrapped"),
        ("HTTP /account on Beast over Redis", fmt(out["http_beast_redis_wrapped_per_s"], "/s"),
         "/login " + fmt(out["http_beast_redis_unwrapped_per_s"], "/s"), "http_beast_redis_wrapped_vs_unwrapped"),
        ("HTTP /account, Connection: close", fmt(wrapped_close, "/s"),
         "/login " + fmt(unwrapped_close, "/s"), "http_wrapped_vs_unwrapped_close"),
        ("bytes per session (Redis, no meta / 100 B)",
         fmt(out["bytes_per_session"], " B") + " / " + fmt(out["bytes_per_session_meta100"], " B"),
         "record " + fmt(out["redis_record_bytes_1"], " B") + ", MEMORY USAGE " + fmt(out["redis_memory_usage_1"], " B"),
         "bytes_per_session"),
        ("bytes per session, memory store (RSS)", fmt(out["bytes_per_session_memory"], " B"),
         fmt(out["million_sessions_memory"]) + " sessions", None),
        ("bytes per session, Redis (used_memory)", fmt(out["bytes_per_session_redis"], " B"),
         fmt(out["million_sessions_redis"]) + " sessions, MEMORY USAGE of a key " +
         fmt(out["redis_memory_usage_one_key_million"], " B"), None),
        ("bytes per session, PostgreSQL (table+indexes)", fmt(out["bytes_per_session_postgres"], " B"),
         fmt(out["million_sessions_postgres"]) + " sessions", None),
        ("memory store churn: RSS slope", fmt(out["churn_rss_slope_bytes_per_min"], " B/min"),
         fmt(out["churn_seconds"]) + " s, live " + fmt(out["churn_live_sessions"]) + " <= " +
         fmt(out["churn_sessions_bound"]), None),
        ("churn Check p50/p99/p99.9, first third",
         " / ".join(fmt(out["churn_check_%s_ns_first" % q], " ns") for q in ("p50", "p99", "p999")), "", None),
        ("churn Check p50/p99/p99.9, last third",
         " / ".join(fmt(out["churn_check_%s_ns_last" % q], " ns") for q in ("p50", "p99", "p999")), "", None),
        ("memcached item per 1-session key (no meta / 100 B)",
         fmt(out["memcached_item_bytes_1"], " B") + " / " + fmt(out["memcached_item_bytes_1_meta100"], " B"), "", None),
    ]
    bounds = {f: "%s %s" % (op, b) for f, op, b in TARGETS}
    print("%-46s %-24s %-36s %-9s %-9s %s" % ("row", "jeff", "reference", "ratio", "target", "met"))
    for label, value, ref, field in table:
        shown_ratio = fmt(out[field]) if field and field not in ("memory_check_ns", "memory_check_ns_10",
                                                                  "bytes_per_session") else ""
        target = bounds.get(field, "")
        ok = "" if field not in met else {True: "yes", False: "NO", None: "n/a"}[met[field]]
        print("%-46s %-24s %-36s %-9s %-9s %s" % (label, value, ref, shown_ratio, target, ok))
    if out["median_cv"] is not None:
        print("spread between repetitions: median coefficient of variation %.1f%%" % (100 * out["median_cv"]))
    print(json.dumps(out, separators=(",", ":")))


if __name__ == "__main__":
    main()
