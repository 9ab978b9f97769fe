// Attestation on every link, in-process over real TLS on loopback: the session binding, the
// judge's passes and their diagnoses, and a deployment whose every node presents simulated TDX
// evidence (the development PKI): an admitted client's message arrives in a fully signed record;
// a client of another image, a client replaying a copied quote and a server whose launch
// settings the committee policy does not admit are refused, each with its reason counted.
#include <doctest/doctest.h>
#include <prometheus/registry.h>

#include <random>
#include <set>

#include "attest_setup.h"
#include "fake_rtmr.h"
#include "tdx_test/support.h"
#include "tdxrt/dcap.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/launch.h"
#include "tdxrt/policy.h"
#include "tdxrt/rtmr.h"
#include "tdxrt/sim_tdx.h"
#include "test_tls.h"
#include "zipnet/node/attestation.h"
#include "zipnet/node/common.h"
#include "zipnet/node/node.h"

namespace zipnet::node {
namespace {

std::int64_t Now() { return static_cast<std::int64_t>(std::time(nullptr)); }

tdxrt::Measurement Fill(std::uint8_t b) {
  tdxrt::Measurement m{};
  m.fill(b);
  return m;
}

// The development PKI every test node's quotes come from, and a verifier trusting it.
struct DevWorld {
  std::shared_ptr<const tdxrt::DevPki> pki =
      std::make_shared<const tdxrt::DevPki>(tdxrt::DevPki::FromSeed("zipnet attest test").value());
  VerifierSource verifier =
      [v = std::make_shared<const tdxrt::Verifier>(
           tdxrt::Verifier::Create(pki->MakeCollateral(Now() - 3600), pki->RootPem()).value())](
          const tdxrt::Quote&) -> Result<std::shared_ptr<const tdxrt::Verifier>> { return v; };

