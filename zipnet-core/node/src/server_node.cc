// zipnet committee server node (see zipnet/node/node.h): registration over the network, the
// round leader's clock, commit/reveal among servers, record signatures, aborts, publication.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "registry_store.h"
#include "tdxrt/hex.h"
#include "zipnet/node/common.h"
#include "zipnet/node/node.h"

namespace zipnet::node {

using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point from) {
  return std::chrono::duration<double>(Clock::now() - from).count();
}

std::string PeerList(const std::vector<PeerId>& peers) {
  std::string out;
  for (const auto& p : peers) out += (out.empty() ? "" : ",") + ShortHex(p);
  return out;
}

}  // namespace

// One round as a server sees it.
struct Round {
  std::uint64_t number = 0;
  Clock::time_point opened;
  Millis deadline{0};
  std::optional<Aggregate> aggregate;
  std::map<PeerId, ShareCommit> commits;
  bool revealed = false;
  std::map<PeerId, Share> shares;
  std::optional<BroadcastRecord> record;
  Hash record_digest{};
  std::map<PeerId, RecordVote> votes;
  bool done = false;
  std::unique_ptr<Timer> deadline_timer;
  Clock::time_point phase_start;
};

struct ServerNode::State {
  Loop& loop;
  ServerNodeConfig config;
  Hash instance_id{};
  Hash params_hash{};
  PeerId self{};
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<TlsIdentity> tls;
  std::unique_ptr<Listener> listener;
  PeerDialers dialers;                        // links to the other servers (what we send on)
  std::set<ConnectionPtr> inbound;            // accepted, any role
  std::map<ConnectionPtr, NodeRole> roles;    // after their Hello
  std::map<PeerId, PublicKey> server_x25519;  // learned from Hellos (and our own)
  std::optional<Committee> committee;
  std::optional<Server> server;
  std::size_t my_index = 0;
  std::vector<ConnectionPtr> waiting_roster;  // clients/watchers/aggregators before the committee
  // The registry file (config.registry_file), and the clients read from it, registered once the
  // committee forms.
  std::unique_ptr<RegistryStore> registry_store;
  std::vector<RegistryEntry> saved_clients;

  // Rounds.
  std::optional<Round> round;
  std::optional<std::uint64_t> peer_round;  // the highest round a peer server said it knows
  std::map<std::uint64_t, std::vector<std::pair<ConnectionPtr, std::pair<MessageType, Bytes>>>>
      early;  // messages for a round not opened here yet
  std::unique_ptr<Timer> open_timer;
  std::optional<AbortRecord> pending_abort;  // ours, collecting the signatures of the others
  std::unique_ptr<Timer> abort_timer;
  std::unique_ptr<Timer> startup_timer;
  ServerStats stats;

  // Metrics.
  prometheus::Counter* m_finalized = nullptr;
  prometheus::Family<prometheus::Counter>* m_aborted = nullptr;
  prometheus::Gauge* m_registry = nullptr;
  prometheus::Counter* m_partials = nullptr;
  prometheus::Counter* m_rejected = nullptr;
  prometheus::Family<prometheus::Counter>* m_refused = nullptr;
  prometheus::Family<prometheus::Histogram>* m_phase = nullptr;

  // Last: destroyed first, so no continuation of theirs runs on a half-destroyed state.
  std::unique_ptr<AttestationWorkers> workers;

  State(Loop& l, ServerNodeConfig c) : loop(l), config(std::move(c)) {}

  // --- set-up ---

