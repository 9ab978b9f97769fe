// A server's registry file: round trip, the MAC, the binding, and every corruption named by
// its field and offset.
#include "zipnet/registry_file.h"

#include <doctest/doctest.h>

#include "tdxrt/bytes.h"
#include "tdxrt/hex.h"

namespace zipnet {
namespace {

struct Fixture {
  DeterministicRng rng{11};
  Ed25519KeyPair identity = Ed25519Generate(rng);
  X25519KeyPair dh = X25519Generate(rng);
  Secret32 key = RegistryMacKey(identity, dh);
  RegistryFile file;
  Fixture() {
    file.binding.instance_id = InstanceId("zipnet", "registry");
    file.binding.params_hash = RoundParams{}.ParamsHash();
    file.binding.server = PeerIdOf(identity.public_key);
    file.binding.admission.fill(0x0a);
    for (int i = 0; i < 3; ++i) {
      RegistryEntry e;
      e.ed25519 = Ed25519Generate(rng).public_key;
      e.x25519 = X25519Generate(rng).public_key;
      e.evidence_kind = i == 1 ? EvidenceKind::kTdx : EvidenceKind::kMock;
      file.clients.push_back(e);
    }
  }
};

TEST_CASE("registry file: round trip, bound to its server, MAC over every byte") {
  Fixture f;
  const Bytes data = EncodeRegistry(f.file, f.key);
  CHECK(data.size() == 16 + 2 + 32 + 32 + 16 + 32 + 4 + 3 * 65 + 32);
  auto back = DecodeRegistry(data, f.key);
  REQUIRE(back.ok());
  CHECK(back->clients == f.file.clients);
  CHECK(CheckRegistryBinding(back->binding, f.file.binding).ok());
  // Another server's key (its file copied here) and any flipped byte: the MAC.
  DeterministicRng other(12);
  const Secret32 other_key = RegistryMacKey(Ed25519Generate(other), X25519Generate(other));
  CHECK(DecodeRegistry(data, other_key).status().message() ==
        "registry: the MAC at offset 0x149 does not match: the file was altered, or is another "
        "server's");
  for (std::size_t i :
       {std::size_t{0x13}, std::size_t{0x90}, std::size_t{0x13c}, data.size() - 1}) {
    CAPTURE(i);
    Bytes bad = data;
    bad[i] ^= 0x40;
    CHECK(DecodeRegistry(bad, f.key).status().message() ==
          "registry: the MAC at offset 0x149 does not match: the file was altered, or is another "
          "server's");
  }
}

TEST_CASE("registry file: every corruption named by its field and offset") {
  Fixture f;
  const Bytes data = EncodeRegistry(f.file, f.key);
  Bytes bad = data;
  bad[3] = 'X';
  CHECK(DecodeRegistry(bad, f.key).status().message() ==
        "registry: not a zipnet registry file (magic at offset 0x0)");
  bad = data;
  bad[0x10] = 2;
  CHECK(DecodeRegistry(bad, f.key).status().message() ==
        "registry: format 2 at offset 0x10 is not supported (1)");
  // The count at 16 + 2 + 32 + 32 + 16 + 32 = 0x82.
  bad = data;
  tdxrt::StoreLe<std::uint32_t>(bad, 0x82, 4);
  CHECK(DecodeRegistry(bad, f.key).status().message() ==
        "registry: count 4 at offset 0x82 needs 292 more bytes with the MAC, 227 there");
  tdxrt::StoreLe<std::uint32_t>(bad, 0x82, 0xffffffff);
  CHECK(DecodeRegistry(bad, f.key).status().message() ==
        "registry: count 4294967295 at offset 0x82 exceeds the limit (1048576)");
  CHECK(DecodeRegistry(data, f.key, 2).status().message() ==
        "registry: count 3 at offset 0x82 exceeds the limit (2)");
  // Client 1's evidence kind at 0x86 + 65 + 64 = 0x107.
  bad = data;
  bad[0x107] = 7;
  CHECK(DecodeRegistry(bad, f.key).status().message() ==
        "registry: client 1 evidence kind 7 at offset 0x107 is not 0 (mock) or 1 (tdx)");
  // Cut anywhere: named by the field it cuts.
  CHECK(DecodeRegistry(ByteSpan(data).first(0x50), f.key)
            .status()
            .message()
            .find("registry params_hash") != std::string::npos);
  CHECK(
      DecodeRegistry(ByteSpan(data).first(0x84), f.key).status().message().find("registry count") !=
      std::string::npos);
  CHECK(DecodeRegistry(ByteSpan(data).first(data.size() - 1), f.key).status().message() ==
        "registry: count 3 at offset 0x82 needs 227 more bytes with the MAC, 226 there");
  CHECK(DecodeRegistry(ByteSpan(), f.key).status().message().find("registry magic") !=
        std::string::npos);
}

TEST_CASE("registry file: the binding names what differs") {
  Fixture f;
  RegistryBinding now = f.file.binding;
  now.instance_id[0] ^= 1;
  CHECK(CheckRegistryBinding(f.file.binding, now)
            .message()
            .rfind("registry: written for another instance (", 0) == 0);
  now = f.file.binding;
  now.params_hash[0] ^= 1;
  CHECK(CheckRegistryBinding(f.file.binding, now).message() ==
        "registry: written for other round parameters");
  now = f.file.binding;
  now.server[0] ^= 1;
  CHECK(CheckRegistryBinding(f.file.binding, now).message() ==
        "registry: written by server " + tdxrt::ToHex(f.file.binding.server) + ", not this one");
  now = f.file.binding;
  now.admission[5] ^= 1;
  CHECK(CheckRegistryBinding(f.file.binding, now).message() ==
        "registry: its clients were admitted under other admission settings (gating, client "
        "policy or trust anchor)");
}

}  // namespace
}  // namespace zipnet
