#include "support/dbsc_test_key.hpp"

#include <jeff/token.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <stdexcept>
#include <vector>

namespace jeff::test {
namespace {

void Require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("DbscTestKey: ") + what);
}

std::string BnText(EVP_PKEY* key, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  Require(EVP_PKEY_get_bn_param(key, name, &bn) == 1, name);
  std::vector<unsigned char> bytes(static_cast<std::size_t>(pad > 0 ? pad : BN_num_bytes(bn)));
  Require(BN_bn2binpad(bn, bytes.data(), static_cast<int>(bytes.size())) > 0, "bn2bin");
  BN_free(bn);
  return Base64UrlEncode(std::span<const std::uint8_t>(bytes.data(), bytes.size()));
}

}  // namespace

struct DbscTestKey::Impl {
  EVP_PKEY* key = nullptr;
  ~Impl() { EVP_PKEY_free(key); }
};

std::string B64(std::string_view text) { return Base64UrlEncode(text); }

DbscTestKey::DbscTestKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DbscTestKey::DbscTestKey(DbscTestKey&&) noexcept = default;
DbscTestKey& DbscTestKey::operator=(DbscTestKey&&) noexcept = default;
DbscTestKey::~DbscTestKey() = default;

DbscTestKey DbscTestKey::Es256() {
  auto impl = std::make_unique<Impl>();
  impl->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  Require(impl->key != nullptr, "EC keygen");
  const std::string x = BnText(impl->key, OSSL_PKEY_PARAM_EC_PUB_X, 32);
  const std::string y = BnText(impl->key, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
  DbscTestKey out(std::move(impl));
  out.alg_ = "ES256";
  out.jwk_ = R"({"crv":"P-256","kty":"EC","x":")" + x + R"(","y":")" + y + R"("})";
  return out;
}

DbscTestKey DbscTestKey::Rs256(int bits) {
  auto impl = std::make_unique<Impl>();
  impl->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  Require(impl->key != nullptr, "RSA keygen");
  const std::string n = BnText(impl->key, OSSL_PKEY_PARAM_RSA_N, 0);
  const std::string e = BnText(impl->key, OSSL_PKEY_PARAM_RSA_E, 0);
  DbscTestKey out(std::move(impl));
  out.alg_ = "RS256";
  out.jwk_ = R"({"e":")" + e + R"(","kty":"RSA","n":")" + n + R"("})";
  return out;
}

std::string DbscTestKey::Thumbprint() const {
  const auto digest = Sha256(jwk_);
  return Base64UrlEncode(std::span<const std::uint8_t>(digest.data(), digest.size()));
}

std::string DbscTestKey::Sign(std::string_view header_json, std::string_view payload_json) const {
  const std::string input = B64(header_json) + "." + B64(payload_json);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Require(ctx != nullptr && EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr, impl_->key,
                                                  nullptr) == 1, "sign init");
  std::size_t length = 0;
  Require(EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(input.data()),
                         input.size()) == 1, "sign size");
  std::vector<unsigned char> sig(length);
  Require(EVP_DigestSign(ctx, sig.data(), &length, reinterpret_cast<const unsigned char*>(input.data()),
                         input.size()) == 1, "sign");
  EVP_MD_CTX_free(ctx);
  sig.resize(length);
  if (alg_ == "ES256") {  // DER ECDSA-Sig-Value -> raw r || s (JWS, RFC 7518 3.4)
    const unsigned char* p = sig.data();
    ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    Require(ecdsa != nullptr, "der");
    std::vector<unsigned char> raw(64);
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), raw.data(), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), raw.data() + 32, 32);
    ECDSA_SIG_free(ecdsa);
    sig = std::move(raw);
  }
  return input + "." + Base64UrlEncode(std::span<const std::uint8_t>(sig.data(), sig.size()));
}

std::string DbscTestKey::Registration(std::string_view challenge) const {
  return Sign(R"({"alg":")" + alg_ + R"(","jwk":)" + jwk_ + R"(,"typ":"dbsc+jwt"})",
              R"({"jti":")" + std::string(challenge) + R"("})");
}

std::string DbscTestKey::Refresh(std::string_view challenge) const {
  return Sign(R"({"alg":")" + alg_ + R"(","typ":"dbsc+jwt"})", R"({"jti":")" + std::string(challenge) + R"("})");
}

}  // namespace jeff::test