  Status Init() {
    instance_id = config.common.instance_id();
    params_hash = config.common.params.ParamsHash();
    self = PeerIdOf(config.identity.public_key);
    log = Logger("zipnet_server");
    workers = std::make_unique<AttestationWorkers>(loop, config.common.attestation_threads);
    if (config.operator_peer && !config.on_configure) {
      return Status::InvalidArgument("an operator is configured but nothing applies its settings");
    }
    if (config.committee.empty()) {
      if (!config.operator_peer) {
        return Status::InvalidArgument(
            "no committee list: give one (ZIPNET_COMMITTEE), or the operator who will send it "
            "(ZIPNET_OPERATOR)");
      }
    } else if (Status st = CheckCommittee(config.committee); !st.ok()) {
      // A server with a new identity (a rebooted TD) given the list it had before: its operator
      // sends the new one.
      if (!config.operator_peer) return st;
      log->warn("{}: waiting for the operator's list instead", st.message());
      config.committee.clear();
    }
    if (config.tdx_gating && !config.common.judges.client) {
      return Status::InvalidArgument("TDX gating is on but no client policy is configured");
    }
    if (config.fold >= config.deadline || config.period.count() <= 0) {
      return Status::InvalidArgument("round timing: need 0 < fold < deadline and period > 0");
    }
    server_x25519[self] = config.dh.public_key;
    if (config.common.metrics) SetUpMetrics(*config.common.metrics);
    if (!config.registry_file.empty()) {
      registry_store = std::make_unique<RegistryStore>(
          loop, config.registry_file, RegistryMacKey(config.identity, config.dh),
          RegistryBinding{instance_id, params_hash, self, config.admission}, log);
      saved_clients = registry_store->Load();
    }
    TDX_ASSIGN_OR_RETURN(tls, TlsIdentity::Create(config.identity));
    TDX_ASSIGN_OR_RETURN(listener,
                         Listener::Start(loop, tls, config.listen, config.common.transport,
                                         [this](ConnectionPtr c) { Accepted(c); }));
    log->info("zipnet up: network={} instance={} peer={} role=server listen={}",
              config.common.universe, config.common.instance, tdxrt::ToHex(self),
              listener->bound().ToString());
    if (config.committee.empty()) {
      log->info("waiting for the committee list from operator {} (this server is peer {})",
                tdxrt::ToHex(*config.operator_peer), tdxrt::ToHex(self));
    }
    if (!config.tdx_gating) {
      log->warn("TDX gating is off: mock evidence is admitted (development only)");
    }
    std::vector<PeerAddress> others;
    for (const auto& p : config.committee) {
      if (p.peer != self) others.push_back(p);
    }
    dialers =
        PeerDialers(loop, tls, others, config.common.transport,
                    {.on_frame = [this](const ConnectionPtr& c, MessageType t,
                                        ByteSpan b) { return OnFrame(c, t, b); },
                     .on_up = [this](const ConnectionPtr& c) { SendHello(c); },
                     .on_down =
                         [this](const ConnectionPtr& c, const std::string& why) {
                           log->info("link to server {} closed: {}", ShortHex(c->peer()), why);
                           roles.erase(c);
                         },
                     .on_failed =
                         [this](const PeerId& peer, const std::string& why) {
                           log->debug("dial server {}: {}", ShortHex(peer), why);
                         }});
    MaybeFormCommittee();
    return Status::Ok();
  }

  // A committee list is usable when it names this server and no peer twice.
  Status CheckCommittee(const std::vector<PeerAddress>& list) const {
    bool found = false;
    for (const auto& p : list) found = found || p.peer == self;
    if (!found) {
      return Status::InvalidArgument("this server's peer id " + tdxrt::ToHex(self) +
                                     " is not in the committee list");
    }
    std::set<PeerId> seen;
    for (const auto& p : list) {
      if (!seen.insert(p.peer).second) {
        return Status::InvalidArgument("committee list names peer " + tdxrt::ToHex(p.peer) +
                                       " twice");
      }
    }
    return Status::Ok();
  }

  void SetUpMetrics(prometheus::Registry& r) {
    m_finalized = &prometheus::BuildCounter()
                       .Name("zipnet_server_rounds_finalized_total")
                       .Help("Rounds finalized with a fully signed record")
                       .Register(r)
                       .Add({});
    m_aborted = &prometheus::BuildCounter()
                     .Name("zipnet_server_rounds_aborted_total")
                     .Help("Rounds aborted, by reason")
                     .Register(r);
    m_registry = &prometheus::BuildGauge()
                      .Name("zipnet_server_registry_size")
                      .Help("Clients in this server's registry")
                      .Register(r)
                      .Add({});
    m_partials = &prometheus::BuildCounter()
                      .Name("zipnet_server_partials_total")
                      .Help("Shares (partial unblindings) this server computed")
                      .Register(r)
                      .Add({});
    m_rejected = &prometheus::BuildCounter()
                      .Name("zipnet_server_registrations_refused_total")
                      .Help("Client registrations refused (attestation or policy)")
                      .Register(r)
                      .Add({});
    m_refused = &RefusedPeersMetric(r);
    m_phase = &prometheus::BuildHistogram()
                   .Name("zipnet_server_phase_seconds")
                   .Help("Time spent per round phase (prepare, commit, reveal, combine, round)")
                   .Register(r);
  }

  void ObservePhase(const std::string& phase, double seconds) {
    if (!m_phase) return;
    static const prometheus::Histogram::BucketBoundaries kBuckets = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    m_phase->Add({{"phase", phase}}, kBuckets).Observe(seconds);
  }

  const PeerAddress* CommitteeEntry(const PeerId& p) const {
    for (const auto& e : config.committee) {
      if (e.peer == p) return &e;
    }
    return nullptr;
  }

  // Our Hello on `c`, with our attestation for that session; a failure to attest closes it.
  // Its evidence is made off the loop; what is sent on `c` meanwhile follows it.
  void SendHello(const ConnectionPtr& c) {
    node::SendHello(
        *workers, config.common, NodeRole::kServer, c, config.identity.public_key,
        config.dh.public_key, [this](Hello& h) { h.last_round = round ? round->number : kNoRound; },
        [this, c](const Status& st) {
          log->error("{}", st.message());
          c->Close(st.message());
        });
  }

  Roster MyRoster() const {
    Roster r;
    r.instance_id = instance_id;
    r.params = config.common.params;
    r.servers = committee->servers;
    r.aggregator = config.aggregator.peer;
    r.aggregator_address = config.aggregator.endpoint.ToString();
    for (const auto& l : config.leaves) r.leaves.push_back({l.peer, l.endpoint.ToString()});
    return r;
  }

  // --- connections ---

