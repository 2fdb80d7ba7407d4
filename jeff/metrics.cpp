#include <jeff/metrics.hpp>

#include <cstdlib>
#include <cstdio>
#include <stdexcept>

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

  void Counter(std::string_view name, std::string_view help, std::uint64_t value) {
    const std::string total = std::string(name) + "_total";
    Family(total, "counter", help);
    Sample(total, {}, std::to_string(value));
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

bool ValidPrefix(std::string_view prefix) {
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char c = prefix[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

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

std::string WritePrometheus(const MetricsSnapshot& s, std::string_view prefix) {
  if (!ValidPrefix(prefix)) throw std::invalid_argument("jeff::WritePrometheus: bad metric name prefix");
  Writer w(prefix);
  w.Family("checks_total", "counter", "Session checks by outcome.");
  const std::pair<std::string_view, std::uint64_t> checks[] = {
      {"ok", s.checks.ok},           {"absent", s.checks.absent},   {"malformed", s.checks.malformed},
      {"unknown", s.checks.unknown}, {"expired", s.checks.expired}, {"store_error", s.checks.store_error}};
  for (const auto& [status, value] : checks) {
    w.Sample("checks_total", "status=\"" + std::string(status) + "\"", std::to_string(value));
  }
  w.Counter("sets", "Sessions created by Set.", s.sets);
  w.Counter("clears", "Sessions logged out by Clear.", s.clears);
  w.Counter("deletes", "Sessions revoked by Delete.", s.deletes);
  w.Counter("rotations", "Sessions given a new token by Rotate.", s.rotations);
  w.Counter("cas_attempts", "Compare-and-swap calls made on the store.", s.cas_attempts);
  w.Counter("cas_conflicts", "Compare-and-swap calls that lost to a concurrent change.", s.cas_conflicts);
  w.Counter("store_errors", "Store calls that failed.", s.store_errors);
  w.Counter("token_refreshes", "Stateless tokens re-issued by Check.", s.token_refreshes);
  w.Counter("denylist_hits", "Stateless tokens refused as denylisted.", s.denylist_hits);
  const auto op_label = [](std::size_t op) {
    return "op=\"" + std::string(ToString(static_cast<StoreOp>(op))) + "\"";
  };
  w.Family("store_calls_total", "counter", "Store calls by operation.");
  for (std::size_t op = 0; op < kStoreOpCount; ++op) {
    w.Sample("store_calls_total", op_label(op), std::to_string(s.store_calls[op].calls));
  }
  w.Family("store_call_seconds", "histogram",
           "Latency of store calls by operation (a random sample of the calls, see store_calls_total).");
  for (std::size_t op = 0; op < kStoreOpCount; ++op) {
    const LatencyHistogram& h = s.store_calls[op];
    const std::string label = op_label(op);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      const std::string le = i < kStoreCallBuckets.size() ? Number(kStoreCallBuckets[i]) : "+Inf";
      w.Sample("store_call_seconds_bucket", label + ",le=\"" + le + "\"", std::to_string(cumulative));
    }
    w.Sample("store_call_seconds_sum", label, Number(h.sum_seconds));
    w.Sample("store_call_seconds_count", label, std::to_string(cumulative));
  }
  return w.Take();
}

}  // namespace jeff
