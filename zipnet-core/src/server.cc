// zipnet committee server (see zipnet/server.h).
#include "zipnet/server.h"

#include <algorithm>

#include "parallel.h"
#include "tdxrt/hex.h"
#include "tdxrt/report_data.h"
#include "zipnet/aggregator.h"

namespace zipnet {

std::array<std::uint8_t, 64> BundleReportData(const ClientBundle& b) {
  const std::vector<ByteSpan> fields = {b.instance_id, b.ed25519, b.x25519};
  return tdxrt::BindReportData("zipnet/bundle/v1", fields);
}

Server::Server(ServerConfig config, Committee committee)
    : config_(std::move(config)),
      committee_(std::move(committee)),
      peer_(PeerIdOf(config_.identity.public_key)),
      committee_id_(committee_.Id(config_.instance_id, config_.params)),
      params_hash_(config_.params.ParamsHash()) {}

Result<Server> Server::Create(ServerConfig config, Committee committee) {
  TDX_TRY(config.params.Validate());
  const PeerId me = PeerIdOf(config.identity.public_key);
  const ServerInfo* self = committee.Find(me);
  if (self == nullptr) {
    return Status::InvalidArgument("server " + tdxrt::ToHex(me) + " is not in the committee");
  }
  if (self->x25519 != config.dh.public_key) {
    return Status::InvalidArgument("server " + tdxrt::ToHex(me) +
                                   ": the committee lists another X25519 key");
  }
  if (config.tdx_gating && !config.evidence_check) {
    return Status::InvalidArgument("a TDX-gated server needs an evidence check (policy)");
  }
  if (config.threads == 0) config.threads = 1;
  return Server(std::move(config), std::move(committee));
}

ServerInfo Server::info() const {
  return ServerInfo{peer_, config_.identity.public_key, config_.dh.public_key};
}

Status Server::Register(const ClientBundle& b) {
  if (b.instance_id != config_.instance_id) {
    return Status::Mismatch("bundle for another instance");
  }
  if (b.evidence_kind == EvidenceKind::kMock) {
    if (config_.tdx_gating) {
      return Status::Mismatch("Attestation: mock evidence is refused by a TDX-gated committee");
    }
  } else if (config_.evidence_check) {
    if (Status st = config_.evidence_check(b, BundleReportData(b)); !st.ok()) {
      return Status::Mismatch("Attestation: " + st.message());
    }
  } else if (config_.tdx_gating) {
    return Status::Mismatch("Attestation: no policy to check TDX evidence with");
  }
  const ClientId id = ClientIdOf(b.x25519);
  if (auto it = registry_.find(ShortIdOf(id)); it != registry_.end()) {
    if (it->second.id != id) {
      return Status::Mismatch("client " + tdxrt::ToHex(id) + " shares its short id " +
                              tdxrt::ToHex(ShortIdOf(id)) + " with registered client " +
                              tdxrt::ToHex(it->second.id) + " (it must make other keys)");
    }
    if (it->second.ed25519 != b.ed25519) {
      return Status::Mismatch("client " + tdxrt::ToHex(id) +
                              " is registered with another Ed25519 key");
    }
    return Status::Ok();
  }
  auto shared = X25519Shared(config_.dh.secret, b.x25519);
  if (!shared.ok()) return shared.status().WithContext("client " + tdxrt::ToHex(id));
  registry_.emplace(ShortIdOf(id), Registered{id, b.ed25519, b.x25519, b.evidence_kind,
                                              EpochRatchet(*shared, committee_id_), std::nullopt});
  return Status::Ok();
}

const Server::Registered* Server::Find(const ClientId& id) const {
  auto it = registry_.find(ShortIdOf(id));
  if (it == registry_.end() || it->second.id != id) return nullptr;
  return &it->second;
}

std::optional<PublicKey> Server::Lookup(const ClientId& id) const {
  const Registered* reg = Find(id);
  if (reg == nullptr) return std::nullopt;
  return reg->ed25519;
}

std::vector<RegistryEntry> Server::Clients() const {
  std::vector<const Registered*> regs;
  regs.reserve(registry_.size());
  for (const auto& [s, reg] : registry_) regs.push_back(&reg);
  std::sort(regs.begin(), regs.end(),
            [](const Registered* a, const Registered* b) { return a->id < b->id; });
  std::vector<RegistryEntry> out;
  out.reserve(regs.size());
  for (const Registered* r : regs) out.push_back({r->ed25519, r->x25519, r->evidence_kind});
  return out;
}

std::optional<ClientId> Server::Resolve(const ShortClientId& client) const {
  auto it = registry_.find(client);
  if (it == registry_.end()) return std::nullopt;
  return it->second.id;
}

void Server::WipePrepared() {
  for (auto& [id, reg] : registry_) reg.prepared.reset();  // Key16 wipes itself
}

Status Server::PrepareRound(std::uint64_t round) {
  WipePrepared();
  std::vector<Registered*> regs;
  for (auto& [id, reg] : registry_) {
    if (config_.params.epoch(round) >= reg.ratchet.epoch()) regs.push_back(&reg);
  }
  ForEachOnThreads(config_.threads, regs.size(), [&](std::size_t i) {
    auto key = regs[i]->ratchet.PadKey(config_.params, round);
    if (key.ok()) regs[i]->prepared.emplace(round, *key);
  });
  return Status::Ok();
}

Result<Bytes> Server::ComputeShare(std::uint64_t round, std::span<const ClientId> ids) {
  const RoundParams& p = config_.params;
  // Duplicates: an aggregate's ids are strictly increasing already (checked in O(n)); anything
  // else is sorted first.
  const auto strictly_less = [](const ClientId& a, const ClientId& b) { return a < b; };
  if (std::adjacent_find(ids.begin(), ids.end(), [&](const ClientId& a, const ClientId& b) {
        return !strictly_less(a, b);
      }) != ids.end()) {
    std::vector<ClientId> sorted(ids.begin(), ids.end());
    std::sort(sorted.begin(), sorted.end());
    if (auto dup = std::adjacent_find(sorted.begin(), sorted.end()); dup != sorted.end()) {
      return Status::InvalidArgument("client " + tdxrt::ToHex(*dup) + " is listed twice");
    }
  }
  // Clients are split into contiguous chunks, one per thread; each thread looks its clients up
  // (concurrent reads of the registry), derives or takes their pad keys and XORs the pads into
  // its own buffer. XOR is commutative, so the result does not depend on the split. A client
  // that is unknown or whose round lies in an erased epoch fails the call (the lowest index
  // is reported); PadKey refuses erased epochs without side effects.
  const std::size_t threads =
      std::max<std::size_t>(1, std::min<std::size_t>(config_.threads, ids.size()));
  std::vector<Bytes> partial(threads, Bytes(p.vector_len(), 0));
  std::vector<std::optional<std::pair<std::size_t, Status>>> failure(threads);
  auto work = [&](std::size_t t) {
    PadXor pads;
    const std::size_t begin = ids.size() * t / threads;
    const std::size_t end = ids.size() * (t + 1) / threads;
    for (std::size_t i = begin; i < end; ++i) {
      auto it = registry_.find(ShortIdOf(ids[i]));
      if (it == registry_.end() || it->second.id != ids[i]) {
        failure[t].emplace(
            i, Status::NotFound("client " + tdxrt::ToHex(ids[i]) + " is not registered"));
        return;
      }
      Registered& reg = it->second;
      if (reg.prepared && reg.prepared->first == round) {
        pads.Apply(reg.prepared->second, partial[t]);
        continue;
      }
      auto key = reg.ratchet.PadKey(p, round);
      if (!key.ok()) {
        failure[t].emplace(i, Status::InvalidArgument("round " + std::to_string(round) +
                                                      " belongs to an erased epoch"));
        return;
      }
      pads.Apply(*key, partial[t]);
    }
  };
  RunOnThreads(threads, work);
  for (const auto& f : failure) {
    if (f) return f->second;  // chunks are in index order: the first failure has the lowest index
  }
  for (std::size_t t = 1; t < threads; ++t) XorInto(partial[0], partial[t]);
  WipePrepared();
  return std::move(partial[0]);
}

Result<ShareCommit> Server::Commit(const Aggregate& a, const PublicKey& aggregator_key) {
  TDX_TRY(VerifyAggregateSignature(a, aggregator_key, config_.instance_id, config_.params));
  if (rounds_.count(a.round)) {
    return Status::InvalidArgument("round " + std::to_string(a.round) + " was already committed");
  }
  std::vector<ClientId> ids;
  ids.reserve(a.entries.size());
  for (const auto& e : a.entries) {
    const auto id = Resolve(e.client);
    if (!id) return Status::NotFound("client " + tdxrt::ToHex(e.client) + " is not registered");
    ids.push_back(*id);
  }
  TDX_ASSIGN_OR_RETURN(Bytes share, ComputeShare(a.round, ids));
  RoundState st;
  st.aggregate_hash = AggregateContentHash(a);
  st.share = std::move(share);
  ShareCommit c;
  c.round = a.round;
  c.server = peer_;
  c.aggregate_hash = st.aggregate_hash;
  c.share_hash = Sha256({st.share});
  c.signature = Ed25519Sign(config_.identity, CommitDigest(config_.instance_id, c));
  rounds_[a.round] = std::move(st);
  // Old rounds are not needed once their record or abort is out.
  while (rounds_.size() > 8) rounds_.erase(rounds_.begin());
  return c;
}

Result<Share> Server::Reveal(std::uint64_t round, std::span<const ShareCommit> commits) {
  auto it = rounds_.find(round);
  if (it == rounds_.end()) {
    return Status::NotFound("round " + std::to_string(round) + " has no share here");
  }
  RoundState& st = it->second;
  std::map<PeerId, Hash> got;
  for (const auto& c : commits) {
    const ServerInfo* s = committee_.Find(c.server);
    if (s == nullptr || c.round != round) continue;
    if (!committee_.VerifySignature(s->peer, CommitDigest(config_.instance_id, c), c.signature)) {
      return Status::Mismatch("commitment of " + tdxrt::ToHex(c.server) + ": bad signature");
    }
    if (c.aggregate_hash != st.aggregate_hash) {
      return Status::Mismatch("commitment of " + tdxrt::ToHex(c.server) +
                              " is for another aggregate");
    }
    got[c.server] = c.share_hash;
  }
  for (const auto& s : committee_.servers) {
    if (!got.count(s.peer)) {
      return Status::NotFound("no commitment from server " + tdxrt::ToHex(s.peer) +
                              ": the share stays secret");
    }
  }
  st.commits = std::move(got);
  Share out;
  out.round = round;
  out.server = peer_;
  out.aggregate_hash = st.aggregate_hash;
  out.share = st.share;
  out.signature = Ed25519Sign(config_.identity, ShareDigest(config_.instance_id, out));
  return out;
}

Result<BroadcastRecord> Server::Combine(const Aggregate& a, std::span<const Share> shares) const {
  auto it = rounds_.find(a.round);
  if (it == rounds_.end() || it->second.commits.empty()) {
    return Status::NotFound("round " + std::to_string(a.round) + ": commitments not seen here");
  }
  const RoundState& st = it->second;
  const Hash ah = AggregateContentHash(a);
  if (ah != st.aggregate_hash) return Status::Mismatch("another aggregate than committed");
  Bytes out = a.vector;
  for (const auto& s : committee_.servers) {
    auto sh = std::find_if(shares.begin(), shares.end(),
                           [&](const Share& x) { return x.server == s.peer; });
    if (sh == shares.end()) {
      return Status::NotFound("missing share of server " + tdxrt::ToHex(s.peer));
    }
    if (sh->round != a.round || sh->aggregate_hash != ah || sh->share.size() != out.size() ||
        !committee_.VerifySignature(s.peer, ShareDigest(config_.instance_id, *sh), sh->signature)) {
      return Status::Mismatch("share of server " + tdxrt::ToHex(s.peer) +
                              " is not for this aggregate or badly signed");
    }
    if (Sha256({sh->share}) != st.commits.at(s.peer)) {
      return Status::Mismatch("share of server " + tdxrt::ToHex(s.peer) +
                              " does not match its commitment");
    }
    XorInto(out, sh->share);
  }
  BroadcastRecord r;
  r.instance_id = config_.instance_id;
  r.round = a.round;
  r.params_hash = params_hash_;
  r.aggregate_hash = ah;
  r.participants = static_cast<std::uint32_t>(a.entries.size());
  r.output = std::move(out);
  return r;
}

Result<RecordSignature> Server::SignRecord(const BroadcastRecord& record, const Aggregate& a,
                                           std::span<const Share> shares) const {
  TDX_ASSIGN_OR_RETURN(BroadcastRecord mine, Combine(a, shares));
  if (RecordDigest(mine) != RecordDigest(record)) {
    return Status::Mismatch("the proposed record for round " + std::to_string(record.round) +
                            " differs from this server's combination");
  }
  return RecordSignature{peer_, Ed25519Sign(config_.identity, RecordDigest(record))};
}

AbortRecord Server::MakeAbort(std::uint64_t round, AbortReason reason, std::string detail) const {
  AbortRecord a;
  a.instance_id = config_.instance_id;
  a.round = round;
  a.reason = reason;
  a.detail = std::move(detail);
  return a;
}

RecordSignature Server::SignAbort(const AbortRecord& record) const {
  return RecordSignature{peer_, Ed25519Sign(config_.identity, AbortDigest(record))};
}

}  // namespace zipnet
