// Status and Result<T>: the error currency of every library in this project.
//
// Libraries never throw across their boundary and never exit(); they return a Status (or a
// Result<T> holding either a value or a failed Status). Messages carry context up the stack:
// each layer prefixes what it was doing ("TDVF section 3: ..."), and the CLI finally prefixes
// the file name and the tool name. The Code says what kind of failure it is so a CLI can map it
// to an exit code without parsing text.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tdxrt {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller's request makes no sense (bad option value, bad syntax)
    kCorrupt,          // untrusted bytes do not follow their format
    kNotFound,         // a file, entry or structure is absent
    kIoError,          // the operating system refused a read or write
    kUnsupported,      // a valid input uses a feature this code does not implement
    kMismatch,         // a computed value differs from an expected one
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status Corrupt(std::string msg) { return {Code::kCorrupt, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status IoError(std::string msg) { return {Code::kIoError, std::move(msg)}; }
  static Status Unsupported(std::string msg) { return {Code::kUnsupported, std::move(msg)}; }
  static Status Mismatch(std::string msg) { return {Code::kMismatch, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message".
  Status WithContext(std::string_view context) const;
  std::string ToString() const;

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Holds either a T or a failed Status. REQUIRES: a Status passed in is not ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tdxrt

// Propagation helpers. TDX_TRY(expr) returns the failed Status of expr from the enclosing
// function. TDX_ASSIGN_OR_RETURN(lhs, expr) unwraps a Result or returns its Status.
#define TDX_CONCAT_INNER(a, b) a##b
#define TDX_CONCAT(a, b) TDX_CONCAT_INNER(a, b)
#define TDX_TRY(expr)                          \
  do {                                         \
    ::tdxrt::Status tdx_status_ = (expr);      \
    if (!tdx_status_.ok()) return tdx_status_; \
  } while (0)
#define TDX_ASSIGN_OR_RETURN(lhs, expr) \
  TDX_ASSIGN_OR_RETURN_IMPL(TDX_CONCAT(tdx_result_, __LINE__), lhs, expr)
#define TDX_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
