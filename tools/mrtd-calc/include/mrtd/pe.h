// Authenticode SHA-384 of a PE/COFF image, as EDK2 computes it when OVMF measures an EFI
// application into RTMR1 (SecurityPkg MeasurePeImageAndExtend, after the Microsoft Authenticode
// PE rules):
//   1. hash from the image start to the optional header's CheckSum, skip CheckSum (4 bytes);
//   2. if the optional header has a certificate directory (NumberOfRvaAndSizes > 4): hash up to
//      it, skip its 8 bytes; hash the rest of the headers up to SizeOfHeaders;
//   3. hash the raw data of every section with SizeOfRawData > 0, sorted by PointerToRawData;
//   4. hash any trailing data beyond the sections except the certificate table's size.
// No padding is added (EDK2 adds none). Unlike EDK2 we refuse images whose headers or sections
// point outside the file instead of reading past the buffer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tdxrt/bytes.h"
#include "tdxrt/sha.h"
#include "tdxrt/status.h"

namespace mrtd {

struct PeSection {
  std::string name;
  std::uint32_t raw_offset = 0;
  std::uint32_t raw_size = 0;
};

struct PeImage {
  std::uint32_t pe_offset = 0;  // e_lfanew (0 without an MZ header)
  bool pe32_plus = false;
  std::uint32_t size_of_headers = 0;
  std::uint32_t number_of_rva_and_sizes = 0;
  std::uint32_t cert_table_offset = 0;
  std::uint32_t cert_table_size = 0;
  std::vector<PeSection> sections;
};

// Parses the headers needed for Authenticode and checks every range against the file.
tdxrt::Result<PeImage> ParsePe(tdxrt::ByteSpan image);

tdxrt::Result<tdxrt::Sha384Digest> AuthenticodeSha384(tdxrt::ByteSpan image);

}  // namespace mrtd
