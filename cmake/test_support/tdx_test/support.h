// Helpers every unit-test binary may use (tdx_test_main carries this include directory): a
// scratch directory removed with everything in it when the test ends, and the path of a file
// in ../shared/vectors for tests whose target defines TDX_SHARED_DIR.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tdx_test {

// A fresh directory under the system's temporary directory, named after `prefix`.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "tdx-test") {
    std::string t = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp " + t + " failed");
    path = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path path;
};

#ifdef TDX_SHARED_DIR
// ../shared/vectors/<set>/<name>
inline std::filesystem::path SharedVector(const char* set, const char* name) {
  return std::filesystem::path(TDX_SHARED_DIR) / "vectors" / set / name;
}

// ../shared/vectors/dcap-qvl/<name>: the real quotes and collateral the DCAP tests read.
inline std::filesystem::path DcapVector(const char* name) { return SharedVector("dcap-qvl", name); }
#endif

}  // namespace tdx_test
