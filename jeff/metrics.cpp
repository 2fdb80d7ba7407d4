#include <jeff/metrics.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <stdexcept>
#include <utility>
#include <vector>

namespace jeff {
namespace {

// The shortest decimal that reads back as `value` (0.001, not
// 0.0010000000000000000208).
std::string Number(double value) {
  char text[32];
  int n = 0;
  for (int precision = 1; precision <= 17; ++precision) {
    n = std::snprintf(text, sizeof text, "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return std::string(text, static_cast<std::size_t>(n));
}

class Writer {
 public:
  explicit Writer(std::string_view prefix) : prefix_(prefix) {}

  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    Name(name);
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    Name(name);
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  // `name{labels} value`; `labels` already formatted (without braces), may be empty.
  void Sample(std::string_view name, std::string_view labels, std::string_view value) {
    Name(name);
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  std::string Take() { return std::move(out_); }

 private:
  void Name(std::string_view name) {
    out_ += prefix_;
    out_ += name;
  }

  std::string_view prefix_;
  std::string out_;
};

// Letters, `_`, digits after the first character, and `:` when `colon`
// (metric names allow it, label names do not).
bool IsName(std::string_view name, bool colon) {
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

bool ValidPrefix(std::string_view prefix) { return IsName(prefix, /*colon=*/true); }

}  // namespace

std::string_view ToString(StoreOp op) noexcept {
  switch (op) {
    case StoreOp::kFetch: return "fetch";
    case StoreOp::kCas: return "cas";
    case StoreOp::kErase: return "erase";
  }
  return "unknown";
}

std::string_view ToString(Event::Kind kind) noexcept {
  switch (kind) {
    case Event::Kind::kStoreError: return "store_error";
    case Event::Kind::kConflictExhausted: return "conflict_exhausted";
    case Event::Kind::kDeniedToken: return "denied_token";
    case Event::Kind::kInsecureMode: return "insecure_mode";
  }
  return "unknown";
}

namespace {

bool ValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__") || !IsName(name, /*colon=*/false)) return false;
  // The writer's own labels.
  return name != "status" && name != "op" && name != "le";
}

// `name="value"` with the exposition format's escapes (\\, \", \n).
void AppendLabel(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out += ',';
  out += name;
  out += "=\"";
  for (const char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  out += '"';
}

// The counters written as `<name>_total`, one family each, in page order.
struct CounterFamily {
  std::string_view name;
  std::string_view help;
  std::uint64_t MetricsSnapshot::*value;
};
constexpr CounterFamily kCounters[] = {
    {"sets", "Sessions created by Set.", &MetricsSnapshot::sets},
    {"clears", "Sessions logged out by Clear.", &MetricsSnapshot::clears},
    {"deletes", "Sessions revoked by Delete.", &MetricsSnapshot::deletes},
    {"rotations", "Sessions given a new token by Rotate or Reauthenticated.", &MetricsSnapshot::rotations},
    {"cas_attempts", "Compare-and-swap calls made on the store.", &MetricsSnapshot::cas_attempts},
    {"cas_conflicts", "Compare-and-swap calls that lost to a concurrent change.", &MetricsSnapshot::cas_conflicts},
    {"store_errors", "Store calls that failed.", &MetricsSnapshot::store_errors},
    {"token_refreshes", "Stateless tokens re-issued by Check.", &MetricsSnapshot::token_refreshes},
    {"denylist_hits", "Stateless tokens refused as denylisted.", &MetricsSnapshot::denylist_hits},
    {"device_registrations", "DBSC device keys bound to sessions.", &MetricsSnapshot::device_registrations},
    {"device_refreshes", "DBSC bound cookies renewed with a verified proof.", &MetricsSnapshot::device_refreshes},
    {"device_proofs_refused", "DBSC proofs refused.", &MetricsSnapshot::device_proofs_refused},
};

}  // namespace

std::string WritePrometheus(const MetricsSnapshot& snapshot, std::string_view prefix) {
  const LabeledSnapshot one{snapshot, {}};
  return WritePrometheus(std::span<const LabeledSnapshot>(&one, 1), prefix);
}

std::string WritePrometheus(std::span<const LabeledSnapshot> snapshots, std::string_view prefix) {
  if (!ValidPrefix(prefix)) throw std::invalid_argument("jeff::WritePrometheus: bad metric name prefix");
  // Each snapshot's own labels, formatted once ("" or `a="x",b="y"`).
  std::vector<std::string> own;
  own.reserve(snapshots.size());
  for (const LabeledSnapshot& labeled : snapshots) {
    // Sorted by name, so that equal label sets format equally.
    auto sorted = labeled.labels;
    std::sort(sorted.begin(), sorted.end());
    std::string formatted;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      const std::string& name = sorted[i].first;
      if (!ValidLabelName(name) || (i > 0 && sorted[i - 1].first == name)) {
        throw std::invalid_argument("jeff::WritePrometheus: bad or repeated label name '" + name + "'");
      }
      AppendLabel(formatted, name, sorted[i].second);
    }
    own.push_back(std::move(formatted));
  }
  {
    auto distinct = own;
    std::sort(distinct.begin(), distinct.end());
    if (std::adjacent_find(distinct.begin(), distinct.end()) != distinct.end()) {
      throw std::invalid_argument("jeff::WritePrometheus: two snapshots with the same labels");
    }
  }
  // `extra` after snapshot i's labels.
  const auto labels = [&own](std::size_t i, std::string extra) {
    std::string all = own[i];
    if (!extra.empty()) {
      if (!all.empty()) all += ',';
      all += extra;
    }
    return all;
  };
  const auto op_label = [](std::size_t op) {
    return "op=\"" + std::string(ToString(static_cast<StoreOp>(op))) + "\"";
  };

  Writer w(prefix);
  w.Family("checks_total", "counter", "Session checks by outcome.");
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    const CheckCounts& c = snapshots[i].snapshot.checks;
    const std::pair<std::string_view, std::uint64_t> checks[] = {
        {"ok", c.ok},           {"absent", c.absent},   {"malformed", c.malformed},
        {"unknown", c.unknown}, {"expired", c.expired}, {"store_error", c.store_error},
        {"device_proof_required", c.device_proof_required}};
    for (const auto& [status, value] : checks) {
      w.Sample("checks_total", labels(i, "status=\"" + std::string(status) + "\""), std::to_string(value));
    }
  }
  for (const CounterFamily& counter : kCounters) {
    const std::string total = std::string(counter.name) + "_total";
    w.Family(total, "counter", counter.help);
    for (std::size_t i = 0; i < snapshots.size(); ++i) {
      w.Sample(total, labels(i, {}), std::to_string(snapshots[i].snapshot.*counter.value));
    }
  }
  w.Family("store_calls_total", "counter", "Store calls by operation.");
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    for (std::size_t op = 0; op < kStoreOpCount; ++op) {
      w.Sample("store_calls_total", labels(i, op_label(op)),
               std::to_string(snapshots[i].snapshot.store_calls[op].calls));
    }
  }
  w.Family("store_call_seconds", "histogram",
           "Latency of store calls by operation (a random sample of the calls, see store_calls_total).");
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    for (std::size_t op = 0; op < kStoreOpCount; ++op) {
      const LatencyHistogram& h = snapshots[i].snapshot.store_calls[op];
      const std::string label = labels(i, op_label(op));
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b < h.buckets.size(); ++b) {
        cumulative += h.buckets[b];
        const std::string le = b < kStoreCallBuckets.size() ? Number(kStoreCallBuckets[b]) : "+Inf";
        w.Sample("store_call_seconds_bucket", label + ",le=\"" + le + "\"", std::to_string(cumulative));
      }
      w.Sample("store_call_seconds_sum", label, Number(h.sum_seconds));
      w.Sample("store_call_seconds_count", label, std::to_string(cumulative));
    }
  }
  return w.Take();
}

}  // namespace jeff
