// Kernel modules by name with their full dependency closure, in load order.
//
// A kernel package from Debian carries lib/modules/<version>/**.ko.xz but no modules.dep (depmod
// runs at install time), so dependencies are read from each module's own .modinfo `depends=`
// (decompressing .ko.xz/.ko.zst/.ko.gz in-process). Names are compared the way the kernel does,
// with '-' and '_' equivalent. Modules listed in modules.builtin are built in and need no file.
#pragma once

#include <string>
#include <vector>

#include "tdximage/tree.h"

namespace tdximage {

struct KernelModule {
  std::string name;  // normalised (underscores)
  std::string path;  // in the tree, e.g. lib/modules/6.12.x/kernel/net/core/failover.ko.xz
  std::vector<std::string> depends;
};

std::string NormaliseModuleName(std::string_view name);

// A module file decompressed (.ko.xz, .ko.zst, .ko.gz; a plain .ko as it is): at most 256 MiB
// and within UnpackLimit of its size.
tdxrt::Result<tdxrt::Bytes> DecompressModule(tdxrt::ByteSpan packed);

// The single <version> under lib/modules/ of `tree`.
tdxrt::Result<std::string> KernelModulesVersion(const FileTree& tree);

// Resolves `wanted` (plus dependencies) in tree's lib/modules/<version>; returns the modules to
// load, dependencies first (a module appears once). Built-in modules are skipped.
tdxrt::Result<std::vector<KernelModule>> ModuleClosure(const FileTree& tree,
                                                       const std::string& version,
                                                       const std::vector<std::string>& wanted);

}  // namespace tdximage
