#include "support/server_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace jeff::test {
namespace {

sockaddr_in Loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// The process `root` and every process below it (from /proc), collected
// before any is signalled: a killed parent's children are re-parented.
// PostgreSQL backends call setsid(), so a process-group signal misses them.
std::vector<pid_t> ProcessTree(pid_t root) {
  std::vector<std::pair<pid_t, pid_t>> parent_of;  // (pid, ppid)
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    FILE* f = std::fopen((entry.path() / "stat").c_str(), "r");
    if (f == nullptr) continue;
    char buf[512];
    const std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const char* close = std::strrchr(buf, ')');
    int ppid = 0;
    if (close != nullptr && std::sscanf(close + 1, " %*c %d", &ppid) == 1) {
      parent_of.emplace_back(static_cast<pid_t>(std::stoi(name)), static_cast<pid_t>(ppid));
    }
  }
  std::vector<pid_t> tree = {root};
  for (std::size_t i = 0; i < tree.size(); ++i) {
    for (const auto& [pid, ppid] : parent_of) {
      if (ppid == tree[i]) tree.push_back(pid);
    }
  }
  return tree;
}

// Signals the process group of `root` and every process below it.
void SignalTree(pid_t root, int sig) {
  const std::vector<pid_t> tree = ProcessTree(root);
  ::kill(-root, sig);
  for (pid_t pid : tree) ::kill(pid, sig);
}

}  // namespace

std::uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool PortAccepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr = Loopback(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

ServerProcess::ServerProcess(std::string name, std::vector<std::string> argv, std::uint16_t port,
                             std::chrono::milliseconds startup_timeout)
    : name_(std::move(name)),
      argv_(std::move(argv)),
      port_(port != 0 ? port : FreePort()),
      startup_timeout_(startup_timeout) {
  std::string templ = (std::filesystem::temp_directory_path() / ("jeff-" + name_ + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
  // Servers that drop privileges (memcached -u nobody) must be able to use it.
  std::filesystem::permissions(dir_, std::filesystem::perms::all);
  Spawn();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    SignalTree(pid_, SIGCONT);
    ::kill(-pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (pid_ > 0) Kill();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void ServerProcess::Spawn() {
  std::vector<std::string> args;
  for (const auto& a : argv_) {
    args.push_back(Replace(Replace(a, "{port}", std::to_string(port_)), "{dir}", dir_));
  }
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::string log = dir_ + "/server.log";

  // Unwritten test output would otherwise be flushed by the child too.
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Child: own process group, output to a log file, then exec.
    ::setpgid(0, 0);
    FILE* out = std::freopen(log.c_str(), "a", stdout);
    if (out != nullptr) ::dup2(::fileno(stdout), STDERR_FILENO);
    ::execvp(cargs[0], cargs.data());
    std::fprintf(stderr, "exec %s: %s\n", cargs[0], std::strerror(errno));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no signal may reach the group before the child set it
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + startup_timeout_;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(name_ + " exited at start-up (see " + log + "; is it installed?)");
    }
    if (PortAccepts(port_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  throw std::runtime_error(name_ + " did not accept connections on port " +
                           std::to_string(port_) + " in time");
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  SignalTree(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  // Wait until the port is released so that Restart can bind it again.
  for (int i = 0; i < 200 && PortAccepts(port_); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ServerProcess::Restart() {
  Kill();
  Spawn();
}

void ServerProcess::Pause() {
  if (pid_ > 0) SignalTree(pid_, SIGSTOP);
}

void ServerProcess::Resume() {
  if (pid_ > 0) SignalTree(pid_, SIGCONT);
}

std::unique_ptr<ServerProcess> StartRedis(std::vector<std::string> extra_args, std::uint16_t port) {
  std::vector<std::string> argv = {"redis-server", "--port", "{port}", "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", "{dir}",
                                   "--daemonize", "no", "--protected-mode", "no"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return std::make_unique<ServerProcess>("redis", std::move(argv), port);
}

std::unique_ptr<ServerProcess> StartMemcached(std::vector<std::string> extra_args,
                                              std::uint16_t port) {
  std::vector<std::string> argv = {"memcached", "-p", "{port}", "-l", "127.0.0.1", "-U", "0"};
  if (::geteuid() == 0) {
    argv.push_back("-u");
    argv.push_back("nobody");
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return std::make_unique<ServerProcess>("memcached", std::move(argv), port);
}

namespace {

// The newest installed PostgreSQL's bin folder: Debian keeps it outside PATH.
std::filesystem::path PostgresBin() {
  std::filesystem::path bin;
  std::error_code ec;
  for (const auto& version : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const auto candidate = version.path() / "bin";
    if (std::filesystem::exists(candidate / "postgres") && (bin.empty() || candidate > bin)) {
      bin = candidate;
    }
  }
  if (bin.empty()) throw std::runtime_error("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/postgres)");
  return bin;
}

// `script` (sh) that prepares {dir}/data once and then execs the server
// there, loopback only. fsync is off (the tests kill processes, never the
// machine); synchronous_commit stays on, so that a committed row is in the
// WAL before the commit returns and survives a SIGKILL.
std::unique_ptr<ServerProcess> RunPostgres(const std::filesystem::path& bin, const std::string& prepare,
                                           std::uint16_t port) {
  const std::string script = "[ -d {dir}/data ] || " + prepare + " || exit 1; exec " +
                             (bin / "postgres").string() +
                             " -D {dir}/data -p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off"
                             " -c full_page_writes=off";
  std::vector<std::string> argv;
  if (::geteuid() == 0) {
    // initdb and postgres refuse to run as root.
    argv = {"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"};
  }
  argv.insert(argv.end(), {"sh", "-c", script});
  return std::make_unique<ServerProcess>("postgres", std::move(argv), port, std::chrono::seconds(60));
}

}  // namespace

std::unique_ptr<ServerProcess> StartPostgres(std::uint16_t port) {
  // initdb once per folder (a Restart keeps the data).
  const auto bin = PostgresBin();
  return RunPostgres(bin,
                     (bin / "initdb").string() +
                         " -D {dir}/data -U jeff --auth=trust --no-sync -E UTF8 --locale=C >/dev/null",
                     port);
}

std::unique_ptr<ServerProcess> StartPostgresStandby(std::uint16_t primary_port, std::uint16_t port) {
  const auto bin = PostgresBin();
  return RunPostgres(bin,
                     (bin / "pg_basebackup").string() + " -h 127.0.0.1 -p " +
                         std::to_string(primary_port) +
                         " -U jeff -D {dir}/data -R -X stream --no-sync >/dev/null",
                     port);
}

}  // namespace jeff::test
