// MR_TD record stream and digest (see include/mrtd/mrtd.h).
#include "mrtd/mrtd.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace mrtd {

namespace {
constexpr std::size_t kChunk = 256;
constexpr std::size_t kRecord = 128;

std::array<std::uint8_t, kRecord> Header(const char* op, std::uint64_t gpa) {
  std::array<std::uint8_t, kRecord> r{};
  std::memcpy(r.data(), op, std::strlen(op));
  tdxrt::StoreLe<std::uint64_t>(r, 16, gpa);
  return r;
}

// Hashes the record stream. Records are small (128 / 384 bytes), so they are staged in a
// buffer and handed to SHA-384 in large blocks: per-call overhead would otherwise cost a third
// of the throughput (bench/measure_bench).
class HashSink final : public MrTdRecordSink {
 public:
  HashSink() { buf_.reserve(kStage); }
  void PageAdd(std::uint64_t gpa) override { Append(Header("MEM.PAGE.ADD", gpa)); }
  void Extend(std::uint64_t gpa, tdxrt::ByteSpan chunk) override {
    Append(Header("MR.EXTEND", gpa));
    Append(chunk);
  }
  tdxrt::Sha384Digest Final() {
    h_.Update(buf_);
    buf_.clear();
    return h_.Final();
  }

 private:
  static constexpr std::size_t kStage = 64 * 1024;
  void Append(tdxrt::ByteSpan b) {
    if (buf_.size() + b.size() > kStage) {
      h_.Update(buf_);
      buf_.clear();
    }
    buf_.insert(buf_.end(), b.begin(), b.end());
  }
  tdxrt::Sha384Hasher h_;
  tdxrt::Bytes buf_;
};

// Extends the 16 chunks of page `page` of section `s`.
void ExtendPage(tdxrt::ByteSpan fw, const TdvfSection& s, std::uint64_t page,
                MrTdRecordSink& sink) {
  std::array<std::uint8_t, kChunk> chunk{};
  for (std::uint64_t c = 0; c < kPageSize / kChunk; ++c) {
    const std::uint64_t rel = page * kPageSize + c * kChunk;  // offset inside the section
    chunk.fill(0);
    if (rel < s.raw_size) {
      const std::uint64_t n = std::min<std::uint64_t>(kChunk, s.raw_size - rel);
      std::memcpy(chunk.data(), fw.data() + s.data_offset + rel, n);
    }
    sink.Extend(s.gpa + rel, chunk);
  }
}
}  // namespace

std::string_view PageOrderName(PageOrder order) {
  return order == PageOrder::kSinglePass ? "single-pass" : "two-pass";
}

std::optional<PageOrder> ParsePageOrder(std::string_view name) {
  if (name == "single-pass") return PageOrder::kSinglePass;
  if (name == "two-pass") return PageOrder::kTwoPass;
  return std::nullopt;
}

void EmitMrTdRecords(tdxrt::ByteSpan fw, const TdvfMetadata& md, PageOrder order,
                     MrTdRecordSink& sink) {
  for (const TdvfSection& s : md.sections) {
    if (s.page_aug()) continue;
    const std::uint64_t pages = s.memory_size / kPageSize;
    if (order == PageOrder::kSinglePass) {
      for (std::uint64_t p = 0; p < pages; ++p) {
        sink.PageAdd(s.gpa + p * kPageSize);
        if (s.mr_extend()) ExtendPage(fw, s, p, sink);
      }
    } else {
      for (std::uint64_t p = 0; p < pages; ++p) sink.PageAdd(s.gpa + p * kPageSize);
      if (s.mr_extend()) {
        for (std::uint64_t p = 0; p < pages; ++p) ExtendPage(fw, s, p, sink);
      }
    }
  }
}

tdxrt::Sha384Digest ComputeMrTd(tdxrt::ByteSpan fw, const TdvfMetadata& md, PageOrder order) {
  HashSink sink;
  EmitMrTdRecords(fw, md, order, sink);
  return sink.Final();
}

}  // namespace mrtd
