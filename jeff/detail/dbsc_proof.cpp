#include <jeff/detail/dbsc_proof.hpp>

#include <jeff/detail/c_handle.hpp>
#include <jeff/detail/json.hpp>
#include <jeff/token.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <climits>
#include <memory>
#include <vector>

namespace jeff::detail {
namespace {

using Pkey = CHandle<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtx = CHandle<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtx = CHandle<EVP_MD_CTX, EVP_MD_CTX_free>;
using Bignum = CHandle<BIGNUM, BN_free>;
using ParamBld = CHandle<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using Params = CHandle<OSSL_PARAM, OSSL_PARAM_free>;
using EcdsaSig = CHandle<ECDSA_SIG, ECDSA_SIG_free>;

constexpr std::size_t kP256CoordinateBytes = 32;
constexpr std::size_t kEs256SignatureBytes = 2 * kP256CoordinateBytes;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 4096;
constexpr std::size_t kMaxRsaExponentBytes = 4;
// More members than this in one header, payload or jwk object: not a proof.
constexpr std::size_t kMaxMembers = 16;

// Errors OpenSSL queued for input we refuse are not failures of the library.
struct ClearErrors {
  ~ClearErrors() { ERR_clear_error(); }
};

// The object's members, or std::nullopt when a name repeats (JSON allows
// it; parsers differ on which one wins, so a proof never may) or there are
// too many. Names are compared unescaped ("a\u006cg" is "alg").
std::optional<std::vector<std::pair<std::string_view, simdjson::dom::element>>> Members(
    simdjson::dom::object object) {
  std::vector<std::pair<std::string_view, simdjson::dom::element>> members;
  for (const auto field : object) {
    if (members.size() == kMaxMembers) return std::nullopt;
    for (const auto& [name, value] : members) {
      if (name == field.key) return std::nullopt;
    }
    members.emplace_back(field.key, field.value);
  }
  return members;
}

// The string member `name`; std::nullopt when absent; `wrong_type` set when
// present but not a string.
std::optional<std::string_view> StringMember(
    const std::vector<std::pair<std::string_view, simdjson::dom::element>>& members, std::string_view name,
    bool& wrong_type) {
  for (const auto& [key, value] : members) {
    if (key != name) continue;
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) {
      wrong_type = true;
      return std::nullopt;
    }
    return text;
  }
  return std::nullopt;
}

const simdjson::dom::element* Member(
    const std::vector<std::pair<std::string_view, simdjson::dom::element>>& members, std::string_view name) {
  for (const auto& [key, value] : members) {
    if (key == name) return &value;
  }
  return nullptr;
}

// DER SubjectPublicKeyInfo of `key`.
std::optional<std::vector<std::uint8_t>> Spki(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key, &der);
  if (length <= 0) return std::nullopt;
  std::vector<std::uint8_t> spki(der, der + length);
  OPENSSL_free(der);
  if (spki.size() > kMaxSpkiBytes) return std::nullopt;  // a 4096-bit RSA key's is 550
  return spki;
}

Pkey FromParams(const char* type, OSSL_PARAM_BLD* builder) {
  const Params params(OSSL_PARAM_BLD_to_param(builder));
  const PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return Pkey(key);
}

// An EC P-256 key from the JWK's x and y (exactly 32 bytes each). OpenSSL
// decodes the point with EC_POINT_oct2point, which refuses a point that is
// not on the curve.
Pkey Es256Key(std::string_view x_text, std::string_view y_text) {
  std::array<std::uint8_t, 1 + 2 * kP256CoordinateBytes> point{};
  point[0] = 0x04;  // uncompressed
  if (!Base64UrlDecodeExact(x_text, std::span(point).subspan(1, kP256CoordinateBytes)) ||
      !Base64UrlDecodeExact(y_text, std::span(point).subspan(1 + kP256CoordinateBytes))) {
    return nullptr;
  }
  const ParamBld builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return nullptr;
  }
  return FromParams("EC", builder.get());
}

