// A server node's client registry kept in a file across restarts (the format and what binds it
// are zipnet/registry_file.h): read once at start, written atomically (a temporary file renamed
// into place, mode 0600) at most once a second while clients register, and at stop. A file that
// cannot be used is never silently dropped: it is moved aside to PATH.refused and the reason
// logged (ERROR when it is corrupt or altered, INFO when it was written under other settings).
#pragma once

#include <spdlog/spdlog.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "zipnet/node/transport.h"
#include "zipnet/registry_file.h"

namespace zipnet::node {

class RegistryStore {
 public:
  RegistryStore(Loop& loop, std::filesystem::path path, Secret32 key, RegistryBinding binding,
                std::shared_ptr<spdlog::logger> log);
  RegistryStore(const RegistryStore&) = delete;
  RegistryStore& operator=(const RegistryStore&) = delete;

  // The file's clients, when it exists and is this server's as it runs now; else none.
  std::vector<RegistryEntry> Load();
  // The registry changed; `snapshot` gives its clients when the file is next written.
  void Changed(std::function<std::vector<RegistryEntry>()> snapshot);
  // Writes now if anything changed since the last write.
  void Flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  void SetAside(const std::string& why, bool corrupt);

  Loop& loop_;
  std::filesystem::path path_;
  Secret32 key_;
  RegistryBinding binding_;
  std::shared_ptr<spdlog::logger> log_;
  std::function<std::vector<RegistryEntry>()> snapshot_;
  std::unique_ptr<Timer> timer_;
};

}  // namespace zipnet::node
