// Whole-file reads with a size bound, and atomic writes (temp file in the same directory,
// fsync, rename), so a crash or a full disk never leaves a half-written output in place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "tdxrt/bytes.h"

namespace tdxrt {

inline constexpr std::uint64_t kDefaultMaxFileSize = 4ull << 30;  // 4 GiB

// Errors name the path and the OS reason. A file larger than max_size is refused before reading.
Result<Bytes> ReadFile(const std::filesystem::path& path,
                       std::uint64_t max_size = kDefaultMaxFileSize);

// Writes `data` to `path` atomically with the given permission bits.
Status WriteFileAtomic(const std::filesystem::path& path, ByteSpan data, unsigned mode = 0644);
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view text,
                       unsigned mode = 0644);

}  // namespace tdxrt
