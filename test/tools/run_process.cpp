#include "run_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <tuple>

extern char** environ;

namespace jeff::test {
namespace {

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }
  void CloseRead() { Close(fds_[0]); }
  void CloseWrite() { Close(fds_[1]); }

 private:
  static void Close(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  std::array<int, 2> fds_{-1, -1};
};

std::vector<std::string> ChangedEnvironment(const EnvChanges& changes) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (changes.count(std::string(text.substr(0, text.find('=')))) == 0) env.emplace_back(text);
  }
  for (const auto& [name, value] : changes) {
    if (value) env.push_back(name + "=" + *value);
  }
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

ProcessOutcome RunProcess(const std::vector<std::string>& argv, std::string_view input,
                          const EnvChanges& env, std::chrono::milliseconds timeout) {
  if (argv.empty()) throw std::runtime_error("RunProcess: empty argv");
  // A child that exits without reading its input must fail our write, not kill us.
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args = argv;
  std::vector<std::string> environment = ChangedEnvironment(env);
  std::vector<char*> arg_pointers = Pointers(args);
  std::vector<char*> env_pointers = Pointers(environment);
  Pipe in, out, err;

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    if (::dup2(in.read_end(), 0) < 0 || ::dup2(out.write_end(), 1) < 0 ||
        ::dup2(err.write_end(), 2) < 0) {
      ::_exit(126);
    }
    ::execvpe(arg_pointers[0], arg_pointers.data(), env_pointers.data());
    const char message[] = "RunProcess: exec failed\n";
    [[maybe_unused]] auto ignored = ::write(2, message, sizeof message - 1);
    ::_exit(127);
  }
  in.CloseRead();
  out.CloseWrite();
  err.CloseWrite();
  if (input.empty()) in.CloseWrite();

  ProcessOutcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t written = 0;
  while (out.read_end() >= 0 || err.read_end() >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      throw std::runtime_error("RunProcess: " + argv[0] + " did not finish in time");
    }
    std::array<pollfd, 3> polls = {pollfd{out.read_end(), POLLIN, 0}, pollfd{err.read_end(), POLLIN, 0},
                                   pollfd{in.write_end(), POLLOUT, 0}};
    if (::poll(polls.data(), polls.size(), static_cast<int>(left.count())) < 0 && errno != EINTR) {
      throw std::runtime_error("RunProcess: poll failed");
    }
    if (polls[2].revents != 0) {
      const ssize_t n = ::write(in.write_end(), input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 || written == input.size()) in.CloseWrite();
    }
    for (auto [poll, pipe, text] : {std::tuple{polls[0], &out, &outcome.out},
                                    std::tuple{polls[1], &err, &outcome.err}}) {
      if (poll.revents == 0) continue;
      char buffer[65536];
      const ssize_t n = ::read(pipe->read_end(), buffer, sizeof buffer);
      if (n > 0) {
        text->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        pipe->CloseRead();
      }
    }
  }
  in.CloseWrite();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("RunProcess: waitpid failed");
  }
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

}  // namespace jeff::test
