// Status formatting.
#include "tdxrt/status.h"

namespace tdxrt {

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_;
}

}  // namespace tdxrt
