// zipnet client node and watcher (see zipnet/node/node.h).
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tdxrt/hex.h"
#include "tdxrt/json.h"
#include "zipnet/node/common.h"
#include "zipnet/node/node.h"

namespace zipnet::node {

std::string ClientExit::ToString() const {
  switch (kind) {
    case Kind::kDone:
      return "done" + (detail.empty() ? "" : ": " + detail);
    case Kind::kConnectTimeout:
      return "ConnectTimeout: " + detail;
    case Kind::kAttestation:
      return "Attestation(\"" + detail + "\")";
    case Kind::kFatal:
      return "error: " + detail;
  }
  return detail;
}

// Rosters from every bootstrap server, which must agree; the committee they name. (Not in the
// anonymous namespace: the client's and the watcher's states hold one.)
struct RosterSet {
  std::map<PeerId, Roster> by_server;

  // The agreed roster once every bootstrap server sent one, or an error when two disagree.
  Result<std::optional<Roster>> Add(const PeerId& from, const Roster& r,
                                    const std::vector<PeerAddress>& bootstrap,
                                    const Hash& instance_id, const RoundParams& params) {
    if (r.instance_id != instance_id || !(r.params == params)) {
      return Status::Mismatch("server " + ShortHex(from) + " sent a roster of another instance");
    }
    std::set<PeerId> want, got;
    for (const auto& p : bootstrap) want.insert(p.peer);
    for (const auto& s : r.servers) got.insert(s.peer);
    if (want != got) {
      return Status::Mismatch("server " + ShortHex(from) +
                              "'s roster names other servers than the bootstrap list");
    }
    by_server[from] = r;
    if (by_server.size() < bootstrap.size()) return std::optional<Roster>();
    const Roster& first = by_server.begin()->second;
    for (const auto& [p, other] : by_server) {
      if (Encode(other) != Encode(first)) {
        return Status::Mismatch("servers " + ShortHex(by_server.begin()->first) + " and " +
                                ShortHex(p) + " disagree about the committee");
      }
    }
    return std::optional<Roster>(first);
  }

  // What a connect timeout reports while rosters are missing.
  std::string Missing(std::size_t bootstrap_size) const {
    return "no roster from " + std::to_string(bootstrap_size - by_server.size()) + " of " +
           std::to_string(bootstrap_size) + " servers";
  }
};

namespace {

std::string Quote(const Bytes& m) {
  std::string out = "\"";
  for (std::uint8_t ch : m) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20 || ch == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);  // UTF-8 passes through
    }
  }
  return out + "\"";
}

struct SlotView {
  std::uint32_t slot;
  bool valid;     // else garbled (tag mismatch: a collision)
  Bytes message;  // valid slots
};

