// A server node's registry file (see registry_store.h).
#include "registry_store.h"

#include <system_error>

#include "tdxrt/file.h"

namespace zipnet::node {

RegistryStore::RegistryStore(Loop& loop, std::filesystem::path path, Secret32 key,
                             RegistryBinding binding, std::shared_ptr<spdlog::logger> log)
    : loop_(loop),
      path_(std::move(path)),
      key_(std::move(key)),
      binding_(binding),
      log_(std::move(log)) {}

std::vector<RegistryEntry> RegistryStore::Load() {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) {
    log_->info("registry {}: none yet (kept there from now on)", path_.string());
    return {};
  }
  auto data = tdxrt::ReadFile(path_, 128u << 20);  // 2^20 clients take 65 MiB
  if (!data.ok()) {
    SetAside(data.status().message(), true);
    return {};
  }
  auto file = DecodeRegistry(*data, key_);
  if (!file.ok()) {
    SetAside(file.status().message(), true);
    return {};
  }
  if (Status st = CheckRegistryBinding(file->binding, binding_); !st.ok()) {
    SetAside(st.message(), false);
    return {};
  }
  log_->info("registry {}: {} clients", path_.string(), file->clients.size());
  return std::move(file->clients);
}

void RegistryStore::SetAside(const std::string& why, bool corrupt) {
  std::filesystem::path aside = path_;
  aside += ".refused";
  std::error_code ec;
  std::filesystem::rename(path_, aside, ec);
  const std::string where =
      ec ? "left in place (" + ec.message() + "), overwritten at the next write"
         : "moved to " + aside.string();
  if (corrupt) {
    log_->error("{}: {}: not loaded, {}; clients register again", path_.string(), why, where);
  } else {
    log_->info("{}: {}: not loaded, {}; clients register again", path_.string(), why, where);
  }
}

void RegistryStore::Changed(std::function<std::vector<RegistryEntry>()> snapshot) {
  snapshot_ = std::move(snapshot);
  if (!timer_) timer_ = loop_.After(std::chrono::seconds(1), [this] { Flush(); });
}

void RegistryStore::Flush() {
  timer_.reset();
  if (!snapshot_) return;
  RegistryFile file{binding_, snapshot_()};
  const Bytes data = EncodeRegistry(file, key_);
  if (Status st = tdxrt::WriteFileAtomic(path_, data, 0600); !st.ok()) {
    log_->error("registry {}: {} (tried again at the next registration)", path_.string(),
                st.message());
    return;
  }
  snapshot_ = nullptr;
  log_->debug("registry {}: {} clients written", path_.string(), file.clients.size());
}

}  // namespace zipnet::node
