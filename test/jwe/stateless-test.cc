// The stateless strategy through jeff::Sessions (issue 5): claims, expiry,
// refresh, chunked cookies, bearer tokens, callbacks, the denylist.

#include <doctest/doctest.h>
#include <jeff/claims.hpp>
#include <jeff/jwe.hpp>
#include <jeff/sessions.hpp>
#include <jeff/stores/memory/memory_store.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using jeff::CheckStatus;
using jeff::JwtTrigger;
using jeff::Options;
using jeff::Sessions;

const std::string kSecret = "stateless-test-secret-0123456789abcdef";

// A browser's cookie jar for one site: applies Set-Cookie values (Max-Age=0
// deletes) and writes the Cookie header, so chunk clean-up is tested as a
// browser would see it.
class Jar {
 public:
  void Apply(const std::vector<std::string>& set_cookies) {
    for (const std::string& sc : set_cookies) {
      const std::string pair = sc.substr(0, sc.find(';'));
      const std::size_t eq = pair.find('=');
      REQUIRE(eq != std::string::npos);
      const std::string name = pair.substr(0, eq);
      if (sc.find("; Max-Age=0") != std::string::npos) {
        cookies_.erase(name);
      } else {
        cookies_[name] = pair.substr(eq + 1);
      }
    }
  }
  std::string Header() const {
    std::string header = "theme=dark";
    for (const auto& [name, value] : cookies_) header += "; " + name + "=" + value;
    return header;
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& entry : cookies_) names.push_back(entry.first);
    return names;
  }
  std::string Value(const std::string& name) const {
    const auto it = cookies_.find(name);
    return it == cookies_.end() ? std::string() : it->second;
  }

 private:
  std::map<std::string, std::string> cookies_;
};

struct Fixture {
  jeff::ManualClock clock;
  Options options;
  Fixture() {
    options.clock = clock.AsClock();
    options.cookie.name = "authjs.session-token";
    options.stateless.secrets = {kSecret};
    options.logger = [](std::string_view) {};
  }
};

nlohmann::json ClaimsOf(const jeff::Session& session) {
  REQUIRE(session.claims != nullptr);
  return nlohmann::json::parse(session.claims->json());
}

}  // namespace

TEST_SUITE("stateless") {

TEST_CASE_FIXTURE(Fixture, "strategy selection and construction errors") {
  options.stateless.secrets.clear();
  CHECK_THROWS_AS(Sessions{options}, std::invalid_argument);  // no store, no secret
  options.stateless.secrets = {std::string(31, 's')};
  CHECK_THROWS_AS(Sessions{options}, std::invalid_argument);  // too short
  options.stateless.secrets = {kSecret, "short"};
  CHECK_THROWS_AS(Sessions{options}, std::invalid_argument);
  options.stateless.secrets = {};
  options.stateless.keys = {std::string(20, 'k')};
  CHECK_THROWS_AS(Sessions{options}, std::invalid_argument);
  options.stateless.keys = {std::string(64, 'k')};
  CHECK_NOTHROW(Sessions{options});
  options.stateless.keys.clear();
  options.stateless.secrets = {kSecret};

  SUBCASE("no store: stateless") {
    Sessions sessions(options);
    CHECK(sessions.SessionsForKey("u").error() == jeff::Errc::kUnsupported);
  }
  SUBCASE("store given: stateful unless told otherwise") {
    options.store = std::make_shared<jeff::MemoryStore>();
    Sessions stateful(options);
    CHECK(stateful.SessionsForKey("u").ok());
    options.strategy = jeff::SessionStrategy::kStateless;
    Sessions stateless(options);
    CHECK(stateless.SessionsForKey("u").error() == jeff::Errc::kUnsupported);
  }
  SUBCASE("explicitly stateful without a store is an error") {
    options.strategy = jeff::SessionStrategy::kStateful;
    CHECK_THROWS_AS(Sessions{options}, std::invalid_argument);
  }
}

TEST_CASE_FIXTURE(Fixture, "short secrets: refused naming the opt-in, or accepted with one warning") {
  std::vector<std::string> logged;
  options.logger = [&logged](std::string_view line) { logged.emplace_back(line); };
  options.stateless.secrets = {"six-ch", kSecret};
  try {
    Sessions{options};
    FAIL("a short secret was accepted without the opt-in");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("allow_weak_secrets") != std::string::npos);
  }
  CHECK(logged.empty());

  options.stateless.allow_weak_secrets = true;
  Sessions sessions(options);
  REQUIRE(logged.size() == 1);
  CHECK(logged[0].find("WARNING: stateless.allow_weak_secrets: 1 of 2 secrets") == 0);
  CHECK(logged[0].find("Rotate") != std::string::npos);
  auto issued = sessions.Set("u", "");
  REQUIRE(issued.ok());
  Jar jar;
  jar.Apply(issued->set_cookie);
  CHECK(sessions.Check(jar.Header()).ok());
  CHECK(logged.size() == 1);  // once, at construction

  // Rotated to a long secret: the old short one still reads, no warning.
  logged.clear();
  options.stateless.secrets = {kSecret};
  CHECK(Sessions(options).Check(jar.Header()).status == CheckStatus::kUnknown);
  options.stateless.secrets = {kSecret, "six-ch"};
  CHECK(Sessions(options).Check(jar.Header()).ok());
  REQUIRE(logged.size() == 1);
  options.stateless.secrets = {kSecret};
  logged.clear();
  Sessions long_only(options);
  CHECK(logged.empty());
}

