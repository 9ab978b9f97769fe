// Unit tests of the node library: addresses, identity files, the session messages' encoding
// and corruption diagnoses, TLS peer pinning in-process, and record descriptions.
#include "zipnet/node/node.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "quote_builder.h"
#include "tdxrt/dcap.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/policy.h"
#include "test_tls.h"
#include "zipnet/node/common.h"
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
  auto list =
      ParsePeerList("00112233445566778899aabbccddeeff@a:1, 00112233445566778899aabbccddee00@b:2");
  REQUIRE(list.ok());
  CHECK(list->size() == 2);
  CHECK(ParsePeerList(" , ").status().message() == "empty peer list");
}

TEST_CASE("identity files: created 0600, reloaded, refused when readable by others") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("zipnet-id-" + std::to_string(::getpid()));
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
  CHECK(DecodeHello(bad).status().message() == "Hello: role 9 at offset 0x2 is not 1..5");
  bad = hb;
  bad.pop_back();
  CHECK(!DecodeHello(bad).ok());
  bad = hb;
  bad.push_back(0);
  CHECK(DecodeHello(bad).status().message() == "Hello: 1 trailing bytes at offset 0x72");
  // The attestation it carries: kind, quote, RTMR3 log.
  h.attestation = Attestation{EvidenceKind::kTdx, Bytes{1, 2, 3}, "{\"imr\":3}\n"};
  const Bytes hab = Encode(h);
  auto ad = DecodeHello(hab);
  REQUIRE(ad.ok());
  CHECK(ad->attestation.kind == EvidenceKind::kTdx);
  CHECK(ad->attestation.quote == Bytes{1, 2, 3});
  CHECK(ad->attestation.event_log == "{\"imr\":3}\n");
  CHECK(Encode(*ad) == hab);
  bad = hab;
  bad[0x69] = 2;
  CHECK(DecodeHello(bad).status().message() ==
        "Hello: evidence kind 2 at offset 0x69 is not 0 (mock) or 1 (tdx)");
  bad = hab;
  bad[0x69] = 0;
  CHECK(DecodeHello(bad).status().message() == "Hello: mock evidence carries a quote of 3 bytes");
  WireLimits tight;
  tight.max_evidence = 2;
  CHECK(DecodeHello(hab, tight).status().message().rfind("Hello: quote length 3", 0) == 0);
  bad = Bytes(hab.begin(), hab.end() - 2);
  CHECK(DecodeHello(bad).status().message().rfind("Hello: event log", 0) == 0);

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
  // An aggregator tree's leaves.
  r.leaves = {{PeerId{}, "10.0.0.2:7800"}, {PeerId{}, "10.0.0.3:7800"}};
  r.leaves[1].peer[3] = 9;
  const Bytes lb = Encode(r);
  auto ld = DecodeRoster(lb);
  REQUIRE(ld.ok());
  CHECK(ld->leaves == r.leaves);
  CHECK(Encode(*ld) == lb);
  // The leaf count sits after the aggregator address: 0x40 + 2 + 2 * 80 + 16 + 2 + 13 = 0x101.
  bad = lb;
  tdxrt::StoreLe<std::uint16_t>(bad, 0x101, 300);
  CHECK(DecodeRoster(bad).status().message() ==
        "Roster: leaf count 300 at offset 0x101 exceeds the limit (256)");
  bad = Bytes(lb.begin(), lb.end() - 3);
  CHECK(DecodeRoster(bad).status().message().rfind("Roster: leaf address", 0) == 0);

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

  Configure cf;
  cf.instance_id[0] = 3;
  cf.committee = {{PeerId{}, "10.0.0.1:7801"}, {PeerId{1}, "[::1]:7802"}};
  cf.aggregator[0] = 2;
  cf.aggregator_address = "10.0.0.9:7800";
  const Bytes cb = Encode(cf);
  auto cd = DecodeConfigure(cb);
  REQUIRE(cd.ok());
  CHECK(cd->committee == cf.committee);
  CHECK(Encode(*cd) == cb);
  for (std::size_t n = 0; n < cb.size(); ++n) CHECK(!DecodeConfigure(ByteSpan(cb).first(n)).ok());
  // A committee size claiming more than follows is refused before anything is allocated.
  bad = cb;
  bad[2 + 32] = 0xff;
  bad[2 + 32 + 1] = 0x03;
  CHECK(DecodeConfigure(bad).status().message().rfind(
            "Configure: committee size 1023 at offset 0x22 needs 19437 bytes, ", 0) == 0);
  // An address longer than 255 bytes.
  Configure long_address = cf;
  long_address.committee[0].second = std::string(300, 'a');
  CHECK(DecodeConfigure(Encode(long_address)).status().message() ==
        "Configure: committee address length 300 at offset 0x34 exceeds the limit (255)");
  ConfigureResult cr{true, "restarting with 2 servers"};
  const Bytes crb = Encode(cr);
  auto crd = DecodeConfigureResult(crb);
  REQUIRE(crd.ok());
  CHECK(crd->accepted);
  CHECK(crd->detail == cr.detail);
  bad = crb;
  bad[2] = 2;
  CHECK(DecodeConfigureResult(bad).status().message() ==
        "ConfigureResult: accepted flag 2 at offset 0x2 is not 0 or 1");
  CHECK(DecodePing(EncodePing()).ok());
  CHECK(DecodePing(Bytes{2, 0, 0}).message() == "Ping: 1 trailing bytes at offset 0x2");
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
  auto listener =
      Listener::Start(loop, *server_tls, Endpoint{"127.0.0.1", 0}, {}, [&](ConnectionPtr c) {
        accepted_peer = c->peer();
        accepted.push_back(c);
        c->Start([](MessageType, ByteSpan) { return Status::Ok(); }, [](const std::string&) {});
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
                     tdxrt::ToHex(PeerIdOf(server_id.public_key)) + ", not " + tdxrt::ToHex(other));
  CHECK(right == tdxrt::ToHex(PeerIdOf(server_id.public_key)));
  REQUIRE(accepted_peer);
  CHECK(*accepted_peer == PeerIdOf(client_id.public_key));  // mutual: the client is pinned too
  for (auto& c : accepted) c->Abandon();
}

