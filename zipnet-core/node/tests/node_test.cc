// Unit tests of the node library: addresses, identity files, the session messages' encoding
// and corruption diagnoses, TLS peer pinning in-process, and record descriptions.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>

#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "zipnet/node/common.h"
#include "zipnet/node/node.h"
#include "zipnet/node_wire.h"

namespace zipnet::node {
namespace {

TEST_CASE("peer addresses") {
  auto a = ParsePeerAddress("00112233445566778899aabbccddeeff@127.0.0.1:7801");
  REQUIRE(a.ok());
  CHECK(a->endpoint.host == "127.0.0.1");
  CHECK(a->endpoint.port == 7801);
  CHECK(a->ToString() == "00112233445566778899aabbccddeeff@127.0.0.1:7801");
  auto v6 = ParseEndpoint("[::1]:80");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->ToString() == "[::1]:80");
  CHECK(ParsePeerAddress("0011@h:1").status().message() ==
        "peer '0011@h:1': peer id is not 32 hex digits");
  CHECK(ParsePeerAddress("h:1").status().message() ==
        "peer 'h:1' is not <peer id>@host:port (32 hex digits before '@')");
  CHECK(ParseEndpoint("h:70000").status().message() ==
        "address 'h:70000': port '70000' is not 0..65535");
  auto list = ParsePeerList(
      "00112233445566778899aabbccddeeff@a:1, 00112233445566778899aabbccddee00@b:2");
  REQUIRE(list.ok());
  CHECK(list->size() == 2);
  CHECK(ParsePeerList(" , ").status().message() == "empty peer list");
}

TEST_CASE("identity files: created 0600, reloaded, refused when readable by others") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("zipnet-id-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "node.key";
  bool created = false;
  auto first = LoadOrCreateIdentity(path, &created);
  REQUIRE(first.ok());
  CHECK(created);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = LoadOrCreateIdentity(path, &created);
  REQUIRE(again.ok());
  CHECK(!created);
  CHECK(again->ed25519.public_key == first->ed25519.public_key);
  CHECK(again->x25519.public_key == first->x25519.public_key);
  ::chmod(path.c_str(), 0644);
  CHECK(LoadOrCreateIdentity(path, nullptr).status().message() ==
        path.string() +
            ": identity file is readable by group or others (mode 0644); run chmod 600 on it");
  ::chmod(path.c_str(), 0600);
  REQUIRE(tdxrt::WriteFileAtomic(path, std::string_view("ed25519-seed: 00\n"), 0600).ok());
  CHECK(LoadOrCreateIdentity(path, nullptr).status().message() ==
        path.string() + ":1: ed25519-seed is not 64 hex digits");
  std::filesystem::remove_all(dir);
}

TEST_CASE("session messages round-trip and name what is wrong") {
  Hello h;
  h.role = NodeRole::kServer;
  h.instance_id[0] = 7;
  h.x25519[31] = 9;
  h.last_round = 42;
  const Bytes hb = Encode(h);
  auto hd = DecodeHello(hb);
  REQUIRE(hd.ok());
  CHECK(hd->role == NodeRole::kServer);
  CHECK(hd->last_round == 42);
  CHECK(Encode(*hd) == hb);
  Bytes bad = hb;
  bad[2] = 9;
  CHECK(DecodeHello(bad).status().message() == "Hello: role 9 at offset 0x2 is not 1..4");
  bad = hb;
  bad.pop_back();
  CHECK(!DecodeHello(bad).ok());
  bad = hb;
  bad.push_back(0);
  CHECK(DecodeHello(bad).status().message() == "Hello: 1 trailing bytes at offset 0x69");

  Roster r;
  r.servers.resize(2);
  r.servers[1].peer[0] = 1;
  r.aggregator_address = "10.0.0.1:7800";
  const Bytes rb = Encode(r);
  auto rd = DecodeRoster(rb);
  REQUIRE(rd.ok());
  CHECK(rd->servers.size() == 2);
  CHECK(rd->aggregator_address == "10.0.0.1:7800");
  CHECK(Encode(*rd) == rb);
  // A server count larger than what follows is refused before anything is allocated.
  bad = rb;
  bad[2 + 32 + 30] = 0xff;
  bad[2 + 32 + 30 + 1] = 0x03;
  CHECK(DecodeRoster(bad).status().message().find("Roster: server count 1023 at offset 0x40 "
                                                  "needs 81840 bytes") == 0);

  Admitted a;
  a.clients.push_back({ClientId{}, PublicKey{}});
  const Bytes ab = Encode(a);
  REQUIRE(DecodeAdmitted(ab).ok());
  WireLimits small;
  small.max_clients = 0;
  CHECK(DecodeAdmitted(ab, small).status().message() ==
        "Admitted: client count 1 at offset 0x2 exceeds the limit (0)");

  Rejected j{ClientId{}, "mock evidence is refused"};
  auto jd = DecodeRejected(Encode(j));
  REQUIRE(jd.ok());
  CHECK(jd->reason == j.reason);

  RoundOpen o;
  o.round = 5;
  o.fold_ms = 100;
  o.deadline_ms = 1000;
  auto od = DecodeRoundOpen(Encode(o));
  REQUIRE(od.ok());
  CHECK(od->round == 5);
  CHECK(RoundOpenDigest(Hash{}, Hash{}, o) == RoundOpenDigest(Hash{}, Hash{}, *od));
  o.round = 6;
  CHECK(RoundOpenDigest(Hash{}, Hash{}, o) != RoundOpenDigest(Hash{}, Hash{}, *od));
  RecordVote v;
  v.round = 3;
  auto vd = DecodeRecordVote(Encode(v));
  REQUIRE(vd.ok());
  CHECK(vd->round == 3);
  auto frame = DecodeFrame(EncodeFrame(MessageType::kRecordVote, Encode(v)));
  REQUIRE(frame.ok());
  CHECK(frame->type == MessageType::kRecordVote);
}

TEST_CASE("TLS: a dialer accepts only the peer id it dialed") {
  Loop loop;
  DeterministicRng rng(7);
  auto server_id = Ed25519Generate(rng);
  auto client_id = Ed25519Generate(rng);
  auto server_tls = TlsIdentity::Create(server_id);
  auto client_tls = TlsIdentity::Create(client_id);
  REQUIRE(server_tls.ok());
  REQUIRE(client_tls.ok());
  std::optional<PeerId> accepted_peer;
  std::vector<ConnectionPtr> accepted;
  auto listener = Listener::Start(loop, *server_tls, Endpoint{"127.0.0.1", 0}, {},
                                  [&](ConnectionPtr c) {
                                    accepted_peer = c->peer();
                                    accepted.push_back(c);
                                    c->Start([](MessageType, ByteSpan) { return Status::Ok(); },
                                             [](const std::string&) {});
                                  });
  REQUIRE(listener.ok());
  const Endpoint ep = (*listener)->bound();
  std::string wrong, right;
  PeerId other{};
  other[0] = 1;
  Dial(loop, *client_tls, PeerAddress{other, ep}, {}, [&](Result<ConnectionPtr> c) {
    wrong = c.ok() ? "connected" : c.status().message();
    Dial(loop, *client_tls, PeerAddress{PeerIdOf(server_id.public_key), ep}, {},
         [&](Result<ConnectionPtr> c2) {
           right = c2.ok() ? tdxrt::ToHex((*c2)->peer()) : c2.status().message();
           if (c2.ok()) (*c2)->Abandon();
           loop.Post([&] { loop.Stop(); });
         });
  });
  auto guard = loop.After(Millis(10000), [&] { loop.Stop(); });
  loop.Run();
  CHECK(wrong == PeerAddress{other, ep}.ToString() + ": peer is " +
                     tdxrt::ToHex(PeerIdOf(server_id.public_key)) + ", not " +
                     tdxrt::ToHex(other));
  CHECK(right == tdxrt::ToHex(PeerIdOf(server_id.public_key)));
  REQUIRE(accepted_peer);
  CHECK(*accepted_peer == PeerIdOf(client_id.public_key));  // mutual: the client is pinned too
  for (auto& c : accepted) c->Abandon();
}

TEST_CASE("watcher lines: valid, garbled and empty slots") {
  RoundParams p;
  p.num_slots = 4;
  const Hash instance = InstanceId(kDefaultUniverse, "t");
  BroadcastRecord rec;
  rec.round = 9;
  rec.participants = 3;
  rec.output.assign(p.vector_len(), 0);
  const std::string msg = "hi \"there\"\n";
  WriteSlot(rec.output, instance, 9, 1, ByteSpan(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()), p);
  rec.output[p.slot_offset(3)] = 1;  // garbage in slot 3
  const auto lines = DescribeRecord(rec, instance, p);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "round 9 finalized: 3 participants, 0 signatures");
  CHECK(lines[1] == "  slot 1: valid \"hi \\\"there\\\"\\x0a\"");
  CHECK(lines[2] == "  slot 3: garbled (tag mismatch: collision)");
}

}  // namespace
}  // namespace zipnet::node
