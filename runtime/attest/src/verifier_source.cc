// A program's verifier of quotes from its configuration (see verifier_source.h).
#include "tdxrt/verifier_source.h"

#include <memory>
#include <utility>

#include "tdxrt/collateral.h"
#include "tdxrt/file.h"
#include "tdxrt/text.h"

namespace tdxrt {

Result<std::string> ReadRootCa(const std::string& file) {
  if (file.empty()) return std::string();
  TDX_ASSIGN_OR_RETURN(Bytes pem, ReadFile(file, 1 << 20));
  return std::string(pem.begin(), pem.end());
}

Result<Verifier> LoadVerifier(const std::string& collateral, const std::string& root_pem,
                              const std::string& inline_name) {
  const bool inline_json = !collateral.empty() && collateral.front() == '{';
  const std::string where = inline_json ? inline_name : collateral;
  std::string text = collateral;
  if (!inline_json) {
    TDX_ASSIGN_OR_RETURN(Bytes bytes, ReadFile(collateral, kMaxCollateralFile));
    text.assign(bytes.begin(), bytes.end());
  }
  auto parsed = ParseCollateralJson(text);
  if (!parsed.ok()) return parsed.status().WithContext(where);
  auto v = Verifier::Create(*parsed, root_pem);
  if (!v.ok()) return v.status().WithContext(where);
  return v;
}

VerifierSource VerifierSourceOf(std::shared_ptr<CollateralCache> cache) {
  return [cache = std::move(cache)](const Quote& q) -> Result<std::shared_ptr<const Verifier>> {
    TDX_ASSIGN_OR_RETURN(CachedCollateral c, cache->GetForQuote(q));
    return c.verifier;
  };
}

Result<VerifierSource> MakeVerifierSource(const VerifierConfig& config) {
  const std::string collateral_name =
      config.collateral_name.empty() ? std::string("collateral") : config.collateral_name;
  if (!config.collateral.empty() && !config.pccs_url.empty()) {
    return Status::InvalidArgument(collateral_name + " and a PCCS URL (" + config.pccs_url +
                                   ") are both set: give one");
  }
  if (config.collateral.empty() && config.pccs_url.empty()) return VerifierSource{};
  if (!config.pccs_url.empty()) {
    // The URL is named in every fetch error, and those reach logs and peers.
    const std::string& url = config.pccs_url;
    if (!IsPlainText(url) || url.find(' ') != std::string::npos) {
      return Status::InvalidArgument("PCCS URL '" + EscapeText(url) +
                                     "' is not printable ASCII without spaces");
    }
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return Status::InvalidArgument("PCCS URL '" + url + "' is not http:// or https://");
    }
  }
  TDX_ASSIGN_OR_RETURN(std::string root, ReadRootCa(config.root_ca_file));
  if (!config.collateral.empty()) {
    TDX_ASSIGN_OR_RETURN(Verifier v, LoadVerifier(config.collateral, root, collateral_name));
    auto shared = std::make_shared<const Verifier>(std::move(v));
    return VerifierSource(
        [shared](const Quote&) -> Result<std::shared_ptr<const Verifier>> { return shared; });
  }
  PcsClientOptions o;
  o.base_url = config.pccs_url;
  o.ca_file = config.pccs_ca_file;
  o.timeout = config.pccs_timeout;
  o.attempts = config.pccs_attempts;
  CollateralCacheOptions co;
  co.trusted_root_pem = std::move(root);
  if (config.clock) co.clock = config.clock;
  return VerifierSourceOf(std::make_shared<CollateralCache>(
      CollateralCache::FromClient(std::make_shared<const PcsClient>(std::move(o))), co));
}

}  // namespace tdxrt
