// Two TLS identities (a listening and a dialing side) from a seed, for the in-process transport
// tests of the node library.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>

#include "zipnet/crypto.h"
#include "zipnet/node/transport.h"

namespace zipnet::node {

struct TlsPair {
  std::shared_ptr<TlsIdentity> server;
  std::shared_ptr<TlsIdentity> client;
};

inline TlsPair MakeTlsPair(std::uint64_t seed) {
  DeterministicRng rng(seed);
  auto server = TlsIdentity::Create(Ed25519Generate(rng));
  auto client = TlsIdentity::Create(Ed25519Generate(rng));
  REQUIRE(server.ok());
  REQUIRE(client.ok());
  return TlsPair{*server, *client};
}

}  // namespace zipnet::node
