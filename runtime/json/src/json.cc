// Strict JSON reading and non-throwing writing (see include/tdxrt/json.h).
#include "tdxrt/json.h"

#include <set>
#include <vector>

#include "tdxrt/text.h"

namespace tdxrt {

namespace {

// Follows the parser's events to know where it is ("/sets/0/name"), so that a duplicate key or
// excessive nesting is reported with its place in the document.
template <typename Json>
class StrictCallback {
 public:
  bool operator()(int depth, typename Json::parse_event_t event, Json& parsed) {
    using E = typename Json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        if (depth > kMaxJsonDepth) {
          Fail("nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels at " + Path());
          return false;
        }
        frames_.push_back(Frame{event == E::object_start, {}, {}, 0});
        return true;
      case E::object_end:
      case E::array_end:
        if (!frames_.empty()) frames_.pop_back();
        NextElement();
        return true;
      case E::key: {
        if (frames_.empty() || !parsed.is_string()) return true;
        Frame& f = frames_.back();
        f.key = parsed.template get<std::string>();
        if (!f.keys.insert(f.key).second) {
          Fail("duplicate key '" + EscapeText(f.key) + "' at " + Path() +
               " (readers disagree on which one counts; keep one)");
        }
        return true;
      }
      case E::value:
        NextElement();
        return true;
    }
    return true;
  }

  const std::string& error() const { return error_; }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;
    std::size_t index;
  };

  void NextElement() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }
  std::string Path() const {
    std::string p;
    for (const Frame& f : frames_) {
      p += "/" + (f.object ? EscapeText(f.key) : std::to_string(f.index));
    }
    return p.empty() ? "/" : p;
  }
  void Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }

  std::vector<Frame> frames_;
  std::string error_;
};

template <typename Json>
Result<Json> Parse(std::string_view text, std::string_view what) {
  StrictCallback<Json> strict;
  Json j;
  try {
    j = Json::parse(
        text.begin(), text.end(),
        [&strict](int depth, typename Json::parse_event_t event, Json& parsed) {
          return strict(depth, event, parsed);
        },
        /*allow_exceptions=*/true);
  } catch (const typename Json::parse_error& e) {
    std::string msg = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> the part after
    // the bracketed id, which already says where.
    if (const auto close = msg.find("] "); close != std::string::npos) msg = msg.substr(close + 2);
    return Status::Corrupt(std::string(what) + ": invalid JSON: " + msg);
  } catch (const std::exception& e) {
    return Status::Corrupt(std::string(what) + ": invalid JSON: " + e.what());
  }
  if (!strict.error().empty()) return Status::Corrupt(std::string(what) + ": " + strict.error());
  if (j.is_discarded()) return Status::Corrupt(std::string(what) + ": invalid JSON");
  return j;
}

template <typename Json>
std::string Dump(const Json& j, int indent) {
  try {
    return j.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
  } catch (const std::exception& e) {
    // Only allocation failure is left; say so in a form every reader accepts.
    return "{\"error\": \"cannot serialise: " + EscapeText(e.what()) + "\"}";
  }
}

}  // namespace

Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what) {
  return Parse<nlohmann::json>(text, what);
}
Result<nlohmann::ordered_json> ParseOrderedJson(std::string_view text, std::string_view what) {
  return Parse<nlohmann::ordered_json>(text, what);
}

std::string DumpJson(const nlohmann::json& j, int indent) { return Dump(j, indent); }
std::string DumpJson(const nlohmann::ordered_json& j, int indent) { return Dump(j, indent); }

}  // namespace tdxrt
