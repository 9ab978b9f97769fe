// libFuzzer target for every zipnet wire decoder: the input is a transport frame whose type
// byte picks the decoder (or, when it is not a valid frame, the whole input goes to each
// decoder and to the params decoder). Whatever decodes must re-encode to the same bytes.
#include <cstdlib>

#include "zipnet/node_wire.h"
#include "zipnet/wire.h"

namespace {

template <typename D>
void Check(zipnet::ByteSpan body, D decode) {
  auto m = decode(body, zipnet::WireLimits{});
  if (!m.ok()) return;
  const zipnet::Bytes again = zipnet::Encode(*m);
  if (again.size() != body.size() || !std::equal(again.begin(), again.end(), body.begin())) {
    std::abort();
  }
}

void All(zipnet::ByteSpan body) {
  Check(body, zipnet::DecodeClientBundle);
  Check(body, zipnet::DecodeEnvelope);
  Check(body, zipnet::DecodeAggregate);
  Check(body, zipnet::DecodeShareCommit);
  Check(body, zipnet::DecodeShare);
  Check(body, zipnet::DecodeBroadcastRecord);
  Check(body, zipnet::DecodeAbortRecord);
  Check(body, zipnet::DecodeHello);
  Check(body, zipnet::DecodeRoster);
  Check(body, zipnet::DecodeRegistered);
  Check(body, zipnet::DecodeRejected);
  Check(body, zipnet::DecodeRoundOpen);
  Check(body, zipnet::DecodeAdmitted);
  Check(body, zipnet::DecodeRecordVote);
  Check(body, zipnet::DecodeConfigure);
  Check(body, zipnet::DecodeConfigureResult);
  if (zipnet::DecodePing(body).ok() && body.size() != zipnet::EncodePing().size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const zipnet::ByteSpan in(data, size);
  auto frame = zipnet::DecodeFrame(in);
  if (!frame.ok()) {
    All(in);
    tdxrt::Cursor c(in);
    (void)zipnet::RoundParams::Decode(c);
    return 0;
  }
  using T = zipnet::MessageType;
  switch (frame->type) {
    case T::kClientBundle:
      Check(frame->body, zipnet::DecodeClientBundle);
      break;
    case T::kEnvelope:
      Check(frame->body, zipnet::DecodeEnvelope);
      break;
    case T::kAggregate:
      Check(frame->body, zipnet::DecodeAggregate);
      break;
    case T::kShareCommit:
      Check(frame->body, zipnet::DecodeShareCommit);
      break;
    case T::kShare:
      Check(frame->body, zipnet::DecodeShare);
      break;
    case T::kBroadcastRecord:
      Check(frame->body, zipnet::DecodeBroadcastRecord);
      break;
    case T::kAbortRecord:
      Check(frame->body, zipnet::DecodeAbortRecord);
      break;
    case T::kHello:
      Check(frame->body, zipnet::DecodeHello);
      break;
    case T::kRoster:
      Check(frame->body, zipnet::DecodeRoster);
      break;
    case T::kRegistered:
      Check(frame->body, zipnet::DecodeRegistered);
      break;
    case T::kRejected:
      Check(frame->body, zipnet::DecodeRejected);
      break;
    case T::kRoundOpen:
      Check(frame->body, zipnet::DecodeRoundOpen);
      break;
    case T::kAdmitted:
      Check(frame->body, zipnet::DecodeAdmitted);
      break;
    case T::kRecordVote:
      Check(frame->body, zipnet::DecodeRecordVote);
      break;
    case T::kConfigure:
      Check(frame->body, zipnet::DecodeConfigure);
      break;
    case T::kConfigureResult:
      Check(frame->body, zipnet::DecodeConfigureResult);
      break;
    case T::kPing:
      if (zipnet::DecodePing(frame->body).ok() &&
          frame->body.size() != zipnet::EncodePing().size()) {
        std::abort();
      }
      break;
  }
  return 0;
}