TEST_CASE(
    "transport: a quiet link stays up on keep-alives, a silent or unidentified one is closed") {
  Loop loop;
  DeterministicRng rng(9);
  auto server_tls = TlsIdentity::Create(Ed25519Generate(rng));
  auto client_id = Ed25519Generate(rng);
  REQUIRE(server_tls.ok());
  TransportOptions server_opts;
  server_opts.idle_timeout = Millis(600);
  server_opts.keepalive = Millis(150);
  server_opts.hello_timeout = Millis(400);
  std::vector<ConnectionPtr> accepted;
  std::vector<std::string> closed;  // why the server closed, in order
  auto listener = Listener::Start(loop, *server_tls, Endpoint{"127.0.0.1", 0}, server_opts,
                                  [&](ConnectionPtr c) {
                                    accepted.push_back(c);
                                    c->Start(
                                        [c](MessageType, ByteSpan) {
                                          c->Authenticated(1024);  // any frame identifies it
                                          return Status::Ok();
                                        },
                                        [&](const std::string& why) { closed.push_back(why); });
                                  });
  REQUIRE(listener.ok());
  const PeerAddress addr{(*server_tls)->peer(), (*listener)->bound()};
  auto client_tls = TlsIdentity::Create(client_id);
  REQUIRE(client_tls.ok());
  // One link whose dialer keeps it alive with pings (after identifying itself), one that says
  // nothing at all, one that identifies itself and then is silent (no pings).
  TransportOptions live = server_opts, mute = server_opts;
  mute.keepalive = std::chrono::hours(1);
  mute.idle_timeout = std::chrono::hours(2);
  std::vector<ConnectionPtr> dialed;
  auto dial = [&](const TransportOptions& o, bool hello) {
    Dial(loop, *client_tls, addr, o, [&, hello](Result<ConnectionPtr> c) {
      REQUIRE(c.ok());
      dialed.push_back(*c);
      (*c)->Start([](MessageType, ByteSpan) { return Status::Ok(); }, [](const std::string&) {});
      if (hello) (*c)->Send(MessageType::kRegistered, Encode(Registered{}));
    });
  };
  dial(live, true);
  dial(mute, false);
  dial(mute, true);
  auto stop = loop.After(Millis(2000), [&] { loop.Stop(); });
  loop.Run();
  REQUIRE(accepted.size() == 3);
  std::sort(closed.begin(), closed.end());
  CHECK(closed ==
        std::vector<std::string>{"no Hello accepted within 400 ms", "nothing received for 600 ms"});
  std::size_t open = 0;
  for (auto& c : accepted) open += c->open() ? 1u : 0u;
  CHECK(open == 1);  // the one with keep-alives, 2 s later
  CHECK((*listener)->open_connections() == 1);
  for (auto& c : accepted) c->Abandon();
  for (auto& c : dialed) c->Abandon();
}

