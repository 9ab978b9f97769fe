// Reading one archive entry's data with memory that grows with what arrives (archive.cc,
// tree.cc): a header may declare gigabytes that never come.
#pragma once

#include <archive.h>

#include <string>

#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace tdximage {

// Reads the current entry of `a`, which declares `size` bytes: refused at once when size is
// over max_size, and an error when the data ends early. Allocation failure is an error too.
tdxrt::Result<tdxrt::Bytes> ReadEntryData(archive* a, std::uint64_t size, std::uint64_t max_size,
                                          const std::string& what);

}  // namespace tdximage