  // An image: MRTD, RTMR1, RTMR2 from one byte each.
  static tdxrt::TdReport Image(std::uint8_t id) {
    tdxrt::TdReport r = tdxrt::DevPki::DefaultReport();
    r.mr_td = Fill(id);
    r.rtmr[1] = Fill(static_cast<std::uint8_t>(id + 1));
    r.rtmr[2] = Fill(static_cast<std::uint8_t>(id + 2));
    return r;
  }
  std::shared_ptr<Attester> MakeAttester(std::uint8_t image,
                                         const tdxrt::LaunchRecord& launch) const {
    return SimulatedAttester(pki, Image(image), launch).value();
  }
  // A policy admitting `image` running `program`, with optional extra set lines.
  std::shared_ptr<const PeerJudge> Judge(std::uint8_t image, const std::string& program,
                                         const std::string& extra = "") const {
    const auto r = Image(image);
    auto p = tdxrt::ParsePolicy("version: 1\nsets:\n  - name: image-" + std::to_string(image) +
                                    "\n    mr_td: \"" + tdxrt::ToHex(r.mr_td) +
                                    "\"\n    rtmr1: \"" + tdxrt::ToHex(r.rtmr[1]) +
                                    "\"\n    rtmr2: \"" + tdxrt::ToHex(r.rtmr[2]) + "\"\n" + extra,
                                "test-policy.yaml");
    REQUIRE(p.ok());
    return std::make_shared<const PeerJudge>(PeerRequirement{
        std::make_shared<const tdxrt::Policy>(std::move(p).value()), program, verifier});
  }
};

std::string Refused(const std::variant<std::string, Refusal>& v) {
  if (auto* r = std::get_if<Refusal>(&v)) return r->reason + ": " + r->detail;
  return "admitted by " + std::get<std::string>(v);
}

TEST_CASE("the judge: binding, launch record, verification and policy, each refusal named") {
  DevWorld w;
  const tdxrt::LaunchRecord server_launch{"zipnet-server", false, {{"ZIPNET_LISTEN", "0:1"}}};
  auto attester = w.MakeAttester(0x40, server_launch);
  LinkBinding session{}, other_session{};
  session.fill(1);
  other_session.fill(2);
  PublicKey ed{}, x{};
  ed.fill(3);
  x.fill(4);
  const Hash instance = InstanceId(kDefaultUniverse, "t");
  const auto rd = LinkReportData(session, NodeRole::kServer, instance, ed, x);
  const Attestation a = attester->Attest(rd).value();
  CHECK(a.kind == EvidenceKind::kTdx);
  const auto judge = w.Judge(0x40, "zipnet-server");
  CHECK(Refused(judge->Judge(a, rd, Now())) == "admitted by image-64");

  // A copy of that quote on another connection (or for other keys) binds nothing there.
  const auto elsewhere = LinkReportData(other_session, NodeRole::kServer, instance, ed, x);
  CHECK(Refused(judge->Judge(a, elsewhere, Now()))
            .rfind("binding: the quote was not made for this connection (REPORTDATA ", 0) == 0);
  CHECK(Refused(judge->Judge(a, LinkReportData(session, NodeRole::kClient, instance, ed, x), Now()))
            .rfind("binding: ", 0) == 0);

  CHECK(Refused(w.Judge(0x40, "zipnet-client")->Judge(a, rd, Now())) ==
        "launch: the peer's launch record says it runs zipnet-server, not zipnet-client");
  CHECK(Refused(w.Judge(0x50, "zipnet-server")->Judge(a, rd, Now())) ==
        "policy: policy refused the evidence: set 'image-80': MRTD "
        "4040404040404040... is not 5050505050505050...");
  CHECK(Refused(judge->Judge(Attestation{}, rd, Now())) ==
        "mock: mock evidence (no quote); a zipnet-server must present a TDX quote");

  Attestation no_launch = a;
  no_launch.event_log.clear();
  CHECK(Refused(judge->Judge(no_launch, rd, Now())) ==
        "launch: the RTMR3 log has no tdx-launch event (what the TD took from the host at launch "
        "is unknown)");
  Attestation bad_log = a;
  bad_log.event_log = "not json\n";
  CHECK(Refused(judge->Judge(bad_log, rd, Now())) ==
        "evidence: RTMR3 event log: event log line 1: not a JSON object");
  Attestation cut = a;
  cut.quote.resize(100);
  CHECK(Refused(judge->Judge(cut, rd, Now())).rfind("evidence: quote: ", 0) == 0);
  Attestation tampered = a;
  tampered.quote[200] ^= 1;  // in the signed TD report: REPORTDATA still matches
  CHECK(Refused(judge->Judge(tampered, rd, Now())).rfind("quote: quote verification failed: ", 0) ==
        0);

  // No collateral, or Intel's root instead of the development PKI's.
  PeerRequirement none = judge->requirement();
  none.verifier = nullptr;
  CHECK(Refused(PeerJudge(none).Judge(a, rd, Now())) ==
        "collateral: no DCAP collateral or PCCS is configured: no quote can be verified");
  PeerRequirement intel = judge->requirement();
  auto intel_verifier = std::make_shared<const tdxrt::Verifier>(
      tdxrt::Verifier::Create(w.pki->MakeCollateral(Now() - 3600)).value());
  intel.verifier =
      [intel_verifier](const tdxrt::Quote&) -> Result<std::shared_ptr<const tdxrt::Verifier>> {
    return intel_verifier;
  };
  CHECK(Refused(PeerJudge(intel).Judge(a, rd, Now()))
            .rfind("quote: quote verification failed: ", 0) == 0);

  // A development image (gating off) says so in its launch record: refused unless allowed.
  auto dev = w.MakeAttester(0x40, {"zipnet-server", true, {}});
  const Attestation d = dev->Attest(rd).value();
  CHECK(Refused(judge->Judge(d, rd, Now()))
            .rfind("policy: policy refused the evidence: launch.development: ", 0) == 0);

  // Pinned host settings.
  CHECK(Refused(w.Judge(0x40, "zipnet-server", "    host_settings: {ZIPNET_LISTEN: \"0:2\"}\n")
                    ->Judge(a, rd, Now())) ==
        "policy: policy refused the evidence: set 'image-64': the host set ZIPNET_LISTEN to "
        "'0:1', not '0:2'");
}

TEST_CASE("both ends of a TLS session derive the same binding, another session another one") {
  Loop loop;
  const TlsPair tls = MakeTlsPair(21);
  std::vector<ConnectionPtr> accepted, dialed;
  auto listener =
      Listener::Start(loop, tls.server, Endpoint{"127.0.0.1", 0}, {}, [&](ConnectionPtr c) {
        accepted.push_back(c);
        c->Start([](MessageType, ByteSpan) { return Status::Ok(); }, [](const std::string&) {});
        if (accepted.size() == 2) loop.Post([&] { loop.Stop(); });
      });
  REQUIRE(listener.ok());
  const PeerAddress addr{tls.server->peer(), (*listener)->bound()};
  for (int i = 0; i < 2; ++i) {
    Dial(loop, tls.client, addr, {}, [&](Result<ConnectionPtr> c) {
      REQUIRE(c.ok());
      dialed.push_back(*c);
      (*c)->Start([](MessageType, ByteSpan) { return Status::Ok(); }, [](const std::string&) {});
    });
  }
  auto guard = loop.After(Millis(10000), [&] { loop.Stop(); });
  loop.Run();
  REQUIRE(accepted.size() == 2);
  REQUIRE(dialed.size() == 2);
  const LinkBinding zero{};
  std::set<LinkBinding> dialed_side, accepted_side;
  for (auto& c : dialed) dialed_side.insert(c->binding());
  for (auto& c : accepted) accepted_side.insert(c->binding());
  CHECK(dialed_side == accepted_side);
  CHECK(dialed_side.size() == 2);
  CHECK(!dialed_side.count(zero));
  for (auto& c : accepted) c->Abandon();
  for (auto& c : dialed) c->Abandon();
}

double Refusals(prometheus::Registry& r, const std::string& role, const std::string& reason) {
  double total = 0;
  for (const auto& family : r.Collect()) {
    if (family.name != "zipnet_peers_refused_total") continue;
    for (const auto& m : family.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : m.label) labels[l.name] = l.value;
      if (labels["role"] == role && labels["reason"] == reason) total += m.counter.value;
    }
  }
  return total;
}

TEST_CASE(
    "a deployment with simulated TDX on every link: the admitted client's message is "
    "delivered, another image, a replayed quote and a server of other settings are refused") {
  DevWorld w;
  Loop loop;
  SystemRng rng;
  const std::uint16_t base = static_cast<std::uint16_t>(20000 + std::random_device{}() % 12000);
  // Images: servers 0x10, clients 0x20 (a client of 0x21 differs in one measurement byte
  // pattern), the aggregator 0x30.
  const std::uint8_t kServer = 0x10, kClient = 0x20, kOtherClient = 0x21, kAggregator = 0x30;
  const std::string pin = "    host_settings: {ZIPNET_ROLE_TEST: committee}\n";
  NodeCommon common;
  common.instance = "attest-test";
  common.transport.hello_timeout = Millis(3000);
  auto metrics = std::make_shared<prometheus::Registry>();
  common.metrics = metrics;

  std::vector<NodeIdentity> ids;
  std::vector<PeerAddress> committee;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(GenerateIdentity(rng));
    committee.push_back(PeerAddress{PeerIdOf(ids.back().ed25519.public_key),
                                    Endpoint{"127.0.0.1", std::uint16_t(base + 1 + i)}});
  }
  const NodeIdentity agg_id = GenerateIdentity(rng);
  const PeerAddress agg{PeerIdOf(agg_id.ed25519.public_key), Endpoint{"127.0.0.1", base}};
  // Two servers form the committee; the third runs the same image with other launch settings
  // and is in nobody's committee policy: the client's bootstrap names it, so it must be absent.
  const std::vector<PeerAddress> members(committee.begin(), committee.begin() + 2);
  std::vector<std::unique_ptr<ServerNode>> servers;
  for (int i = 0; i < 3; ++i) {
    ServerNodeConfig sc;
    sc.common = common;
    sc.common.attester = w.MakeAttester(
        kServer,
        {"zipnet-server", false, {{"ZIPNET_ROLE_TEST", i < 2 ? "committee" : "impostor"}}});
    sc.common.judges.client = w.Judge(kClient, "zipnet-client");
    sc.common.judges.server = w.Judge(kServer, "zipnet-server", pin);
    sc.common.judges.aggregator = w.Judge(kAggregator, "zipnet-aggregator");
    sc.identity = ids[std::size_t(i)].ed25519;
    sc.dh = ids[std::size_t(i)].x25519;
    sc.listen = committee[std::size_t(i)].endpoint;
    sc.committee = i < 2 ? members : std::vector<PeerAddress>{committee[2], members[0]};
    sc.aggregator = agg;
    sc.period = Millis(300);
    sc.fold = Millis(100);
    sc.deadline = Millis(2000);
    auto s = ServerNode::Create(loop, std::move(sc));
    REQUIRE(s.ok());
    servers.push_back(std::move(s).value());
  }
  AggregatorNodeConfig ac;
  ac.common = common;
  ac.common.attester = w.MakeAttester(kAggregator, {"zipnet-aggregator", false, {}});
  ac.common.judges.server = w.Judge(kServer, "zipnet-server", pin);
  ac.identity = agg_id.ed25519;
  ac.listen = agg.endpoint;
  ac.servers = members;
  auto aggregator = AggregatorNode::Create(loop, std::move(ac));
  REQUIRE(aggregator.ok());

