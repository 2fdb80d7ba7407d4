#include "args.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>

namespace jeff::ctl {

bool Args::Has(std::string_view name) const { return options_.find(name) != options_.end(); }

std::optional<std::string> Args::Value(std::string_view name) const {
  const auto it = options_.find(name);
  if (it == options_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::Values(std::string_view name) const {
  const auto it = options_.find(name);
  return it == options_.end() ? std::vector<std::string>{} : it->second;
}

std::vector<Flag> Flags(std::initializer_list<Flag> own, std::span<const Flag> shared) {
  std::vector<Flag> flags(own);
  flags.insert(flags.end(), shared.begin(), shared.end());
  return flags;
}

Args ParseArgs(std::span<const std::string_view> argv, std::span<const Flag> flags) {
  Args args;
  bool options_ended = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string_view word = argv[i];
    if (options_ended || word == "-" || !word.starts_with("-")) {
      args.positional_.emplace_back(word);
      continue;
    }
    if (word == "--") {
      options_ended = true;
      continue;
    }
    if (!word.starts_with("--")) throw UsageError("unknown option " + std::string(word));
    const std::string_view body = word.substr(2);
    const std::size_t equals = body.find('=');
    const std::string_view name = body.substr(0, equals);
    const auto flag = std::find_if(flags.begin(), flags.end(),
                                   [&](const Flag& f) { return f.name == name; });
    if (flag == flags.end()) throw UsageError("unknown option --" + std::string(name));
    std::string value;
    if (flag->takes_value) {
      if (equals != std::string_view::npos) {
        value = body.substr(equals + 1);
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        throw UsageError("--" + std::string(name) + " needs a value");
      }
    } else if (equals != std::string_view::npos) {
      throw UsageError("--" + std::string(name) + " takes no value");
    }
    auto& values = args.options_[std::string(name)];
    if (!values.empty() && !flag->repeatable) {
      throw UsageError("--" + std::string(name) + " given more than once");
    }
    values.push_back(std::move(value));
  }
  return args;
}

bool WantsHelp(std::span<const std::string_view> argv) {
  for (const std::string_view word : argv) {
    if (word == "--") return false;
    if (word == "--help" || word == "-h") return true;
  }
  return false;
}

std::optional<std::string> Env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::chrono::seconds ParseSeconds(std::string_view flag, std::string_view text,
                                  std::chrono::seconds min, std::chrono::seconds max) {
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || n < min.count() ||
      n > max.count()) {
    throw UsageError("--" + std::string(flag) + " needs whole seconds from " +
                     std::to_string(min.count()) + " to " + std::to_string(max.count()));
  }
  return std::chrono::seconds(n);
}

}  // namespace jeff::ctl
