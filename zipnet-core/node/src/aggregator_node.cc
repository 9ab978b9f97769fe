// zipnet aggregator node (see zipnet/node/node.h): dials every committee server, learns which
// clients all of them admitted, relays round openings to its clients, folds their envelopes
// until the fold deadline and sends the signed aggregate to every server; relays the first
// verified record or abort of each round back to the clients.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "tdxrt/hex.h"
#include "zipnet/aggregator.h"
#include "zipnet/node/common.h"
#include "zipnet/node/node.h"

namespace zipnet::node {

struct AggregatorNode::State {
  Loop& loop;
  AggregatorNodeConfig config;
  Hash instance_id{};
  Hash params_hash{};
  PeerId self{};
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<TlsIdentity> tls;
  std::unique_ptr<Listener> listener;
  PeerDialers dialers;
  std::map<PeerId, ConnectionPtr> servers;                   // links whose server sent its roster
  std::map<PeerId, std::map<ClientId, PublicKey>> admitted;  // per server
  std::optional<Committee> committee;
  std::optional<Roster> roster;
  std::set<ConnectionPtr> clients;
  std::set<ConnectionPtr> greeted;      // clients (and child aggregators) whose Hello was accepted
  std::set<ConnectionPtr> child_links;  // child aggregators' links, once greeted
  std::set<ClientId> announced;         // clients told to the children as admitted
  std::set<ConnectionPtr> greeted_servers;  // server links whose Hello was accepted
  std::unique_ptr<Aggregator> aggregator;
  std::optional<std::uint64_t> round;
  std::optional<std::uint64_t> relayed;  // last round whose outcome went to the clients
  std::unique_ptr<Timer> fold_timer;
  // Envelopes whose signatures are being checked on `verifiers` (by round and client: one each
  // at most), and whether the fold deadline passed while some were: the fold then waits for them.
  std::set<std::pair<std::uint64_t, ClientId>> checking;
  bool fold_due = false;
  std::chrono::steady_clock::time_point opened;

  prometheus::Counter* m_folded = nullptr;
  prometheus::Counter* m_rejected = nullptr;
  prometheus::Gauge* m_clients = nullptr;
  prometheus::Histogram* m_fold = nullptr;
  prometheus::Family<prometheus::Counter>* m_refused = nullptr;

  // Last: destroyed first, so no continuation of theirs runs on a half-destroyed state.
  std::unique_ptr<AttestationWorkers> workers;
  std::unique_ptr<AttestationWorkers> verifiers;  // envelope signatures (config.verify_threads)

  State(Loop& l, AggregatorNodeConfig c) : loop(l), config(std::move(c)) {}

  // Our Hello on `c`, with our attestation for that session (made off the loop); a failure to
  // attest closes it.
  void SendHello(const ConnectionPtr& c) {
    node::SendHello(*workers, config.common, NodeRole::kAggregator, c, config.identity.public_key,
                    {}, nullptr, [this, c](const Status& st) {
                      log->error("{}", st.message());
                      c->Close(st.message());
                    });
  }

