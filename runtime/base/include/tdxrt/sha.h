// SHA-2 digests through OpenSSL's EVP interface (so the CPU's SHA extensions are used).
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "tdxrt/bytes.h"

namespace tdxrt {

using Sha384Digest = std::array<std::uint8_t, 48>;
using Sha256Digest = std::array<std::uint8_t, 32>;
using Sha512Digest = std::array<std::uint8_t, 64>;

Sha384Digest Sha384(ByteSpan data);
Sha256Digest Sha256(ByteSpan data);
Sha512Digest Sha512(ByteSpan data);

// Incremental hashing. Not thread-safe; one object per stream.
class Hasher {
 public:
  enum class Algorithm { kSha256, kSha384, kSha512 };
  explicit Hasher(Algorithm algorithm);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void Update(ByteSpan data);
  // Writes the digest (32, 48 or 64 bytes) and resets for a new message.
  Bytes Final();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Algorithm algorithm_;
};

class Sha384Hasher {
 public:
  Sha384Hasher() : h_(Hasher::Algorithm::kSha384) {}
  void Update(ByteSpan data) { h_.Update(data); }
  Sha384Digest Final();

 private:
  Hasher h_;
};

}  // namespace tdxrt