  void Accepted(ConnectionPtr c) {
    inbound.insert(c);
    c->Start([this, w = std::weak_ptr<Connection>(c)](
                 MessageType t, ByteSpan b) { return OnFrame(w.lock(), t, b); },
             [this, c](const std::string& why) {
               auto role = roles.find(c);
               if (role != roles.end()) {
                 log->debug("{} {} disconnected: {}", NodeRoleName(role->second),
                            ShortHex(c->peer()), why);
                 roles.erase(role);
               } else {
                 log->debug("connection from {} closed before its Hello: {}", c->remote(), why);
               }
               inbound.erase(c);
               client_links.erase(c);
               std::erase(waiting_roster, c);
             });
  }

  Status OnFrame(const ConnectionPtr& c, MessageType type, ByteSpan body) {
    if (!c) return Status::Ok();
    auto role = roles.find(c);
    if (role == roles.end()) {
      if (type != MessageType::kHello) {
        return Status::Corrupt("first frame is type " + std::to_string(int(type)) + ", not Hello");
      }
      TDX_ASSIGN_OR_RETURN(Hello h,
                           DecodePeerHello(body, config.common.transport.limits, *c, *log));
      return OnHello(c, h);
    }
    switch (role->second) {
      case NodeRole::kServer:
        return OnServerFrame(c, type, body);
      case NodeRole::kAggregator:
        return OnAggregatorFrame(c, type, body);
      case NodeRole::kClient:
        return OnClientFrame(c, type, body);
      case NodeRole::kWatcher:
        return Status::Corrupt("a watcher sends nothing after its Hello");
      case NodeRole::kOperator:
        return OnOperatorFrame(c, type, body);
    }
    return Status::Ok();
  }

  // A peer's Hello: its instance and parameters at once, its attestation off the loop (the
  // link reads nothing more meanwhile), then OnJudgedHello.
  Status OnHello(const ConnectionPtr& c, Hello h) {
    if (h.instance_id != instance_id) {
      log->info("refused {} {} from {}: another instance", NodeRoleName(h.role),
                ShortHex(c->peer()), c->remote());
      return Status::Mismatch("instance differs");
    }
    if (!(h.params == config.common.params)) {
      log->warn("refused {} {} from {}: other round parameters", NodeRoleName(h.role),
                ShortHex(c->peer()), c->remote());
      return Status::Mismatch("round parameters differ");
    }
    return AdmitHelloOffLoop(
        *workers, config.common, std::move(h), c, *log, m_refused,
        [this, c](Hello judged, Status verdict, std::optional<Refusal> refusal) {
          return OnJudgedHello(c, judged, verdict, refusal);
        });
  }

  Status OnJudgedHello(const ConnectionPtr& c, const Hello& h, const Status& st,
                       const std::optional<Refusal>& refusal) {
    const PeerId& peer = c->peer();
    if (!st.ok()) {
      if (h.role == NodeRole::kClient && config.strict_attestation) {
        // Strict surfacing: the client learns why (after our own Hello, which it judges
        // first) before the link closes.
        SendHello(c);
        c->Send(MessageType::kRejected, Encode(Rejected{ClientIdOf(h.x25519), refusal->detail}));
        c->Flush([c, st] { c->Close(st.message()); });
        return Status::Ok();
      }
      return st;
    }
    switch (h.role) {
      case NodeRole::kServer: {
        if (!CommitteeEntry(peer) || peer == self) {
          log->warn("refused server {} from {}: not in the committee", ShortHex(peer), c->remote());
          return Status::Mismatch("not a committee server");
        }
        auto known = server_x25519.find(peer);
        if (known != server_x25519.end() && known->second != h.x25519) {
          log->error("server {} presents another X25519 key than before; refused", ShortHex(peer));
          return Status::Mismatch("X25519 key changed");
        }
        server_x25519[peer] = h.x25519;
        roles[c] = NodeRole::kServer;
        c->Authenticated(config.common.transport.limits.max_frame);
        if (inbound.count(c)) SendHello(c);
        if (h.last_round != kNoRound && (!peer_round || h.last_round > *peer_round)) {
          peer_round = h.last_round;
        }
        log->info("server {} connected ({})", ShortHex(peer), c->remote());
        MaybeFormCommittee();
        return Status::Ok();
      }
      case NodeRole::kAggregator:
        if (peer != config.aggregator.peer) {
          log->warn("refused aggregator {} from {}: not the configured aggregator {}",
                    ShortHex(peer), c->remote(), ShortHex(config.aggregator.peer));
          return Status::Mismatch("not the configured aggregator");
        }
        roles[c] = NodeRole::kAggregator;
        c->Authenticated(config.common.transport.limits.max_frame);
        log->info("aggregator {} connected ({})", ShortHex(peer), c->remote());
        break;
      case NodeRole::kClient:
      case NodeRole::kWatcher:
        roles[c] = h.role;
        if (h.role == NodeRole::kClient) client_links[c] = {h.x25519, h.attestation.kind};
        // A client sends its bundle (its keys; its evidence was in its Hello); a watcher nothing.
        c->Authenticated(h.role == NodeRole::kClient
                             ? kBundleFrameLimit
                             : config.common.transport.unauthenticated_max_frame);
        break;
      case NodeRole::kOperator:
        if (!config.operator_peer || peer != *config.operator_peer) {
          log->warn("refused operator {} from {}: not this server's operator", ShortHex(peer),
                    c->remote());
          return Status::Mismatch("not this server's operator");
        }
        roles[c] = NodeRole::kOperator;
        c->Authenticated(kConfigureFrameLimit);
        log->info("operator {} connected ({})", ShortHex(peer), c->remote());
        SendHello(c);
        return Status::Ok();
    }
    SendHello(c);
    if (committee) {
      SendRoster(c);
    } else {
      waiting_roster.push_back(c);
    }
    return Status::Ok();
  }

