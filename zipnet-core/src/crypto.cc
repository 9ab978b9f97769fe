// zipnet cryptography over OpenSSL 3 (see zipnet/crypto.h).
#include "zipnet/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace zipnet {
namespace {

// OpenSSL failures on valid inputs mean the library is unusable (allocation failure, missing
// provider); there is no sensible recovery, so they abort loudly instead of producing keys.
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "zipnet: OpenSSL failure in %s\n", what);
    std::abort();
  }
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

PublicKey RawPublic(EVP_PKEY* key) {
  PublicKey pub{};
  std::size_t len = pub.size();
  Check(EVP_PKEY_get_raw_public_key(key, pub.data(), &len) == 1 && len == 32, "raw public key");
  return pub;
}

}  // namespace

void Wipe(std::span<std::uint8_t> bytes) { OPENSSL_cleanse(bytes.data(), bytes.size()); }

std::uint64_t Rng::U64() {
  std::array<std::uint8_t, 8> b{};
  Fill(b);
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[static_cast<std::size_t>(i)];
  return v;
}

void SystemRng::Fill(std::span<std::uint8_t> out) {
  Check(RAND_bytes(out.data(), static_cast<int>(out.size())) == 1, "RAND_bytes");
}

DeterministicRng::DeterministicRng(std::uint64_t seed) : ctx_(EVP_CIPHER_CTX_new()) {
  const auto s = Le64(seed);
  const Hash key = Sha256({Text("zipnet/test-rng/v1"), s});
  const std::uint8_t iv[16] = {};
  Check(
      ctx_ != nullptr && EVP_EncryptInit_ex(ctx_, EVP_aes_128_ctr(), nullptr, key.data(), iv) == 1,
      "rng init");
}

DeterministicRng::~DeterministicRng() { EVP_CIPHER_CTX_free(ctx_); }

void DeterministicRng::Fill(std::span<std::uint8_t> out) {
  std::memset(out.data(), 0, out.size());
  int n = 0;
  Check(EVP_EncryptUpdate(ctx_, out.data(), &n, out.data(), static_cast<int>(out.size())) == 1,
        "rng");
}

X25519KeyPair X25519FromSecret(const Secret32& secret) {
  PkeyPtr k(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret.bytes().data(), 32));
  Check(k != nullptr, "X25519 key");
  X25519KeyPair kp;
  kp.secret = secret;
  kp.public_key = RawPublic(k.get());
  return kp;
}

X25519KeyPair X25519Generate(Rng& rng) {
  Secret32 s;
  rng.Fill(s.bytes());
  return X25519FromSecret(s);
}

Result<Secret32> X25519Shared(const Secret32& secret, const PublicKey& peer_public) {
  PkeyPtr mine(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret.bytes().data(), 32));
  PkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public.data(), 32));
  Check(mine != nullptr && peer != nullptr, "X25519 keys");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(mine.get(), nullptr);
  Secret32 out;
  std::size_t len = 32;
  const bool ok = ctx != nullptr && EVP_PKEY_derive_init(ctx) == 1 &&
                  EVP_PKEY_derive_set_peer(ctx, peer.get()) == 1 &&
                  EVP_PKEY_derive(ctx, out.bytes().data(), &len) == 1 && len == 32;
  EVP_PKEY_CTX_free(ctx);
  ERR_clear_error();
  if (!ok) return Status::Corrupt("X25519: the peer public key is of low order");
  return out;
}

Ed25519KeyPair Ed25519FromSeed(const Secret32& seed) {
  EVP_PKEY* k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.bytes().data(), 32);
  Check(k != nullptr, "Ed25519 key");
  Ed25519KeyPair kp;
  kp.seed = seed;
  kp.pkey = std::shared_ptr<EVP_PKEY>(k, EvpPkeyFree{});
  kp.public_key = RawPublic(k);
  return kp;
}

Ed25519KeyPair Ed25519Generate(Rng& rng) {
  Secret32 s;
  rng.Fill(s.bytes());
  return Ed25519FromSeed(s);
}

namespace {

Signature SignWith(EVP_PKEY* k, ByteSpan message) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  Signature sig{};
  std::size_t len = sig.size();
  Check(md != nullptr && EVP_DigestSignInit(md, nullptr, nullptr, nullptr, k) == 1 &&
            EVP_DigestSign(md, sig.data(), &len, message.data(), message.size()) == 1 && len == 64,
        "Ed25519 sign");
  EVP_MD_CTX_free(md);
  return sig;
}

bool VerifyWith(EVP_PKEY* k, ByteSpan message, const Signature& signature) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  const bool ok =
      md != nullptr && EVP_DigestVerifyInit(md, nullptr, nullptr, nullptr, k) == 1 &&
      EVP_DigestVerify(md, signature.data(), signature.size(), message.data(), message.size()) == 1;
  EVP_MD_CTX_free(md);
  ERR_clear_error();
  return ok;
}

}  // namespace

Signature Ed25519Sign(const Ed25519KeyPair& key, ByteSpan message) {
  if (!key.pkey) return Ed25519Sign(key.seed, message);
  return SignWith(key.pkey.get(), message);
}

Signature Ed25519Sign(const Secret32& seed, ByteSpan message) {
  PkeyPtr k(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.bytes().data(), 32));
  Check(k != nullptr, "Ed25519 key");
  return SignWith(k.get(), message);
}

bool Ed25519Verify(const PublicKey& public_key, ByteSpan message, const Signature& signature) {
  return Ed25519Verifier(public_key).Verify(message, signature);
}

Ed25519Verifier::Ed25519Verifier(const PublicKey& public_key) : public_key_(public_key) {
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), 32);
  ERR_clear_error();
  if (k != nullptr) pkey_ = std::shared_ptr<EVP_PKEY>(k, EvpPkeyFree{});
}

