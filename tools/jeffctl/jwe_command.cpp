#include "jwe_command.hpp"

#include "jwe_keys.hpp"

#include <jeff/clock.hpp>
#include <jeff/jwe.hpp>
#include <jeff/token.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace jeff::ctl {
namespace {

using nlohmann::ordered_json;

// Auth.js (jose) accepts `exp` and `nbf` within this tolerance.
constexpr std::chrono::seconds kSkew{15};
// Auth.js's default session maxAge.
constexpr std::chrono::seconds kDefaultMaxAge = std::chrono::hours(24 * 30);

constexpr std::string_view kDecodeUsage =
    "usage: jeffctl jwe decode [--secret S ...] [--allow-weak-secret] [--salt NAME]\n"
    "                          [--key-hex HEX ...] [--enc ENC] [--allow-expired] < token\n"
    "\n"
    "Decrypts the compact JWE on standard input (a session cookie's value, or an\n"
    "Authorization: Bearer token; chunked cookies joined first) and prints its claims as\n"
    "JSON. Exits 1 when the token is not intact, no key opens it, its payload is not a\n"
    "JSON object, or it is expired (exp) or not yet valid (nbf), with Auth.js's 15 s\n"
    "tolerance. With --enc, tokens of the other enc are refused. Without --salt, says\n"
    "on standard error which salt opened the token.\n"
    "\n"
    "  --allow-expired     print the claims of an expired or not yet valid token too\n";

constexpr std::string_view kEncodeUsage =
    "usage: jeffctl jwe encode [--secret S ...] [--allow-weak-secret] [--salt NAME]\n"
    "                          [--key-hex HEX ...] [--enc ENC] [--max-age SECONDS]\n"
    "                          < claims.json\n"
    "\n"
    "Reads one JSON object of claims on standard input, sets iat (now), exp (now +\n"
    "max age) and jti (a random UUID) as Auth.js's encode does, and prints the compact\n"
    "JWE, encrypted with the first secret (else the first raw key).\n"
    "\n"
    "  --max-age SECONDS   lifetime of the token (default 2592000, 30 days: Auth.js's)\n";

constexpr std::string_view kDecodeSaltHelp =
    "                      Default: try jeff's, then Auth.js's two, in that order.\n";

constexpr std::string_view kEncodeSaltHelp =
    "                      Default: jeff's (it says so on standard error).\n";

constexpr std::string_view kInspectUsage =
    "usage: jeffctl jwe inspect < token\n"
    "\n"
    "Prints the protected header of the compact JWE on standard input and the length\n"
    "of each segment, in characters and decoded bytes, without decrypting:\n"
    "  {\"header\":{\"alg\":\"dir\",\"enc\":...,\"kid\":...},\"segments\":{\"protected\":\n"
    "   {\"chars\":N,\"bytes\":N},\"encrypted_key\":...,\"iv\":...,\"ciphertext\":...,\n"
    "   \"tag\":...}}\n"
    "Exits 1 when the input is not five base64url segments with a JSON header.\n";

constexpr std::array<std::string_view, 5> kSegmentNames = {"protected", "encrypted_key", "iv",
                                                          "ciphertext", "tag"};

std::string ReadStdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// The token on standard input, without surrounding whitespace.
std::string ReadToken() {
  const std::string input = ReadStdin();
  constexpr std::string_view kSpace = " \t\r\n";
  const std::size_t begin = input.find_first_not_of(kSpace);
  if (begin == std::string::npos) throw UsageError("no token on standard input");
  return input.substr(begin, input.find_last_not_of(kSpace) + 1 - begin);
}

JweCodec MakeCodec(JweOptions options) {
  try {
    return JweCodec(std::move(options));
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

// A codec to try on a token, and the salt its secrets' keys were derived
// with (empty: raw keys only, or the salt the operator gave).
struct Attempt {
  std::string salt;
  JweCodec codec;
};

// What decode tries, in order. With --salt, or without secrets, one codec
// with every key. Otherwise the secrets under each default salt, then the
// raw keys alone, so that the salt that opened a token is known.
std::vector<Attempt> DecodeAttempts(const Args& args) {
  const bool enc_only = args.Has("enc");
  JweOptions options = JweOptionsFromArgs(args, enc_only);
  std::vector<Attempt> attempts;
  if (!options.salt.empty() || options.secrets.empty()) {
    attempts.push_back({"", MakeCodec(std::move(options))});
    return attempts;
  }
  for (const std::string& salt : DefaultDecodeSalts()) {
    JweOptions derived = options;
    derived.keys.clear();
    derived.salt = salt;
    attempts.push_back({salt, MakeCodec(std::move(derived))});
  }
  JweOptions raw = options;
  raw.secrets.clear();
  const auto fits = [&](JweEnc enc) {
    return std::any_of(raw.keys.begin(), raw.keys.end(),
                       [&](const std::string& key) { return key.size() == JweKeyBytes(enc); });
  };
  if (!fits(raw.enc) && !enc_only) {
    raw.enc = raw.enc == JweEnc::kA256Gcm ? JweEnc::kA256CbcHs512 : JweEnc::kA256Gcm;
  }
  // With --enc, raw keys of the other enc could open nothing anyway.
  if (fits(raw.enc)) attempts.push_back({"", MakeCodec(std::move(raw))});
  return attempts;
}

ExitCode Invalid(std::string_view why) {
  PrintError(std::string("invalid token: ") + std::string(why));
  return ExitCode::kFailure;
}

std::int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(SystemClock()().time_since_epoch()).count();
}

// Why `claims` are not valid now (exp, nbf), or empty when they are.
std::string TimeProblem(const ordered_json& claims) {
  const double now = static_cast<double>(NowSeconds());
  const double skew = static_cast<double>(kSkew.count());
  for (const char* name : {"exp", "nbf"}) {
    if (claims.contains(name) && !claims[name].is_number()) {
      return std::string("claim ") + name + " is not a number";
    }
  }
  if (claims.contains("exp") && claims["exp"].get<double>() + skew <= now) return "expired (exp)";
  if (claims.contains("nbf") && claims["nbf"].get<double>() - skew > now) {
    return "not yet valid (nbf)";
  }
  return {};
}

ExitCode Decode(const Args& args) {
  if (!args.positional().empty()) throw UsageError("the token is read from standard input");
  const std::vector<Attempt> attempts = DecodeAttempts(args);
  const std::string token = ReadToken();
  std::optional<std::string> plaintext;
  const Attempt* opened = nullptr;
  for (const Attempt& attempt : attempts) {
    plaintext = attempt.codec.Decrypt(token);
    if (plaintext) {
      opened = &attempt;
      break;
    }
  }
  if (!plaintext) {
    std::string tried;
    for (const Attempt& attempt : attempts) {
      if (!attempt.salt.empty()) tried += (tried.empty() ? "; tried salts " : ", ") + attempt.salt;
    }
    return Invalid("not a JWE this key opens (wrong key, salt or enc, or damaged)" + tried);
  }
  if (!opened->salt.empty()) PrintError("opened with salt " + opened->salt);
  const ordered_json claims = ordered_json::parse(*plaintext, nullptr, false);
  if (!claims.is_object()) return Invalid("the payload is not a JSON object");
  const std::string problem = TimeProblem(claims);
  if (!problem.empty() && !args.Has("allow-expired")) return Invalid(problem);
  std::cout << claims.dump(2) << std::endl;
  if (!problem.empty()) PrintError("warning: " + problem);
  return ExitCode::kOk;
}

ExitCode Encode(const Args& args) {
  if (!args.positional().empty()) throw UsageError("the claims are read from standard input");
  JweOptions options = JweOptionsFromArgs(args, false);
  if (options.salt.empty() && !options.secrets.empty()) {
    options.salt = JeffDefaultSalt();
    PrintError("salt " + options.salt + " (jeff's default cookie name); for an Auth.js app pass "
               "--salt authjs.session-token (or __Secure-authjs.session-token over HTTPS)");
  }
  const JweCodec codec = MakeCodec(std::move(options));
  const std::chrono::seconds max_age =
      args.Has("max-age") ? ParseSeconds("max-age", *args.Value("max-age"), std::chrono::seconds(1),
                                         std::chrono::hours(24 * 365 * 100))
                          : kDefaultMaxAge;
  ordered_json claims = ordered_json::parse(ReadStdin(), nullptr, false);
  if (!claims.is_object()) throw UsageError("standard input must be one JSON object of claims");
  const std::int64_t now = NowSeconds();
  claims["iat"] = now;
  claims["exp"] = now + max_age.count();
  claims["jti"] = FormatSessionId(NewSessionId());
  auto token = codec.Encrypt(claims.dump());
  if (!token) {
    PrintError("cannot encrypt: " + token.error().message());
    return ExitCode::kFailure;
  }
  std::cout << *token << std::endl;
  return ExitCode::kOk;
}

ExitCode Inspect(const Args& args) {
  if (!args.positional().empty()) throw UsageError("the token is read from standard input");
  const std::string token = ReadToken();
  std::vector<std::string_view> segments;
  std::string_view rest = token;
  for (std::size_t dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
    segments.push_back(rest.substr(0, dot));
    rest.remove_prefix(dot + 1);
  }
  segments.push_back(rest);
  if (segments.size() != kSegmentNames.size()) {
    return Invalid("a compact JWE has 5 segments, this has " + std::to_string(segments.size()));
  }
  ordered_json out = {{"header", nullptr}, {"segments", ordered_json::object()}};
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::optional<std::string> bytes = Base64UrlDecode(segments[i]);
    if (!bytes) return Invalid("segment " + std::string(kSegmentNames[i]) + " is not base64url");
    out["segments"][std::string(kSegmentNames[i])] = {{"chars", segments[i].size()},
                                                      {"bytes", bytes->size()}};
    if (i == 0) out["header"] = ordered_json::parse(*bytes, nullptr, false);
  }
  if (!out["header"].is_object()) return Invalid("the protected header is not a JSON object");
  std::cout << out.dump(2) << std::endl;
  return ExitCode::kOk;
}

}  // namespace

CommandGroup JweCommands() {
  return {"jwe",
          {
              {"decode", "decrypt a token (stdin) and print its claims",
               std::string(kDecodeUsage) + JweKeyHelp(kDecodeSaltHelp),
               Flags({{"allow-expired", false, false}}, kJweKeyFlags), Decode},
              {"encode", "encrypt claims (stdin) into a token",
               std::string(kEncodeUsage) + JweKeyHelp(kEncodeSaltHelp),
               Flags({{"max-age", true, false}}, kJweKeyFlags), Encode},
              {"inspect", "print a token's header and segment lengths, without a key",
               std::string(kInspectUsage), {}, Inspect},
          }};
}

}  // namespace jeff::ctl
