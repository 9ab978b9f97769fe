// Known-answer tests: X25519 -> HKDF ratchet -> pad key -> AES-128-CTR pad bytes, tags and ids.
// Each value is computed here step by step from raw OpenSSL primitives (not the library's
// helpers) and also compared with frozen hex, computed once independently (Python hashlib/hmac
// and `openssl enc -aes-128-ctr`), so a change in either the library or the derivation fails.
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <thread>

#include "tdxrt/hex.h"
#include "zipnet/committee.h"
#include "zipnet/ratchet.h"
#include "zipnet/server.h"

namespace zipnet {
namespace {

using tdxrt::FromHex;
using tdxrt::ToHex;

template <std::size_t N>
std::array<std::uint8_t, N> Arr(const char* hex) {
  const Bytes b = FromHex(hex, N).value();
  std::array<std::uint8_t, N> a{};
  std::copy(b.begin(), b.end(), a.begin());
  return a;
}

// Raw one-shot HMAC-SHA256 (OpenSSL's HMAC(); deprecated for new code but the simplest
// independent reference here).
Bytes RawHmac(ByteSpan key, ByteSpan data) {
  unsigned char out[32];
  unsigned len = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), data.data(),
            data.size(), out, sizeof out, nullptr);
  len = 32;
  return Bytes(out, out + len);
}

Bytes Cat(std::initializer_list<ByteSpan> parts) {
  Bytes out;
  for (ByteSpan p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST_CASE("KAT: X25519 (RFC 7748 6.1) -> ratchet -> pad key -> AES-128-CTR pad") {
  const Secret32 alice(Arr<32>("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  const PublicKey bob_pub =
      Arr<32>("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  CHECK(ToHex(X25519FromSecret(alice).public_key) ==
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  auto s = X25519Shared(alice, bob_pub);
  REQUIRE(s.ok());
  CHECK(ToHex(s->bytes()) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

  // Step by step with raw primitives.
  Hash committee_id{};
  committee_id.fill(1);
  const Bytes salt = Cat({Text("zipnet/ratchet/v1"), committee_id});
  const Bytes k0 = RawHmac(salt, s->bytes());
  CHECK(ToHex(k0) == "4d71d0d1459a4bce4b0153bf2e137fa62bacac023925f6c329549310b536596f");
  const std::uint8_t one = 1;
  const Bytes k1 = RawHmac(k0, Cat({Text("zipnet/ratchet/next"), ByteSpan(&one, 1)}));
  CHECK(ToHex(k1) == "036fb96136e4832614e7e5ba51fba4b6e0b79ccef5a0631122429b86a848e896");
  const auto r17 = Le64(17);
  Bytes pk = RawHmac(k1, Cat({Text("zipnet/pad/v1"), r17, ByteSpan(&one, 1)}));
  pk.resize(16);
  CHECK(ToHex(pk) == "2269485c475b6ff4611faaae9e9252ae");
  Bytes pad(48, 0);
  {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    const std::uint8_t iv[16] = {};
    int n = 0;
    EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, pk.data(), iv);
    EVP_EncryptUpdate(ctx, pad.data(), &n, pad.data(), 48);
    EVP_CIPHER_CTX_free(ctx);
  }
  CHECK(ToHex(pad) ==
        "324db74c4ade2c5738293765b43673105780839cfb4c84bded0325164705997360431d9ba5e80740f2d84fe0"
        "b36c6563");

  // The library gives the same bytes.
  RoundParams params;  // epoch_rounds 16: round 17 is in epoch 1
  EpochRatchet ratchet(*s, committee_id);
  auto key = ratchet.PadKey(params, 17);
  REQUIRE(key.ok());
  CHECK(ToHex(key->bytes()) == ToHex(pk));
  Bytes lib_pad(48, 0);
  PadXor pads;
  pads.Apply(*key, lib_pad);
  CHECK(lib_pad == pad);
}

TEST_CASE("KAT: instance id, params hash, tag, client id, peer id") {
  const Hash inst = InstanceId("zipnet", "kat");
  CHECK(ToHex(inst) == "4c2d960120819f9aac29675ce1c24e46365b4784accb19a0dcad5dd59cb5a21b");
  // (Wire version 2; with version 1 the same defaults hashed to ddd5a33d9af32434...)
  CHECK(ToHex(RoundParams{}.ParamsHash()) ==
        "9b130a97e251128c1f1c35a607610a7d9e1c912902bf86e650f9718f7b5efff6");
  const RoundParams params;
  Bytes payload(params.payload_len(), 0);
  const std::string hello = "hello";
  std::copy(hello.begin(), hello.end(), payload.begin());
  CHECK(ToHex(SlotTag(inst, 5, 3, payload, params)) == "8239e5a1123edce80c513126c289a188");
  CHECK(ToHex(ClientIdOf(
            Arr<32>("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"))) ==
        "d9238aa3704f64c24eee6bba3e08d9c0");
  CHECK(ToHex(ShortIdOf(Arr<16>("d9238aa3704f64c24eee6bba3e08d9c0"))) == "d9238aa3704f64c2");
  // RFC 8032 test 1: secret key -> public key, and the PeerId of that key.
  const Secret32 seed(Arr<32>("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  const Ed25519KeyPair ed = Ed25519FromSeed(seed);
  CHECK(ToHex(ed.public_key) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  CHECK(ToHex(PeerIdOf(ed.public_key)) == "21fe31dfa154a261626bf854046fd227");
  CHECK(ToHex(Ed25519Sign(seed, ByteSpan())) ==
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701"
        "cf9b46bd25bf5f0595bbe24655141438e7a100b");
}

TEST_CASE("ratchet: erased epochs cannot be regenerated, absence catches up") {
  DeterministicRng rng(7);
  const Secret32 s(rng.Array<32>());
  Hash cid{};
  RoundParams params;
  params.epoch_rounds = 4;
  EpochRatchet client(s, cid), server(s, cid);
  auto k5 = client.PadKey(params, 5);  // epoch 1
  REQUIRE(k5.ok());
  auto later = client.PadKey(params, 9);  // epoch 2: epoch 1's key is gone
  REQUIRE(later.ok());
  auto again = client.PadKey(params, 5);
  REQUIRE(!again.ok());
  CHECK(again.status().message() == "ratchet: epoch 1 was erased (the ratchet is at epoch 2)");
  // The other side, idle since epoch 0, jumps straight to epoch 2 and agrees.
  auto server_later = server.PadKey(params, 9);
  REQUIRE(server_later.ok());
  CHECK(server_later->bytes() == later->bytes());
  CHECK(k5->bytes() != later->bytes());
}

TEST_CASE("X25519 refuses low-order peer keys") {
  DeterministicRng rng(3);
  const X25519KeyPair kp = X25519Generate(rng);
  PublicKey zero{};
  auto s = X25519Shared(kp.secret, zero);
  REQUIRE(!s.ok());
  CHECK(s.status().message() == "X25519: the peer public key is of low order");
}

TEST_CASE("report_data of a client bundle is SHA-512 of the spec's concatenation") {
  ClientBundle b;
  b.instance_id.fill(1);
  b.ed25519.fill(2);
  b.x25519.fill(3);
  const Bytes all = Cat({Text("zipnet/bundle/v1"), b.instance_id, b.ed25519, b.x25519});
  unsigned char want[64];
  unsigned n = 0;
  EVP_Digest(all.data(), all.size(), want, &n, EVP_sha512(), nullptr);
  const auto got = BundleReportData(b);
  CHECK(std::equal(got.begin(), got.end(), want));
}

}  // namespace
}  // namespace zipnet