  // --- the operator ---

  Status OnOperatorFrame(const ConnectionPtr& c, MessageType type, ByteSpan body) {
    if (type != MessageType::kConfigure) {
      return Status::Corrupt("unexpected frame type " + std::to_string(int(type)) +
                             " from the operator");
    }
    TDX_ASSIGN_OR_RETURN(Configure m, DecodeConfigure(body, config.common.transport.limits));
    auto answer = [&](bool accepted, const std::string& detail) {
      c->Send(MessageType::kConfigureResult, Encode(ConfigureResult{accepted, detail}));
    };
    auto checked = CheckConfiguration(m);
    if (!checked.ok()) {
      log->warn("refused the operator's committee list: {}", checked.status().message());
      answer(false, checked.status().message());
      return Status::Ok();
    }
    const auto& [list, aggregator] = *checked;
    log->info("the operator sent a committee of {} servers and aggregator {}: restarting with it",
              list.size(), aggregator.ToString());
    answer(true, "restarting with a committee of " + std::to_string(list.size()) + " servers");
    c->Flush([this, settings = std::move(checked).value()] {
      config.on_configure(settings.first, settings.second);
    });
    return Status::Ok();
  }

  Result<std::pair<std::vector<PeerAddress>, PeerAddress>> CheckConfiguration(
      const Configure& m) const {
    if (m.instance_id != instance_id) return Status::Mismatch("another instance");
    if (m.committee.empty()) return Status::InvalidArgument("an empty committee list");
    std::vector<PeerAddress> list;
    for (const auto& [peer, address] : m.committee) {
      auto ep = ParseEndpoint(address);
      if (!ep.ok()) return ep.status();
      list.push_back(PeerAddress{peer, *ep});
    }
    TDX_TRY(CheckCommittee(list));
    auto agg = ParseEndpoint(m.aggregator_address);
    if (!agg.ok()) return agg.status().WithContext("aggregator");
    return std::make_pair(std::move(list), PeerAddress{m.aggregator, *agg});
  }

  void SendRoster(const ConnectionPtr& c) {
    c->Send(MessageType::kRoster, Encode(MyRoster()));
    auto role = roles.find(c);
    if (role != roles.end() && role->second == NodeRole::kAggregator) {
      Admitted snapshot;
      for (const auto& [id, key] : admitted) snapshot.clients.emplace_back(id, key);
      c->Send(MessageType::kAdmitted, Encode(snapshot));
    }
  }

  void MaybeFormCommittee() {
    if (committee || config.committee.empty()) return;
    std::vector<ServerInfo> infos;
    for (const auto& e : config.committee) {
      auto it = server_x25519.find(e.peer);
      if (it == server_x25519.end()) return;
      // The Ed25519 key of a peer is the one its TLS certificate showed (its PeerId matched).
      PublicKey ed{};
      if (e.peer == self) {
        ed = config.identity.public_key;
      } else {
        bool got = false;
        for (const auto& [c, r] : roles) {
          if (r == NodeRole::kServer && c->peer() == e.peer) {
            ed = c->peer_key();
            got = true;
            break;
          }
        }
        if (!got) return;
      }
      infos.push_back(ServerInfo{e.peer, ed, it->second});
    }
    auto made = Committee::Make(std::move(infos));
    if (!made.ok()) {
      log->error("committee: {}", made.status().message());
      return;
    }
    ServerConfig sc;
    sc.params = config.common.params;
    sc.instance_id = instance_id;
    sc.identity = config.identity;
    sc.dh = config.dh;
    sc.tdx_gating = config.tdx_gating;
    // A client's evidence was judged at its Hello (AdmitHelloOffLoop, the client policy); what
    // reaches the registry is a bundle whose keys that attestation bound.
    sc.evidence_check = [](const ClientBundle&, const std::array<std::uint8_t, 64>&) {
      return Status::Ok();
    };
    sc.threads = config.threads;
    auto s = Server::Create(std::move(sc), *made);
    if (!s.ok()) {
      log->error("committee: {}", s.status().message());
      return;
    }
    committee = std::move(made).value();
    server.emplace(std::move(s).value());
    for (std::size_t i = 0; i < committee->servers.size(); ++i) {
      if (committee->servers[i].peer == self) my_index = i;
    }
    RegisterSavedClients();
    log->info("committee formed: {} servers, committee id {}", committee->servers.size(),
              ShortHex(committee->Id(instance_id, config.common.params), 16));
    for (auto& c : waiting_roster) {
      if (c->open()) SendRoster(c);
    }
    waiting_roster.clear();
    // Startup: hear from the others what round they are at before opening any ourselves.
    startup_timer = loop.After(config.deadline, [this] {
      if (!round && !peer_round) ScheduleOpen(0, Clock::now());
    });
  }