// An RSA key from the JWK's n and e: minimal big-endian octets (no leading
// zero), a 2048..4096-bit modulus, an odd exponent from 3 to 2^32 - 1.
Pkey Rs256Key(std::string_view n_text, std::string_view e_text) {
  const std::optional<std::string> n = Base64UrlDecode(n_text);
  const std::optional<std::string> e = Base64UrlDecode(e_text);
  if (!n || !e || n->empty() || e->empty() || (*n)[0] == '\0' || (*e)[0] == '\0' ||
      e->size() > kMaxRsaExponentBytes || n->size() > kMaxRsaBits / CHAR_BIT) {
    return nullptr;
  }
  const auto* n_bytes = reinterpret_cast<const unsigned char*>(n->data());
  const auto* e_bytes = reinterpret_cast<const unsigned char*>(e->data());
  const Bignum modulus(BN_bin2bn(n_bytes, static_cast<int>(n->size()), nullptr));
  const Bignum exponent(BN_bin2bn(e_bytes, static_cast<int>(e->size()), nullptr));
  if (!modulus || !exponent) return nullptr;
  const int bits = BN_num_bits(modulus.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits || !BN_is_odd(modulus.get())) return nullptr;
  if (!BN_is_odd(exponent.get()) || BN_is_one(exponent.get())) return nullptr;
  const ParamBld builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    return nullptr;
  }
  return FromParams("RSA", builder.get());
}

// The header's jwk as a DbscKey for `alg`, with its RFC 7638 thumbprint
// (the required members in lexicographic order, no whitespace; the values
// are the canonical base64url text just validated).
std::optional<DbscKey> KeyFromJwk(DbscAlg alg, simdjson::dom::element jwk) {
  simdjson::dom::object object;
  if (jwk.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
  const auto members = Members(object);
  if (!members) return std::nullopt;
  bool wrong_type = false;
  const auto kty = StringMember(*members, "kty", wrong_type);
  // A private key in a proof is a client bug at best: never accept it.
  if (!kty || Member(*members, "d") != nullptr) return std::nullopt;
  std::string thumbprint_input;
  Pkey key;
  if (alg == DbscAlg::kEs256) {
    const auto crv = StringMember(*members, "crv", wrong_type);
    const auto x = StringMember(*members, "x", wrong_type);
    const auto y = StringMember(*members, "y", wrong_type);
    if (wrong_type || *kty != "EC" || !crv || *crv != "P-256" || !x || !y) return std::nullopt;
    key = Es256Key(*x, *y);
    thumbprint_input.append(R"({"crv":"P-256","kty":"EC","x":")").append(*x).append(R"(","y":")").append(*y).append(
        R"("})");
  } else {
    const auto n = StringMember(*members, "n", wrong_type);
    const auto e = StringMember(*members, "e", wrong_type);
    if (wrong_type || *kty != "RSA" || !n || !e) return std::nullopt;
    key = Rs256Key(*n, *e);
    thumbprint_input.append(R"({"e":")").append(*e).append(R"(","kty":"RSA","n":")").append(*n).append(R"("})");
  }
  if (!key) return std::nullopt;
  auto spki = Spki(key.get());
  if (!spki) return std::nullopt;
  return DbscKey{alg, std::move(*spki), Sha256(thumbprint_input)};
}

// The stored key for verification; null unless it is a key of `alg` that
// jeff would have accepted at registration.
Pkey LoadKey(DbscAlg alg, std::span<const std::uint8_t> spki) {
  const unsigned char* der = spki.data();
  if (spki.empty() || spki.size() > kMaxSpkiBytes) return nullptr;
  Pkey key(d2i_PUBKEY(nullptr, &der, static_cast<long>(spki.size())));
  if (!key || der != spki.data() + spki.size()) return nullptr;
  if (alg == DbscAlg::kEs256) {
    char group[32] = {};
    std::size_t length = 0;
    if (!EVP_PKEY_is_a(key.get(), "EC") ||
        EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1 ||
        std::string_view(group, length) != "prime256v1") {
      return nullptr;
    }
  } else {
    const int bits = EVP_PKEY_get_bits(key.get());
    if (!EVP_PKEY_is_a(key.get(), "RSA") || bits < kMinRsaBits || bits > kMaxRsaBits) return nullptr;
  }
  return key;
}

// ES256's raw r || s as the DER ECDSA-Sig-Value OpenSSL verifies.
std::optional<std::string> EcdsaDer(std::string_view raw) {
  if (raw.size() != kEs256SignatureBytes) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  Bignum r(BN_bin2bn(bytes, kP256CoordinateBytes, nullptr));
  Bignum s(BN_bin2bn(bytes + kP256CoordinateBytes, kP256CoordinateBytes, nullptr));
  EcdsaSig sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  (void)r.release();  // owned by sig now
  (void)s.release();
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

}  // namespace

