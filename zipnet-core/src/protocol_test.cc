// The protocol end to end, in the deterministic in-process simulation (simulation.h): N servers,
// an aggregator or a tree of them, M clients, one seed.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "simulation.h"
#include "tdxrt/hex.h"

namespace zipnet {
namespace {

using sim::Faults;
using sim::RoundOutcome;
using sim::SimConfig;
using sim::Simulation;
using tdxrt::BytesOf;

std::unique_ptr<Simulation> Make(SimConfig c) {
  auto s = Simulation::Create(std::move(c));
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  return std::move(s).value();
}

RoundOutcome Run(Simulation& s, const Faults& f = {}) {
  auto o = s.RunRound(f);
  REQUIRE_MESSAGE(o.ok(), o.status().message());
  return std::move(o).value();
}

std::string Str(const Bytes& b) { return std::string(b.begin(), b.end()); }

// Runs rounds until the record carries every queued message or `max` rounds passed.
void RunUntilQuiet(Simulation& s, int max) {
  for (int i = 0; i < max; ++i) {
    bool any = false;
    for (std::size_t c = 0; c < s.num_clients(); ++c) any = any || s.client(c).queued() > 0;
    if (!any) return;
    Run(s);
  }
}

TEST_CASE("delivery: one talker, many cover clients, 240 bytes fit, 241 do not") {
  auto s = Make({.seed = 11, .servers = 3, .clients = 10});
  const RoundParams& p = s->config().params;
  const std::string m240(240, 'z');
  REQUIRE(s->client(0).Enqueue(BytesOf(m240)).ok());
  const Status too_long = s->client(1).Enqueue(BytesOf(std::string(241, 'y')));
  REQUIRE(!too_long.ok());
  CHECK(too_long.message() == "MessageTooLong: the message is 241 bytes, a slot carries 240");
  CHECK(s->client(1).queued() == 0);

  RoundOutcome r0 = Run(*s);  // client 0 reserves
  CHECK(r0.seals[0].kind == SealKind::kReserve);
  for (std::size_t c = 1; c < 10; ++c) CHECK(r0.seals[c].kind == SealKind::kCover);
  REQUIRE(r0.record);
  RoundOutcome r1 = Run(*s);  // client 0 talks
  REQUIRE(r1.seals[0].kind == SealKind::kTalk);
  REQUIRE(r1.record);
  const std::uint32_t slot = *r1.seals[0].slot;
  const BroadcastRecord& rec = *r1.record;
  CHECK(rec.participants == 10);
  auto got = ReadSlot(rec.output, s->instance_id(), 1, slot, p);
  REQUIRE(got);
  CHECK(Str(*got) == m240);
  // Everything else is zero: the other slots, and the schedule but for client 0's new
  // reservation word.
  for (std::uint32_t i = 0; i < p.num_slots; ++i) {
    if (i != slot) CHECK(InspectSlot(rec.output, s->instance_id(), 1, i, p) == SlotState::kEmpty);
  }
  int nonzero_words = 0;
  for (std::uint32_t w = 0; w < p.sched_slots(); ++w)
    nonzero_words += ScheduleWord(rec.output, w) != 0;
  CHECK(nonzero_words == 1);
  const auto delivered = s->client(0).TakeDelivered();
  REQUIRE(delivered.size() == 1);
  CHECK(Str(delivered[0]) == m240);
  CHECK(s->client(0).queued() == 0);
}

TEST_CASE("same inputs, other aggregator trees and arrival orders: byte-identical record") {
  std::vector<Bytes> records;
  std::vector<Bytes> outputs;
  for (auto [leaves, arrival, extra_cover] :
       {std::tuple<std::size_t, std::uint64_t, std::size_t>{0, 1, 0},
        {3, 2, 0},
        {5, 9, 0},
        {2, 4, 6}}) {
    SimConfig c{.seed = 21,
                .arrival_seed = arrival,
                .servers = 4,
                .clients = 12 + extra_cover,
                .leaf_aggregators = leaves};
    auto s = Make(c);
    for (std::size_t i = 0; i < 4; ++i) {
      REQUIRE(s->client(i).Enqueue(BytesOf("message from client " + std::to_string(i))).ok());
    }
    Run(*s);
    RoundOutcome o = Run(*s);
    REQUIRE(o.record);
    if (extra_cover == 0) records.push_back(Encode(*o.record));
    outputs.push_back(o.record->output);
  }
  for (std::size_t i = 1; i < records.size(); ++i) CHECK(records[i] == records[0]);
  // Adding cover clients changes the participant count, not the broadcast.
  for (std::size_t i = 1; i < outputs.size(); ++i) CHECK(outputs[i] == outputs[0]);
}

TEST_CASE("forced collision: both tags fail, the record is published, both retry and deliver") {
  auto s = Make({.seed = 31, .servers = 3, .clients = 6});
  const RoundParams& p = s->config().params;
  for (std::size_t i = 0; i < 3; ++i) {
    REQUIRE(s->client(i).Enqueue(BytesOf("talker " + std::to_string(i))).ok());
  }
  Run(*s);  // all three reserve
  // Client 1 is made to talk in client 0's slot in round 1 (which slot that is: find out from
  // a dry look at round 1 of an identical simulation).
  auto probe = Make({.seed = 31, .servers = 3, .clients = 6});
  for (std::size_t i = 0; i < 3; ++i)
    REQUIRE(probe->client(i).Enqueue(BytesOf("talker " + std::to_string(i))).ok());
  Run(*probe);
  const RoundOutcome dry = Run(*probe);
  REQUIRE(dry.seals[0].slot);
  const std::uint32_t slot0 = *dry.seals[0].slot;
  s->client(1).ForceSlotForNextSeal(slot0);
  RoundOutcome o = Run(*s);
  REQUIRE(o.record);  // still published
  REQUIRE(o.seals[0].kind == SealKind::kTalk);
  REQUIRE(o.seals[1].kind == SealKind::kTalk);
  CHECK(*o.seals[1].slot == slot0);
  CHECK(InspectSlot(o.record->output, s->instance_id(), o.round, slot0, p) == SlotState::kGarbled);
  CHECK(s->client(0).queued() == 1);
  CHECK(s->client(1).queued() == 1);
  // The third talker is unaffected.
  REQUIRE(o.seals[2].kind == SealKind::kTalk);
  CHECK(ReadSlot(o.record->output, s->instance_id(), o.round, *o.seals[2].slot, p).value() ==
        BytesOf("talker 2"));
  CHECK(s->client(2).TakeDelivered().size() == 1);
  RunUntilQuiet(*s, 10);
  CHECK(s->client(0).TakeDelivered() == std::vector<Bytes>{BytesOf("talker 0")});
  CHECK(s->client(1).TakeDelivered() == std::vector<Bytes>{BytesOf("talker 1")});
}

TEST_CASE("a missing share: no record, a signed abort saying why, messages stay queued") {
  auto s = Make({.seed = 41, .servers = 3, .clients = 4});
  REQUIRE(s->client(0).Enqueue(BytesOf("patience")).ok());
  Run(*s);
  RoundOutcome o = Run(*s, Faults{.withhold_share = 2});
  CHECK(!o.record);
  REQUIRE(o.abort);
  CHECK(o.abort->reason == AbortReason::kMissingShare);
  CHECK(o.abort->detail == "missing share of server " + tdxrt::ToHex(s->server(2).peer()));
  CHECK(o.abort->signatures.size() == 2);
  CHECK(VerifyAbort(*o.abort, s->committee(), s->instance_id()).ok());
  CHECK(s->client(0).queued() == 1);
  RunUntilQuiet(*s, 10);
  CHECK(s->client(0).TakeDelivered() == std::vector<Bytes>{BytesOf("patience")});
}

TEST_CASE("a flipped bit in the aggregate or a share breaks exactly that slot's tag") {
  for (int where = 0; where < 2; ++where) {
    auto s = Make({.seed = 51, .servers = 3, .clients = 6});
    const RoundParams& p = s->config().params;
    for (std::size_t i = 0; i < 3; ++i) {
      REQUIRE(s->client(i).Enqueue(BytesOf("talker " + std::to_string(i))).ok());
    }
    Run(*s);
    auto probe = Make({.seed = 51, .servers = 3, .clients = 6});
    for (std::size_t i = 0; i < 3; ++i)
      REQUIRE(probe->client(i).Enqueue(BytesOf("talker " + std::to_string(i))).ok());
    Run(*probe);
    const RoundOutcome dry = Run(*probe);
    const std::uint32_t victim = *dry.seals[1].slot;
    const std::size_t bit = 8 * (p.slot_offset(victim) + 3) + 5;
    Faults f;
    if (where == 0)
      f.flip_aggregate_bit = bit;
    else
      f.flip_share_bit = std::make_pair(std::size_t{1}, bit);
    RoundOutcome o = Run(*s, f);
    REQUIRE(o.record);
    for (std::uint32_t slot = 0; slot < p.num_slots; ++slot) {
      const SlotState st = InspectSlot(o.record->output, s->instance_id(), o.round, slot, p);
      if (slot == victim) {
        CHECK(st == SlotState::kGarbled);
      } else if (slot == *dry.seals[0].slot || slot == *dry.seals[2].slot) {
        CHECK(st == SlotState::kValid);
      } else {
        CHECK(st == SlotState::kEmpty);
      }
    }
    CHECK(s->client(1).queued() == 1);
    CHECK(s->client(0).queued() == 0);
  }
}

TEST_CASE("a listed client whose envelope is missing garbles the output") {
  auto s = Make({.seed = 61, .servers = 3, .clients = 5});
  REQUIRE(s->client(0).Enqueue(BytesOf("hello")).ok());
  Run(*s);
  RoundOutcome o = Run(*s, Faults{.list_without_envelope = 3});
  REQUIRE(o.record);
  const RoundParams& p = s->config().params;
  int garbled = 0;
  for (std::uint32_t slot = 0; slot < p.num_slots; ++slot) {
    garbled +=
        InspectSlot(o.record->output, s->instance_id(), o.round, slot, p) == SlotState::kGarbled;
  }
  CHECK(garbled == static_cast<int>(p.num_slots));  // the client's pads are everywhere
  CHECK(s->client(0).queued() == 1);
}

TEST_CASE("the aggregator rejects duplicate ids and reused nonces") {
  auto s = Make({.seed = 71, .servers = 2, .clients = 3});
  REQUIRE(s->client(0).Enqueue(BytesOf("a")).ok());
  RoundOutcome o = Run(*s);
  Simulation* sp = s.get();
  AggregatorConfig ac{s->config().params, s->instance_id(), Ed25519FromSeed(Secret32())};
  Aggregator agg(ac, [sp](const ClientId& id) { return sp->server(0).Lookup(id); });
  REQUIRE(agg.BeginRound(0).ok());
  REQUIRE(agg.AddEnvelope(o.seals[0].envelope).ok());
  CHECK(agg.AddEnvelope(o.seals[0].envelope).message() ==
        "duplicate client id " + tdxrt::ToHex(s->client(0).id()) + " in round 0");
  // Client 0's nonce reused in round 1 of the same window, re-signed with its own key.
  RoundOutcome o1 = Run(*s);
  Envelope replay = o1.seals[0].envelope;
  replay.nonce = o.seals[0].envelope.nonce;
  replay.signature =
      Ed25519Sign(s->client_keys(0).identity.seed, EnvelopeDigest(s->instance_id(), replay));
  REQUIRE(agg.BeginRound(1).ok());
  CHECK(agg.AddEnvelope(replay).message() ==
        "nonce of client " + tdxrt::ToHex(s->client(0).id()) + " was already used in window 0");
  Envelope forged = o1.seals[1].envelope;
  forged.vector[0] ^= 1;
  CHECK(agg.AddEnvelope(forged).message() ==
        "envelope of " + tdxrt::ToHex(s->client(1).id()) + ": bad signature");
}

TEST_CASE("signatures checked on several threads: the same aggregate, the same refusals") {
  auto s = Make({.seed = 73, .servers = 2, .clients = 9});
  REQUIRE(s->client(0).Enqueue(BytesOf("threads")).ok());
  RoundOutcome o = Run(*s);
  REQUIRE(o.seals.size() == 9);
  std::vector<Envelope> batch;
  for (const auto& seal : o.seals) batch.push_back(seal.envelope);
  batch[3].vector[7] ^= 1;    // a bad signature
  batch.push_back(batch[5]);  // a duplicate client id
  batch.push_back(batch[2]);  // another
  batch[6].round = 99;        // another round
  Simulation* sp = s.get();
  AggregatorConfig ac{s->config().params, s->instance_id(), Ed25519FromSeed(Secret32())};
  auto lookup = [sp](const ClientId& id) { return sp->server(0).Lookup(id); };
  Aggregator one(ac, lookup);
  REQUIRE(one.BeginRound(o.round).ok());
  std::vector<std::string> sequential;
  for (const auto& e : batch) sequential.push_back(one.AddEnvelope(e).message());
  for (unsigned threads : {1u, 2u, 4u, 16u}) {
    CAPTURE(threads);
    Aggregator many(ac, lookup);
    REQUIRE(many.BeginRound(o.round).ok());
    const std::vector<Status> got = many.AddEnvelopes(batch, threads);
    REQUIRE(got.size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) CHECK(got[i].message() == sequential[i]);
    CHECK(many.count() == 7);
    CHECK(Encode(many.Finish()) == Encode(one.Finish()));
  }
  CHECK(sequential[3] == "envelope of " + tdxrt::ToHex(batch[3].client_id) + ": bad signature");
  CHECK(sequential[9] == "duplicate client id " + tdxrt::ToHex(batch[5].client_id) + " in round " +
                             std::to_string(o.round));
  CHECK(sequential[6].find("round 99, collecting") != std::string::npos);
}

TEST_CASE("servers resolve an aggregate's short ids in their own registry") {
  auto s = Make({.seed = 75, .servers = 2, .clients = 3});
  RoundOutcome o = Run(*s);
  Simulation* sp = s.get();
  const Ed25519KeyPair key = Ed25519FromSeed(Secret32());
  AggregatorConfig ac{s->config().params, s->instance_id(), key};
  Aggregator agg(ac, [sp](const ClientId& id) { return sp->server(0).Lookup(id); });
  RoundOutcome next = Run(*s);
  const std::uint64_t r = next.round;
  REQUIRE(r == o.round + 1);
  REQUIRE(agg.BeginRound(r).ok());
  for (const auto& seal : next.seals) REQUIRE(agg.AddEnvelope(seal.envelope).ok());
  Aggregate a = agg.Finish();
  REQUIRE(a.entries.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto id = s->server(0).Resolve(a.entries[i].client);
    REQUIRE(id);
    CHECK(ShortIdOf(*id) == a.entries[i].client);
    CHECK(s->server(0).Lookup(*id));
  }
  // A short id no client registered with: the aggregate is refused, naming it.
  a.entries[1].client = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
  std::sort(a.entries.begin(), a.entries.end(),
            [](const AggregateEntry& x, const AggregateEntry& y) { return x.client < y.client; });
  a.round = r + 1;
  a.signature =
      Ed25519Sign(key, AggregateDigest(s->instance_id(), s->config().params.ParamsHash(), a));
  CHECK(s->server(0).Commit(a, key.public_key).status().message() ==
        "client fffffffffffffffe is not registered");
  // A full id whose first 8 bytes are a registered client's is not that client.
  ClientId other = *s->server(0).Resolve(next.aggregate.entries[0].client);
  other[15] ^= 1;
  CHECK_FALSE(s->server(0).Lookup(other));
  CHECK(s->server(0).ComputeShare(r + 2, std::vector<ClientId>{other}).status().message() ==
        "client " + tdxrt::ToHex(other) + " is not registered");
}

TEST_CASE("replays from another round, instance or params decode to garbage") {
  auto s = Make({.seed = 81, .servers = 3, .clients = 3});
  const RoundParams& p = s->config().params;
  REQUIRE(s->client(0).Enqueue(BytesOf("only once")).ok());
  Run(*s);
  RoundOutcome o = Run(*s);
  REQUIRE(o.seals[0].kind == SealKind::kTalk);
  const std::uint32_t slot = *o.seals[0].slot;
  const Envelope& env = o.seals[0].envelope;
  const std::vector<ClientId> ids = {s->client(0).id()};
  // Unblinding the envelope with the pads of a later round.
  Bytes other_round = env.vector;
  for (std::size_t i = 0; i < 3; ++i) {
    auto share = s->server(i).ComputeShare(o.round + 1, ids);
    REQUIRE(share.ok());
    XorInto(other_round, *share);
  }
  CHECK(InspectSlot(other_round, s->instance_id(), o.round + 1, slot, p) == SlotState::kGarbled);
  CHECK(InspectSlot(other_round, s->instance_id(), o.round, slot, p) == SlotState::kGarbled);
  // The same keys in another instance, and under other params: other committee ids.
  for (int variant = 0; variant < 2; ++variant) {
    SimConfig c{.seed = 81, .servers = 3, .clients = 3};
    if (variant == 0)
      c.instance = "another";
    else
      c.params.rounds_per_window = 99;
    auto t = Make(c);
    Bytes v = env.vector;
    for (std::size_t i = 0; i < 3; ++i) {
      auto share = t->server(i).ComputeShare(o.round, ids);
      REQUIRE(share.ok());
      XorInto(v, *share);
    }
    CHECK(InspectSlot(v, s->instance_id(), o.round, slot, p) == SlotState::kGarbled);
    CHECK(InspectSlot(v, t->instance_id(), o.round, slot, p) == SlotState::kGarbled);
  }
}

TEST_CASE("rate limit: the (msgs_per_window + 1)-th sealing in a window is refused") {
  SimConfig c{.seed = 91, .servers = 2, .clients = 2};
  c.params.msgs_per_window = 3;
  c.params.rounds_per_window = 10;
  auto s = Make(c);
  for (int i = 0; i < 8; ++i) REQUIRE(s->client(0).Enqueue(BytesOf("m" + std::to_string(i))).ok());
  std::vector<SealKind> kinds;
  for (int r = 0; r < 12; ++r) kinds.push_back(Run(*s).seals[0].kind);
  // reserve, talk, talk, then refused for the rest of window 0; window 1 (round 10) resumes.
  CHECK(kinds[0] == SealKind::kReserve);
  CHECK(kinds[1] == SealKind::kTalk);
  CHECK(kinds[2] == SealKind::kTalk);
  for (int r = 3; r < 10; ++r) CHECK(kinds[static_cast<std::size_t>(r)] == SealKind::kRateLimited);
  CHECK(kinds[10] == SealKind::kReserve);
  CHECK(kinds[11] == SealKind::kTalk);
  CHECK(s->client(0).TakeDelivered().size() == 3);
}

TEST_CASE("cadence: a client talks or reserves only every Nth round") {
  auto s = Make({.seed = 95, .servers = 2, .clients = 2, .cadence = 3});
  REQUIRE(s->client(0).Enqueue(BytesOf("slow")).ok());
  std::vector<SealKind> kinds;
  for (int r = 0; r < 7; ++r) kinds.push_back(Run(*s).seals[0].kind);
  // Talk rounds are 0, 3, 6; the client reserves in the round before one (2) and talks in it (3).
  CHECK(kinds == std::vector<SealKind>{SealKind::kCover, SealKind::kCover, SealKind::kReserve,
                                       SealKind::kTalk, SealKind::kCover, SealKind::kCover,
                                       SealKind::kCover});
  CHECK(s->client(0).TakeDelivered() == std::vector<Bytes>{BytesOf("slow")});
}

TEST_CASE("ratchet: a client absent for several epochs catches up and delivers") {
  SimConfig c{.seed = 101, .servers = 3, .clients = 4};
  c.params.epoch_rounds = 2;
  auto s = Make(c);
  REQUIRE(s->client(1).Enqueue(BytesOf("before")).ok());
  RunUntilQuiet(*s, 6);
  CHECK(s->client(1).TakeDelivered().size() == 1);
  s->SetAbsent(1, true);
  for (int i = 0; i < 7; ++i) Run(*s);  // three and a half epochs without client 1
  s->SetAbsent(1, false);
  REQUIRE(s->client(1).Enqueue(BytesOf("after")).ok());
  RunUntilQuiet(*s, 6);
  CHECK(s->client(1).TakeDelivered() == std::vector<Bytes>{BytesOf("after")});
  // The servers' ratchets for client 1 have moved on: an old round's pads are gone.
  const std::vector<ClientId> ids = {s->client(1).id()};
  auto old = s->server(0).ComputeShare(1, ids);
  REQUIRE(!old.ok());
  CHECK(old.status().message() == "round 1 belongs to an erased epoch");
}

TEST_CASE("unblinding on several threads gives the same share") {
  auto s1 = Make({.seed = 111, .servers = 2, .clients = 40, .threads = 1});
  auto s4 = Make({.seed = 111, .servers = 2, .clients = 40, .threads = 4});
  std::vector<ClientId> ids;
  for (std::size_t i = 0; i < 40; ++i) ids.push_back(s1->client(i).id());
  auto a = s1->server(0).ComputeShare(3, ids);
  auto b = s4->server(0).ComputeShare(3, ids);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a == *b);
  // Keys derived ahead of the aggregate (PrepareRound) give the same share.
  REQUIRE(s4->server(0).PrepareRound(4).ok());
  auto prepared = s4->server(0).ComputeShare(4, ids);
  auto cold = s1->server(0).ComputeShare(4, ids);
  REQUIRE(prepared.ok());
  REQUIRE(cold.ok());
  CHECK(*prepared == *cold);
  std::vector<ClientId> dup = {ids[0], ids[1], ids[0]};
  CHECK(s1->server(1).ComputeShare(3, dup).status().message() ==
        "client " + tdxrt::ToHex(ids[0]) + " is listed twice");
}

TEST_CASE("records count only with every server's signature") {
  auto s = Make({.seed = 121, .servers = 3, .clients = 2});
  RoundOutcome o = Run(*s);
  REQUIRE(o.record);
  BroadcastRecord r = *o.record;
  CHECK(VerifyRecord(r, s->committee(), s->instance_id(), s->config().params).ok());
  r.signatures.pop_back();
  CHECK(VerifyRecord(r, s->committee(), s->instance_id(), s->config().params)
            .message()
            .find("a record counts only with all 3") != std::string::npos);
  CHECK(!s->client(0).OnRecord(r).ok());
}

TEST_CASE("TDX-gated servers refuse mock evidence and check TDX evidence's report_data") {
  DeterministicRng rng(5);
  const Ed25519KeyPair sid = Ed25519Generate(rng);
  const X25519KeyPair sdh = X25519Generate(rng);
  auto committee = Committee::Make({{PeerIdOf(sid.public_key), sid.public_key, sdh.public_key}});
  REQUIRE(committee.ok());
  std::array<std::uint8_t, 64> seen{};
  ServerConfig sc;
  sc.instance_id = InstanceId("zipnet", "gated");
  sc.identity = sid;
  sc.dh = sdh;
  sc.evidence_check = [&seen](const ClientBundle& b, const std::array<std::uint8_t, 64>& rd) {
    seen = rd;
    if (b.evidence != Bytes{1, 2, 3}) return Status::Mismatch("MRTD 4c72... is not pinned");
    return Status::Ok();
  };
  auto server = Server::Create(sc, *committee);
  REQUIRE(server.ok());
  auto client =
      Client::Create({RoundParams{}, sc.instance_id, 1}, *committee, ClientKeys::Generate(rng));
  REQUIRE(client.ok());
  CHECK(server->Register(client->Bundle(EvidenceKind::kMock, {})).message() ==
        "Attestation: mock evidence is refused by a TDX-gated committee");
  CHECK(server->Register(client->Bundle(EvidenceKind::kTdx, {9})).message() ==
        "Attestation: MRTD 4c72... is not pinned");
  CHECK(server->Register(client->Bundle(EvidenceKind::kTdx, {1, 2, 3})).ok());
  CHECK(seen == BundleReportData(client->Bundle(EvidenceKind::kTdx, {})));
  CHECK(server->registry_size() == 1);
}

// With one honest server, whether A sent m1 and B m2 or the other way round, the view of the
// other servers and the aggregator (envelopes with their pads removed, the aggregate, the
// record) has the same distribution. The statistic: the bytes of A's envelope with every
// corrupt server's pad removed, over many runs with fresh honest-server keys; they must be
// uniform in both worlds (chi-square) and the two worlds indistinguishable (chi-square
// homogeneity), while the record is identical between the worlds up to slot order.
TEST_CASE("anonymity sanity: swapping senders does not change the corrupt servers' view") {
  constexpr int kRuns = 40;
  std::array<std::array<std::uint64_t, 256>, 2> hist{};
  std::array<std::set<Bytes>, 2> message_sets;
  for (int world = 0; world < 2; ++world) {
    for (int run = 0; run < kRuns; ++run) {
      auto s = Make({.seed = static_cast<std::uint64_t>(1000 + run), .servers = 3, .clients = 4});
      const std::string m1 = "first message", m2 = "second message";
      REQUIRE(s->client(0).Enqueue(BytesOf(world == 0 ? m1 : m2)).ok());
      REQUIRE(s->client(1).Enqueue(BytesOf(world == 0 ? m2 : m1)).ok());
      Run(*s);
      RoundOutcome o = Run(*s);
      REQUIRE(o.record);
      // Servers 1 and 2 are corrupt: remove their pads from client 0's envelope.
      Bytes view = o.seals[0].envelope.vector;
      const std::vector<ClientId> ids = {s->client(0).id()};
      for (std::size_t k = 1; k < 3; ++k) {
        // A corrupt server's share for just client 0 is its pad for client 0.
        auto pad = s->server(k).ComputeShare(o.round, ids);
        REQUIRE(pad.ok());
        XorInto(view, *pad);
      }
      const RoundParams& p = s->config().params;
      const ByteSpan slots = ByteSpan(view).subspan(p.schedule_bytes());
      for (std::size_t i = 0; i < 4096; ++i) ++hist[static_cast<std::size_t>(world)][slots[i]];
      // The record's set of messages is the same in both worlds.
      std::set<Bytes> msgs;
      for (std::uint32_t slot = 0; slot < p.num_slots; ++slot) {
        if (auto m = ReadSlot(o.record->output, s->instance_id(), o.round, slot, p))
          msgs.insert(*m);
      }
      message_sets[static_cast<std::size_t>(world)].insert(msgs.begin(), msgs.end());
    }
  }
  CHECK(message_sets[0] == message_sets[1]);
  // Uniformity per world: 255 degrees of freedom; 99.9% quantile ~ 330.5.
  const double n = kRuns * 4096.0;
  for (const auto& h : hist) {
    double chi = 0;
    for (auto count : h) chi += std::pow(static_cast<double>(count) - n / 256, 2) / (n / 256);
    CHECK(chi < 330.5);
  }
  // Homogeneity between worlds (2 x 256 table, 255 degrees of freedom).
  double chi = 0;
  for (std::size_t b = 0; b < 256; ++b) {
    const double total = static_cast<double>(hist[0][b] + hist[1][b]);
    for (std::size_t w = 0; w < 2; ++w) {
      const double expected = total / 2;
      if (expected > 0) chi += std::pow(static_cast<double>(hist[w][b]) - expected, 2) / expected;
    }
  }
  CHECK(chi < 330.5);
}

}  // namespace
}  // namespace zipnet
