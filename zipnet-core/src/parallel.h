// Work spread over a few threads, for the protocol library's bulk steps (a server's pads, an
// aggregator's signature checks): plain std::threads started and joined per call, since each
// call is one large batch (thousands of clients) and the library owns no pool.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

namespace zipnet {

// Runs work(0) .. work(threads - 1) on that many threads, on this thread when there is one.
inline void RunOnThreads(std::size_t threads, const std::function<void(std::size_t)>& work) {
  if (threads <= 1) {
    work(0);
    return;
  }
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(work, t);
  for (auto& th : pool) th.join();
}

// Runs item(i) for every i in [0, n), in contiguous chunks, one per thread (at most `threads`,
// at most n).
inline void ForEachOnThreads(std::size_t threads, std::size_t n,
                             const std::function<void(std::size_t)>& item) {
  if (n == 0) return;
  const std::size_t used = std::max<std::size_t>(1, std::min(threads, n));
  RunOnThreads(used, [&](std::size_t t) {
    for (std::size_t i = n * t / used; i < n * (t + 1) / used; ++i) item(i);
  });
}

}  // namespace zipnet
