// PCS/PCCS collateral client (libcurl) and collateral cache (tdxrt/pccs_client.h).
#include "tdxrt/pccs_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <optional>
#include <thread>

#include "pki.h"
#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "tdxrt/text.h"

namespace tdxrt {
namespace {

struct Response {
  long status = 0;
  Bytes body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool too_big = false;
  std::size_t max_body = 0;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  const std::size_t len = size * n;
  if (r->body.size() + len > r->max_body) {
    r->too_big = true;
    return 0;  // aborts the transfer
  }
  r->body.insert(r->body.end(), data, data + len);
  return len;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  const std::string_view line(data, size * n);
  const std::size_t colon = line.find(':');
  if (colon != std::string_view::npos && line.size() < (1 << 20)) {
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    r->headers[name] = std::string(value);
  }
  return size * n;
}

bool Retryable(long status) { return status == 429 || status >= 500; }

std::string Trimmed(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  for (std::string_view tail : {"/sgx/certification/v4", "/tdx/certification/v4"}) {
    if (base.size() >= tail.size() &&
        base.compare(base.size() - tail.size(), tail.size(), tail) == 0) {
      base.resize(base.size() - tail.size());
    }
  }
  return base;
}

// One GET with retries. A non-2xx final status is an error naming the URL and the status.
Result<Response> Get(const PcsClientOptions& o, const std::string& url) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::string last_error;
  auto delay = o.backoff;
  const int attempts = std::max(1, o.attempts);
  int tried = 0;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    tried = attempt;
    if (attempt > 1) {
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return Status::IoError("GET " + url + ": curl_easy_init failed");
    Response r;
    r.max_body = o.max_body;
    char err[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "tdx-attest");
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!o.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, o.ca_file.c_str());
    const CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_cleanup(curl);
    if (r.too_big) {
      return Status::Corrupt("GET " + url + ": response body exceeds " +
                             std::to_string(o.max_body) + " bytes");
    }
    if (rc != CURLE_OK) {
      last_error = err[0] != '\0' ? err : curl_easy_strerror(rc);
      // TLS verification failures will not improve by retrying.
      if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) break;
      continue;
    }
    if (r.status >= 200 && r.status < 300) return r;
    last_error = "HTTP " + std::to_string(r.status);
    if (!Retryable(r.status)) {
      if (r.status == 404) return Status::NotFound("GET " + url + ": " + last_error);
      return Status::IoError("GET " + url + ": " + last_error);
    }
  }
  return Status::IoError("GET " + url + ": " + EscapeText(last_error) + " (after " +
                         std::to_string(tried) + (tried == 1 ? " attempt)" : " attempts)"));
}

Result<std::string> ChainHeader(const Response& r, const std::string& url,
                                std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto it = r.headers.find(lower);
    if (it != r.headers.end()) {
      auto pem = DecodeIssuerChainHeader(it->second, name);
      if (!pem.ok()) return pem.status().WithContext("GET " + url);
      return pem;
    }
  }
  return Status::Corrupt("GET " + url + ": no " + std::string(*names.begin()) + " header");
}

std::string BodyText(const Response& r) { return std::string(r.body.begin(), r.body.end()); }

// The first URI of the CRL distribution points of the last certificate of a PEM chain.
Result<std::string> RootCrlDistributionPoint(const std::string& chain_pem) {
  auto chain = pki::ParsePemChain(chain_pem);
  if (!chain.ok()) return chain.status();
  X509* root = chain->back().get();
  auto* points = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(root, NID_crl_distribution_points, nullptr, nullptr));
  std::string uri;
  for (int i = 0; points != nullptr && uri.empty() && i < sk_DIST_POINT_num(points); ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(points, i);
    if (dp->distpoint == nullptr || dp->distpoint->type != 0) continue;
    GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int k = 0; k < sk_GENERAL_NAME_num(names); ++k) {
      GENERAL_NAME* n = sk_GENERAL_NAME_value(names, k);
      if (n->type == GEN_URI) {
        const ASN1_IA5STRING* s = n->d.uniformResourceIdentifier;
        uri.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                   static_cast<std::size_t>(ASN1_STRING_length(s)));
        break;
      }
    }
  }
  CRL_DIST_POINTS_free(points);
  if (uri.rfind("https://", 0) != 0 && uri.rfind("http://", 0) != 0) {
    return Status::NotFound("the root certificate names no http(s) CRL distribution point");
  }
  return uri;
}

}  // namespace

