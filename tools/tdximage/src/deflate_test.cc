// stable-gzip: what our encoder writes, zlib (through libarchive) reads back; the bytes are a
// function of the input alone.
#include "tdximage/deflate.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <random>
#include <string>

#include "tdximage/archive.h"
#include "tdxrt/file.h"

using tdximage::StableGzip;
using tdxrt::Bytes;

namespace {

Bytes RoundTrip(const Bytes& in) {
  const Bytes gz = StableGzip(in);
  auto back = tdximage::Decompress(gz, in.size() + 1);
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  return std::move(back).value();
}

}  // namespace

TEST_CASE("stable-gzip: zlib reads back every shape of input") {
  // Empty input: one block holding only its end code (libarchive cannot read an empty stream).
  CHECK(StableGzip({}) == Bytes{0x1f, 0x8b, 8,    0, 0, 0, 0, 0, 0,    0xff,
                                0x05, 0xc1, 0x81, 0, 0, 0, 0, 0, 0x10, 0xff,
                                0xd5, 0x08, 0,    0, 0, 0, 0, 0, 0,    0});
  CHECK(RoundTrip({'x'}) == Bytes{'x'});
  Bytes run(100000, 'a');  // one long run: matches at distance 1, many 258-byte matches
  CHECK(RoundTrip(run) == run);
  std::mt19937 rng(7);
  Bytes noise(300000);  // incompressible, several blocks of literals
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
  CHECK(RoundTrip(noise) == noise);
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i % 97) + " of a log\n";
  const Bytes t(text.begin(), text.end());
  CHECK(RoundTrip(t) == t);
  // A real binary (this test program): matches at every distance up to the 32 KiB window.
  auto self = tdxrt::ReadFile("/proc/self/exe");
  REQUIRE(self.ok());
  const Bytes gz = StableGzip(*self);
  CHECK(RoundTrip(*self) == *self);
  MESSAGE("this test binary: " << self->size() << " -> " << gz.size() << " bytes");
  CHECK(gz.size() < self->size() / 2);
}

TEST_CASE("stable-gzip: the container's fixed fields and the same bytes every time") {
  const Bytes in(5000, 'q');
  const Bytes a = StableGzip(in), b = StableGzip(in);
  CHECK(a == b);
  REQUIRE(a.size() > 18);
  // ID1 ID2 CM FLG MTIME(4) XFL OS: no name, no timestamp, "unknown" OS.
  CHECK(Bytes(a.begin(), a.begin() + 10) == Bytes{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff});
  // Trailer: CRC-32 and size, little-endian.
  const std::size_t n = a.size();
  CHECK((a[n - 4] | a[n - 3] << 8 | a[n - 2] << 16 | a[n - 1] << 24) == 5000);
  // One byte of the stream changed: zlib notices (the CRC or the code).
  Bytes bad = a;
  bad[n / 2] ^= 0x10;
  CHECK_FALSE(tdximage::Decompress(bad, 10000).ok());
}