  // The registry file's clients, admitted when this server ran before (with these admission
  // settings): in the registry before any client reconnects, and announced to the aggregator.
  void RegisterSavedClients() {
    std::size_t n = 0;
    for (const RegistryEntry& e : saved_clients) {
      ClientBundle b;
      b.instance_id = instance_id;
      b.ed25519 = e.ed25519;
      b.x25519 = e.x25519;
      b.evidence_kind = e.evidence_kind;
      if (Status st = server->Register(b); !st.ok()) {
        log->warn("registry: client {} not registered again: {}", ShortHex(ClientIdOf(e.x25519)),
                  st.message());
        continue;
      }
      admitted.emplace(ClientIdOf(e.x25519), e.ed25519);
      ++n;
    }
    if (saved_clients.empty()) return;
    saved_clients.clear();
    log->info("{} clients registered from the registry file ({} in registry)", n,
              server->registry_size());
    if (m_registry) m_registry->Set(double(server->registry_size()));
    stats.registry = server->registry_size();
  }

  void SendServers(MessageType type, const Bytes& body) {
    for (auto& [peer, c] : dialers.links()) c->Send(type, body);
  }
  void SendRole(NodeRole role, MessageType type, const Bytes& body) {
    for (auto& [c, r] : roles) {
      if (r == role && inbound.count(c)) c->Send(type, body);
    }
  }

  // --- clients ---

  std::map<ClientId, PublicKey> admitted;
  // Each client link's X25519 key and evidence kind, from its (judged) Hello.
  std::map<ConnectionPtr, std::pair<PublicKey, EvidenceKind>> client_links;

  Status OnClientFrame(const ConnectionPtr& c, MessageType type, ByteSpan body) {
    if (type != MessageType::kClientBundle) {
      return Status::Corrupt("unexpected frame type " + std::to_string(int(type)) +
                             " from a client");
    }
    TDX_ASSIGN_OR_RETURN(ClientBundle b, DecodeClientBundle(body, config.common.transport.limits));
    if (!server) return Status::Ok();  // no roster was sent yet; the client will re-send
    if (b.ed25519 != c->peer_key()) {
      return Status::Mismatch("bundle's Ed25519 key is not the connection's TLS key");
    }
    // The link's attestation, judged at the client's Hello, bound these keys: the bundle stands
    // for it (its own evidence field is not read).
    const auto link = client_links.find(c);
    if (link == client_links.end() || b.x25519 != link->second.first) {
      return Status::Mismatch("bundle's X25519 key is not the one the client's Hello attested");
    }
    b.evidence_kind = link->second.second;
    b.evidence.clear();
    const ClientId id = ClientIdOf(b.x25519);
    Status st = server->Register(b);
    if (!st.ok()) {
      if (m_rejected) m_rejected->Increment();
      const bool attestation = st.message().rfind("Attestation: ", 0) == 0;
      const std::string reason =
          attestation ? st.message().substr(std::string("Attestation: ").size()) : st.message();
      log->info("refused registration of client {}: {}", ShortHex(id), reason);
      if (config.strict_attestation) {
        c->Send(MessageType::kRejected, Encode(Rejected{id, reason}));
      }
      return Status::Ok();  // silent: the client sees nothing (ConnectTimeout)
    }
    c->Send(MessageType::kRegistered, Encode(Registered{id}));
    if (admitted.emplace(id, b.ed25519).second) {
      log->info("client {} registered ({} in registry)", ShortHex(id), server->registry_size());
      if (m_registry) m_registry->Set(double(server->registry_size()));
      stats.registry = server->registry_size();
      if (registry_store) registry_store->Changed([this] { return server->Clients(); });
      Admitted news;
      news.clients.emplace_back(id, b.ed25519);
      SendRole(NodeRole::kAggregator, MessageType::kAdmitted, Encode(news));
    }
    return Status::Ok();
  }

  // --- rounds ---

  Status OnAggregatorFrame(const ConnectionPtr& c, MessageType type, ByteSpan body) {
    if (type != MessageType::kAggregate) {
      return Status::Corrupt("unexpected frame type " + std::to_string(int(type)) +
                             " from the aggregator");
    }
    TDX_ASSIGN_OR_RETURN(Aggregate a, DecodeAggregate(body, config.common.transport.limits));
    if (!round || a.round != round->number) {
      if (round && a.round > round->number) Defer(a.round, c, type, body);
      return Status::Ok();
    }
    OnAggregate(std::move(a), c->peer_key());
    return Status::Ok();
  }

