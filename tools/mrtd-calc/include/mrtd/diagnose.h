// Why does a TD's quote or event log not match the image's measurements? Compares what a TD
// shows (a CC event log, a quote's registers, or register values given by hand) with what the
// image expects per host (expected_log.h), register by register and, when both sides have
// events, event by event, and names each divergence with its likely cause in words: the page
// order (the host's QEMU), another firmware, the kernel header mode, the memory size that moved
// the initrd, the command line, the initrd, the separator's register (an OVMF older or newer
// than edk2-stable202411), a kernel whose EFI stub measures nothing, an event the image's boot
// does not produce.
//
// Causes come from what the expected side can recompute: a digest an event would have under
// another header mode or memory size is in the expected log (alternatives), the separator's
// move is replayed here. Anything else is named by what the event depends on, never guessed
// beyond it.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mrtd/eventlog.h"
#include "mrtd/expected_log.h"
#include "tdxrt/sha.h"

namespace mrtd {

// What a TD shows. Any register may be unknown; events come from a CC event log.
struct ActualBoot {
  std::string source;  // "event log ccel.bin", "quote q.bin", "--rtmr1"
  std::optional<tdxrt::Sha384Digest> mr_td;
  std::array<std::optional<tdxrt::Sha384Digest>, 4> rtmr;  // RTMR0..3
  std::optional<std::vector<CcEvent>> events;              // extended events of a CC log
};

struct Finding {
  std::string reg;                            // "MR_TD", "RTMR1", "RTMR2", "event log"
  std::optional<std::size_t> expected_event;  // 1-based position among the register's events
  std::optional<std::size_t> log_index;       // the event's index in the CC log
  std::string expected;                       // value or digest ("" when there is none)
  std::string actual;
  std::string cause;
};

struct RegisterResult {
  std::string reg;
  // kMatchWherePredicted: RTMR0, whose events match where the image decides them (its value
  // also holds the host's TD HOB and ACPI tables).
  enum class State { kMatch, kMatchWherePredicted, kDiffers, kUnknown } state = State::kUnknown;
  std::string expected, actual;
};

struct VariantDiagnosis {
  std::string host;
  std::vector<RegisterResult> registers;  // MR_TD, RTMR0, RTMR1, RTMR2
  std::vector<Finding> findings;          // empty when every known register matches
};

struct Diagnosis {
  std::vector<VariantDiagnosis> variants;  // in the expected file's order
  std::size_t closest = 0;                 // the variant with fewest findings (first on ties)
  bool match = false;                      // the closest variant matches every known register
  std::vector<std::string> notes;          // about the inputs (RTMR0 not predicted, ...)
};

Diagnosis Diagnose(const ExpectedLog& expected, const ActualBoot& actual);

std::string DiagnosisText(const Diagnosis& d, const ExpectedLog& expected,
                          const ActualBoot& actual);
nlohmann::ordered_json DiagnosisJson(const Diagnosis& d, const ExpectedLog& expected,
                                     const ActualBoot& actual);

}  // namespace mrtd
