// libFuzzer target: RA-TLS certificates (tdxrt/ratls.h), what a TLS peer sends: certificate
// parsing (OpenSSL) and our extensions (quote, event log), which must never crash and, when they
// parse, yield an event log that replays.
#include "tdxrt/ratls.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto ev = tdxrt::ReadRatlsCertificate(tdxrt::ByteSpan(data, size));
  if (ev.ok() && ev->event_log) (void)tdxrt::ReplayRtmr3(*ev->event_log);
  return 0;
}
