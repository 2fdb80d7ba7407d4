// jeff-check-profile: load-insensitive counts of one memory-store Check,
// for profiling on a busy machine (issue 28). Populates a MemoryStore with
// 10,000 keys of `sessions` sessions each (as jeff-bench's MemoryCheck),
// then runs `checks` Checks through Sessions (sync), AsyncSessions on one
// io_context called from outside the loop, one run() per Check (async), or
// AsyncSessions as an application's loop calls it, each completion starting
// the next Check within one run() (loop), and prints heap allocations per
// Check (counted by replacing operator new in this program). Instructions per Check: run it
// under callgrind, counting only the Checks:
//
//   valgrind --tool=callgrind --toggle-collect='*RunChecks*' jeff-check-profile sync 1 100000
//
// then divide the total Ir by `checks` + 1000 (the warm-up runs first).
//
//   jeff-check-profile sync|async|loop|sealed|floor [sessions per key] [checks]
//
// `sealed`: sync, with records encrypted at rest (Options::at_rest).
// `floor`: the floor of a Check (check_floor.hpp, jeff-bench's
// MemoryCheckFloor) over the same cookies, for the ratio to it.

#include "check_floor.hpp"

#include <jeff/async_sessions.hpp>
#include <jeff/sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::atomic<std::uint64_t> allocations{0};

constexpr std::size_t kKeys = 10000;

jeff::Options ProfileOptions() {
  jeff::Options o;
  o.touch_interval = std::chrono::hours(1);  // no touch write during a run
  return o;
}

std::size_t Next(std::size_t i) { return (i + 7727) % kKeys; }

// Not inlined, so that callgrind's --toggle-collect can name them.
[[gnu::noinline]] std::size_t RunChecksSync(jeff::Sessions& sessions, const std::vector<std::string>& cookies,
                                            std::size_t checks) {
  std::size_t bad = 0, i = 0;
  for (std::size_t n = 0; n < checks; ++n) {
    i = Next(i);
    bad += sessions.Check(cookies[i]).ok() ? 0 : 1;
  }
  return bad;
}

[[gnu::noinline]] std::size_t RunChecksFloor(const jeff_bench::CheckFloor& floor,
                                             const std::vector<std::string>& cookies, std::size_t checks) {
  std::size_t bad = 0, i = 0;
  for (std::size_t n = 0; n < checks; ++n) {
    i = Next(i);
    bad += floor.Check(cookies[i]) ? 0 : 1;
  }
  return bad;
}

[[gnu::noinline]] std::size_t RunChecksAsync(boost::asio::io_context& ioc, jeff::AsyncSessions& sessions,
                                             const std::vector<std::string>& cookies, std::size_t checks) {
  std::size_t bad = 0, i = 0;
  for (std::size_t n = 0; n < checks; ++n) {
    i = Next(i);
    sessions.Check(cookies[i], [&bad](jeff::CheckResult r) { bad += r.ok() ? 0 : 1; });
    ioc.run();
    ioc.restart();
  }
  return bad;
}

// As an application's loop runs them: each completion starts the next Check,
// all within one run() (Asio recycles its handler blocks only there).
[[gnu::noinline]] std::size_t RunChecksInLoop(boost::asio::io_context& ioc, jeff::AsyncSessions& sessions,
                                              const std::vector<std::string>& cookies, std::size_t checks) {
  std::size_t bad = 0, i = 0, left = checks;
  std::function<void()> next = [&] {
    if (left == 0) return;
    --left;
    i = Next(i);
    sessions.Check(cookies[i], [&](jeff::CheckResult r) {
      bad += r.ok() ? 0 : 1;
      next();
    });
  };
  boost::asio::post(ioc, next);
  ioc.run();
  ioc.restart();
  return bad;
}

}  // namespace

// These replace the global allocation functions, so GCC's new/delete pairing
// check, which sees malloc and free, does not apply.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "sync";
    const std::size_t per_key = argc > 2 ? std::stoul(argv[2]) : 1;
    const std::size_t checks = argc > 3 ? std::stoul(argv[3]) : 100000;
    auto store = std::make_shared<jeff::MemoryStore>();
    jeff::Options o = ProfileOptions();
    o.store = store;
    if (mode == "sealed") o.at_rest.keys = {jeff::AtRestKey{1, std::string(jeff::kAtRestKeyBytes, 'k')}};
    jeff::Sessions sync(o);
    std::vector<std::string> cookies;
    for (std::size_t i = 0; i < kKeys; ++i) {
      const std::string key = "user" + std::to_string(i) + "@example.com";
      std::string cookie;
      for (std::size_t s = 0; s < per_key; ++s) {
        auto issued = sync.Set(key);
        if (!issued) throw std::runtime_error("Set failed");
        cookie = issued->set_cookie.front().substr(0, issued->set_cookie.front().find(';'));
      }
      cookies.push_back(cookie);
    }
    jeff_bench::CheckFloor floor(o.cookie.name, kKeys);
    for (const std::string& cookie : cookies) floor.Add(cookie);
    boost::asio::io_context ioc(1);
    jeff::AsyncSessions async(ProfileOptions(), store, ioc.get_executor());
    std::size_t bad = 0;
    const auto run = [&](std::size_t n) {
      if (mode == "loop") return RunChecksInLoop(ioc, async, cookies, n);
      if (mode == "floor") return RunChecksFloor(floor, cookies, n);
      return mode == "async" ? RunChecksAsync(ioc, async, cookies, n) : RunChecksSync(sync, cookies, n);
    };
    bad += run(1000);  // warm: per-thread buffers, Asio's recycled blocks
    const std::uint64_t before = allocations.load();
    bad += run(checks);
    const std::uint64_t after = allocations.load();
    std::printf("{\"mode\":\"%s\",\"sessions_per_key\":%zu,\"checks\":%zu,\"allocations_per_check\":%.3f}\n",
                mode.c_str(), per_key, checks, static_cast<double>(after - before) / static_cast<double>(checks));
    return bad == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jeff-check-profile: %s\n", e.what());
    return 1;
  }
}