TEST_CASE_FIXTURE(Fixture, "Set issues a token that Check reads back, with the claims") {
  options.stateless.jwt_callback = [](JwtTrigger trigger, std::string_view key, nlohmann::json& claims) {
    CHECK(trigger == JwtTrigger::kSignIn);
    claims["roles"] = {"admin", "editor"};
    claims["name"] = "Zoë 😀 " + std::string(key);
    claims["exp"] = 1;  // jeff's own claims cannot be overridden
    return jeff::Result<void>{};
  };
  Sessions sessions(options);
  auto issued = sessions.Set("user-7", "device=phone");
  REQUIRE(issued.ok());
  REQUIRE(issued->set_cookie.size() == 1);
  const std::string& sc = issued->set_cookie[0];
  CHECK(sc.rfind("authjs.session-token=eyJ", 0) == 0);
  CHECK(sc.find("; Max-Age=2592000") != std::string::npos);
  CHECK(sc.find("HttpOnly") != std::string::npos);

  Jar jar;
  jar.Apply(issued->set_cookie);
  auto checked = sessions.Check(jar.Header());
  REQUIRE(checked.ok());
  CHECK(checked.set_cookie.empty());
  const jeff::Session& s = checked.session;
  CHECK(s.key == "user-7");
  CHECK(s.meta == "device=phone");
  CHECK(s.id == issued->session.id);
  CHECK(s.id != jeff::SessionId{});
  CHECK(s.expires == clock.Now() + std::chrono::hours(24 * 30));
  CHECK(s.created == clock.Now());
  CHECK(s.HasRole("admin"));
  CHECK(s.HasRole("editor"));
  CHECK_FALSE(s.HasRole("root"));
  CHECK(s.StringClaim("name") == std::optional<std::string>("Zoë 😀 user-7"));
  CHECK(s.Claim("roles") == std::optional<std::string>(R"(["admin","editor"])"));
  CHECK_FALSE(s.Claim("missing"));
  CHECK_FALSE(s.StringClaim("roles"));
  const auto claims = ClaimsOf(s);
  CHECK(claims["sub"] == "user-7");
  CHECK(claims["sid"] == jeff::FormatSessionId(s.id));
  CHECK(claims["iat"] == std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count());
  CHECK(claims["exp"].get<std::int64_t>() == claims["iat"].get<std::int64_t>() + 30 * 24 * 3600);
  CHECK(claims["jti"].get<std::string>().size() == 36);
  CHECK(claims["jti"] != claims["sid"]);
  CHECK(ClaimsOf(issued->session) == claims);

  // The stateful Session helpers answer "nothing" without claims.
  jeff::Session plain;
  CHECK_FALSE(plain.HasRole("admin"));
  CHECK_FALSE(plain.Claim("sub"));
}

