// zipnet_probe: a misbehaving (or one well-behaved) peer for the network tests. Dials a node
// over TLS (pinned peer id), sends one kind of frame and reports what the node did:
//   zipnet_probe <peer>@host:port <instance> <mode>
// modes: oversized (length over 16 MiB), zero (length 0), badtype (type 99), malformed (a Hello
// whose body is cut short), truncated (a frame announcing 1000 bytes, 10 sent, then close),
// hello (a valid watcher Hello: prints the roster a server answers with, or that the
// aggregator answered).
// Prints "closed: <reason>" when the node closes the connection; exit 0 when the node did what
// the mode expects (closed it, or answered the Hello), 1 otherwise (5 s limit).
#include <cstdio>
#include <cstring>

#include "tdxrt/bytes.h"
#include "zipnet/node/node.h"
#include "zipnet/node_wire.h"

using namespace zipnet;
using namespace zipnet::node;

int main(int argc, char** argv) {
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
      raw.insert(raw.end(), {1, 0, 3});
    } else if (mode == "truncated") {
      tdxrt::AppendLe<std::uint32_t>(raw, 1000);
      raw.push_back(static_cast<std::uint8_t>(MessageType::kEnvelope));
      raw.insert(raw.end(), 9, 0);
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