PcsClient::PcsClient(PcsClientOptions options)
    : options_(std::move(options)), base_(Trimmed(options_.base_url)) {}

Result<Collateral> PcsClient::Fetch(const std::array<std::uint8_t, 6>& fmspc, PckCa ca) const {
  Collateral c;
  // TCB info.
  const std::string tcb_url = base_ + PcsTcbPath(fmspc);
  TDX_ASSIGN_OR_RETURN(Response tcb, Get(options_, tcb_url));
  TDX_ASSIGN_OR_RETURN(c.tcb_info_issuer_chain,
                       ChainHeader(tcb, tcb_url, {kTcbInfoChainHeader, kTcbInfoChainHeaderSgx}));
  auto tcb_body = ParseSignedPcsBody(BodyText(tcb), "tcbInfo");
  if (!tcb_body.ok()) return tcb_body.status().WithContext("GET " + tcb_url);
  c.tcb_info = tcb_body->signed_text;
  c.tcb_info_signature = tcb_body->signature;
  // QE identity.
  const std::string qe_url = base_ + PcsQeIdentityPath();
  TDX_ASSIGN_OR_RETURN(Response qe, Get(options_, qe_url));
  TDX_ASSIGN_OR_RETURN(c.qe_identity_issuer_chain,
                       ChainHeader(qe, qe_url, {kQeIdentityChainHeader}));
  auto qe_body = ParseSignedPcsBody(BodyText(qe), "enclaveIdentity");
  if (!qe_body.ok()) return qe_body.status().WithContext("GET " + qe_url);
  c.qe_identity = qe_body->signed_text;
  c.qe_identity_signature = qe_body->signature;
  // PCK CRL.
  const std::string pck_url = base_ + PcsPckCrlPath(ca);
  TDX_ASSIGN_OR_RETURN(Response pck, Get(options_, pck_url));
  TDX_ASSIGN_OR_RETURN(c.pck_crl_issuer_chain, ChainHeader(pck, pck_url, {kPckCrlChainHeader}));
  auto pck_crl = DecodeCrlBody(pck.body);
  if (!pck_crl.ok()) return pck_crl.status().WithContext("GET " + pck_url);
  c.pck_crl = std::move(pck_crl).value();
  // Root CA CRL: the PCCS endpoint, else the root certificate's distribution point.
  std::string root_url = base_ + PcsRootCaCrlPath();
  auto root = Get(options_, root_url);
  if (!root.ok() && root.status().code() == Status::Code::kNotFound) {
    auto dp = RootCrlDistributionPoint(c.tcb_info_issuer_chain);
    if (!dp.ok()) return root.status().WithContext(dp.status().message());
    root_url = *dp;
    root = Get(options_, root_url);
  }
  if (!root.ok()) return root.status();
  auto root_crl = DecodeCrlBody(root->body);
  if (!root_crl.ok()) return root_crl.status().WithContext("GET " + root_url);
  c.root_ca_crl = std::move(root_crl).value();
  return c;
}

Result<Collateral> PcsClient::FetchForQuote(const Quote& quote) const {
  TDX_ASSIGN_OR_RETURN(PckIdentity id, PckIdentityOf(quote));
  return Fetch(id.fmspc, id.ca);
}

// --- cache ----------------------------------------------------------------------------------

CollateralCache::CollateralCache(Fetcher fetch, CollateralCacheOptions options)
    : fetch_(std::move(fetch)), options_(std::move(options)) {}

CollateralCache::Fetcher CollateralCache::FromClient(std::shared_ptr<const PcsClient> client) {
  return [client](const std::array<std::uint8_t, 6>& fmspc, PckCa ca) {
    return client->Fetch(fmspc, ca);
  };
}

std::int64_t CollateralCache::Now() const {
  return options_.clock ? options_.clock() : static_cast<std::int64_t>(std::time(nullptr));
}

std::filesystem::path CollateralCache::FileFor(const std::array<std::uint8_t, 6>& fmspc,
                                               PckCa ca) const {
  return options_.directory / (ToHex(fmspc) + "-" + std::string(PckCaName(ca)) + ".json");
}