// The record's slots that are not empty, each with its message when valid (what both the
// watcher's text and its JSON show).
std::vector<SlotView> NonEmptySlots(const BroadcastRecord& record, const Hash& instance_id,
                                    const RoundParams& params) {
  std::vector<SlotView> out;
  for (std::uint32_t slot = 0; slot < params.num_slots; ++slot) {
    const SlotState state = InspectSlot(record.output, instance_id, record.round, slot, params);
    if (state == SlotState::kEmpty) continue;
    SlotView v{slot, state == SlotState::kValid, {}};
    if (v.valid) {
      auto m = ReadSlot(record.output, instance_id, record.round, slot, params);
      if (m) v.message = std::move(*m);
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

std::vector<std::string> DescribeRecord(const BroadcastRecord& record, const Hash& instance_id,
                                        const RoundParams& params) {
  std::vector<std::string> lines;
  lines.push_back("round " + std::to_string(record.round) +
                  " finalized: " + std::to_string(record.participants) + " participants, " +
                  std::to_string(record.signatures.size()) + " signatures");
  for (const SlotView& v : NonEmptySlots(record, instance_id, params)) {
    lines.push_back(
        "  slot " + std::to_string(v.slot) +
        (v.valid ? ": valid " + Quote(v.message) : ": garbled (tag mismatch: collision)"));
  }
  return lines;
}

std::string DescribeAbort(const AbortRecord& record, std::size_t committee_size) {
  return "round " + std::to_string(record.round) +
         " aborted: " + std::string(AbortReasonName(record.reason)) + " (" + record.detail +
         "), signed by " + std::to_string(record.signatures.size()) + "/" +
         std::to_string(committee_size) + " servers";
}

std::string DescribeRecordJson(const BroadcastRecord& record, const Hash& instance_id,
                               const RoundParams& params) {
  nlohmann::ordered_json j;
  j["round"] = record.round;
  j["event"] = "finalized";
  j["participants"] = record.participants;
  j["signatures"] = record.signatures.size();
  j["slots"] = nlohmann::ordered_json::array();
  for (const SlotView& v : NonEmptySlots(record, instance_id, params)) {
    nlohmann::ordered_json slot;
    slot["slot"] = v.slot;
    slot["state"] = v.valid ? "valid" : "garbled";
    if (v.valid) {
      // DumpJson replaces bytes that are not UTF-8.
      slot["message"] = std::string(v.message.begin(), v.message.end());
      slot["message_hex"] = tdxrt::ToHex(v.message);
    }
    j["slots"].push_back(std::move(slot));
  }
  return tdxrt::DumpJson(j, -1);
}

std::string DescribeAbortJson(const AbortRecord& record, std::size_t committee_size) {
  nlohmann::ordered_json j;
  j["round"] = record.round;
  j["event"] = "aborted";
  j["reason"] = std::string(AbortReasonName(record.reason));
  j["detail"] = record.detail;
  j["signatures"] = record.signatures.size();
  j["committee"] = committee_size;
  return tdxrt::DumpJson(j, -1);
}

// --- client -------------------------------------------------------------------------------------

struct ClientNode::State {
  Loop& loop;
  ClientNodeConfig config;
  Hash instance_id{};
  Hash params_hash{};
  ClientId id{};
  std::string short_id;
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<TlsIdentity> tls;
  PeerDialers dialers;  // links to the servers
  std::set<PeerId> registered_with;
  RosterSet rosters;
  std::optional<Roster> roster;
  std::optional<Committee> committee;
  std::optional<Client> client;
  std::set<ConnectionPtr> greeted;  // server links whose Hello (and attestation) was admitted
  PeerDialers agg_dialer;           // the link to the aggregator the rosters name
  // The aggregators this client may send to: the roster's leaves (an aggregator tree), else its
  // one aggregator; the one dialed is agg_choice, picked by client id, the next when it fails.
  std::vector<PeerAddress> agg_choices;
  std::size_t agg_choice = 0;
  std::unique_ptr<Timer> agg_switch;  // set while moving to the next one
  bool agg_greeted = false;
  std::unique_ptr<Timer> connect_timer;
  bool ever_registered = false;
  bool stopped = false;
  SystemRng rng;
  std::map<std::uint64_t, std::uint32_t> talked;  // round -> slot
  std::uint64_t delivered = 0;
  std::optional<std::uint64_t> last_outcome;
  Traffic closed_traffic;

  prometheus::Gauge* m_registered = nullptr;
  prometheus::Counter* m_delivered = nullptr;
  prometheus::Counter* m_retried = nullptr;
  prometheus::Counter* m_sealed = nullptr;
  prometheus::Family<prometheus::Counter>* m_refused = nullptr;

  // Last: destroyed first, so no continuation of theirs runs on a half-destroyed state.
  std::unique_ptr<AttestationWorkers> workers;

  State(Loop& l, ClientNodeConfig c) : loop(l), config(std::move(c)) {}

  // Our Hello on `c`, with our X25519 key and our attestation for that session (made off the
  // loop); a failure to attest is fatal (a client in a TD never falls back to weaker evidence).
  void SendHello(const ConnectionPtr& c) {
    node::SendHello(*workers, config.common, NodeRole::kClient, c, config.keys.identity.public_key,
                    config.keys.dh.public_key, nullptr, [this, c](const Status& st) {
                      c->Close(st.message());
                      Exit({ClientExit::Kind::kFatal, st.message()});
                    });
  }

  // A peer's Hello: from `role` of this instance, and its attestation admitted (judged off the
  // loop; the link reads nothing more meanwhile), then `admitted`. A refused peer is absent (its
  // link closes; the client waits for the others until ConnectTimeout), or, in strict mode, ends
  // the client with Attestation("...").
  Status ExpectPeerHello(const ConnectionPtr& c, ByteSpan body, NodeRole role,
                         std::function<Status()> admitted) {
    return ExpectHelloOffLoop(*workers, body, config.common, c, role, *log, m_refused,
                              [this, c, role, admitted = std::move(admitted)](
                                  Hello, Status verdict, std::optional<Refusal> refusal) {
                                if (refusal && config.strict_attestation) {
                                  Exit({ClientExit::Kind::kAttestation,
                                        std::string(NodeRoleName(role)) + " " +
                                            ShortHex(c->peer()) + ": " + refusal->detail});
                                }
                                TDX_TRY(verdict);
                                return admitted();
                              });
  }

  Status Init() {
    instance_id = config.common.instance_id();
    params_hash = config.common.params.ParamsHash();
    id = ClientIdOf(config.keys.dh.public_key);
    short_id = ShortHex(id);
    log = Logger("zipnet_client");
    workers = std::make_unique<AttestationWorkers>(loop, config.common.attestation_threads);
    if (config.message) {
      const Bytes m(config.message->begin(), config.message->end());
      if (m.size() > config.common.params.payload_len()) {
        return Status::InvalidArgument(std::string(kMessageTooLong) + ": message of " +
                                       std::to_string(m.size()) + " bytes exceeds " +
                                       std::to_string(config.common.params.payload_len()));
      }
    }
    if (auto* r = config.common.metrics.get()) {
      const prometheus::Labels labels{{"client", short_id}};
      m_registered = &prometheus::BuildGauge()
                          .Name("zipnet_client_registered")
                          .Help("1 once every committee server has this client in its registry")
                          .Register(*r)
                          .Add(labels);
      m_delivered = &prometheus::BuildCounter()
                         .Name("zipnet_client_messages_delivered_total")
                         .Help("Messages seen intact in a fully signed record")
                         .Register(*r)
                         .Add(labels);
      m_retried = &prometheus::BuildCounter()
                       .Name("zipnet_client_messages_retried_total")
                       .Help("Talk attempts not delivered (collision, abort, lost envelope)")
                       .Register(*r)
                       .Add(labels);
      m_sealed = &prometheus::BuildCounter()
                      .Name("zipnet_client_envelopes_sealed_total")
                      .Help("Envelopes sealed and sent")
                      .Register(*r)
                      .Add(labels);
      m_refused = &RefusedPeersMetric(*r);
    }
    log->info("spawning zipnet client client={}", short_id);
    TDX_ASSIGN_OR_RETURN(tls, TlsIdentity::Create(config.keys.identity));
    log->info("zipnet up: network={} instance={} peer={} role=client", config.common.universe,
              config.common.instance, tdxrt::ToHex(tls->peer()));
    log->info("client booting; waiting for rosters");
    dialers = PeerDialers(loop, tls, config.bootstrap, config.common.transport,
                          {.on_frame = [this](const ConnectionPtr& c, MessageType t,
                                              ByteSpan b) { return OnServerFrame(c, t, b); },
                           .on_up = [this](const ConnectionPtr& c) { SendHello(c); },
                           .on_down =
                               [this](const ConnectionPtr& c, const std::string& why) {
                                 log->info("client={} link to server {} closed: {}", short_id,
                                           ShortHex(c->peer()), why);
                                 Forget(c);
                                 greeted.erase(c);
                                 registered_with.erase(c->peer());
                                 SetRegistered();
                               },
                           .on_failed =
                               [this](const PeerId& peer, const std::string& why) {
                                 log->debug("client={} dial server {}: {}", short_id,
                                            ShortHex(peer), why);
                               }});
    connect_timer = loop.After(config.connect_timeout, [this] {
      if (ever_registered) return;
      std::string what;
      if (!roster) {
        what = rosters.Missing(config.bootstrap.size());
      } else {
        what = "registered with " + std::to_string(registered_with.size()) + " of " +
               std::to_string(config.bootstrap.size()) + " servers";
      }
      Exit({ClientExit::Kind::kConnectTimeout,
            what + " after " + std::to_string(config.connect_timeout.count()) + " ms"});
    });
    return Status::Ok();
  }

  void Exit(ClientExit e) {
    if (stopped) return;
    if (e.kind == ClientExit::Kind::kDone) {
      log->info("client={} exiting: {}", short_id, e.ToString());
    } else {
      log->error("client={} {}", short_id, e.ToString());
    }
    StopAll();
    if (config.on_exit) config.on_exit(e);
  }

  void StopAll() {
    stopped = true;
    connect_timer.reset();
    dialers.Stop();
    agg_dialer.Stop();
    agg_switch.reset();
  }

  void SetRegistered() {
    const bool all = registered_with.size() == config.bootstrap.size();
    if (m_registered) m_registered->Set(all ? 1 : 0);
    if (all && !ever_registered) {
      ever_registered = true;
      connect_timer.reset();
      log->info("client={} registered with all {} servers", short_id, config.bootstrap.size());
    }
  }

  void Forget(const ConnectionPtr& c) {
    closed_traffic.bytes_in += c->traffic().bytes_in;
    closed_traffic.bytes_out += c->traffic().bytes_out;
  }

  Status OnServerFrame(const ConnectionPtr& c, MessageType type, ByteSpan body) {
    const auto& limits = config.common.transport.limits;
    if (type == MessageType::kHello) {
      if (greeted.count(c)) return Status::Corrupt("a second Hello");
      return ExpectPeerHello(c, body, NodeRole::kServer, [this, c] {
        greeted.insert(c);
        return Status::Ok();
      });
    }
    if (!greeted.count(c)) {
      return Status::Corrupt("frame type " + std::to_string(int(type)) + " before the Hello");
    }
    switch (type) {
      case MessageType::kRoster: {
        TDX_ASSIGN_OR_RETURN(Roster r, DecodeRoster(body, limits));
        if (roster) {
          if (Encode(r) != Encode(*roster)) {
            log->error("client={} server {} now names another committee; ignored", short_id,
                       ShortHex(c->peer()));
            return Status::Mismatch("roster changed");
          }
          return Register(c);
        }
        auto agreed =
            rosters.Add(c->peer(), r, config.bootstrap, instance_id, config.common.params);
        if (!agreed.ok()) {
          log->error("client={} {}", short_id, agreed.status().message());
          return agreed.status();
        }
        if (!*agreed) return Status::Ok();
        TDX_TRY(Adopt(**agreed));
        for (auto& [p, conn] : dialers.links()) {
          if (!greeted.count(conn)) continue;  // registers once its Hello is admitted
          if (Status st = Register(conn); !st.ok()) return st;
        }
        return Status::Ok();
      }
      case MessageType::kRegistered: {
        TDX_ASSIGN_OR_RETURN(Registered r, DecodeRegistered(body, limits));
        if (r.client_id != id) return Status::Mismatch("Registered for another client");
        registered_with.insert(c->peer());
        SetRegistered();
        return Status::Ok();
      }
      case MessageType::kRejected: {
        TDX_ASSIGN_OR_RETURN(Rejected r, DecodeRejected(body, limits));
        if (r.client_id != id) return Status::Mismatch("Rejected for another client");
        Exit({ClientExit::Kind::kAttestation, r.reason});
        return Status::Ok();
      }
      default:
        return Status::Corrupt("unexpected frame type " + std::to_string(int(type)) +
                               " from a server");
    }
  }

  Status Adopt(const Roster& r) {
    auto made = Committee::Make(r.servers);
    if (!made.ok()) return made.status().WithContext("roster");
    ClientConfig cc{config.common.params, instance_id, config.cadence};
    auto created = Client::Create(cc, *made, config.keys);
    if (!created.ok()) return created.status();
    committee = std::move(made).value();
    client.emplace(std::move(created).value());
    roster = r;
    log->info("client={} roster: {} servers, aggregator {}", short_id, r.servers.size(),
              ShortHex(r.aggregator));
    Requeue();
    agg_choices.clear();
    if (r.leaves.empty()) {
      auto addr = ParseEndpoint(r.aggregator_address);
      if (!addr.ok()) return addr.status().WithContext("roster aggregator address");
      agg_choices.push_back(PeerAddress{r.aggregator, *addr});
    } else {
      for (const auto& l : r.leaves) {
        auto addr = ParseEndpoint(l.address);
        if (!addr.ok()) return addr.status().WithContext("roster leaf address");
        agg_choices.push_back(PeerAddress{l.peer, *addr});
      }
    }
    // The leaf its id picks: the id's first 8 bytes, as the tables keyed by ids hash them.
    agg_choice = PrefixHash{}(id) % agg_choices.size();
    DialAggregator();
    return Status::Ok();
  }

  // The link to agg_choices[agg_choice]; with several (tree leaves), a link that fails or
  // closes moves this client to the next one (its envelope of that round is lost and retried).
  void DialAggregator() {
    agg_switch.reset();
    if (agg_choices.size() > 1) {
      log->info("client={} aggregator: leaf {} of {} ({})", short_id, agg_choice + 1,
                agg_choices.size(), ShortHex(agg_choices[agg_choice].peer));
    }
    agg_dialer =
        PeerDialers(loop, tls, {agg_choices[agg_choice]}, config.common.transport,
                    {.on_frame = [this](const ConnectionPtr& c, MessageType t,
                                        ByteSpan b) { return OnAggregatorFrame(c, t, b); },
                     .on_up =
                         [this](const ConnectionPtr& c) {
                           agg_greeted = false;
                           SendHello(c);
                         },
                     .on_down =
                         [this](const ConnectionPtr& c, const std::string& why) {
                           log->info("client={} link to the aggregator closed: {}", short_id, why);
                           Forget(c);
                           NextAggregator();
                         },
                     .on_failed =
                         [this](const PeerId&, const std::string& why) {
                           log->debug("client={} dial aggregator: {}", short_id, why);
                           NextAggregator();
                         }});
  }

  void NextAggregator() {
    if (agg_choices.size() < 2 || agg_switch || stopped) return;
    agg_choice = (agg_choice + 1) % agg_choices.size();
    // Not from inside the dialer's own handler: it is replaced.
    agg_switch = loop.After(Millis(0), [this] { DialAggregator(); });
  }

  // The bundle names our keys; the evidence for them is the attestation in our Hello on this
  // link (made for this session), which the server judged before taking anything else.
  Status Register(const ConnectionPtr& c) {
    if (!client || stopped) return Status::Ok();
    const EvidenceKind kind =
        config.common.attester ? config.common.attester->kind() : EvidenceKind::kMock;
    c->Send(MessageType::kClientBundle, Encode(client->Bundle(kind, {})));
    return Status::Ok();
  }

  void Requeue() {
    if (!config.message || client->queued() > 0) return;
    if (config.max_messages != 0 && delivered >= config.max_messages) return;
    const Bytes m(config.message->begin(), config.message->end());
    if (Status st = client->Enqueue(m); !st.ok()) {
      Exit({ClientExit::Kind::kFatal, st.message()});
    }
  }

  Status OnAggregatorFrame(const ConnectionPtr& c, MessageType type, ByteSpan body) {
    const auto& limits = config.common.transport.limits;
    if (type != MessageType::kHello && !agg_greeted) {
      return Status::Corrupt("frame type " + std::to_string(int(type)) + " before the Hello");
    }
    switch (type) {
      case MessageType::kHello: {
        if (agg_greeted) return Status::Corrupt("a second Hello");
        return ExpectPeerHello(c, body, NodeRole::kAggregator, [this] {
          agg_greeted = true;
          return Status::Ok();
        });
      }
      case MessageType::kRoundOpen: {
        TDX_ASSIGN_OR_RETURN(RoundOpen o, DecodeRoundOpen(body, limits));
        if (!committee->VerifySignature(o.opener, RoundOpenDigest(instance_id, params_hash, o),
                                        o.signature)) {
          return Status::Mismatch("RoundOpen with a bad signature");
        }
        Seal(c, o.round);
        return Status::Ok();
      }
      case MessageType::kBroadcastRecord: {
        TDX_ASSIGN_OR_RETURN(BroadcastRecord rec, DecodeBroadcastRecord(body, limits));
        TDX_TRY(client->OnRecord(rec));
        Outcome(rec.round, true);
        return Status::Ok();
      }
      case MessageType::kAbortRecord: {
        TDX_ASSIGN_OR_RETURN(AbortRecord a, DecodeAbortRecord(body, limits));
        TDX_TRY(client->OnAbort(a));
        log->info("client={} round {} aborted: {}", short_id, a.round, AbortReasonName(a.reason));
        Outcome(a.round, false);
        return Status::Ok();
      }
      default:
        return Status::Corrupt("unexpected frame type " + std::to_string(int(type)) +
                               " from the aggregator");
    }
  }

  void Seal(const ConnectionPtr& c, std::uint64_t round) {
    if (registered_with.size() != config.bootstrap.size() || !agg_greeted) return;
    auto sealed = client->Seal(round, rng);
    if (!sealed.ok()) {
      log->warn("client={} round {}: {}", short_id, round, sealed.status().message());
      return;
    }
    const char* kind = "cover";
    switch (sealed->kind) {
      case SealKind::kCover:
        break;
      case SealKind::kReserve:
        kind = "reserve";
        break;
      case SealKind::kTalk:
        kind = "talk";
        talked[round] = *sealed->slot;
        break;
      case SealKind::kRateLimited:
        kind = "rate-limited";
        break;
    }
    log->debug("client={} sealed envelope round={} kind={}{}", short_id, round, kind,
               sealed->slot ? " slot=" + std::to_string(*sealed->slot) : "");
    if (m_sealed) m_sealed->Increment();
    c->Send(MessageType::kEnvelope, Encode(sealed->envelope));
  }

  void Outcome(std::uint64_t round, bool finalized) {
    std::vector<Bytes> got = client->TakeDelivered();
    for (const auto& m : got) {
      ++delivered;
      if (m_delivered) m_delivered->Increment();
      log->info("client={} delivered in round {}: {}", short_id, round, Quote(m));
      if (config.on_delivered) config.on_delivered(round, m);
    }
    // Talks of this round (or earlier ones whose outcome never came) that were not delivered.
    for (auto it = talked.begin(); it != talked.end() && it->first <= round;) {
      if (got.empty() || it->first != round || !finalized) {
        if (m_retried) m_retried->Increment();
        log->info("client={} message of round {} not delivered; retrying", short_id, it->first);
      }
      it = talked.erase(it);
    }
    if (config.max_messages != 0 && delivered >= config.max_messages) {
      Exit({ClientExit::Kind::kDone, std::to_string(delivered) + " messages delivered"});
      return;
    }
    Requeue();
  }
};

ClientNode::ClientNode(std::unique_ptr<State> s) : s_(std::move(s)) {}
ClientNode::~ClientNode() { Stop(); }

Result<std::unique_ptr<ClientNode>> ClientNode::Create(Loop& loop, ClientNodeConfig config) {
  auto s = std::make_unique<State>(loop, std::move(config));
  TDX_TRY(s->Init());
  return std::unique_ptr<ClientNode>(new ClientNode(std::move(s)));
}

const ClientId& ClientNode::id() const { return s_->id; }
bool ClientNode::registered() const {
  return s_->registered_with.size() == s_->config.bootstrap.size();
}
Traffic ClientNode::traffic() const {
  Traffic t = s_->closed_traffic;
  for (const auto* links : {&s_->dialers.links(), &s_->agg_dialer.links()}) {
    for (const auto& [p, c] : *links) {
      t.bytes_in += c->traffic().bytes_in;
      t.bytes_out += c->traffic().bytes_out;
    }
  }
  return t;
}
void ClientNode::Stop() {
  if (s_ && !s_->stopped) s_->StopAll();
}

// --- watcher ------------------------------------------------------------------------------------

struct Watcher::State {
  Loop& loop;
  WatcherConfig config;
  Hash instance_id{};
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<TlsIdentity> tls;
  PeerDialers dialers;
  RosterSet rosters;
  std::optional<Committee> committee;
  std::optional<std::uint64_t> last;
  std::uint64_t shown = 0;
  std::unique_ptr<Timer> connect_timer;
  bool stopped = false;
  std::set<ConnectionPtr> greeted;

  // Last: destroyed first, so no continuation of theirs runs on a half-destroyed state.
  std::unique_ptr<AttestationWorkers> workers;

  State(Loop& l, WatcherConfig c) : loop(l), config(std::move(c)) {}

  Status Init() {
    instance_id = config.common.instance_id();
    log = Logger("zipnet_watch");
    workers = std::make_unique<AttestationWorkers>(loop, config.common.attestation_threads);
    TDX_ASSIGN_OR_RETURN(tls, TlsIdentity::Create(config.identity));
    dialers = PeerDialers(
        loop, tls, config.bootstrap, config.common.transport,
        {.on_frame = [this](const ConnectionPtr& c, MessageType t,
                            ByteSpan b) { return OnFrame(c, t, b); },
         .on_up =
             [this](const ConnectionPtr& c) {
               SendHello(*workers, config.common, NodeRole::kWatcher, c, config.identity.public_key,
                         {}, nullptr, [c](const Status& st) { c->Close(st.message()); });
             },
         .on_down =
             [this](const ConnectionPtr& c, const std::string& why) {
               log->info("link to server {} closed: {}", ShortHex(c->peer()), why);
               greeted.erase(c);
             },
         .on_failed =
             [this](const PeerId& peer, const std::string& why) {
               log->debug("dial server {}: {}", ShortHex(peer), why);
             }});
    connect_timer = loop.After(config.connect_timeout, [this] {
      if (committee) return;
      Exit({ClientExit::Kind::kConnectTimeout,
            rosters.Missing(config.bootstrap.size()) + " after " +
                std::to_string(config.connect_timeout.count()) + " ms"});
    });
    return Status::Ok();
  }

  void Exit(ClientExit e) {
    if (stopped) return;
    StopAll();
    if (config.on_exit) config.on_exit(e);
  }

  void StopAll() {
    stopped = true;
    connect_timer.reset();
    dialers.Stop();
  }

  Status OnFrame(const ConnectionPtr& c, MessageType type, ByteSpan body) {
    const auto& limits = config.common.transport.limits;
    if (type == MessageType::kHello) {
      if (greeted.count(c)) return Status::Corrupt("a second Hello");
      return ExpectHelloOffLoop(*workers, body, config.common, c, NodeRole::kServer, *log, nullptr,
                                [this, c](Hello, Status verdict, std::optional<Refusal> refusal) {
                                  if (refusal && config.json) {
                                    nlohmann::ordered_json j;
                                    j["event"] = "refused_server";
                                    j["peer"] = tdxrt::ToHex(c->peer());
                                    j["address"] = c->remote();
                                    j["reason"] = refusal->reason;
                                    j["detail"] = refusal->detail;
                                    config.print(tdxrt::DumpJson(j, -1));
                                  } else if (refusal) {
                                    // What the watcher is for: showing who is refused and why.
                                    config.print("refused server " + tdxrt::ToHex(c->peer()) +
                                                 " (" + c->remote() + "): attestation (" +
                                                 refusal->reason + "): " + refusal->detail);
                                  }
                                  TDX_TRY(verdict);
                                  greeted.insert(c);
                                  return Status::Ok();
                                });
    }
    if (!greeted.count(c)) {
      return Status::Corrupt("frame type " + std::to_string(int(type)) + " before the Hello");
    }
    switch (type) {
      case MessageType::kRoster: {
        TDX_ASSIGN_OR_RETURN(Roster r, DecodeRoster(body, limits));
        if (committee) return Status::Ok();
        auto agreed =
            rosters.Add(c->peer(), r, config.bootstrap, instance_id, config.common.params);
        if (!agreed.ok()) return agreed.status();
        if (!*agreed) return Status::Ok();
        auto made = Committee::Make((*agreed)->servers);
        if (!made.ok()) return made.status();
        committee = std::move(made).value();
        connect_timer.reset();
        log->info("watching: {} servers", committee->servers.size());
        return Status::Ok();
      }
      case MessageType::kBroadcastRecord: {
        TDX_ASSIGN_OR_RETURN(BroadcastRecord rec, DecodeBroadcastRecord(body, limits));
        if (!committee || (last && rec.round <= *last)) return Status::Ok();
        TDX_TRY(VerifyRecord(rec, *committee, instance_id, config.common.params));
        last = rec.round;
        if (config.json) {
          config.print(DescribeRecordJson(rec, instance_id, config.common.params));
        } else {
          for (const auto& line : DescribeRecord(rec, instance_id, config.common.params)) {
            config.print(line);
          }
        }
        Count();
        return Status::Ok();
      }
      case MessageType::kAbortRecord: {
        TDX_ASSIGN_OR_RETURN(AbortRecord a, DecodeAbortRecord(body, limits));
        if (!committee || (last && a.round <= *last)) return Status::Ok();
        TDX_TRY(VerifyAbort(a, *committee, instance_id));
        last = a.round;
        config.print(config.json ? DescribeAbortJson(a, committee->servers.size())
                                 : DescribeAbort(a, committee->servers.size()));
        Count();
        return Status::Ok();
      }
      default:
        return Status::Corrupt("unexpected frame type " + std::to_string(int(type)));
    }
  }

  void Count() {
    ++shown;
    if (config.max_rounds != 0 && shown >= config.max_rounds) {
      Exit({ClientExit::Kind::kDone, std::to_string(shown) + " rounds shown"});
    }
  }
};

Watcher::Watcher(std::unique_ptr<State> s) : s_(std::move(s)) {}
Watcher::~Watcher() { Stop(); }
Result<std::unique_ptr<Watcher>> Watcher::Create(Loop& loop, WatcherConfig config) {
  auto s = std::make_unique<State>(loop, std::move(config));
  TDX_TRY(s->Init());
  return std::unique_ptr<Watcher>(new Watcher(std::move(s)));
}
void Watcher::Stop() {
  if (s_ && !s_->stopped) s_->StopAll();
}

}  // namespace zipnet::node
