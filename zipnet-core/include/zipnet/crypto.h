// zipnet's cryptography, all through OpenSSL 3: X25519, Ed25519, HKDF-SHA256, HMAC-SHA256,
// AES-128-CTR pads (EVP, so AES-NI is used), and a deterministic RNG for simulations.
//
// Secrets live in Secret<N>, which wipes itself (OPENSSL_cleanse) when destroyed or overwritten.
// Key generation takes an Rng so that simulations are reproducible from a seed; production uses
// SystemRng (RAND_bytes).
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "zipnet/params.h"

namespace zipnet {

void Wipe(std::span<std::uint8_t> bytes);

template <std::size_t N>
class Secret {
 public:
  Secret() { bytes_.fill(0); }
  explicit Secret(const std::array<std::uint8_t, N>& b) : bytes_(b) {}
  Secret(const Secret& o) : bytes_(o.bytes_) {}
  Secret& operator=(const Secret& o) {
    if (this != &o) bytes_ = o.bytes_;
    return *this;
  }
  ~Secret() { Wipe(bytes_); }
  std::array<std::uint8_t, N>& bytes() { return bytes_; }
  const std::array<std::uint8_t, N>& bytes() const { return bytes_; }

 private:
  std::array<std::uint8_t, N> bytes_;
};
using Secret32 = Secret<32>;
using Key16 = Secret<16>;
using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

class Rng {
 public:
  virtual ~Rng() = default;
  virtual void Fill(std::span<std::uint8_t> out) = 0;
  template <std::size_t N>
  std::array<std::uint8_t, N> Array() {
    std::array<std::uint8_t, N> a{};
    Fill(a);
    return a;
  }
  std::uint64_t U64();
};

// OpenSSL's CSPRNG.
class SystemRng : public Rng {
 public:
  void Fill(std::span<std::uint8_t> out) override;
};

// AES-128-CTR keystream keyed by SHA-256(seed): reproducible, for simulations and tests only.
class DeterministicRng : public Rng {
 public:
  explicit DeterministicRng(std::uint64_t seed);
  ~DeterministicRng() override;
  DeterministicRng(const DeterministicRng&) = delete;
  DeterministicRng& operator=(const DeterministicRng&) = delete;
  void Fill(std::span<std::uint8_t> out) override;

 private:
  EVP_CIPHER_CTX* ctx_;
};

struct X25519KeyPair {
  Secret32 secret;
  PublicKey public_key{};
};
X25519KeyPair X25519Generate(Rng& rng);
X25519KeyPair X25519FromSecret(const Secret32& secret);
// Fails on a low-order peer key (all-zero shared secret), as RFC 7748 section 6.1 allows.
Result<Secret32> X25519Shared(const Secret32& secret, const PublicKey& peer_public);

struct EvpPkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

struct Ed25519KeyPair {
  Secret32 seed;
  PublicKey public_key{};
  // The OpenSSL key, made once: building it from the seed costs as much as a signature.
  std::shared_ptr<EVP_PKEY> pkey;
};
Ed25519KeyPair Ed25519Generate(Rng& rng);
Ed25519KeyPair Ed25519FromSeed(const Secret32& seed);
Signature Ed25519Sign(const Ed25519KeyPair& key, ByteSpan message);
// For callers holding only a seed (the simulation playing a faulty party).
Signature Ed25519Sign(const Secret32& seed, ByteSpan message);
bool Ed25519Verify(const PublicKey& public_key, ByteSpan message, const Signature& signature);

// A public key decoded once, for parties verified over and over (servers, registered clients).
class Ed25519Verifier {
 public:
  Ed25519Verifier() = default;
  explicit Ed25519Verifier(const PublicKey& public_key);
  const PublicKey& public_key() const { return public_key_; }
  bool Verify(ByteSpan message, const Signature& signature) const;

 private:
  PublicKey public_key_{};
  std::shared_ptr<EVP_PKEY> pkey_;
};

Hash Sha256(std::initializer_list<ByteSpan> parts);
Hash HmacSha256(ByteSpan key, std::initializer_list<ByteSpan> parts);
// RFC 5869 with SHA-256.
Secret32 HkdfExtract(ByteSpan salt, ByteSpan ikm);
void HkdfExpand(ByteSpan prk, ByteSpan info, std::span<std::uint8_t> out);

ByteSpan Text(std::string_view s);
std::array<std::uint8_t, 8> Le64(std::uint64_t v);
std::array<std::uint8_t, 4> Le32(std::uint32_t v);

// XORs the AES-128-CTR keystream (IV zero) of `key` into `inout`: inout ^= pad. One object per
// thread; reusing it keeps the cipher fetched and the context allocated.
class PadXor {
 public:
  PadXor();
  ~PadXor();
  PadXor(const PadXor&) = delete;
  PadXor& operator=(const PadXor&) = delete;
  void Apply(const Key16& key, std::span<std::uint8_t> inout);

 private:
  EVP_CIPHER* cipher_;
  EVP_CIPHER_CTX* ctx_;
  bool initialized_ = false;
};

// XOR of equal-length buffers: dst ^= src. REQUIRES: dst.size() == src.size().
void XorInto(std::span<std::uint8_t> dst, ByteSpan src);

}  // namespace zipnet