bool Ed25519Verifier::Verify(ByteSpan message, const Signature& signature) const {
  return pkey_ != nullptr && VerifyWith(pkey_.get(), message, signature);
}

namespace {

// Per-thread contexts with their algorithms fetched once: at thousands of pads per round, a
// fetch and an allocation per hash cost more than the hash (bench/zipnet_bench).
struct ThreadHashes {
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* mac = nullptr;
  ThreadHashes() {
    Check(sha256 != nullptr && md != nullptr && hmac != nullptr, "hash fetch");
    mac = EVP_MAC_CTX_new(hmac);
    char digest[] = "SHA2-256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    Check(mac != nullptr && EVP_MAC_CTX_set_params(mac, params) == 1, "HMAC digest");
  }
  ~ThreadHashes() {
    EVP_MAC_CTX_free(mac);
    EVP_MAC_free(hmac);
    EVP_MD_CTX_free(md);
    EVP_MD_free(sha256);
  }
  ThreadHashes(const ThreadHashes&) = delete;
  ThreadHashes& operator=(const ThreadHashes&) = delete;
};

ThreadHashes& Hashes() {
  thread_local ThreadHashes h;
  return h;
}

}  // namespace

Hash Sha256(std::initializer_list<ByteSpan> parts) {
  ThreadHashes& h = Hashes();
  Check(EVP_DigestInit_ex2(h.md, h.sha256, nullptr) == 1, "SHA-256");
  for (ByteSpan p : parts) EVP_DigestUpdate(h.md, p.data(), p.size());
  Hash out{};
  unsigned n = 0;
  Check(EVP_DigestFinal_ex(h.md, out.data(), &n) == 1, "SHA-256");
  return out;
}

Hash HmacSha256(ByteSpan key, std::initializer_list<ByteSpan> parts) {
  ThreadHashes& h = Hashes();
  // An empty key must still re-key the context: EVP_MAC_init with a null key keeps the old one.
  static const std::uint8_t kEmpty = 0;
  Check(EVP_MAC_init(h.mac, key.empty() ? &kEmpty : key.data(), key.size(), nullptr) == 1,
        "HMAC init");
  for (ByteSpan p : parts) EVP_MAC_update(h.mac, p.data(), p.size());
  Hash out{};
  std::size_t n = 0;
  Check(EVP_MAC_final(h.mac, out.data(), &n, out.size()) == 1 && n == 32, "HMAC final");
  return out;
}

Secret32 HkdfExtract(ByteSpan salt, ByteSpan ikm) {
  // HKDF-Extract(salt, IKM) = HMAC-SHA256(key = salt, IKM) (RFC 5869 section 2.2).
  return Secret32(HmacSha256(salt, {ikm}));
}

void HkdfExpand(ByteSpan prk, ByteSpan info, std::span<std::uint8_t> out) {
  // T(i) = HMAC(PRK, T(i-1) || info || i) (RFC 5869 section 2.3); out.size() <= 255 * 32.
  Hash t{};
  std::size_t done = 0;
  for (std::uint8_t i = 1; done < out.size(); ++i) {
    const std::uint8_t counter = i;
    t = i == 1 ? HmacSha256(prk, {info, ByteSpan(&counter, 1)})
               : HmacSha256(prk, {t, info, ByteSpan(&counter, 1)});
    const std::size_t n = std::min(t.size(), out.size() - done);
    std::memcpy(out.data() + done, t.data(), n);
    done += n;
  }
  Wipe(t);
}

ByteSpan Text(std::string_view s) {
  return ByteSpan(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::array<std::uint8_t, 8> Le64(std::uint64_t v) {
  std::array<std::uint8_t, 8> b{};
  for (std::size_t i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
  return b;
}

std::array<std::uint8_t, 4> Le32(std::uint32_t v) {
  std::array<std::uint8_t, 4> b{};
  for (std::size_t i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
  return b;
}

PadXor::PadXor()
    : cipher_(EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr)), ctx_(EVP_CIPHER_CTX_new()) {
  Check(cipher_ != nullptr && ctx_ != nullptr, "AES-128-CTR");
}

PadXor::~PadXor() {
  EVP_CIPHER_CTX_free(ctx_);
  EVP_CIPHER_free(cipher_);
}

void PadXor::Apply(const Key16& key, std::span<std::uint8_t> inout) {
  static const std::uint8_t kZeroIv[16] = {};
  // After the first call the context keeps its cipher; passing none only re-keys it, which
  // skips the provider's context setup.
  Check(EVP_EncryptInit_ex2(ctx_, initialized_ ? nullptr : cipher_, key.bytes().data(), kZeroIv,
                            nullptr) == 1,
        "AES-128-CTR init");
  initialized_ = true;
  std::size_t done = 0;
  while (done < inout.size()) {
    // EVP lengths are int; chunk so that any vector size works.
    const int n = static_cast<int>(std::min<std::size_t>(inout.size() - done, 1 << 30));
    int out = 0;
    Check(EVP_EncryptUpdate(ctx_, inout.data() + done, &out, inout.data() + done, n) == 1,
          "AES-128-CTR");
    done += static_cast<std::size_t>(n);
  }
}

void XorInto(std::span<std::uint8_t> dst, ByteSpan src) {
  std::size_t i = 0;
  const std::size_t n = dst.size();
  for (; i + 8 <= n; i += 8) {
    std::uint64_t a, b;
    std::memcpy(&a, dst.data() + i, 8);
    std::memcpy(&b, src.data() + i, 8);
    a ^= b;
    std::memcpy(dst.data() + i, &a, 8);
  }
  for (; i < n; ++i) dst[i] ^= src[i];
}

}  // namespace zipnet
