// SHA-2 through OpenSSL EVP.
#include "tdxrt/sha.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace tdxrt {

namespace {
const EVP_MD* Md(Hasher::Algorithm a) {
  switch (a) {
    case Hasher::Algorithm::kSha256:
      return EVP_sha256();
    case Hasher::Algorithm::kSha384:
      return EVP_sha384();
    case Hasher::Algorithm::kSha512:
      return EVP_sha512();
  }
  return EVP_sha384();
}

[[noreturn]] void Die(const char* what) {
  // OpenSSL digest failures mean memory exhaustion or a broken library; nothing to recover.
  std::fprintf(stderr, "fatal: OpenSSL %s failed\n", what);
  std::abort();
}

template <std::size_t N>
std::array<std::uint8_t, N> OneShot(const EVP_MD* md, ByteSpan data) {
  std::array<std::uint8_t, N> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != N) {
    Die("EVP_Digest");
  }
  return out;
}
}  // namespace

Sha384Digest Sha384(ByteSpan data) { return OneShot<48>(EVP_sha384(), data); }
Sha256Digest Sha256(ByteSpan data) { return OneShot<32>(EVP_sha256(), data); }
Sha512Digest Sha512(ByteSpan data) { return OneShot<64>(EVP_sha512(), data); }

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Hasher::Hasher(Algorithm algorithm) : impl_(std::make_unique<Impl>()), algorithm_(algorithm) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, Md(algorithm_), nullptr) != 1) {
    Die("EVP_DigestInit_ex");
  }
}

Hasher::~Hasher() { EVP_MD_CTX_free(impl_->ctx); }

void Hasher::Update(ByteSpan data) {
  if (data.empty()) return;
  if (EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) != 1) Die("EVP_DigestUpdate");
}

Bytes Hasher::Final() {
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(Md(algorithm_))));
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) != 1) Die("EVP_DigestFinal_ex");
  if (EVP_DigestInit_ex(impl_->ctx, Md(algorithm_), nullptr) != 1) Die("EVP_DigestInit_ex");
  return out;
}

Sha384Digest Sha384Hasher::Final() {
  Bytes b = h_.Final();
  Sha384Digest d{};
  std::copy(b.begin(), b.end(), d.begin());
  return d;
}

}  // namespace tdxrt
