// A server's client registry on disk (see zipnet/registry_file.h).
#include "zipnet/registry_file.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>

#include "tdxrt/hex.h"

namespace zipnet {
namespace {

constexpr std::string_view kMagic{"zipnet/registry\0", 16};
constexpr std::uint16_t kFormat = 1;
constexpr std::size_t kEntryBytes = 32 + 32 + 1;

template <std::size_t N>
void Put(Bytes& out, const std::array<std::uint8_t, N>& a) {
  out.insert(out.end(), a.begin(), a.end());
}

template <std::size_t N>
Status Read(tdxrt::Cursor& c, std::array<std::uint8_t, N>& out, const std::string& field) {
  TDX_ASSIGN_OR_RETURN(ByteSpan b, c.Take(N, "registry " + field));
  std::copy(b.begin(), b.end(), out.begin());
  return Status::Ok();
}

Hash Mac(const Secret32& key, ByteSpan covered) { return HmacSha256(key.bytes(), {covered}); }

}  // namespace

Secret32 RegistryMacKey(const Ed25519KeyPair& identity, const X25519KeyPair& dh) {
  Bytes ikm;
  ikm.insert(ikm.end(), identity.seed.bytes().begin(), identity.seed.bytes().end());
  ikm.insert(ikm.end(), dh.secret.bytes().begin(), dh.secret.bytes().end());
  const Secret32 prk = HkdfExtract(Text("zipnet/registry/v1"), ikm);
  Wipe(ikm);
  Secret32 key;
  HkdfExpand(prk.bytes(), Text("mac"), key.bytes());
  return key;
}

Bytes EncodeRegistry(const RegistryFile& f, const Secret32& mac_key) {
  Bytes out(kMagic.begin(), kMagic.end());
  tdxrt::AppendLe<std::uint16_t>(out, kFormat);
  Put(out, f.binding.instance_id);
  Put(out, f.binding.params_hash);
  Put(out, f.binding.server);
  Put(out, f.binding.admission);
  tdxrt::AppendLe<std::uint32_t>(out, static_cast<std::uint32_t>(f.clients.size()));
  for (const auto& e : f.clients) {
    Put(out, e.ed25519);
    Put(out, e.x25519);
    out.push_back(static_cast<std::uint8_t>(e.evidence_kind));
  }
  Put(out, Mac(mac_key, out));
  return out;
}

Result<RegistryFile> DecodeRegistry(ByteSpan data, const Secret32& mac_key,
                                    std::size_t max_clients) {
  tdxrt::Cursor c(data);
  TDX_ASSIGN_OR_RETURN(ByteSpan magic, c.Take(kMagic.size(), "registry magic"));
  if (!std::equal(magic.begin(), magic.end(), kMagic.begin())) {
    return Status::Corrupt("registry: not a zipnet registry file (magic at offset 0x0)");
  }
  TDX_ASSIGN_OR_RETURN(std::uint16_t format, c.U16("registry format"));
  if (format != kFormat) {
    return Status::Unsupported("registry: format " + std::to_string(format) +
                               " at offset 0x10 is not supported (" + std::to_string(kFormat) +
                               ")");
  }
  RegistryFile f;
  TDX_TRY(Read(c, f.binding.instance_id, "instance_id"));
  TDX_TRY(Read(c, f.binding.params_hash, "params_hash"));
  TDX_TRY(Read(c, f.binding.server, "server"));
  TDX_TRY(Read(c, f.binding.admission, "admission"));
  const std::uint64_t count_at = c.abs_pos();
  TDX_ASSIGN_OR_RETURN(std::uint32_t n, c.U32("registry count"));
  if (n > max_clients) {
    return Status::Corrupt("registry: count " + std::to_string(n) + " at offset " +
                           tdxrt::HexOffset(count_at) + " exceeds the limit (" +
                           std::to_string(max_clients) + ")");
  }
  const std::uint64_t need = std::uint64_t{n} * kEntryBytes + sizeof(Hash);
  if (need != c.remaining()) {
    return Status::Corrupt("registry: count " + std::to_string(n) + " at offset " +
                           tdxrt::HexOffset(count_at) + " needs " + std::to_string(need) +
                           " more bytes with the MAC, " + std::to_string(c.remaining()) + " there");
  }
  f.clients.resize(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    RegistryEntry& e = f.clients[i];
    const std::string at = "client " + std::to_string(i) + " ";
    TDX_TRY(Read(c, e.ed25519, at + "ed25519"));
    TDX_TRY(Read(c, e.x25519, at + "x25519"));
    const std::uint64_t kind_at = c.abs_pos();
    TDX_ASSIGN_OR_RETURN(std::uint8_t kind, c.U8("registry " + at + "evidence kind"));
    if (kind > 1) {
      return Status::Corrupt("registry: " + at + "evidence kind " + std::to_string(kind) +
                             " at offset " + tdxrt::HexOffset(kind_at) +
                             " is not 0 (mock) or 1 (tdx)");
    }
    e.evidence_kind = static_cast<EvidenceKind>(kind);
  }
  const std::uint64_t mac_at = c.abs_pos();
  Hash mac{};
  TDX_TRY(Read(c, mac, "mac"));
  const Hash want = Mac(mac_key, data.first(static_cast<std::size_t>(mac_at)));
  if (CRYPTO_memcmp(mac.data(), want.data(), mac.size()) != 0) {
    return Status::Mismatch("registry: the MAC at offset " + tdxrt::HexOffset(mac_at) +
                            " does not match: the file was altered, or is another server's");
  }
  return f;
}

Status CheckRegistryBinding(const RegistryBinding& file, const RegistryBinding& now) {
  if (file.instance_id != now.instance_id) {
    return Status::Mismatch("registry: written for another instance (" +
                            tdxrt::ToHex(file.instance_id).substr(0, 16) + "...)");
  }
  if (file.params_hash != now.params_hash) {
    return Status::Mismatch("registry: written for other round parameters");
  }
  if (file.server != now.server) {
    return Status::Mismatch("registry: written by server " + tdxrt::ToHex(file.server) +
                            ", not this one");
  }
  if (file.admission != now.admission) {
    return Status::Mismatch(
        "registry: its clients were admitted under other admission settings (gating, client "
        "policy or trust anchor)");
  }
  return Status::Ok();
}

}  // namespace zipnet
