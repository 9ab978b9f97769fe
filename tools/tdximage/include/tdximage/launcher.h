// Launchers for a built image (template: runtime/launcher/launcher.sh.in).
//
//   <name>-run-qemu.sh    self-extracting: a bash header, then a tar.gz payload of the kernel,
//                         initramfs, OVMF, manifest and measurements. The header embeds the
//                         payload's sha256 and each file's sha256 and checks them before every
//                         launch. Deterministic: sorted entries, mtime SOURCE_DATE_EPOCH, uid/gid
//                         0, gzip without timestamp, so rebuilding gives the same launcher bytes.
//   <name>-launch-tdx.sh  the same logic over the unpacked files beside it in out/<name>/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tdxrt/bytes.h"
#include "tdxrt/status.h"

namespace tdximage {

struct LauncherFile {
  std::string name;
  std::shared_ptr<const tdxrt::Bytes> data;
};

struct LauncherSpec {
  std::string name, tool;
  std::string memory, cmdline;
  int cpus = 1;
  std::string mrtd_single, mrtd_two, rtmr1, rtmr2;
  std::string kernel_header, ovmf_layout;  // the first host's (mrtd-calc flags for MEMORY=)
  std::vector<std::string> host_lines;     // "HOST: MR_TD order, RTMR1 hex", one per host
  bool rtmr1_follows_memory = true;        // some host measures the header QEMU patches
  std::string rtmr0_pinned_hosts;          // hosts whose RTMR0 the policy pins, space-separated
  std::string kernel_file, initrd_file, ovmf_file;  // names among `files`
  std::vector<LauncherFile> files;                  // everything the launcher carries
  std::int64_t mtime = 0;
  std::vector<std::string> host_env;  // payload.host_env: passed to the guest through fw_cfg
};

tdxrt::Result<tdxrt::Bytes> MakeSelfExtractingLauncher(const LauncherSpec& spec);
tdxrt::Result<std::string> MakeUnpackedLauncher(const LauncherSpec& spec);

// The embedded payload of a self-extracting launcher: its files, after checking the payload's
// sha256 against the header. For inspect and verify.
tdxrt::Result<std::vector<LauncherFile>> ReadLauncherPayload(tdxrt::ByteSpan launcher);

}  // namespace tdximage
