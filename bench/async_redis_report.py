#!/usr/bin/env python3
"""Adds the AsyncRedisStore rows to bench/run's report: reads async-redis.json
(jeff-bench-async-redis) and redis-benchmark-p16.csv from --dir and the JSON
line report.py printed last in --report; prints the rows and the JSON line
with the new figures (null when a part is missing) as the last line.
"""
import argparse
import json

from report import load_json, ratio, redis_benchmark_get


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    with open(args.report) as f:
        lines = [line for line in f.read().splitlines() if line.startswith("{")]
    out = json.loads(lines[-1]) if lines else {}
    measured = load_json(args.dir + "/async-redis.json") or {}
    async_rate = measured.get("async_fetch_per_s")
    sync_rate = measured.get("sync_fetch_per_s")
    pipelined = redis_benchmark_get(args.dir + "/redis-benchmark-p16.csv")
    out["redis_async_fetch_per_s"] = async_rate
    out["redis_async_in_flight"] = measured.get("in_flight")
    out["redis_sync_fetch_16t_per_s"] = sync_rate
    out["redis_benchmark_get_p16_per_s"] = pipelined
    out["redis_async_fetch_vs_sync"] = ratio(async_rate, sync_rate)
    out["redis_async_fetch_vs_pipelined_get"] = ratio(async_rate, pipelined)

    def fmt(v, unit=""):
        return "-" if v is None else ("%.0f%s" % (v, unit) if unit else "%.2f" % v)

    print("%-46s %-24s %-36s %s" % ("Redis async Fetch, 1 loop thread", fmt(async_rate, "/s"),
                                    "sync Fetch 16 threads " + fmt(sync_rate, "/s"),
                                    fmt(out["redis_async_fetch_vs_sync"])))
    print("%-46s %-24s %-36s %s" % ("", "", "redis-benchmark get -P 16 " + fmt(pipelined, "/s"),
                                    fmt(out["redis_async_fetch_vs_pipelined_get"])))
    print(json.dumps(out, separators=(",", ":")))


if __name__ == "__main__":
    main()
