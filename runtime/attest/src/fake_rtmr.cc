// The fake RTMR3 interface (fake_rtmr.h).
#include "fake_rtmr.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <stdexcept>

#include "tdxrt/file.h"
#include "tdxrt/rtmr.h"

namespace tdxrt {

FakeRtmr::FakeRtmr(std::filesystem::path dir) : file_(dir / "rtmr3:sha384") {
  std::filesystem::create_directories(dir);
  Store(value_);
  fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd_ < 0 || inotify_add_watch(fd_, file_.c_str(), IN_CLOSE_WRITE) < 0) {
    throw std::runtime_error("FakeRtmr: inotify on " + file_.string() + ": " + Errno());
  }
  thread_ = std::thread([this] { Run(); });
}

FakeRtmr::~FakeRtmr() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

void FakeRtmr::Store(const Measurement& m) {
  if (!WriteFileAtomic(file_, ByteSpan(m.data(), m.size()), 0644).ok()) {
    throw std::runtime_error("FakeRtmr: cannot write " + file_.string());
  }
  // WriteFileAtomic renames: watch the new inode.
  if (fd_ >= 0) inotify_add_watch(fd_, file_.c_str(), IN_CLOSE_WRITE);
}

void FakeRtmr::Run() {
  alignas(inotify_event) char buf[4096];
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    if (::read(fd_, buf, sizeof buf) <= 0) continue;
    auto content = ReadFile(file_);
    if (!content.ok() || content->size() != 48) continue;
    Measurement written{};
    std::copy(content->begin(), content->end(), written.begin());
    if (written == value_) continue;  // our own store
    value_ = ExtendRtmr(value_, written);
    if (rogue) value_ = ExtendRtmr(value_, written);
    Store(value_);
  }
}

}  // namespace tdxrt
