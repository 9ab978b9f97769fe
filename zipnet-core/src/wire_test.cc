// Wire encoding: every message round-trips; truncations and corruptions get exact diagnoses.
#include "zipnet/wire.h"

#include <doctest/doctest.h>

#include <algorithm>

namespace zipnet {
namespace {

Envelope SampleEnvelope() {
  Envelope e;
  e.round = 0x0102030405060708;
  e.client_id.fill(0xc1);
  e.nonce.fill(0x9a);
  e.vector = Bytes(100, 0x55);
  e.signature.fill(0x51);
  return e;
}

Aggregate SampleAggregate() {
  Aggregate a;
  a.round = 9;
  for (std::uint8_t i = 1; i <= 3; ++i) {
    AggregateEntry en;
    en.client.fill(i);
    en.nonce.fill(static_cast<std::uint8_t>(0x10 + i));
    a.entries.push_back(en);
  }
  a.vector = Bytes(64, 7);
  a.aggregator.fill(0xaa);
  a.signature.fill(0x5a);
  return a;
}

BroadcastRecord SampleRecord() {
  BroadcastRecord r;
  r.instance_id.fill(1);
  r.round = 77;
  r.params_hash.fill(2);
  r.aggregate_hash.fill(3);
  r.participants = 12;
  r.output = Bytes(40, 4);
  RecordSignature s;
  s.server.fill(5);
  s.signature.fill(6);
  r.signatures = {s, s};
  return r;
}

template <typename T, typename D>
void RoundTrip(const T& m, D decode) {
  const Bytes enc = Encode(m);
  auto dec = decode(enc, WireLimits{});
  REQUIRE_MESSAGE(dec.ok(), dec.status().message());
  CHECK(Encode(*dec) == enc);
  // Every truncation is rejected.
  for (std::size_t n = 0; n < enc.size(); ++n) {
    CHECK(!decode(ByteSpan(enc).first(n), WireLimits{}).ok());
  }
  // A trailing byte is rejected.
  Bytes longer = enc;
  longer.push_back(0);
  auto t = decode(longer, WireLimits{});
  REQUIRE(!t.ok());
  CHECK(t.status().message().find("1 trailing bytes at offset") != std::string::npos);
}

TEST_CASE("every message round-trips, truncations and trailing bytes are rejected") {
  ClientBundle b;
  b.instance_id.fill(1);
  b.ed25519.fill(2);
  b.x25519.fill(3);
  b.evidence_kind = EvidenceKind::kTdx;
  b.evidence = Bytes(33, 9);
  RoundTrip(b, DecodeClientBundle);
  RoundTrip(SampleEnvelope(), DecodeEnvelope);
  RoundTrip(SampleAggregate(), DecodeAggregate);
  ShareCommit c;
  c.round = 3;
  c.server.fill(4);
  c.aggregate_hash.fill(5);
  c.share_hash.fill(6);
  c.signature.fill(7);
  RoundTrip(c, DecodeShareCommit);
  Share s;
  s.round = 3;
  s.server.fill(4);
  s.aggregate_hash.fill(5);
  s.share = Bytes(17, 8);
  s.signature.fill(9);
  RoundTrip(s, DecodeShare);
  RoundTrip(SampleRecord(), DecodeBroadcastRecord);
  AbortRecord a;
  a.instance_id.fill(1);
  a.round = 5;
  a.reason = AbortReason::kMissingShare;
  a.detail = "server 00ff did not reveal";
  a.signatures = SampleRecord().signatures;
  RoundTrip(a, DecodeAbortRecord);
}

TEST_CASE("corruptions get exact diagnoses") {
  // Version 1 (an older zipnet: 32-byte nonces, 48 bytes per aggregate entry) and an unknown
  // later version are refused by name.
  Bytes e = Encode(SampleEnvelope());
  e[0] = 1;
  CHECK(DecodeEnvelope(e).status().message() ==
        "Envelope: wire_version 1 at offset 0x0 is not supported: this node speaks zipnet wire "
        "version 2 (the peer runs an older zipnet)");
  Bytes v1 = Encode(SampleAggregate());
  v1[0] = 1;
  CHECK(DecodeAggregate(v1).status().message() ==
        "Aggregate: wire_version 1 at offset 0x0 is not supported: this node speaks zipnet wire "
        "version 2 (the peer runs an older zipnet)");
  e[0] = 3;
  CHECK(DecodeEnvelope(e).status().message() ==
        "Envelope: wire_version 3 at offset 0x0 is not supported: this node speaks zipnet wire "
        "version 2");
  // Envelope vector length at 2 + 8 + 16 + 16 = 0x2a.
  e = Encode(SampleEnvelope());
  tdxrt::StoreLe<std::uint32_t>(e, 0x2a, 0xffffffff);
  CHECK(DecodeEnvelope(e).status().message() ==
        "Envelope: vector length 4294967295 at offset 0x2a exceeds the limit (67108864)");
  tdxrt::StoreLe<std::uint32_t>(e, 0x2a, 1000);
  CHECK(DecodeEnvelope(e).status().message() ==
        "Envelope: vector length 1000 at offset 0x2a needs 1000 bytes, 164 left");
  // Aggregate entries must be strictly increasing.
  Aggregate agg = SampleAggregate();
  agg.entries[2] = agg.entries[1];
  CHECK(DecodeAggregate(Encode(agg)).status().message() ==
        "Aggregate: entry 2: client ids are not strictly increasing (duplicate or unsorted)");
  // An entry count claiming more than is there is refused before allocating.
  Bytes ab = Encode(SampleAggregate());
  tdxrt::StoreLe<std::uint32_t>(ab, 10, 1000000);
  CHECK(DecodeAggregate(ab).status().message() ==
        "Aggregate: entry count 1000000 at offset 0xa needs 24000000 bytes, 220 left");
  WireLimits small;
  small.max_clients = 2;
  CHECK(DecodeAggregate(Encode(SampleAggregate()), small).status().message() ==
        "Aggregate: entry count 3 at offset 0xa exceeds the limit (2)");
  // Bundle evidence kind at 2 + 96 = 0x62.
  ClientBundle b;
  Bytes bb = Encode(b);
  bb[0x62] = 7;
  CHECK(DecodeClientBundle(bb).status().message() ==
        "ClientBundle: evidence kind 7 at offset 0x62 is not 0 (mock) or 1 (tdx)");
  // Abort reason at 2 + 32 + 8 = 0x2a.
  AbortRecord a;
  Bytes abort = Encode(a);
  abort[0x2a] = 9;
  CHECK(DecodeAbortRecord(abort).status().message() ==
        "AbortRecord: reason 9 at offset 0x2a is not 1..4");
}

TEST_CASE("an aggregate costs 24 bytes per client") {
  Aggregate a = SampleAggregate();
  const std::size_t fixed = 2 + 8 + 4 + 4 + a.vector.size() + 16 + 64;
  CHECK(Encode(a).size() == fixed + 24 * 3);
  for (std::uint32_t i = 0; i < 997; ++i) {
    AggregateEntry en;
    tdxrt::StoreLe<std::uint32_t>(en.client, 0, 0x1000 + i);
    std::reverse(en.client.begin(), en.client.end());  // big-endian: increasing as bytes
    en.client[0] = 0x04;                               // after the sample's 0x03...
    a.entries.push_back(en);
  }
  CHECK(Encode(a).size() == fixed + 24 * 1000);
  CHECK(DecodeAggregate(Encode(a)).ok());
}

TEST_CASE("frames") {
  const Bytes body = Encode(SampleEnvelope());
  const Bytes f = EncodeFrame(MessageType::kEnvelope, body);
  auto d = DecodeFrame(f);
  REQUIRE(d.ok());
  CHECK(d->type == MessageType::kEnvelope);
  CHECK(Bytes(d->body.begin(), d->body.end()) == body);
  Bytes bad = f;
  bad[4] = 0;
  CHECK(DecodeFrame(bad).status().message() == "frame type 0 at offset 0x4 is not 1..7 or 16..25");
  WireLimits small;
  small.max_frame = 100;
  CHECK(DecodeFrame(f, small).status().message() ==
        "frame length " + std::to_string(body.size() + 1) + " at offset 0x0 is not 1..100");
  bad = f;
  bad.pop_back();
  CHECK(DecodeFrame(bad).status().message() ==
        "frame length " + std::to_string(body.size() + 1) + " at offset 0x0 does not match the " +
            std::to_string(body.size()) + " bytes that follow");
}

TEST_CASE("round params: encoding and validation") {
  RoundParams p;
  const Bytes enc = p.Encode();
  CHECK(enc.size() == 30);
  tdxrt::Cursor c(enc);
  auto d = RoundParams::Decode(c);
  REQUIRE(d.ok());
  CHECK(*d == p);
  CHECK(p.vector_len() == 4 * 256 + 64 * 256);
  CHECK(p.payload_len() == 240);
  p.slot_bytes = 16;
  CHECK(p.Validate().message() ==
        "round params: slot_bytes must be more than tag_len and at most 65536");
  p = RoundParams{};
  p.num_slots = 65536;
  p.slot_bytes = 65536;
  CHECK(p.Validate().message() ==
        "round params: the vector (" + std::to_string(p.vector_len()) + " bytes) exceeds 64 MiB");
}

}  // namespace
}  // namespace zipnet