TEST_CASE_FIXTURE(Fixture, "expiry with skew, nbf, and refusals as statuses") {
  options.touch_interval = 0s;
  options.max_age = 1h;
  Sessions sessions(options);
  Jar jar;
  jar.Apply(sessions.Set("u")->set_cookie);
  const std::string header = jar.Header();
  CHECK(sessions.Check(header).ok());
  clock.Advance(1h + 14s);
  CHECK(sessions.Check(header).ok());  // within the 15 s skew
  clock.Advance(1s);
  CHECK(sessions.Check(header).status == CheckStatus::kExpired);

  CHECK(sessions.Check("").status == CheckStatus::kAbsent);
  CHECK(sessions.Check("other=1").status == CheckStatus::kAbsent);
  CHECK(sessions.Check("authjs.session-token=garbage").status == CheckStatus::kMalformed);
  CHECK(sessions.Check("authjs.session-token=" + std::string(20000, 'a')).status == CheckStatus::kMalformed);
  std::string tampered = jar.Value("authjs.session-token");
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  CHECK(sessions.Check("authjs.session-token=" + tampered).status == CheckStatus::kUnknown);

  SUBCASE("nbf in the future") {
    options.stateless.jwt_callback = [this](JwtTrigger, std::string_view, nlohmann::json& claims) {
      claims["nbf"] = std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count() + 60;
      return jeff::Result<void>{};
    };
    Sessions later(options);
    Jar j;
    j.Apply(later.Set("u")->set_cookie);
    CHECK(later.Check(j.Header()).status == CheckStatus::kUnknown);
    clock.Advance(45s);
    CHECK(later.Check(j.Header()).ok());  // 15 s before nbf: within the skew
  }
  SUBCASE("another cookie name is another salt") {
    Options other = options;
    other.cookie.name = "__Secure-authjs.session-token";
    Sessions foreign(other);
    const std::string value = jar.Value("authjs.session-token");
    CHECK(foreign.Check("__Secure-authjs.session-token=" + value).status == CheckStatus::kUnknown);
  }
  SUBCASE("another secret") {
    Options other = options;
    other.stateless.secrets = {std::string(40, 'x')};
    clock.Advance(-2h);
    CHECK(Sessions(other).Check(header).status == CheckStatus::kUnknown);
    other.stateless.secrets = {std::string(40, 'x'), kSecret};  // rotation keeps old cookies
    CHECK(Sessions(other).Check(header).ok());
  }
}

TEST_CASE_FIXTURE(Fixture, "sliding refresh at most once per touch interval") {
  options.touch_interval = 5min;
  options.max_age = 1h;
  int updates = 0;
  options.stateless.jwt_callback = [&](JwtTrigger trigger, std::string_view, nlohmann::json& claims) {
    if (trigger == JwtTrigger::kUpdate) {
      ++updates;
      CHECK(claims["custom"] == "kept");
      claims["visits"] = updates;
    } else {
      claims["custom"] = "kept";
    }
    return jeff::Result<void>{};
  };
  Sessions sessions(options);
  Jar jar;
  auto issued = sessions.Set("u");
  jar.Apply(issued->set_cookie);
  clock.Advance(4min);
  auto early = sessions.Check(jar.Header());
  REQUIRE(early.ok());
  CHECK(early.set_cookie.empty());
  clock.Advance(1min);
  auto refreshed = sessions.Check(jar.Header());
  REQUIRE(refreshed.ok());
  REQUIRE(refreshed.set_cookie.size() == 1);
  CHECK(updates == 1);
  CHECK(refreshed.session.expires == clock.Now() + 1h);
  CHECK(refreshed.session.id == issued->session.id);
  CHECK(ClaimsOf(refreshed.session)["visits"] == 1);
  jar.Apply(refreshed.set_cookie);
  clock.Advance(50min);  // past the first token's exp, not the refreshed one's
  auto later = sessions.Check(jar.Header());
  REQUIRE(later.ok());
  CHECK(ClaimsOf(later.session)["custom"] == "kept");

  SUBCASE("a failing update callback ends the session; a store error does not") {
    // Check after a refresh whose JWT callback fails with `error`.
    auto check_failing_update = [&](jeff::Errc error, Jar& jar_out) {
      options.stateless.jwt_callback = [error](JwtTrigger trigger, std::string_view,
                                               nlohmann::json&) -> jeff::Result<void> {
        if (trigger == JwtTrigger::kUpdate) return error;
        return {};
      };
      Sessions failing(options);
      jar_out.Apply(failing.Set("u")->set_cookie);
      clock.Advance(6min);
      return failing.Check(jar_out.Header());
    };
    Jar j;
    auto ended = check_failing_update(jeff::Errc::kSessionNotFound, j);
    CHECK(ended.status == CheckStatus::kUnknown);
    j.Apply(ended.set_cookie);
    CHECK(j.Names().empty());
    Jar k;
    auto failed = check_failing_update(jeff::Errc::kStoreUnavailable, k);
    CHECK(failed.status == CheckStatus::kStoreError);
    CHECK(failed.error == jeff::Errc::kStoreUnavailable);
  }
}