  void Defer(std::uint64_t r, const ConnectionPtr& c, MessageType type, ByteSpan body) {
    // Only the next couple of rounds, a bounded number of messages each.
    const std::uint64_t base = round ? round->number : 0;
    if (r > base + 2) return;
    auto& q = early[r];
    if (q.size() >= 4 * config.committee.size() + 4) return;
    q.emplace_back(c, std::make_pair(type, Bytes(body.begin(), body.end())));
  }

  Status OnServerFrame(const ConnectionPtr& c, MessageType type, ByteSpan body) {
    const auto& limits = config.common.transport.limits;
    // Until this server has heard from every committee member it takes part in no round (a
    // restarted server joins at the next opening), so a peer's round messages are dropped.
    if (!committee && type != MessageType::kHello) return Status::Ok();
    switch (type) {
      case MessageType::kRoundOpen: {
        TDX_ASSIGN_OR_RETURN(RoundOpen o, DecodeRoundOpen(body, limits));
        if (o.opener != c->peer() ||
            !committee->VerifySignature(o.opener, RoundOpenDigest(instance_id, params_hash, o),
                                        o.signature)) {
          return Status::Mismatch("RoundOpen with a bad signature");
        }
        OpenRound(o);
        return Status::Ok();
      }
      case MessageType::kShareCommit: {
        TDX_ASSIGN_OR_RETURN(ShareCommit m, DecodeShareCommit(body, limits));
        if (m.server != c->peer()) return Status::Mismatch("commit for another server");
        if (!Current(m.round, c, type, body)) return Status::Ok();
        round->commits[m.server] = m;
        Progress();
        return Status::Ok();
      }
      case MessageType::kShare: {
        TDX_ASSIGN_OR_RETURN(Share m, DecodeShare(body, limits));
        if (m.server != c->peer()) return Status::Mismatch("share for another server");
        if (!Current(m.round, c, type, body)) return Status::Ok();
        round->shares[m.server] = std::move(m);
        Progress();
        return Status::Ok();
      }
      case MessageType::kRecordVote: {
        TDX_ASSIGN_OR_RETURN(RecordVote m, DecodeRecordVote(body, limits));
        if (m.signature.server != c->peer()) return Status::Mismatch("vote for another server");
        if (!Current(m.round, c, type, body)) return Status::Ok();
        round->votes[m.signature.server] = m;
        Progress();
        return Status::Ok();
      }
      case MessageType::kAbortRecord: {
        TDX_ASSIGN_OR_RETURN(AbortRecord m, DecodeAbortRecord(body, limits));
        if (m.instance_id != instance_id || m.signatures.size() != 1 ||
            m.signatures[0].server != c->peer() ||
            !committee->VerifySignature(c->peer(), AbortDigest(m), m.signatures[0].signature)) {
          return Status::Mismatch("abort vote with a bad signature");
        }
        if (!Current(m.round, c, type, body)) return Status::Ok();
        OnPeerAbort(m);
        return Status::Ok();
      }
      case MessageType::kHello:
        return Status::Corrupt("second Hello");
      default:
        return Status::Corrupt("unexpected frame type " + std::to_string(int(type)) +
                               " from a server");
    }
  }

  // Whether a message for round r applies now; defers it when r is not opened here yet.
  bool Current(std::uint64_t r, const ConnectionPtr& c, MessageType type, ByteSpan body) {
    if (!round || r > round->number) {
      Defer(r, c, type, body);
      return false;
    }
    return r == round->number;
  }

  void ScheduleOpen(std::uint64_t r, Clock::time_point earliest) {
    const std::size_t n = committee->servers.size();
    const std::size_t leader = static_cast<std::size_t>(r % n);
    const std::size_t turn = (my_index + n - leader) % n;
    const auto due =
        std::max(earliest, Clock::now()) + static_cast<std::int64_t>(turn) * config.deadline;
    const auto delay = std::chrono::duration_cast<Millis>(due - Clock::now());
    open_timer = loop.After(std::max(delay, Millis(0)), [this, r] {
      if (round && round->number >= r) return;
      if (peer_round && *peer_round >= r && !round) return;
      RoundOpen o;
      o.round = r;
      o.opener = self;
      o.fold_ms = static_cast<std::uint32_t>(config.fold.count());
      o.deadline_ms = static_cast<std::uint32_t>(config.deadline.count());
      o.signature = Ed25519Sign(config.identity, RoundOpenDigest(instance_id, params_hash, o));
      if (r % committee->servers.size() != my_index) {
        log->info("round {}: its leader did not open it; opening it in turn", r);
      }
      SendServers(MessageType::kRoundOpen, Encode(o));
      OpenRound(o);
    });
  }