std::string_view ToString(DbscProofError error) noexcept {
  switch (error) {
    case DbscProofError::kNone: return "none";
    case DbscProofError::kTooLarge: return "too large";
    case DbscProofError::kMalformed: return "malformed";
    case DbscProofError::kAlgorithm: return "algorithm";
    case DbscProofError::kType: return "type";
    case DbscProofError::kKey: return "key";
    case DbscProofError::kSignature: return "signature";
    case DbscProofError::kChallenge: return "challenge";
  }
  return "unknown";
}

DbscProofError ParseDbscProof(std::string_view jwt, std::size_t max_bytes, bool need_jwk, DbscProof& out) {
  if (jwt.size() > max_bytes) return DbscProofError::kTooLarge;
  const std::size_t first = jwt.find('.');
  const std::size_t second = first == std::string_view::npos ? first : jwt.find('.', first + 1);
  if (second == std::string_view::npos || jwt.find('.', second + 1) != std::string_view::npos) {
    return DbscProofError::kMalformed;
  }
  const std::optional<std::string> header = Base64UrlDecode(jwt.substr(0, first));
  const std::optional<std::string> payload = Base64UrlDecode(jwt.substr(first + 1, second - first - 1));
  std::optional<std::string> signature = Base64UrlDecode(jwt.substr(second + 1));
  if (!header || !payload || !signature || signature->empty()) return DbscProofError::kMalformed;

  // The header first (the parser's elements live until its next parse).
  simdjson::dom::object object;
  if (!ParseJsonObject(*header, object)) return DbscProofError::kMalformed;
  auto members = Members(object);
  if (!members || Member(*members, "crit") != nullptr) return DbscProofError::kMalformed;
  bool wrong_type = false;
  const auto alg = StringMember(*members, "alg", wrong_type);
  const auto typ = StringMember(*members, "typ", wrong_type);
  if (wrong_type) return DbscProofError::kMalformed;
  if (!alg || (*alg != "ES256" && *alg != "RS256")) return DbscProofError::kAlgorithm;
  if (!typ || *typ != "dbsc+jwt") return DbscProofError::kType;
  out.alg = *alg == "ES256" ? DbscAlg::kEs256 : DbscAlg::kRs256;
  out.jwk.reset();
  if (need_jwk) {
    const simdjson::dom::element* jwk = Member(*members, "jwk");
    if (jwk == nullptr) return DbscProofError::kKey;
    const ClearErrors clear;
    out.jwk = KeyFromJwk(out.alg, *jwk);
    if (!out.jwk) return DbscProofError::kKey;
  }

  if (!ParseJsonObject(*payload, object)) return DbscProofError::kMalformed;
  members = Members(object);
  if (!members) return DbscProofError::kMalformed;
  const auto jti = StringMember(*members, "jti", wrong_type);
  if (wrong_type || !jti) return DbscProofError::kMalformed;
  out.jti.assign(*jti);
  out.signing_input.assign(jwt.substr(0, second));
  out.signature = std::move(*signature);
  return DbscProofError::kNone;
}

DbscProofError VerifyDbscProof(const DbscProof& proof, DbscAlg alg, std::span<const std::uint8_t> spki) {
  if (proof.alg != alg) return DbscProofError::kAlgorithm;
  const ClearErrors clear;
  const Pkey pkey = LoadKey(alg, spki);
  if (!pkey) return DbscProofError::kKey;
  std::string der;
  std::string_view signature = proof.signature;
  if (alg == DbscAlg::kEs256) {
    auto converted = EcdsaDer(proof.signature);
    if (!converted) return DbscProofError::kSignature;
    der = std::move(*converted);
    signature = der;
  } else if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(pkey.get()))) {
    return DbscProofError::kSignature;
  }
  const MdCtx ctx(EVP_MD_CTX_new());
  // RSA keys default to PKCS #1 v1.5 padding, which RS256 is.
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, pkey.get(), nullptr) != 1) {
    return DbscProofError::kKey;
  }
  const int verified = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                        signature.size(),
                                        reinterpret_cast<const unsigned char*>(proof.signing_input.data()),
                                        proof.signing_input.size());
  return verified == 1 ? DbscProofError::kNone : DbscProofError::kSignature;
}

bool DbscChallengeMatches(std::string_view jti, std::span<const std::uint8_t> nonce) {
  const std::string expected = Base64UrlEncode(nonce);
  const auto* a = reinterpret_cast<const std::uint8_t*>(jti.data());
  const auto* b = reinterpret_cast<const std::uint8_t*>(expected.data());
  return ConstantTimeEqual(std::span(a, jti.size()), std::span(b, expected.size()));
}

}  // namespace jeff::detail
