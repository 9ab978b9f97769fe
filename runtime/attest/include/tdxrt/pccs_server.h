// A PCCS for air-gapped sites and tests: answers the PCS API v4 collateral requests
// (tdxrt/pcs.h) from a directory of collateral JSON files (the shape `tdx-attest collateral
// fetch` writes and `verify --collateral` reads), over HTTP or HTTPS (cpp-httplib).
//
// The directory is read again on every request, so replacing a file (atomically) publishes new
// collateral without a restart. Files are indexed by their TCB info's FMSPC and their PCK CRL
// issuer (Platform or Processor CA); when several match, the one whose TCB info was issued last
// is served. The QE identity and root CA CRL come from the newest file. Files that do not parse
// are skipped, and named in the log. Nothing is verified here: clients verify what they get.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "tdxrt/status.h"

namespace tdxrt {

struct PccsServerOptions {
  std::filesystem::path directory;
  std::string host = "127.0.0.1";
  int port = 0;           // 0: any free port
  std::string cert_file;  // both set: HTTPS
  std::string key_file;
  std::function<void(const std::string&)> log;  // one line per request; may be empty
};

class PccsServer {
 public:
  explicit PccsServer(PccsServerOptions options);
  ~PccsServer();
  // Binds and starts serving on a background thread; returns once the port is bound.
  Status Start();
  int port() const;
  std::string url() const;  // http(s)://host:port
  void Stop();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace tdxrt