  void OpenRound(const RoundOpen& o) {
    if (round && o.round <= round->number) return;
    if (!round && peer_round && o.round <= *peer_round && o.opener == self) return;
    if (round && !round->done) {
      Abort(AbortReason::kMissingShare,
            "round " + std::to_string(o.round) + " opened before this round finished");
    }
    open_timer.reset();
    startup_timer.reset();
    PublishAbort();
    round.emplace();
    Round& rd = *round;
    rd.number = o.round;
    rd.opened = Clock::now();
    rd.deadline = Millis(std::min<std::uint32_t>(o.deadline_ms, 600000));
    stats.round = o.round;
    log->debug("round {} opened by {}", o.round, ShortHex(o.opener));
    // Tell the aggregator (it relays to clients) and the watchers.
    const Bytes body = Encode(o);
    SendRole(NodeRole::kAggregator, MessageType::kRoundOpen, body);
    const auto t0 = Clock::now();
    if (Status st = server->PrepareRound(o.round); !st.ok()) {
      log->error("round {}: prepare: {}", o.round, st.message());
    }
    ObservePhase("prepare", Seconds(t0));
    const std::uint64_t r = o.round;
    rd.deadline_timer = loop.After(rd.deadline, [this, r] { OnDeadline(r); });
    // Messages that arrived early.
    for (auto it = early.begin(); it != early.end();) {
      if (it->first < r) {
        it = early.erase(it);
      } else {
        ++it;
      }
    }
    if (auto it = early.find(r); it != early.end()) {
      auto msgs = std::move(it->second);
      early.erase(it);
      for (auto& [c, m] : msgs) {
        if (!c->open()) continue;
        Status st = OnFrame(c, m.first, m.second);
        if (!st.ok()) c->Close(st.message());
      }
    }
  }

  void OnAggregate(Aggregate a, const PublicKey& aggregator_key) {
    Round& rd = *round;
    if (rd.aggregate || rd.done) return;
    // Without a link to every other server this round cannot get all shares: say so now
    // rather than at the deadline.
    std::vector<PeerId> unreachable;
    for (const auto& srv : committee->servers) {
      if (srv.peer != self && !dialers.links().count(srv.peer)) unreachable.push_back(srv.peer);
    }
    if (!unreachable.empty()) {
      rd.aggregate = std::move(a);
      Abort(AbortReason::kMissingShare, "no link to server " + PeerList(unreachable));
      return;
    }
    if (a.entries.size() < config.min_participants) {
      rd.aggregate = std::move(a);
      Abort(AbortReason::kTooFewParticipants, std::to_string(rd.aggregate->entries.size()) +
                                                  " participants, minimum " +
                                                  std::to_string(config.min_participants));
      return;
    }
    const auto t0 = Clock::now();
    auto commit = server->Commit(a, aggregator_key);
    ObservePhase("commit", Seconds(t0));
    if (!commit.ok()) {
      rd.aggregate = std::move(a);
      Abort(AbortReason::kBadAggregate, commit.status().message());
      return;
    }
    if (m_partials) m_partials->Increment();
    rd.aggregate = std::move(a);
    rd.commits[self] = *commit;
    rd.phase_start = Clock::now();
    SendServers(MessageType::kShareCommit, Encode(*commit));
    Progress();
  }

  std::vector<PeerId> Missing(const auto& have) const {
    std::vector<PeerId> missing;
    for (const auto& s : committee->servers) {
      if (!have.count(s.peer)) missing.push_back(s.peer);
    }
    return missing;
  }

  void Progress() {
    Round& rd = *round;
    if (rd.done || !rd.aggregate) return;
    const std::size_t n = committee->servers.size();
    if (!rd.revealed && rd.commits.size() == n) {
      std::vector<ShareCommit> commits;
      for (auto& [p, c] : rd.commits) commits.push_back(c);
      auto share = server->Reveal(rd.number, commits);
      if (!share.ok()) {
        Abort(AbortReason::kShareMismatch, share.status().message());
        return;
      }
      ObservePhase("commit-exchange", Seconds(rd.phase_start));
      rd.phase_start = Clock::now();
      rd.revealed = true;
      rd.shares[self] = *share;
      SendServers(MessageType::kShare, Encode(*share));
    }
    if (rd.revealed && !rd.record && rd.shares.size() == n) {
      std::vector<Share> shares;
      for (auto& [p, s] : rd.shares) shares.push_back(s);
      auto record = server->Combine(*rd.aggregate, shares);
      if (!record.ok()) {
        Abort(AbortReason::kShareMismatch, record.status().message());
        return;
      }
      auto sig = server->SignRecord(*record, *rd.aggregate, shares);
      if (!sig.ok()) {
        Abort(AbortReason::kShareMismatch, sig.status().message());
        return;
      }
      ObservePhase("reveal-exchange", Seconds(rd.phase_start));
      rd.phase_start = Clock::now();
      rd.record = std::move(record).value();
      rd.record_digest = RecordDigest(*rd.record);
      RecordVote vote{rd.number, rd.record_digest, *sig};
      rd.votes[self] = vote;
      SendServers(MessageType::kRecordVote, Encode(vote));
    }
    if (rd.record && rd.votes.size() == n) {
      for (auto& [p, v] : rd.votes) {
        if (v.record_digest != rd.record_digest) {
          Abort(AbortReason::kShareMismatch,
                "server " + ShortHex(p) + " signed a different record");
          return;
        }
        if (!committee->VerifySignature(p, rd.record_digest, v.signature.signature)) {
          Abort(AbortReason::kShareMismatch,
                "server " + ShortHex(p) + "'s record signature is bad");
          return;
        }
        rd.record->signatures.push_back(v.signature);
      }
      Finalize();
    }
  }