TEST_CASE_FIXTURE(Fixture, "the session callback shapes what handlers see") {
  options.stateless.session_callback = [](const jeff::Session& session, nlohmann::json& claims) {
    claims.erase("jti");
    claims["user"] = {{"id", session.key}};
  };
  Sessions sessions(options);
  Jar jar;
  auto issued = sessions.Set("u9");
  jar.Apply(issued->set_cookie);
  auto checked = sessions.Check(jar.Header());
  REQUIRE(checked.ok());
  const auto claims = ClaimsOf(checked.session);
  CHECK_FALSE(claims.contains("jti"));
  CHECK(claims["user"]["id"] == "u9");
  CHECK(ClaimsOf(issued->session) == claims);

  SUBCASE("a throwing callback is a refusal, not a crash") {
    options.stateless.session_callback = [](const jeff::Session&, nlohmann::json&) { throw std::runtime_error("bug"); };
    Sessions broken(options);
    CHECK_FALSE(broken.Set("u").ok());
    CHECK(broken.Check(jar.Header()).status == CheckStatus::kUnknown);
  }
}

TEST_CASE_FIXTURE(Fixture, "tokens over 3936 characters are chunked and re-joined, stale chunks expired") {
  options.touch_interval = 1min;
  std::size_t claim_bytes = 6 * 1024;
  options.stateless.jwt_callback = [&](JwtTrigger, std::string_view, nlohmann::json& claims) {
    claims["blob"] = std::string(claim_bytes, 'x');
    return jeff::Result<void>{};
  };
  Sessions sessions(options);
  auto issued = sessions.Set("big");
  REQUIRE(issued.ok());
  Jar jar;
  jar.Apply(issued->set_cookie);
  CHECK(jar.Names() == std::vector<std::string>{"authjs.session-token.0", "authjs.session-token.1",
                                                "authjs.session-token.2"});
  CHECK(jar.Value("authjs.session-token.0").size() == 3936);
  CHECK(jar.Value("authjs.session-token.1").size() == 3936);
  auto checked = sessions.Check(jar.Header());
  REQUIRE(checked.ok());
  CHECK(checked.session.StringClaim("blob")->size() == claim_bytes);
  // A stale unchunked cookie beside the chunks does not hide them.
  CHECK(sessions.Check("authjs.session-token=eyJ.stale..x.y; " + jar.Header()).ok());
  // A missing middle chunk breaks the token.
  std::string broken = "authjs.session-token.0=" + jar.Value("authjs.session-token.0") +
                       "; authjs.session-token.2=" + jar.Value("authjs.session-token.2");
  CHECK_FALSE(sessions.Check(broken).ok());

  // The session shrinks: the refreshed token is one cookie, and the chunks
  // the browser holds are expired.
  claim_bytes = 10;
  clock.Advance(2min);
  auto refreshed = sessions.Check(jar.Header());
  REQUIRE(refreshed.ok());
  jar.Apply(refreshed.set_cookie);
  CHECK(jar.Names() == std::vector<std::string>{"authjs.session-token"});
  CHECK(sessions.Check(jar.Header()).ok());

  // It grows again: chunks, and the unchunked cookie is expired.
  claim_bytes = 5000;
  clock.Advance(2min);
  auto grown = sessions.Check(jar.Header());
  REQUIRE(grown.ok());
  jar.Apply(grown.set_cookie);
  CHECK(jar.Names() == std::vector<std::string>{"authjs.session-token.0", "authjs.session-token.1"});
  CHECK(sessions.Check(jar.Header()).ok());

  // Clear expires every chunk the browser sent.
  auto cleared = sessions.Clear(jar.Header());
  REQUIRE(cleared.ok());
  jar.Apply(*cleared);
  CHECK(jar.Names().empty());

  SUBCASE("a token over max_token_chars is not issued") {
    claim_bytes = 20000;
    CHECK(sessions.Set("huge").error() == jeff::Errc::kValueTooLarge);
  }
}

