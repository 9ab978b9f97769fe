// JSON in and out for every file this project reads or writes as JSON (locks, manifests,
// collateral, measurement files, CLI --json output), on nlohmann::json.
//
// Reading is strict where nlohmann is lenient: a key that appears twice in one object is an
// error naming it and where it is (nlohmann keeps the last, other readers the first: a policy or
// a lock must mean one thing to every tool), and nesting deeper than kMaxJsonDepth is refused
// (our files are shallow; deep nesting only serves to exhaust a stack). Errors name the file or
// what the caller says the text is, and the byte offset where nlohmann gives one.
//
// Writing never throws: nlohmann's dump() throws type_error.316 on a string that is not UTF-8,
// and a certificate field or an archive path we did not produce can be anything. DumpJson
// replaces invalid UTF-8 with U+FFFD instead (callers that must keep such bytes exactly escape
// them first, see tdxrt/text.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tdxrt/status.h"

namespace tdxrt {

inline constexpr int kMaxJsonDepth = 64;

// Parses `text`; `what` names it in errors ("collateral.json", "lock file x.lock").
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what);
Result<nlohmann::ordered_json> ParseOrderedJson(std::string_view text, std::string_view what);

std::string DumpJson(const nlohmann::json& j, int indent = 2);
std::string DumpJson(const nlohmann::ordered_json& j, int indent = 2);

}  // namespace tdxrt
