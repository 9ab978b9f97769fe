// libFuzzer target: recipe (YAML) and lock (JSON) parsing and the staleness check.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tdximage/lock.h"
#include "tdximage/recipe.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto recipe = tdximage::ParseRecipe(text, "fuzz.yaml");
  auto lock = tdximage::ParseLock(text, "fuzz.lock");
  if (recipe.ok() && lock.ok()) (void)tdximage::CheckLockFresh(*recipe, *lock);
  return 0;
}