TEST_CASE_FIXTURE(Fixture, "a stale cookie does not hide a live one") {
  Sessions sessions(options);
  Jar jar;
  jar.Apply(sessions.Set("u")->set_cookie);
  auto checked = sessions.Check("authjs.session-token=stale.a.b.c.d; " + jar.Header());
  CHECK(checked.ok());
}

TEST_CASE_FIXTURE(Fixture, "Authorization: Bearer, where enabled") {
  Sessions disabled(options);
  const std::string token = [&] {
    Jar jar;
    jar.Apply(disabled.Set("api-user")->set_cookie);
    return jar.Value("authjs.session-token");
  }();
  CHECK(disabled.CheckBearer("Bearer " + token).status == CheckStatus::kAbsent);
  options.stateless.bearer = true;
  options.touch_interval = 1s;
  Sessions sessions(options);
  clock.Advance(10s);
  auto checked = sessions.CheckBearer("Bearer " + token);
  REQUIRE(checked.ok());
  CHECK(checked.session.key == "api-user");
  CHECK(checked.set_cookie.empty());  // bearer tokens are never refreshed
  CHECK(sessions.CheckBearer("bearer  " + token + " ").ok());
  CHECK(sessions.CheckBearer("Basic dXNlcjpwYXNz").status == CheckStatus::kAbsent);
  CHECK(sessions.CheckBearer("").status == CheckStatus::kAbsent);
  CHECK(sessions.CheckBearer("Bearer").status == CheckStatus::kAbsent);
  CHECK(sessions.CheckBearer("Bearer x").status == CheckStatus::kMalformed);
  CHECK(sessions.CheckBearer("Bearer " + token.substr(0, token.size() - 2)).status == CheckStatus::kUnknown);
  // Stateful Sessions check their own `<kid>.<token>` only (test/bearer-test.cc).
  Options stateful = options;
  stateful.store = std::make_shared<jeff::MemoryStore>();
  CHECK(Sessions(stateful).CheckBearer("Bearer " + token).status == CheckStatus::kMalformed);
}

TEST_CASE_FIXTURE(Fixture, "revocation: cookie expiry, or a denylist store") {
  options.touch_interval = 0s;
  SUBCASE("without a denylist, Clear only drops the cookie") {
    Sessions sessions(options);
    Jar jar;
    jar.Apply(sessions.Set("u")->set_cookie);
    const std::string header = jar.Header();
    auto cleared = sessions.Clear(header);
    REQUIRE(cleared.ok());
    CHECK(cleared->size() == 1);
    CHECK(cleared->front().find("authjs.session-token=;") == 0);
    CHECK(sessions.Check(header).ok());  // a copied token lives until exp
    CHECK(sessions.Delete("u").error() == jeff::Errc::kUnsupported);
    const jeff::SessionId ids[] = {jeff::SessionId{}};
    CHECK(sessions.Delete("u", ids).error() == jeff::Errc::kUnsupported);
    CHECK(sessions.Rotate(header).error() == jeff::Errc::kUnsupported);
    CHECK(sessions.Clear("").ok());
  }
  SUBCASE("with a denylist, Clear and Delete(key, ids) revoke") {
    jeff::MemoryStoreOptions store_options;
    store_options.clock = clock.AsClock();
    auto store = std::make_shared<jeff::MemoryStore>(store_options);
    options.stateless.denylist = store;
    Sessions sessions(options);
    Jar phone;
    Jar laptop;
    auto phone_session = sessions.Set("u");
    REQUIRE(phone_session.ok());
    phone.Apply(phone_session->set_cookie);
    laptop.Apply(sessions.Set("u")->set_cookie);
    REQUIRE(sessions.Clear(phone.Header()).ok());
    CHECK(sessions.Check(phone.Header()).status == CheckStatus::kUnknown);
    auto live = sessions.Check(laptop.Header());
    REQUIRE(live.ok());
    const jeff::SessionId ids[] = {live.session.id};
    CHECK(*sessions.Delete("someone-else", ids) == 1);
    CHECK(sessions.Check(laptop.Header()).ok());  // an entry for another key does not apply
    // Delete(key, ids) returns how many sessions it newly denied: an id
    // already denied (by Clear, an earlier Delete, or twice in `ids`) is
    // not counted again. Whether an id names a token still out there is
    // unknowable without a store of sessions.
    const jeff::SessionId again[] = {live.session.id, phone_session->session.id, live.session.id};
    CHECK(*sessions.Delete("u", again) == 1);
    CHECK(sessions.Check(laptop.Header()).status == CheckStatus::kUnknown);
    CHECK(*sessions.Delete("u", ids) == 0);
    CHECK(sessions.Delete(std::string(options.max_key_bytes + 1, 'k'), ids).error() == jeff::Errc::kInvalidArgument);
    // `<prefix>deny:` + KeyId("<id length>:<id><key>"): fixed length, per key.
    const std::string sid = jeff::FormatSessionId(live.session.id);
    const std::string entry = "jeff:deny:" + jeff::KeyId("36:" + sid + "u");
    CHECK(store->Fetch(entry)->has_value());
    CHECK(store->Fetch("jeff:deny:" + jeff::KeyId("36:" + sid + "someone-else"))->has_value());
    // The entries expire after the tokens they cover.
    clock.Advance(std::chrono::hours(24 * 30) + 2min);
    CHECK(sessions.Check(laptop.Header()).status == CheckStatus::kExpired);
    CHECK_FALSE(store->Fetch(entry)->has_value());
  }
}