Result<CollateralCache::Entry> CollateralCache::Admit(const Collateral& c, std::int64_t now,
                                                      const std::string& from) const {
  auto v = Verifier::Create(c, options_.trusted_root_pem);
  if (!v.ok()) return v.status().WithContext(from);
  if (auto e = v->CheckCollateral(now)) {
    return Status::Mismatch(from + ": refused: " + FormatVerifyError(*e));
  }
  return Entry{std::make_shared<const Verifier>(std::move(v).value()), now};
}

Result<CachedCollateral> CollateralCache::Get(const std::array<std::uint8_t, 6>& fmspc, PckCa ca) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::int64_t now = Now();
  const std::string key = ToHex(fmspc) + "/" + std::string(PckCaName(ca));
  auto it = entries_.find(key);
  // After a restart: the directory's copy, re-checked like a fetch.
  if (it == entries_.end() && !options_.directory.empty()) {
    const auto file = FileFor(fmspc, ca);
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0) {
      auto text = ReadFile(file, 16 << 20);
      auto parsed = text.ok() ? ParseCollateralJson(std::string(text->begin(), text->end()))
                              : Result<Collateral>(text.status());
      if (parsed.ok()) {
        auto entry = Admit(*parsed, now, file.string());
        if (entry.ok()) {
          entry->fetched_at = std::min<std::int64_t>(now, st.st_mtim.tv_sec);
          it = entries_.emplace(key, std::move(entry).value()).first;
        }
      }
    }
  }
  if (it != entries_.end()) {
    const Entry& e = it->second;
    const bool young = now - e.fetched_at < options_.refresh_interval;
    const bool far_from_expiry = e.verifier->CollateralExpires() - now > options_.refresh_margin;
    if (young && far_from_expiry) return CachedCollateral{e.verifier, e.fetched_at, false, ""};
  }
  const std::string what =
      "collateral for FMSPC " + ToHex(fmspc) + " (" + std::string(PckCaName(ca)) + " CA)";
  auto fetched = fetch_(fmspc, ca);
  Result<Entry> admitted =
      fetched.ok() ? Admit(*fetched, now, "fetched " + what) : Result<Entry>(fetched.status());
  if (admitted.ok()) {
    if (!options_.directory.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(options_.directory, ec);
      // Best effort: the cache works from memory when the directory is not writable. The
      // file's modification time records when it was fetched (by this cache's clock).
      const auto file = FileFor(fmspc, ca);
      if (WriteFileAtomic(file, std::string_view(SerializeCollateralJson(*fetched)), 0644).ok()) {
        const struct timespec times[2] = {{static_cast<time_t>(now), 0},
                                          {static_cast<time_t>(now), 0}};
        ::utimensat(AT_FDCWD, file.c_str(), times, 0);
      }
    }
    Entry& e = entries_[key] = std::move(admitted).value();
    return CachedCollateral{e.verifier, e.fetched_at, false, ""};
  }
  const std::string error = admitted.status().message();
  if (it == entries_.end()) {
    return Status::NotFound("no " + what + ": " + error + "; nothing cached");
  }
  const Entry& e = it->second;
  const std::int64_t age = now - e.fetched_at;
  if (age > options_.max_staleness) {
    return Status::NotFound("no current " + what + ": " + error + "; the cached copy is " +
                            std::to_string(age / 3600) + " h old, beyond the allowed " +
                            std::to_string(options_.max_staleness / 3600) + " h");
  }
  if (auto bad = e.verifier->CheckCollateral(now)) {
    return Status::NotFound("no current " + what + ": " + error + "; the cached copy fails " +
                            FormatVerifyError(*bad));
  }
  return CachedCollateral{e.verifier, e.fetched_at, true, error};
}

Result<CachedCollateral> CollateralCache::GetForQuote(const Quote& quote) {
  constexpr std::size_t kMaxIdentities = 256;
  std::optional<PckIdentity> known;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = identities_.find(quote.pck_chain_pem);
    if (it != identities_.end()) known = it->second;
  }
  if (!known) {
    TDX_ASSIGN_OR_RETURN(PckIdentity id, PckIdentityOf(quote));
    std::lock_guard<std::mutex> lock(mu_);
    if (identities_.size() >= kMaxIdentities) identities_.clear();
    identities_.emplace(quote.pck_chain_pem, id);
    known = id;
  }
  return Get(known->fmspc, known->ca);
}

}  // namespace tdxrt
