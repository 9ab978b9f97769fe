#include "tdxrt/guest_settings.h"

#include <doctest/doctest.h>

namespace {
// A declaration as a program embeds it (this test binary carries one too).
TDXRT_GUEST_SETTINGS(
    "tdx-guest-settings v1 demo\n"
    "protected DEMO_KEY the secret key file\n"
    "host DEMO_PEERS who to talk to\n");
}  // namespace

TEST_CASE("guest settings declarations parse, and name what is wrong") {
  auto d = tdxrt::ParseGuestSettings(
      std::string_view(tdxrt_guest_settings, sizeof tdxrt_guest_settings));
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  REQUIRE(d->size() == 1);
  CHECK((*d)[0].program == "demo");
  REQUIRE((*d)[0].Find("DEMO_KEY") != nullptr);
  CHECK((*d)[0].Find("DEMO_KEY")->protected_);
  CHECK((*d)[0].Find("DEMO_KEY")->note == "the secret key file");
  CHECK_FALSE((*d)[0].Find("DEMO_PEERS")->protected_);
  CHECK(tdxrt::ProtectedFromHost((*d)[0], "DEMO_PEERS DEMO_KEY OTHER") ==
        std::vector<std::string>{"DEMO_KEY"});
  CHECK(tdxrt::ProtectedFromHost((*d)[0], "").empty());
  // Two declarations in one section (two programs linked together), NUL padding between.
  const std::string two = std::string("tdx-guest-settings v1 a\nhost A_X x\n\0\0\0", 38) +
                          "tdx-guest-settings v1 b\nprotected B_Y y\n";
  auto both = tdxrt::ParseGuestSettings(two);
  REQUIRE(both.ok());
  CHECK(both->size() == 2);
  CHECK((*both)[1].Find("B_Y")->protected_);
  auto err = [](std::string_view s) { return tdxrt::ParseGuestSettings(s).status().message(); };
  CHECK(err("hello") ==
        "settings declaration 1 line 1: expected 'tdx-guest-settings v1 <program>', got 'hello'");
  CHECK(err("tdx-guest-settings v1 p\nmaybe X y\n") ==
        "settings declaration 1 line 2: 'maybe' is not 'protected' or 'host'");
  CHECK(err("tdx-guest-settings v1 p\nhost lower y\n") ==
        "settings declaration 1 line 2: 'lower' is not a setting name ([A-Z_][A-Z0-9_]*)");
  CHECK(err("tdx-guest-settings v1 p\nhost A x\nprotected A y\n") ==
        "settings declaration 1 line 3: A is declared twice");
  CHECK(err(std::string("tdx-guest-settings v1 p\nhost \x1b[2J x\n")) ==
        "settings declaration 1 line 2: '\\x1b[2J' is not a setting name ([A-Z_][A-Z0-9_]*)");
}