// A token as Auth.js issues it: no `sid`, a random `jti`, `exp` = iat + `life`.
std::string AuthJsStyleToken(const jeff::ManualClock& clock, std::chrono::seconds life,
                             const std::string& jti = jeff::FormatSessionId(jeff::NewSessionId())) {
  jeff::JweOptions jwe;
  jwe.secrets = {kSecret};
  jwe.salt = "authjs.session-token";
  const auto iat = std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count();
  const nlohmann::json claims = {{"sub", "u"}, {"name", "U"}, {"iat", iat}, {"exp", iat + life.count()}, {"jti", jti}};
  return "authjs.session-token=" + jeff::JweCodec(jwe).Encrypt(claims.dump()).value();
}

// Review defect 1: a token without `sid` was denied by its `jti`, and its
// refresh carried a new `jti` and still no `sid`: logging out with one copy
// left the other valid.
TEST_CASE_FIXTURE(Fixture, "denylist: a token without sid is revoked with every refreshed copy") {
  options.touch_interval = 1min;
  options.stateless.denylist = std::make_shared<jeff::MemoryStore>();
  Sessions sessions(options);
  for (bool clear_newer : {true, false}) {
    CAPTURE(clear_newer);
    const std::string jti = jeff::FormatSessionId(jeff::NewSessionId());
    const std::string t1 = AuthJsStyleToken(clock, std::chrono::hours(24 * 30), jti);
    clock.Advance(2min);
    auto refreshed = sessions.Check(t1);
    REQUIRE(refreshed.ok());
    CHECK(jeff::FormatSessionId(refreshed.session.id) == jti);
    REQUIRE(refreshed.set_cookie.size() == 1);
    Jar jar;
    jar.Apply(refreshed.set_cookie);
    const std::string t2 = jar.Header();
    CHECK(ClaimsOf(sessions.Check(t2).session)["sid"] == jti);
    CHECK(ClaimsOf(sessions.Check(t2).session)["jti"] != jti);
    REQUIRE(sessions.Clear(clear_newer ? t2 : t1).ok());
    CHECK_FALSE(sessions.Check(t1).ok());
    CHECK_FALSE(sessions.Check(t2).ok());
  }
}

