// zipnet_probe: a misbehaving (or one well-behaved) peer for the network tests. Dials a node
// over TLS (pinned peer id), sends one kind of frame and reports what the node did:
//   zipnet_probe <peer>@host:port <instance> <mode>
// modes: oversized (length over 16 MiB), zero (length 0), badtype (type 99), malformed (a Hello
// whose body is cut short), truncated (a frame announcing 1000 bytes, 10 sent, then close),
// v1hello (a watcher Hello of wire version 1, an older zipnet), hello (a valid watcher Hello:
// prints the roster a server answers with, or that the aggregator answered).
// Prints "closed: <reason>" when the node closes the connection; exit 0 when the node did what
// the mode expects (closed it, or answered the Hello), 1 otherwise (5 s limit).
//
// Floods (red-team findings 4 and 5), each holding its connections for SECONDS and printing how
// many the node closed by then (exit 0):
//   zipnet_probe <peer>@host:port <instance> flood-frames N SECONDS  N TLS connections, each
//       announcing a 16 MiB frame and sending 4 KiB of it
//   zipnet_probe <peer>@host:port <instance> flood-silent N SECONDS  N TLS connections that
//       send nothing (not even the transport's keep-alive)
//   zipnet_probe <peer>@host:port <instance> flood-tcp N SECONDS     N plain TCP connections
//       that send nothing
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "tdxrt/bytes.h"
#include "zipnet/node/node.h"
#include "zipnet/node_wire.h"

using namespace zipnet;
using namespace zipnet::node;