TEST_CASE("transport: before its Hello a peer may send only small frames") {
  Loop loop;
  const TlsPair tls = MakeTlsPair(10);
  TransportOptions opts;
  opts.unauthenticated_max_frame = 1000;
  std::string why;
  std::vector<ConnectionPtr> accepted;
  auto listener =
      Listener::Start(loop, tls.server, Endpoint{"127.0.0.1", 0}, opts, [&](ConnectionPtr c) {
        accepted.push_back(c);
        c->Start([](MessageType, ByteSpan) { return Status::Ok(); },
                 [&](const std::string& w) {
                   why = w;
                   loop.Stop();
                 });
      });
  REQUIRE(listener.ok());
  ConnectionPtr conn;
  Dial(loop, tls.client, PeerAddress{tls.server->peer(), (*listener)->bound()}, opts,
       [&](Result<ConnectionPtr> c) {
         REQUIRE(c.ok());
         conn = *c;
         conn->Start([](MessageType, ByteSpan) { return Status::Ok(); }, [](const std::string&) {});
         conn->Send(MessageType::kRegistered, Bytes(1001, 1));  // a 1002-byte frame
       });
  auto guard = loop.After(Millis(5000), [&] { loop.Stop(); });
  loop.Run();
  CHECK(why == "frame length 1002 is not 1..1000 (before the peer's Hello)");
  for (auto& c : accepted) c->Abandon();
  if (conn) conn->Abandon();
}

TEST_CASE(
    "transport: a paused link reads nothing more until resumed, held frames follow the "
    "released one") {
  Loop loop;
  const TlsPair tls = MakeTlsPair(11);
  std::vector<ConnectionPtr> accepted;
  bool resumed = false;
  std::vector<std::pair<int, bool>> got_by_server;  // (first body byte, resumed yet)
  std::vector<std::pair<MessageType, int>> got_by_client;
  std::vector<std::unique_ptr<Timer>> timers;
  auto listener =
      Listener::Start(loop, tls.server, Endpoint{"127.0.0.1", 0}, {}, [&](ConnectionPtr c) {
        accepted.push_back(c);
        // Our "Hello" is being made: what we send meanwhile waits behind it.
        c->HoldOutput();
        c->Send(MessageType::kRegistered, Bytes{2});
        c->Send(MessageType::kRegistered, Bytes{3});
        c->Start(
            [&, c](MessageType, ByteSpan body) {
              got_by_server.emplace_back(body[0], resumed);
              if (got_by_server.size() == 1) {
                c->Pause();  // the peer's "Hello" is being judged
                timers.push_back(loop.After(Millis(150), [&, c] {
                  resumed = true;
                  c->Resume();
                  c->ReleaseOutput(MessageType::kHello, Bytes{1});
                }));
              }
              return Status::Ok();
            },
            [](const std::string&) {});
      });
  REQUIRE(listener.ok());
  ConnectionPtr conn;
  Dial(loop, tls.client, PeerAddress{tls.server->peer(), (*listener)->bound()}, {},
       [&](Result<ConnectionPtr> c) {
         REQUIRE(c.ok());
         conn = *c;
         conn->Start(
             [&](MessageType t, ByteSpan body) {
               got_by_client.emplace_back(t, body[0]);
               if (got_by_client.size() == 3 && got_by_server.size() == 3) loop.Stop();
               return Status::Ok();
             },
             [](const std::string&) {});
         for (std::uint8_t i = 1; i <= 3; ++i) conn->Send(MessageType::kRegistered, Bytes{i});
       });
  auto guard = loop.After(Millis(5000), [&] { loop.Stop(); });
  loop.Run();
  REQUIRE(got_by_server.size() == 3);
  CHECK(got_by_server[0] == std::pair<int, bool>{1, false});
  CHECK(got_by_server[1] == std::pair<int, bool>{2, true});  // read only after Resume()
  CHECK(got_by_server[2] == std::pair<int, bool>{3, true});
  REQUIRE(got_by_client.size() == 3);
  CHECK(got_by_client[0] == std::pair<MessageType, int>{MessageType::kHello, 1});
  CHECK(got_by_client[1] == std::pair<MessageType, int>{MessageType::kRegistered, 2});
  CHECK(got_by_client[2] == std::pair<MessageType, int>{MessageType::kRegistered, 3});
  for (auto& c : accepted) c->Abandon();
  if (conn) conn->Abandon();
}