// Review defect 2: the denylist entry lived for this server's token lifetime
// (here 1 h), not for the revoked token's own (30 days from Auth.js), so the
// session came back, and was refreshed, an hour after logout.
TEST_CASE_FIXTURE(Fixture, "denylist: an entry lasts as long as any token of the session") {
  options.idle_timeout = 1h;
  options.touch_interval = 1min;
  jeff::MemoryStoreOptions store_options;
  store_options.clock = clock.AsClock();
  options.stateless.denylist = std::make_shared<jeff::MemoryStore>(store_options);
  Sessions sessions(options);
  const std::string token = AuthJsStyleToken(clock, std::chrono::hours(24 * 30));
  REQUIRE(sessions.Check(token).ok());
  REQUIRE(sessions.Clear(token).ok());
  for (auto step : {62min, std::chrono::minutes(24 * 60 * 29)}) {
    clock.Advance(step);
    auto checked = sessions.Check(token);
    CHECK_FALSE(checked.ok());
    CHECK(checked.set_cookie.empty());  // never refreshed
  }
  // Revoking by id (no token at hand) covers the longest lifetime accepted.
  const std::string other = AuthJsStyleToken(clock, std::chrono::hours(24 * 30));
  auto live = sessions.Check(other);
  REQUIRE(live.ok());
  const jeff::SessionId ids[] = {live.session.id};
  REQUIRE(sessions.Delete("u", ids).ok());
  clock.Advance(std::chrono::hours(24 * 30) - 1min);
  CHECK_FALSE(sessions.Check(other).ok());
  // A token that claims to outlive any entry is refused while revocation is on.
  CHECK(sessions.Check(AuthJsStyleToken(clock, std::chrono::hours(24 * 31))).status == CheckStatus::kUnknown);
  options.stateless.max_token_lifetime = std::chrono::hours(24 * 31);
  CHECK(Sessions(options).Check(AuthJsStyleToken(clock, std::chrono::hours(24 * 31))).ok());
  options.stateless.max_token_lifetime = jeff::kMaxCookieLifetime + 1s;
  CHECK_THROWS_AS(Sessions{options}, std::invalid_argument);
}

// Review defect 5: token times past 2262 wrapped (an `exp` of 1e13 gave an
// `expires` before `created`).
TEST_CASE_FIXTURE(Fixture, "token times a TimePoint cannot hold are refused") {
  jeff::JweOptions jwe;
  jwe.secrets = {kSecret};
  jwe.salt = "authjs.session-token";
  const jeff::JweCodec codec(jwe);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count();
  Sessions sessions(options);
  const auto check = [&](const nlohmann::json& claims) {
    return sessions.Check("authjs.session-token=" + codec.Encrypt(claims.dump()).value());
  };
  CHECK(check({{"sub", "u"}, {"iat", now}, {"exp", now + 3600}}).ok());
  CHECK(check({{"sub", "u"}, {"iat", now}, {"exp", 1e13}}).status == CheckStatus::kUnknown);
  CHECK(check({{"sub", "u"}, {"iat", now}, {"exp", 1e300}}).status == CheckStatus::kUnknown);
  CHECK(check({{"sub", "u"}, {"iat", -1e13}, {"exp", now + 3600}}).status == CheckStatus::kUnknown);
  CHECK(check({{"sub", "u"}, {"iat", now}, {"exp", now + 3600}, {"nbf", -1e300}}).status == CheckStatus::kUnknown);
  // The latest instant a TimePoint holds is still a valid exp.
  const double last = static_cast<double>(jeff::kMaxUnixMillis / 1000);
  auto far = check({{"sub", "u"}, {"iat", now}, {"exp", last}});
  REQUIRE(far.ok());
  CHECK(far.session.expires > far.session.created);
}

TEST_CASE_FIXTURE(Fixture, "Set refuses bad input") {
  Sessions sessions(options);
  CHECK(sessions.Set("").error() == jeff::Errc::kInvalidArgument);
  CHECK(sessions.Set(std::string(2000, 'k')).error() == jeff::Errc::kInvalidArgument);
  CHECK(sessions.Set("u", std::string(5000, 'm')).error() == jeff::Errc::kInvalidArgument);
  CHECK(sessions.Set("u", "\xff\xfe").error() == jeff::Errc::kInvalidArgument);  // meta must be UTF-8
  CHECK(sessions.Set("\xc3", "").error() == jeff::Errc::kInvalidArgument);
}

TEST_CASE_FIXTURE(Fixture, "A256GCM tokens, raw keys") {
  options.stateless.enc = jeff::JweEnc::kA256Gcm;
  Sessions gcm(options);
  Jar jar;
  jar.Apply(gcm.Set("g")->set_cookie);
  CHECK(jar.Value("authjs.session-token").rfind("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoi", 0) == 0);
  CHECK(gcm.Check(jar.Header()).ok());
  options.stateless.enc = jeff::JweEnc::kA256CbcHs512;
  CHECK(Sessions(options).Check(jar.Header()).ok());  // Auth.js accepts both, so do we
  options.stateless.accept_other_enc = false;
  CHECK(Sessions(options).Check(jar.Header()).status == CheckStatus::kUnknown);
}

}  // TEST_SUITE
