// Our own DEFLATE encoder in a gzip container (see include/tdximage/deflate.h).
//
// RFC 1951 section 3.2: bits are packed least significant first; Huffman codes are sent most
// significant bit first, so they are stored bit-reversed. Tables below are RFC 1951 3.2.5
// (length and distance codes) and 3.2.7 (the order of the code-length code lengths).
#include "tdximage/deflate.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <queue>
#include <vector>

namespace tdximage {

namespace {

constexpr std::size_t kWindow = 32768;
constexpr std::size_t kMinMatch = 3, kMaxMatch = 258;
constexpr int kMaxChain = 96;             // hash-chain entries searched per position
constexpr std::size_t kBlockTokens = 1 << 16;
constexpr std::uint32_t kHashBits = 15;

constexpr std::array<std::uint16_t, 29> kLengthBase = {
    3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
    31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr std::array<std::uint8_t, 29> kLengthExtra = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1,
                                                       1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                                       4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr std::array<std::uint16_t, 30> kDistBase = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr std::array<std::uint8_t, 30> kDistExtra = {0, 0, 0, 0, 1, 1, 2,  2,  3,  3,
                                                     4, 4, 5, 5, 6, 6, 7,  7,  8,  8,
                                                     9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
constexpr std::array<std::uint8_t, 19> kCodeLengthOrder = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                           11, 4,  12, 3, 13, 2, 14, 1, 15};

// A literal (dist == 0, value = the byte) or a match (value = length, dist = distance).
struct Token {
  std::uint16_t value;
  std::uint16_t dist;
};

class BitWriter {
 public:
  void Put(std::uint32_t bits, int count) {
    acc_ |= static_cast<std::uint64_t>(bits) << n_;
    n_ += count;
    while (n_ >= 8) {
      out_.push_back(static_cast<std::uint8_t>(acc_ & 0xff));
      acc_ >>= 8;
      n_ -= 8;
    }
  }
  void Flush() {
    if (n_ > 0) out_.push_back(static_cast<std::uint8_t>(acc_ & 0xff));
    acc_ = 0;
    n_ = 0;
  }
  tdxrt::Bytes& out() { return out_; }

 private:
  tdxrt::Bytes out_;
  std::uint64_t acc_ = 0;
  int n_ = 0;
};

// Huffman code lengths for `freq`, at most `max_bits` long. Ties are broken by symbol and by
// creation order, so the lengths depend only on the counts. Too-long codes: counts are halved
// (rounding up, so used symbols stay used) until the tree fits.
std::vector<std::uint8_t> CodeLengths(std::vector<std::uint32_t> freq, int max_bits) {
  const std::size_t n = freq.size();
  std::vector<std::uint8_t> lengths(n, 0);
  for (;;) {
    struct Node {
      std::uint64_t weight;
      std::uint32_t id;
    };
    auto later = [](const Node& a, const Node& b) {
      return a.weight != b.weight ? a.weight > b.weight : a.id > b.id;
    };
    std::priority_queue<Node, std::vector<Node>, decltype(later)> heap(later);
    std::vector<std::int32_t> parent;  // by id: leaves 0..n-1, then internal nodes
    parent.assign(n, -1);
    for (std::size_t s = 0; s < n; ++s) {
      if (freq[s] > 0) heap.push({freq[s], static_cast<std::uint32_t>(s)});
    }
    if (heap.size() < 2) {
      // One symbol (callers make sure there are two; kept safe): a one-bit code.
      std::fill(lengths.begin(), lengths.end(), 0);
      if (!heap.empty()) lengths[heap.top().id] = 1;
      return lengths;
    }
    while (heap.size() > 1) {
      const Node a = heap.top();
      heap.pop();
      const Node b = heap.top();
      heap.pop();
      const auto id = static_cast<std::uint32_t>(parent.size());
      parent.push_back(-1);
      parent[a.id] = static_cast<std::int32_t>(id);
      parent[b.id] = static_cast<std::int32_t>(id);
      heap.push({a.weight + b.weight, id});
    }
    // Depths: internal nodes are created after their children, so walk ids downwards.
    std::vector<std::uint8_t> depth(parent.size(), 0);
    int longest = 0;
    for (std::size_t id = parent.size(); id-- > 0;) {
      if (parent[id] >= 0)
        depth[id] = static_cast<std::uint8_t>(depth[static_cast<std::size_t>(parent[id])] + 1);
      if (id < n && freq[id] > 0) longest = std::max<int>(longest, depth[id]);
    }
    if (longest <= max_bits) {
      for (std::size_t s = 0; s < n; ++s) lengths[s] = freq[s] > 0 ? depth[s] : 0;
      return lengths;
    }
    for (auto& f : freq) {
      if (f > 0) f = (f + 1) / 2;
    }
  }
}

// Canonical codes (RFC 1951 3.2.2), bit-reversed for the LSB-first writer.
std::vector<std::uint16_t> Codes(const std::vector<std::uint8_t>& lengths) {
  std::array<std::uint16_t, 16> count{}, next{};
  for (auto l : lengths) ++count[l];
  count[0] = 0;
  std::uint16_t code = 0;
  for (int bits = 1; bits < 16; ++bits) {
    code = static_cast<std::uint16_t>((code + count[static_cast<std::size_t>(bits - 1)]) << 1);
    next[static_cast<std::size_t>(bits)] = code;
  }
  std::vector<std::uint16_t> codes(lengths.size(), 0);
  for (std::size_t s = 0; s < lengths.size(); ++s) {
    const int len = lengths[s];
    if (len == 0) continue;
    std::uint16_t c = next[static_cast<std::size_t>(len)]++;
    std::uint16_t rev = 0;
    for (int i = 0; i < len; ++i) {
      rev = static_cast<std::uint16_t>((rev << 1) | (c & 1));
      c = static_cast<std::uint16_t>(c >> 1);
    }
    codes[s] = rev;
  }
  return codes;
}

// Every alphabet gets at least two used symbols: a one-symbol code is incomplete, which inflate
// refuses for the code-length code.
void AtLeastTwo(std::vector<std::uint32_t>& freq) {
  std::size_t used = 0;
  for (auto f : freq) used += f > 0;
  for (std::size_t s = 0; used < 2 && s < freq.size(); ++s) {
    if (freq[s] == 0) {
      freq[s] = 1;
      ++used;
    }
  }
}

struct Tables {
  std::array<std::uint8_t, kMaxMatch + 1> length_code{};  // length -> index into kLengthBase
  std::vector<std::uint8_t> dist_code;                    // distance -> index into kDistBase
  Tables() : dist_code(kWindow + 1, 0) {
    for (std::size_t len = kMinMatch; len <= kMaxMatch; ++len) {
      std::size_t c = 0;
      while (c + 1 < kLengthBase.size() && kLengthBase[c + 1] <= len) ++c;
      length_code[len] = static_cast<std::uint8_t>(c);
    }
    for (std::size_t d = 1; d <= kWindow; ++d) {
      std::size_t c = 0;
      while (c + 1 < kDistBase.size() && kDistBase[c + 1] <= d) ++c;
      dist_code[d] = static_cast<std::uint8_t>(c);
    }
  }
};

std::vector<Token> Tokenize(tdxrt::ByteSpan data) {
  const std::size_t n = data.size();
  std::vector<Token> tokens;
  tokens.reserve(n / 3 + 16);
  std::vector<std::int64_t> head(std::size_t{1} << kHashBits, -1);
  std::vector<std::int64_t> prev(kWindow, -1);
  auto hash = [&](std::size_t i) {
    return ((static_cast<std::uint32_t>(data[i]) << 10) ^
            (static_cast<std::uint32_t>(data[i + 1]) << 5) ^ data[i + 2]) &
           ((1u << kHashBits) - 1);
  };
  auto insert = [&](std::size_t i) {
    if (i + 2 >= n) return;
    const auto h = hash(i);
    prev[i % kWindow] = head[h];
    head[h] = static_cast<std::int64_t>(i);
  };
  // The longest match for position i among the chain's candidates (0 if none of kMinMatch).
  auto find = [&](std::size_t i, std::size_t* dist) -> std::size_t {
    if (i + kMinMatch > n) return 0;
    const std::size_t limit = std::min(kMaxMatch, n - i);
    std::size_t best = 0;
    std::int64_t cand = head[hash(i)];
    for (int chain = 0; cand >= 0 && chain < kMaxChain; ++chain) {
      const auto c = static_cast<std::size_t>(cand);
      if (c >= i || i - c > kWindow) break;
      if (data[c + best] == data[i + best] || best == 0) {
        std::size_t len = 0;
        while (len < limit && data[c + len] == data[i + len]) ++len;
        if (len > best) {
          best = len;
          *dist = i - c;
          if (len == limit) break;
        }
      }
      const std::int64_t next = prev[c % kWindow];
      if (next >= cand) break;
      cand = next;
    }
    return best >= kMinMatch ? best : 0;
  };
  std::size_t i = 0;
  while (i < n) {
    std::size_t dist = 0;
    const std::size_t len = find(i, &dist);
    if (len == 0) {
      insert(i);
      tokens.push_back({data[i], 0});
      ++i;
      continue;
    }
    insert(i);
    // One step of lazy matching: a longer match one byte later wins.
    std::size_t dist2 = 0;
    const std::size_t len2 = i + 1 < n ? find(i + 1, &dist2) : 0;
    if (len2 > len) {
      tokens.push_back({data[i], 0});
      ++i;
      continue;
    }
    tokens.push_back({static_cast<std::uint16_t>(len), static_cast<std::uint16_t>(dist)});
    for (std::size_t k = 1; k < len; ++k) insert(i + k);
    i += len;
  }
  return tokens;
}

void WriteBlock(BitWriter& w, const Tables& t, const Token* tokens, std::size_t count,
                bool final_block) {
  std::vector<std::uint32_t> lit(286, 0), dist(30, 0);
  for (std::size_t k = 0; k < count; ++k) {
    const Token& tok = tokens[k];
    if (tok.dist == 0) {
      ++lit[tok.value];
    } else {
      ++lit[257 + t.length_code[tok.value]];
      ++dist[t.dist_code[tok.dist]];
    }
  }
  lit[256] = 1;  // end of block
  AtLeastTwo(lit);
  AtLeastTwo(dist);
  const auto ll = CodeLengths(lit, 15), dl = CodeLengths(dist, 15);
  std::size_t hlit = 286, hdist = 30;
  while (hlit > 257 && ll[hlit - 1] == 0) --hlit;
  while (hdist > 1 && dl[hdist - 1] == 0) --hdist;
  // The code lengths, run-length coded (RFC 1951 3.2.7): 16 repeats the previous length 3-6
  // times, 17 and 18 give 3-10 and 11-138 zeros.
  std::vector<std::uint8_t> lens(ll.begin(), ll.begin() + static_cast<std::ptrdiff_t>(hlit));
  lens.insert(lens.end(), dl.begin(), dl.begin() + static_cast<std::ptrdiff_t>(hdist));
  struct Rle {
    std::uint8_t symbol, extra;
  };
  std::vector<Rle> rle;
  for (std::size_t i = 0; i < lens.size();) {
    const std::uint8_t cur = lens[i];
    std::size_t run = 1;
    while (i + run < lens.size() && lens[i + run] == cur) ++run;
    i += run;
    if (cur == 0) {
      while (run >= 11) {
        const std::size_t k = std::min<std::size_t>(run, 138);
        rle.push_back({18, static_cast<std::uint8_t>(k - 11)});
        run -= k;
      }
      if (run >= 3) {
        rle.push_back({17, static_cast<std::uint8_t>(run - 3)});
        run = 0;
      }
      for (; run > 0; --run) rle.push_back({0, 0});
    } else {
      rle.push_back({cur, 0});
      --run;
      while (run >= 3) {
        const std::size_t k = std::min<std::size_t>(run, 6);
        rle.push_back({16, static_cast<std::uint8_t>(k - 3)});
        run -= k;
      }
      for (; run > 0; --run) rle.push_back({cur, 0});
    }
  }
  std::vector<std::uint32_t> clfreq(19, 0);
  for (const auto& r : rle) ++clfreq[r.symbol];
  AtLeastTwo(clfreq);
  const auto cl = CodeLengths(clfreq, 7);
  std::size_t hclen = 19;
  while (hclen > 4 && cl[kCodeLengthOrder[hclen - 1]] == 0) --hclen;
  const auto llc = Codes(ll), dlc = Codes(dl), clc = Codes(cl);

  w.Put(final_block ? 1 : 0, 1);
  w.Put(2, 2);  // dynamic Huffman codes
  w.Put(static_cast<std::uint32_t>(hlit - 257), 5);
  w.Put(static_cast<std::uint32_t>(hdist - 1), 5);
  w.Put(static_cast<std::uint32_t>(hclen - 4), 4);
  for (std::size_t k = 0; k < hclen; ++k) w.Put(cl[kCodeLengthOrder[k]], 3);
  for (const auto& r : rle) {
    w.Put(clc[r.symbol], cl[r.symbol]);
    if (r.symbol == 16) w.Put(r.extra, 2);
    if (r.symbol == 17) w.Put(r.extra, 3);
    if (r.symbol == 18) w.Put(r.extra, 7);
  }
  for (std::size_t k = 0; k < count; ++k) {
    const Token& tok = tokens[k];
    if (tok.dist == 0) {
      w.Put(llc[tok.value], ll[tok.value]);
      continue;
    }
    const std::size_t lc = t.length_code[tok.value];
    w.Put(llc[257 + lc], ll[257 + lc]);
    w.Put(static_cast<std::uint32_t>(tok.value - kLengthBase[lc]), kLengthExtra[lc]);
    const std::size_t dc = t.dist_code[tok.dist];
    w.Put(dlc[dc], dl[dc]);
    w.Put(static_cast<std::uint32_t>(tok.dist - kDistBase[dc]), kDistExtra[dc]);
  }
  w.Put(llc[256], ll[256]);
}

std::uint32_t Crc32(tdxrt::ByteSpan data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xffffffffu;
  for (auto b : data) crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

void PutLe32(tdxrt::Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

tdxrt::Bytes StableGzip(tdxrt::ByteSpan data) {
  static const Tables tables;
  const std::vector<Token> tokens = Tokenize(data);
  BitWriter w;
  // RFC 1952: ID1 ID2, CM 8 (deflate), FLG 0, MTIME 0, XFL 0, OS 255 (unknown).
  for (int b : {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
    w.out().push_back(static_cast<std::uint8_t>(b));
  std::size_t k = 0;
  do {
    const std::size_t count = std::min(kBlockTokens, tokens.size() - k);
    WriteBlock(w, tables, tokens.data() + k, count, k + count == tokens.size());
    k += count;
  } while (k < tokens.size());
  w.Flush();
  tdxrt::Bytes out = std::move(w.out());
  PutLe32(out, Crc32(data));
  PutLe32(out, static_cast<std::uint32_t>(data.size() & 0xffffffffu));
  return out;
}

}  // namespace tdximage