TEST_CASE("attestation workers: jobs off the loop, continuations on it, none after they are gone") {
  Loop loop;
  std::thread::id loop_thread, job_thread, then_thread;
  auto workers = std::make_unique<AttestationWorkers>(loop, 2);
  loop.Post([&] {
    loop_thread = std::this_thread::get_id();
    workers->Run([&] { job_thread = std::this_thread::get_id(); },
                 [&] {
                   then_thread = std::this_thread::get_id();
                   loop.Stop();
                 });
  });
  auto guard = loop.After(Millis(5000), [&] { loop.Stop(); });
  loop.Run();
  CHECK(job_thread != std::thread::id());
  CHECK(job_thread != loop_thread);
  CHECK(then_thread == loop_thread);

  // Destroyed while its job runs: the destructor waits for the job, the continuation never runs
  // (the loop then runs whatever was posted to it).
  Loop other;
  auto going = std::make_unique<AttestationWorkers>(other, 1);
  std::atomic<bool> job_done{false};
  bool continued = false;
  going->Run(
      [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        job_done = true;
      },
      [&] { continued = true; });
  going.reset();
  CHECK(job_done);
  other.Post([&] { other.Stop(); });
  other.Run();
  CHECK_FALSE(continued);

  // No threads: both at once, in order, on the caller's thread.
  AttestationWorkers inline_workers(loop, 0);
  std::vector<std::string> order;
  inline_workers.Run([&] { order.push_back("job"); }, [&] { order.push_back("then"); });
  CHECK(order == std::vector<std::string>{"job", "then"});
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
  WriteSlot(rec.output, instance, 9, 1,
            ByteSpan(reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()), p);
  rec.output[p.slot_offset(3)] = 1;  // garbage in slot 3
  const auto lines = DescribeRecord(rec, instance, p);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "round 9 finalized: 3 participants, 0 signatures");
  CHECK(lines[1] == "  slot 1: valid \"hi \\\"there\\\"\\x0a\"");
  CHECK(lines[2] == "  slot 3: garbled (tag mismatch: collision)");
}

TEST_CASE("a server without a committee takes one only from its operator, checked") {
  Loop loop;
  DeterministicRng rng(11);
  const Ed25519KeyPair op = Ed25519Generate(rng);
  const Ed25519KeyPair stranger = Ed25519Generate(rng);
  ServerNodeConfig c;
  c.common.instance = "configure-test";
  c.identity = Ed25519Generate(rng);
  c.dh = X25519Generate(rng);
  c.listen = Endpoint{"127.0.0.1", 0};
  c.tdx_gating = false;
  c.operator_peer = PeerIdOf(op.public_key);
  std::vector<std::vector<PeerAddress>> applied;
  c.on_configure = [&](const std::vector<PeerAddress>& list, const PeerAddress&) {
    applied.push_back(list);
  };
  const PeerId self = PeerIdOf(c.identity.public_key);
  ServerNodeConfig no_operator = c;
  no_operator.operator_peer.reset();
  CHECK(ServerNode::Create(loop, no_operator).status().message() ==
        "no committee list: give one (ZIPNET_COMMITTEE), or the operator who will send it "
        "(ZIPNET_OPERATOR)");
  auto node = ServerNode::Create(loop, c);
  REQUIRE_MESSAGE(node.ok(), node.status().message());
  const PeerAddress server{self, (*node)->bound()};
  PeerAddress agg{PeerId{}, Endpoint{"127.0.0.1", 7800}};
  agg.peer[0] = 0xaa;
  PeerAddress other{PeerId{}, Endpoint{"127.0.0.1", 7802}};
  other.peer[0] = 0xbb;
  // Each attempt in turn: what came back (answer or failure).
  std::vector<std::string> answers;
  std::vector<std::tuple<Ed25519KeyPair, std::vector<PeerAddress>>> attempts = {
      {stranger, {server}},          // not the operator
      {op, {other}},                 // this server is not in the list
      {op, {server, other, other}},  // a peer twice
      {op, {server, other}},         // accepted
  };
  std::function<void(std::size_t)> next = [&](std::size_t i) {
    if (i == attempts.size()) return loop.Post([&] { loop.Stop(); });
    const auto& [who, list] = attempts[i];
    SendConfiguration(loop, c.common, who, server, list, agg, Millis(5000),
                      [&, i](Result<ConfigureResult> r) {
                        answers.push_back(!r.ok()       ? "failed"
                                          : r->accepted ? "accepted: " + r->detail
                                                        : "refused: " + r->detail);
                        next(i + 1);
                      });
  };
  next(0);
  auto guard = loop.After(Millis(20000), [&] { loop.Stop(); });
  loop.Run();
  REQUIRE(answers.size() == 4);
  CHECK(answers[0] == "failed");  // the server closes the link: not its operator
  CHECK(answers[1] ==
        "refused: this server's peer id " + tdxrt::ToHex(self) + " is not in the committee list");
  CHECK(answers[2] == "refused: committee list names peer " + tdxrt::ToHex(other.peer) + " twice");
  CHECK(answers[3] == "accepted: restarting with a committee of 2 servers");
  REQUIRE(applied.size() == 1);
  CHECK(applied[0].size() == 2);
  CHECK(applied[0][1].ToString() == other.ToString());
  (*node)->Stop();
}

}  // namespace
}  // namespace zipnet::node