namespace {

// N plain TCP connections held for `seconds`; returns how many the node closed by then.
int FloodTcp(const Endpoint& ep, int n, int seconds) {
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(ep.port);
  if (::inet_pton(AF_INET, ep.host.c_str(), &addr.sin_addr) != 1) return -1;
  for (int i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      continue;
    }
    fds.push_back(fd);
  }
  std::printf("%zu connected; ", fds.size());
  int closed = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::vector<bool> done(fds.size(), false);
  while (std::chrono::steady_clock::now() < end && closed < static_cast<int>(fds.size())) {
    std::vector<pollfd> p;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!done[i]) p.push_back({fds[i], POLLIN, 0});
    }
    if (::poll(p.data(), p.size(), 100) <= 0) continue;
    for (auto& q : p) {
      if (!(q.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[256];
      if (::recv(q.fd, buf, sizeof buf, MSG_DONTWAIT) > 0) continue;  // a TLS alert, say
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i] == q.fd && !done[i]) {
          done[i] = true;
          ++closed;
        }
      }
    }
  }
  for (int fd : fds) ::close(fd);
  return closed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 6) {
    // Floods.
    auto address = ParsePeerAddress(argv[1]);
    if (!address.ok()) return 2;
    const std::string mode = argv[3];
    const int n = std::atoi(argv[4]);
    const int seconds = std::atoi(argv[5]);
    if (mode == "flood-tcp") {
      const int closed = FloodTcp(address->endpoint, n, seconds);
      std::printf("%d closed by the node within %d s\n", closed, seconds);
      return closed < 0 ? 1 : 0;
    }
    Loop loop;
    SystemRng rng;
    TransportOptions quiet;  // an attacker's connections: no keep-alive, never closed here
    quiet.keepalive = std::chrono::hours(1);
    quiet.idle_timeout = std::chrono::hours(2);
    int connected = 0, closed = 0, failed = 0;
    std::vector<ConnectionPtr> conns;
    for (int i = 0; i < n; ++i) {
      auto tls = TlsIdentity::Create(Ed25519Generate(rng));  // a new key each: anyone
      if (!tls.ok()) return 2;
      Dial(loop, *tls, *address, quiet, [&](Result<ConnectionPtr> c) {
        if (!c.ok()) {
          ++failed;
          return;
        }
        ++connected;
        conns.push_back(*c);
        (*c)->Start([](MessageType, ByteSpan) { return Status::Ok(); },
                    [&](const std::string&) { ++closed; });
        if (mode == "flood-frames") {
          Bytes raw;
          tdxrt::AppendLe<std::uint32_t>(raw, 16u << 20);
          raw.push_back(static_cast<std::uint8_t>(MessageType::kEnvelope));
          raw.insert(raw.end(), 4096, 0x5a);
          (*c)->SendRaw(raw);
        }
      });
    }
    auto stop = loop.After(Millis(1000L * seconds), [&] { loop.Stop(); });
    loop.Run();
    std::printf("%d connected, %d refused; %d closed by the node within %d s\n", connected, failed,
                closed, seconds);
    for (auto& c : conns) c->Abandon();
    return 0;
  }
  if (argc != 4) {
    std::fprintf(stderr, "usage: zipnet_probe <peer>@host:port <instance> <mode>\n");
    return 2;
  }
  auto address = ParsePeerAddress(argv[1]);
  if (!address.ok()) {
    std::fprintf(stderr, "zipnet_probe: %s\n", address.status().message().c_str());
    return 2;
  }
  const std::string mode = argv[3];
  Loop loop;
  SystemRng rng;
  auto tls = TlsIdentity::Create(Ed25519Generate(rng));
  if (!tls.ok()) return 2;
  int result = 1;
  ConnectionPtr conn;
  std::unique_ptr<Timer> later;
  auto deadline = loop.After(Millis(5000), [&] {
    std::printf("no reaction within 5 s\n");
    loop.Stop();
  });
  Dial(loop, *tls, *address, TransportOptions{}, [&](Result<ConnectionPtr> c) {
    if (!c.ok()) {
      std::printf("dial failed: %s\n", c.status().message().c_str());
      loop.Stop();
      return;
    }
    conn = *c;
    conn->Start(
        [&](MessageType type, ByteSpan body) -> Status {
          if (mode == "hello" && type == MessageType::kHello) {
            auto h = DecodeHello(body);
            if (h.ok() && h->role == NodeRole::kAggregator) {  // aggregators send no roster
              std::printf("hello from the aggregator\n");
              result = 0;
              loop.Stop();
            }
          }
          if (mode == "hello" && type == MessageType::kRoster) {
            auto r = DecodeRoster(body);
            if (r.ok()) {
              std::printf("roster: %zu servers\n", r->servers.size());
              result = 0;
            }
            loop.Stop();
          }
          return Status::Ok();
        },
        [&](const std::string& why) {
          std::printf("closed: %s\n", why.c_str());
          if (mode != "hello") result = 0;
          loop.Stop();
        });
    Bytes raw;
    if (mode == "oversized") {
      tdxrt::AppendLe<std::uint32_t>(raw, (16u << 20) + 1);
      raw.push_back(static_cast<std::uint8_t>(MessageType::kEnvelope));
    } else if (mode == "zero") {
      tdxrt::AppendLe<std::uint32_t>(raw, 0);
    } else if (mode == "badtype") {
      tdxrt::AppendLe<std::uint32_t>(raw, 1);
      raw.push_back(99);
    } else if (mode == "malformed") {
      tdxrt::AppendLe<std::uint32_t>(raw, 4);
      raw.push_back(static_cast<std::uint8_t>(MessageType::kHello));
      raw.insert(raw.end(), {static_cast<std::uint8_t>(kWireVersion), 0, 3});
    } else if (mode == "truncated") {
      tdxrt::AppendLe<std::uint32_t>(raw, 1000);
      raw.push_back(static_cast<std::uint8_t>(MessageType::kEnvelope));
      raw.insert(raw.end(), 9, 0);
    } else if (mode == "v1hello") {
      Hello h;
      h.role = NodeRole::kWatcher;
      h.instance_id = InstanceId(kDefaultUniverse, argv[2]);
      Bytes body = Encode(h);
      body[0] = 1;  // what a node of wire version 1 sends
      conn->Send(MessageType::kHello, body);
      return;
    } else if (mode == "hello") {
      Hello h;
      h.role = NodeRole::kWatcher;
      h.instance_id = InstanceId(kDefaultUniverse, argv[2]);
      conn->Send(MessageType::kHello, Encode(h));
      return;
    } else {
      std::fprintf(stderr, "zipnet_probe: unknown mode %s\n", mode.c_str());
      loop.Stop();
      return;
    }
    conn->SendRaw(raw);
    if (mode == "truncated") {
      // The rest never comes: the sender goes away mid-frame.
      later = loop.After(Millis(300), [&] {
        std::printf("sent 14 of 1004 bytes, closing\n");
        result = 0;
        conn->Close("probe done");
      });
    }
  });
  loop.Run();
  (void)deadline;
  return result;
}
