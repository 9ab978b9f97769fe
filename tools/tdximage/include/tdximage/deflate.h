// A gzip stream (RFC 1952) written by this project's own DEFLATE encoder (RFC 1951).
//
// Why our own: an image is reproducible only if every byte of it is a function of its inputs and
// of tdximage's code. zlib and libzstd promise to decompress, not to compress the same way in
// every release: libzstd 1.5.4 (Debian 12) and 1.5.7 (Debian 13) give different bytes for the
// same initramfs at the same level, so an image compressed with the library of the machine that
// builds it differs from one machine to the next, and so does RTMR2. This encoder's output
// depends only on the input: greedy LZ77 with one step of lazy matching (32 KiB window, hash
// chains searched to a fixed depth), then one dynamic-Huffman block per 64 Ki symbols with code
// lengths from a deterministic Huffman construction limited to 15 bits (7 for the code-length
// code) by halving counts. The container: gzip header with mtime 0, no name, OS 255; CRC-32 and
// size trailer. Any inflate (the kernel's, zlib's) reads it.
#pragma once

#include "tdxrt/bytes.h"

namespace tdximage {

tdxrt::Bytes StableGzip(tdxrt::ByteSpan data);

}  // namespace tdximage