  std::vector<ClientExit> exits(4);
  std::vector<std::unique_ptr<ClientNode>> clients;
  std::optional<std::uint64_t> delivered_round;
  std::size_t running = 0;
  auto client = [&](std::size_t k, std::shared_ptr<Attester> attester,
                    std::vector<PeerAddress> bootstrap, Millis timeout) {
    ClientNodeConfig cc;
    cc.common = common;
    cc.common.attester = std::move(attester);
    cc.common.judges.server = w.Judge(kServer, "zipnet-server", pin);
    cc.common.judges.aggregator = w.Judge(kAggregator, "zipnet-aggregator");
    cc.bootstrap = std::move(bootstrap);
    cc.keys = ClientKeys::Generate(rng);
    cc.connect_timeout = timeout;
    if (k == 0) {
      cc.message = "attested hello";
      cc.max_messages = 1;
      cc.on_delivered = [&](std::uint64_t round, const Bytes&) { delivered_round = round; };
    }
    cc.on_exit = [&, k](const ClientExit& e) {
      exits[k] = e;
      if (--running == 0) loop.Post([&] { loop.Stop(); });
    };
    auto c = ClientNode::Create(loop, std::move(cc));
    REQUIRE(c.ok());
    clients.push_back(std::move(c).value());
    ++running;
  };
  const tdxrt::LaunchRecord client_launch{"zipnet-client", false, {}};
  client(0, w.MakeAttester(kClient, client_launch), members, Millis(20000));
  client(1, w.MakeAttester(kOtherClient, client_launch), members, Millis(3000));
  // A host-side process holding a copy of an admitted client's quote.
  const Attestation copied = w.MakeAttester(kClient, client_launch)->Attest({}).value();
  client(2, FixedQuoteAttester(copied.quote, "a copied quote"), members, Millis(3000));
  // A client whose bootstrap names the server of other settings.
  client(3, w.MakeAttester(kClient, client_launch), {members[0], committee[2]}, Millis(3000));