  Status Init() {
    instance_id = config.common.instance_id();
    params_hash = config.common.params.ParamsHash();
    self = PeerIdOf(config.identity.public_key);
    log = Logger("zipnet_aggregator");
    workers = std::make_unique<AttestationWorkers>(loop, config.common.attestation_threads);
    verifiers = std::make_unique<AttestationWorkers>(loop, config.verify_threads);
    if (auto* r = config.common.metrics.get()) {
      m_folded = &prometheus::BuildCounter()
                      .Name("zipnet_aggregator_envelopes_folded_total")
                      .Help("Envelopes folded into aggregates")
                      .Register(*r)
                      .Add({});
      m_rejected = &prometheus::BuildCounter()
                        .Name("zipnet_aggregator_envelopes_rejected_total")
                        .Help("Envelopes refused (unregistered, bad signature, duplicate, late)")
                        .Register(*r)
                        .Add({});
      m_clients = &prometheus::BuildGauge()
                       .Name("zipnet_aggregator_clients_connected")
                       .Help("Client connections")
                       .Register(*r)
                       .Add({});
      m_refused = &RefusedPeersMetric(*r);
      m_fold = &prometheus::BuildHistogram()
                    .Name("zipnet_aggregator_fold_seconds")
                    .Help("From round opening to the aggregate being sent")
                    .Register(*r)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                                                     2.5, 5});
    }
    aggregator = std::make_unique<Aggregator>(
        AggregatorConfig{config.common.params, instance_id, config.identity},
        [this](const ClientId& id) { return Lookup(id); });
    TDX_ASSIGN_OR_RETURN(tls, TlsIdentity::Create(config.identity));
    TDX_ASSIGN_OR_RETURN(listener,
                         Listener::Start(loop, tls, config.listen, config.common.transport,
                                         [this](ConnectionPtr c) { Accepted(c); }));
    log->info("zipnet up: network={} instance={} peer={} role=aggregator listen={}",
              config.common.universe, config.common.instance, tdxrt::ToHex(self),
              listener->bound().ToString());
    // A leaf's parent stands where a root's servers do: it sends the roster, admissions, round
    // openings and outcomes, and takes the aggregate.
    const std::vector<PeerAddress> upstream =
        config.parent ? std::vector<PeerAddress>{*config.parent} : config.servers;
    if (config.parent) {
      log->info("leaf of aggregator {} at {}", ShortHex(config.parent->peer),
                config.parent->endpoint.ToString());
    }
    dialers = PeerDialers(
        loop, tls, upstream, config.common.transport,
        {.on_frame = [this](const ConnectionPtr& c, MessageType t,
                            ByteSpan b) { return OnServerFrame(c, t, b); },
         .on_up = [this](const ConnectionPtr& c) { SendHello(c); },
         .on_down =
             [this](const ConnectionPtr& c, const std::string& why) {
               log->info("link to {} {} closed: {}", UpstreamName(), ShortHex(c->peer()), why);
               greeted_servers.erase(c);
               if (auto it = servers.find(c->peer()); it != servers.end() && it->second == c) {
                 servers.erase(it);
                 admitted.erase(c->peer());
               }
             },
         .on_failed =
             [this](const PeerId& peer, const std::string& why) {
               log->debug("dial {} {}: {}", UpstreamName(), ShortHex(peer), why);
             }});
    return Status::Ok();
  }

  const char* UpstreamName() const { return config.parent ? "parent aggregator" : "server"; }

  // A client counts as registered when every committee server this aggregator is connected to
  // admitted it with the same key. A server that is down cannot vouch for anyone, but the
  // round aborts without its share anyway ("no commitment from ..."), which says more than an
  // empty aggregate would.
  std::optional<PublicKey> Lookup(const ClientId& id) const {
    if (!committee) return std::nullopt;
    if (config.parent) {  // a leaf: the clients its parent announced
      auto per = admitted.find(config.parent->peer);
      if (per == admitted.end()) return std::nullopt;
      auto it = per->second.find(id);
      if (it == per->second.end()) return std::nullopt;
      return it->second;
    }
    std::optional<PublicKey> key;
    for (const auto& s : committee->servers) {
      if (!servers.count(s.peer)) continue;
      auto per = admitted.find(s.peer);
      if (per == admitted.end()) return std::nullopt;
      auto it = per->second.find(id);
      if (it == per->second.end() || (key && *key != it->second)) return std::nullopt;
      key = it->second;
    }
    return key;
  }

  Status OnServerFrame(const ConnectionPtr& c, MessageType type, ByteSpan body) {
    const auto& limits = config.common.transport.limits;
    const PeerId& peer = c->peer();
    switch (type) {
      case MessageType::kHello: {
        if (greeted_servers.count(c)) return Status::Corrupt("a second Hello");
        Status st = ExpectHelloOffLoop(
            *workers, body, config.common, c,
            config.parent ? NodeRole::kAggregator : NodeRole::kServer, *log, m_refused,
            [this, c](Hello, Status verdict, std::optional<Refusal>) {
              if (!verdict.ok()) {
                log->warn("{} {}: {}", UpstreamName(), ShortHex(c->peer()), verdict.message());
                return verdict;
              }
              greeted_servers.insert(c);
              return Status::Ok();
            });
        if (!st.ok()) log->warn("{} {}: {}", UpstreamName(), ShortHex(peer), st.message());
        return st;
      }
      default:
        break;
    }
    if (!greeted_servers.count(c)) {
      return Status::Corrupt("frame type " + std::to_string(int(type)) + " before the Hello");
    }
    switch (type) {
      case MessageType::kRoster: {
        TDX_ASSIGN_OR_RETURN(Roster r, DecodeRoster(body, limits));
        TDX_TRY(AcceptRoster(peer, r));
        servers[peer] = c;
        admitted[peer].clear();
        if (config.parent) {
          log->info("parent aggregator {} connected", ShortHex(peer));
        } else {
          log->info("server {} connected ({}/{})", ShortHex(peer), servers.size(),
                    config.servers.size());
        }
        return Status::Ok();
      }
      case MessageType::kAdmitted: {
        if (!servers.count(peer)) return Status::Corrupt("Admitted before the roster");
        TDX_ASSIGN_OR_RETURN(Admitted a, DecodeAdmitted(body, limits));
        auto& set = admitted[peer];
        for (const auto& [id, key] : a.clients) set[id] = key;
        AnnounceToChildren(a);
        return Status::Ok();
      }
      case MessageType::kRoundOpen: {
        TDX_ASSIGN_OR_RETURN(RoundOpen o, DecodeRoundOpen(body, limits));
        if (!committee ||
            !committee->VerifySignature(o.opener, RoundOpenDigest(instance_id, params_hash, o),
                                        o.signature)) {
          return Status::Mismatch("RoundOpen with a bad signature");
        }
        OnRoundOpen(o, body);
        return Status::Ok();
      }
      case MessageType::kBroadcastRecord: {
        TDX_ASSIGN_OR_RETURN(BroadcastRecord rec, DecodeBroadcastRecord(body, limits));
        if (!committee) return Status::Ok();
        TDX_TRY(VerifyRecord(rec, *committee, instance_id, config.common.params));
        Relay(rec.round, MessageType::kBroadcastRecord, body);
        return Status::Ok();
      }
      case MessageType::kAbortRecord: {
        TDX_ASSIGN_OR_RETURN(AbortRecord a, DecodeAbortRecord(body, limits));
        if (!committee) return Status::Ok();
        TDX_TRY(VerifyAbort(a, *committee, instance_id));
        Relay(a.round, MessageType::kAbortRecord, body);
        return Status::Ok();
      }
      default:
        return Status::Corrupt("unexpected frame type " + std::to_string(int(type)) +
                               " from a server");
    }
  }

  Status AcceptRoster(const PeerId& from, const Roster& r) {
    if (r.instance_id != instance_id || !(r.params == config.common.params)) {
      return Status::Mismatch("roster of another instance");
    }
    if (config.parent) {
      // A leaf takes the committee its parent knows; the roster names the parent (the root).
      if (r.aggregator != config.parent->peer) {
        return Status::Mismatch("the parent's roster names another aggregator");
      }
    } else {
      std::set<PeerId> want, got;
      for (const auto& p : config.servers) want.insert(p.peer);
      for (const auto& s : r.servers) got.insert(s.peer);
      if (want != got) {
        log->error("server {}'s roster lists other servers than ZIPNET_BOOTSTRAP", ShortHex(from));
        return Status::Mismatch("roster differs from the bootstrap list");
      }
    }
    if (!config.parent && r.aggregator != self) {
      log->error("server {} names aggregator {}, not this one ({})", ShortHex(from),
                 ShortHex(r.aggregator), ShortHex(self));
      return Status::Mismatch("roster names another aggregator");
    }
    auto made = Committee::Make(r.servers);
    if (!made.ok()) return made.status().WithContext("roster");
    if (committee) {
      if (made->Id(instance_id, config.common.params) !=
          committee->Id(instance_id, config.common.params)) {
        log->error("server {}'s roster has other keys than the committee already known",
                   ShortHex(from));
        return Status::Mismatch("roster disagrees with the known committee");
      }
      return Status::Ok();
    }
    committee = std::move(made).value();
    roster = r;
    log->info("committee known: {} servers", committee->servers.size());
    for (const auto& c : child_links) GreetChild(c);
    return Status::Ok();
  }

  // --- child aggregators (this one is a tree's root or inner node) ---

  // A child learns the roster and every client admitted by all servers; then the news.
  void GreetChild(const ConnectionPtr& c) {
    if (!roster) return;  // sent once the committee is known
    c->Send(MessageType::kRoster, Encode(*roster));
    Admitted snapshot;
    std::set<ClientId> seen;
    for (const auto& [server, set] : admitted) {
      for (const auto& [id, key] : set) {
        if (!seen.insert(id).second) continue;
        if (auto k = Lookup(id)) snapshot.clients.emplace_back(id, *k);
      }
    }
    for (const auto& [id, key] : snapshot.clients) announced.insert(id);
    c->Send(MessageType::kAdmitted, Encode(snapshot));
  }

  // Clients of `news` that every server has now admitted, told to the children.
  void AnnounceToChildren(const Admitted& news) {
    if (child_links.empty()) return;
    Admitted now;
    for (const auto& [id, key] : news.clients) {
      if (announced.count(id)) continue;
      if (auto k = Lookup(id)) {
        now.clients.emplace_back(id, *k);
        announced.insert(id);
      }
    }
    if (now.clients.empty()) return;
    const Bytes body = Encode(now);
    for (const auto& c : child_links) c->Send(MessageType::kAdmitted, body);
  }

  Status OnChildFrame(const ConnectionPtr& c, MessageType type, ByteSpan body) {
    if (type != MessageType::kAggregate) {
      return Status::Corrupt("unexpected frame type " + std::to_string(int(type)) +
                             " from a child aggregator");
    }
    TDX_ASSIGN_OR_RETURN(Aggregate a, DecodeAggregate(body, config.common.transport.limits));
    if (!round || a.round != *round || !Collecting()) {
      if (m_rejected) m_rejected->Increment();
      log->info("late aggregate of round {} from child aggregator {} ({} envelopes)", a.round,
                ShortHex(c->peer()), a.entries.size());
      return Status::Ok();
    }
    if (Status st = aggregator->AddAggregate(a, c->peer_key()); !st.ok()) {
      if (m_rejected) m_rejected->Increment();
      log->warn("refused the aggregate of child aggregator {}: {}", ShortHex(c->peer()),
                st.message());
      return Status::Ok();
    }
    if (m_folded) m_folded->Increment(double(a.entries.size()));
    log->debug("round {}: {} envelopes from child aggregator {}", a.round, a.entries.size(),
               ShortHex(c->peer()));
    return Status::Ok();
  }

  void OnRoundOpen(const RoundOpen& o, ByteSpan body) {
    if (round && o.round <= *round) return;
    if (round && Collecting()) Fold();  // the previous round's fold is overdue: send it now
    round = o.round;
    opened = std::chrono::steady_clock::now();
    if (Status st = aggregator->BeginRound(o.round); !st.ok()) {
      log->error("round {}: {}", o.round, st.message());
      return;
    }
    for (const auto& c : greeted) c->Send(MessageType::kRoundOpen, body);
    // A leaf folds a quarter of the fold time early, so that its parent has its aggregate in time.
    const std::uint32_t fold_ms = std::min<std::uint32_t>(o.fold_ms, 600000);
    const Millis fold(config.parent ? fold_ms - fold_ms / 4 : fold_ms);
    fold_timer = loop.After(fold, [this] {
      fold_timer.reset();
      if (checking.empty()) {
        Fold();
      } else {
        fold_due = true;  // the last signature check in flight folds
      }
    });
  }

  // Whether envelopes of the current round are still taken.
  bool Collecting() const { return fold_timer != nullptr || fold_due; }

  void Fold() {
    fold_timer.reset();
    fold_due = false;
    const Aggregate a = aggregator->Finish();
    const Bytes body = Encode(a);
    for (const auto& [p, c] : servers) c->Send(MessageType::kAggregate, body);
    if (m_fold) {
      m_fold->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - opened).count());
    }
    if (config.parent) {
      log->info("round {}: aggregate of {} envelopes sent to the parent", a.round,
                a.entries.size());
    } else {
      log->info("round {}: aggregate of {} envelopes sent to {} servers", a.round, a.entries.size(),
                servers.size());
    }
  }

  void Relay(std::uint64_t r, MessageType type, ByteSpan body) {
    if (relayed && r <= *relayed) return;
    relayed = r;
    for (const auto& c : greeted) c->Send(type, body);
  }

  // --- clients ---

  void Accepted(ConnectionPtr c) {
    clients.insert(c);
    if (m_clients) m_clients->Set(double(clients.size()));
    c->Start(
        [this, c = std::weak_ptr<Connection>(c)](MessageType t, ByteSpan b) {
          auto conn = c.lock();
          return conn ? OnClientFrame(conn, t, b) : Status::Ok();
        },
        [this, c](const std::string& why) {
          log->debug("client connection {} closed: {}", c->remote(), why);
          clients.erase(c);
          greeted.erase(c);
          if (child_links.erase(c)) {
            log->info("child aggregator {} disconnected: {}", ShortHex(c->peer()), why);
          }
          if (m_clients) m_clients->Set(double(clients.size()));
        });
  }

  Status OnClientFrame(const ConnectionPtr& c, MessageType type, ByteSpan body) {
    const auto& limits = config.common.transport.limits;
    if (!greeted.count(c)) {
      if (type != MessageType::kHello) return Status::Corrupt("first frame is not Hello");
      TDX_ASSIGN_OR_RETURN(Hello h, DecodePeerHello(body, limits, *c, *log));
      if (h.instance_id != instance_id || !(h.params == config.common.params)) {
        log->info("refused client from {}: another instance or other parameters", c->remote());
        return Status::Mismatch("instance differs");
      }
      const bool child = h.role == NodeRole::kAggregator && config.children.count(c->peer());
      if (h.role != NodeRole::kClient && h.role != NodeRole::kWatcher && !child) {
        if (h.role == NodeRole::kAggregator) {
          log->info("refused aggregator {} from {}: not one of ZIPNET_CHILDREN",
                    ShortHex(c->peer()), c->remote());
        }
        return Status::Mismatch(
            "only clients, watchers and the child aggregators connect to the aggregator");
      }
      return AdmitHelloOffLoop(
          *workers, config.common, std::move(h), c, *log, m_refused,
          [this, c](Hello judged, Status verdict, std::optional<Refusal>) {
            TDX_TRY(verdict);
            greeted.insert(c);
            if (judged.role == NodeRole::kAggregator) {
              child_links.insert(c);
              c->Authenticated(config.common.transport.limits.max_frame);
              SendHello(c);
              GreetChild(c);
              log->info("child aggregator {} connected ({}/{})", ShortHex(c->peer()),
                        child_links.size(), config.children.size());
              return Status::Ok();
            }
            // A client sends envelopes (a vector and a little); a watcher
            // nothing.
            c->Authenticated(judged.role == NodeRole::kClient
                                 ? EnvelopeFrameLimit(config.common.params)
                                 : config.common.transport.unauthenticated_max_frame);
            SendHello(c);
            return Status::Ok();
          });
    }
    if (child_links.count(c)) return OnChildFrame(c, type, body);
    if (type != MessageType::kEnvelope) {
      return Status::Corrupt("unexpected frame type " + std::to_string(int(type)) +
                             " from a client");
    }
    TDX_ASSIGN_OR_RETURN(Envelope e, DecodeEnvelope(body, limits));
    if (!round || e.round != *round || !Collecting()) {
      if (m_rejected) m_rejected->Increment();
      log->debug("late or early envelope for round {} from client {}", e.round,
                 ShortHex(e.client_id));
      return Status::Ok();
    }
    CheckEnvelope(std::move(e));
    return Status::Ok();
  }

  // Registration and duplicates here, the signature on the verifiers, the fold back here.
  void CheckEnvelope(Envelope e) {
    auto key = aggregator->Precheck(e);
    if (key.ok() && !checking.emplace(e.round, e.client_id).second) {
      key = Status::Mismatch("duplicate client id " + tdxrt::ToHex(e.client_id) + " in round " +
                             std::to_string(e.round));
    }
    if (!key.ok()) {
      Refused(e, key.status());
      return;
    }
    auto env = std::make_shared<Envelope>(std::move(e));
    auto verdict = std::make_shared<Status>(Status::Ok());
    verifiers->Run([env, verdict, key = std::move(key).value(),
                    id = instance_id] { *verdict = VerifyEnvelopeSignature(id, *env, key); },
                   [this, env, verdict] {
                     checking.erase({env->round, env->client_id});
                     Status st = *verdict;
                     if (st.ok() && !Collecting()) st = Status::Mismatch("checked after the fold");
                     if (st.ok()) st = aggregator->FoldVerified(*env);
                     if (st.ok()) {
                       if (m_folded) m_folded->Increment();
                     } else {
                       Refused(*env, st);
                     }
                     if (fold_due && checking.empty()) Fold();
                   });
  }

  void Refused(const Envelope& e, const Status& why) {
    if (m_rejected) m_rejected->Increment();
    log->debug("refused envelope from client {}: {}", ShortHex(e.client_id), why.message());
  }
};

AggregatorNode::AggregatorNode(std::unique_ptr<State> s) : s_(std::move(s)) {}
AggregatorNode::~AggregatorNode() { Stop(); }

Result<std::unique_ptr<AggregatorNode>> AggregatorNode::Create(Loop& loop,
                                                               AggregatorNodeConfig config) {
  auto s = std::make_unique<State>(loop, std::move(config));
  TDX_TRY(s->Init());
  return std::unique_ptr<AggregatorNode>(new AggregatorNode(std::move(s)));
}

Endpoint AggregatorNode::bound() const { return s_->listener->bound(); }

void AggregatorNode::Stop() {
  if (!s_) return;
  s_->dialers.Stop();
  if (s_->listener) s_->listener->Close();
  s_->fold_timer.reset();
  s_->fold_due = false;
  for (auto& c : s_->clients) c->Abandon();
  s_->servers.clear();
  s_->clients.clear();
  s_->greeted.clear();
  s_->greeted_servers.clear();
}

}  // namespace zipnet::node
