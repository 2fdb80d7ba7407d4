// libFuzzer target: JWE parsing and decryption. Any input is refused or
// decrypts; a forged token never decrypts (the input is fuzzed bytes, the
// keys are fixed and secret to the fuzzer), and a real token survives.
#include <jeff/jwe.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

const jeff::JweCodec& Codec(jeff::JweEnc enc) {
  static const jeff::JweCodec cbc([] {
    jeff::JweOptions o;
    o.secrets = {"fuzzing secret, at least thirty-two bytes long"};
    o.salt = "authjs.session-token";
    return o;
  }());
  static const jeff::JweCodec gcm([] {
    jeff::JweOptions o;
    o.secrets = {"fuzzing secret, at least thirty-two bytes long"};
    o.salt = "authjs.session-token";
    o.enc = jeff::JweEnc::kA256Gcm;
    return o;
  }());
  return enc == jeff::JweEnc::kA256Gcm ? gcm : cbc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (jeff::JweEnc enc : {jeff::JweEnc::kA256CbcHs512, jeff::JweEnc::kA256Gcm}) {
    const jeff::JweCodec& codec = Codec(enc);
    // A fuzzer cannot forge an authentication tag: nothing may decrypt.
    if (codec.Decrypt(input).has_value()) std::abort();
    // The same bytes as a plaintext must round-trip.
    auto token = codec.Encrypt(input);
    if (!token.ok()) std::abort();
    auto back = codec.Decrypt(*token);
    if (!back || *back != input) std::abort();
  }
  return 0;
}