  void Finalize() {
    Round& rd = *round;
    rd.done = true;
    rd.deadline_timer.reset();
    ObservePhase("sign-exchange", Seconds(rd.phase_start));
    ObservePhase("round", Seconds(rd.opened));
    ++stats.finalized;
    if (m_finalized) m_finalized->Increment();
    log->info("round {} finalized: {} participants", rd.number, rd.record->participants);
    const Bytes body = Encode(*rd.record);
    SendRole(NodeRole::kAggregator, MessageType::kBroadcastRecord, body);
    SendRole(NodeRole::kWatcher, MessageType::kBroadcastRecord, body);
    ScheduleOpen(rd.number + 1, rd.opened + config.period);
  }

  void OnDeadline(std::uint64_t r) {
    if (!round || round->number != r || round->done) return;
    Round& rd = *round;
    if (!rd.aggregate) {
      Abort(AbortReason::kBadAggregate, "no aggregate by the round deadline");
    } else if (rd.commits.size() < committee->servers.size()) {
      Abort(AbortReason::kMissingShare, "no commitment from " + PeerList(Missing(rd.commits)));
    } else if (rd.shares.size() < committee->servers.size()) {
      Abort(AbortReason::kMissingShare, "no share from " + PeerList(Missing(rd.shares)));
    } else {
      Abort(AbortReason::kMissingShare, "no record signature from " + PeerList(Missing(rd.votes)));
    }
  }

  void Abort(AbortReason reason, const std::string& detail) {
    Round& rd = *round;
    if (rd.done) return;
    rd.done = true;
    rd.deadline_timer.reset();
    AbortRecord a = server->MakeAbort(rd.number, reason, detail);
    a.signatures.push_back(server->SignAbort(a));
    SendServers(MessageType::kAbortRecord, Encode(a));
    ++stats.aborted;
    if (m_aborted) m_aborted->Add({{"reason", std::string(AbortReasonName(reason))}}).Increment();
    // An idle instance (no clients) aborts every round: not worth a warning.
    log->log(reason == AbortReason::kTooFewParticipants ? spdlog::level::info : spdlog::level::warn,
             "round {} aborted: {}: {}", rd.number, AbortReasonName(reason), detail);
    // Give the servers that are up a moment to add their signatures, then publish (at the
    // latest when the next round opens).
    PublishAbort();
    pending_abort = a;
    const Millis collect = std::min(Millis(250), rd.deadline / 4);
    abort_timer = loop.After(collect, [this] { PublishAbort(); });
    ScheduleOpen(rd.number + 1, rd.opened + config.period);
  }

  void PublishAbort() {
    abort_timer.reset();
    if (!pending_abort) return;
    auto& sigs = pending_abort->signatures;
    std::sort(sigs.begin(), sigs.end(), [](const RecordSignature& x, const RecordSignature& y) {
      return x.server < y.server;
    });
    const Bytes body = Encode(*pending_abort);
    pending_abort.reset();
    SendRole(NodeRole::kAggregator, MessageType::kAbortRecord, body);
    SendRole(NodeRole::kWatcher, MessageType::kAbortRecord, body);
  }

  void OnPeerAbort(const AbortRecord& m) {
    Round& rd = *round;
    if (!rd.done) {
      // A server that is up gave up on this round: join it, with its reason.
      log->info("round {}: server {} aborted it", rd.number, ShortHex(m.signatures[0].server));
      Abort(m.reason, m.detail);
    }
    if (pending_abort && pending_abort->round == m.round &&
        AbortDigest(*pending_abort) == AbortDigest(m)) {
      for (const auto& s : pending_abort->signatures) {
        if (s.server == m.signatures[0].server) return;
      }
      pending_abort->signatures.push_back(m.signatures[0]);
    }
  }
};

ServerNode::ServerNode(std::unique_ptr<State> s) : s_(std::move(s)) {}
ServerNode::~ServerNode() { Stop(); }

Result<std::unique_ptr<ServerNode>> ServerNode::Create(Loop& loop, ServerNodeConfig config) {
  auto s = std::make_unique<State>(loop, std::move(config));
  TDX_TRY(s->Init());
  return std::unique_ptr<ServerNode>(new ServerNode(std::move(s)));
}

Endpoint ServerNode::bound() const { return s_->listener->bound(); }
ServerStats ServerNode::stats() const {
  ServerStats st = s_->stats;
  if (s_->workers) st.attestation_cpu_s = s_->workers->cpu_seconds();
  return st;
}

void ServerNode::Stop() {
  if (!s_) return;
  if (s_->registry_store) s_->registry_store->Flush();
  s_->dialers.Stop();
  if (s_->listener) s_->listener->Close();
  s_->open_timer.reset();
  s_->startup_timer.reset();
  s_->abort_timer.reset();
  if (s_->round) {
    s_->round->deadline_timer.reset();
  }
  for (auto& c : s_->inbound) c->Abandon();
  s_->inbound.clear();
  s_->roles.clear();
}

}  // namespace zipnet::node
