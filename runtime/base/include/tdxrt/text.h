// Text we did not produce (certificate names, archive paths, peer-supplied reasons), made safe
// to print on a terminal, in a log line or in JSON: printable ASCII stays as it is, a backslash
// becomes "\\" and every other byte "\xNN", so nothing can move the cursor, recolour a terminal,
// forge a second log line or make a JSON writer throw, and the original bytes can still be read
// back from the escaped form.
#pragma once

#include <string>
#include <string_view>

namespace tdxrt {

std::string EscapeText(std::string_view text);

// True when EscapeText(text) == text.
bool IsPlainText(std::string_view text);

}  // namespace tdxrt