  auto guard = loop.After(Millis(40000), [&] { loop.Stop(); });
  loop.Run();
  for (auto& c : clients) c->Stop();
  for (auto& s : servers) s->Stop();
  (*aggregator)->Stop();

  CHECK(exits[0].kind == ClientExit::Kind::kDone);
  CHECK(delivered_round.has_value());
  CHECK(exits[1].kind == ClientExit::Kind::kConnectTimeout);
  CHECK(exits[2].kind == ClientExit::Kind::kConnectTimeout);
  CHECK(exits[3].kind == ClientExit::Kind::kConnectTimeout);
  // Why, as the metrics count it (every node of this process shares the registry).
  CHECK(Refusals(*metrics, "client", "policy") >= 2);   // the other image, at both servers
  CHECK(Refusals(*metrics, "client", "binding") >= 2);  // the replayed quote
  CHECK(Refusals(*metrics, "server", "policy") >= 1);   // the other settings, for its client
  for (auto& s : servers) CHECK(s->stats().registry <= 1);
  CHECK(servers[0]->stats().registry == 1);
  CHECK(servers[0]->stats().finalized >= 1);
}

TEST_CASE("the launch record goes into RTMR3 once per TD boot, another record there is refused") {
  tdx_test::TempDir t("zipnet-launch");
  tdxrt::FakeRtmr kernel(t.path / "measurements");
  tdxrt::Rtmr3Device::Options o;
  o.measurements = t.path / "measurements";
  o.log = t.path / "run/events.jsonl";
  auto log = Logger("zipnet_test");
  const tdxrt::LaunchRecord record{"zipnet-server", false, {{"ZIPNET_LISTEN", "0.0.0.0:7000"}}};
  auto events = [&] {
    auto parsed = tdxrt::ReadRuntimeEventLog(o.log);
    REQUIRE(parsed.ok());
    return *parsed;
  };

  REQUIRE(RecordLaunch(record, o, *log).ok());
  auto first = tdxrt::Rtmr3Device(o).Read();
  REQUIRE(first.ok());
  REQUIRE(events().size() == 1);
  CHECK(*first == tdxrt::ReplayRtmr3(events()));
  CHECK(*tdxrt::FindLaunchRecord(events()) == record);

  // The program restarted in the same TD (the same record): nothing extended again.
  REQUIRE(RecordLaunch(record, o, *log).ok());
  CHECK(events().size() == 1);
  CHECK(*tdxrt::Rtmr3Device(o).Read() == *first);

  // Restarted with another host setting than RTMR3 shows: refused, RTMR3 untouched.
  tdxrt::LaunchRecord other = record;
  other.host_settings["ZIPNET_LISTEN"] = "0.0.0.0:7001";
  Status st = RecordLaunch(other, o, *log);
  CHECK(st.message() == o.log.string() +
                            ": RTMR3 already holds another launch record (this TD's first start "
                            "ran zipnet-server with other settings from the host): this start "
                            "would run with settings its quotes do not show");
  CHECK(*tdxrt::Rtmr3Device(o).Read() == *first);

  // A log that is not one: named.
  REQUIRE(tdxrt::WriteFileAtomic(o.log, std::string_view("not json\n"), 0644).ok());
  st = RecordLaunch(record, o, *log);
  CHECK_FALSE(st.ok());
  CHECK(st.message().rfind(o.log.string() + ": ", 0) == 0);
}

}  // namespace
}  // namespace zipnet::node
