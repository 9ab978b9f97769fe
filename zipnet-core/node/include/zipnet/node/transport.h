// zipnet transport (zipnet-protocol.md, "Transport"): TCP + TLS 1.3 (OpenSSL) with a
// self-signed certificate for each node's Ed25519 identity, on both sides of every connection;
// a peer is identified by PeerId = SHA-256(its certificate's Ed25519 key)[0..16], and a dialer
// accepts the session only if that is the PeerId it dialed. Frames: u32 LE length (1..max_frame)
// of what follows, u8 type, body (zipnet/wire.h). A frame that is oversized, of an unknown type
// or that its handler refuses closes that connection, never the node.
//
// Anyone can complete a TLS handshake (any self-signed key will do), so until the owner of an
// accepted connection says who the peer is (Authenticated, after its Hello), the connection is
// held to little: frames of at most unauthenticated_max_frame, a Hello deadline, a small number
// of such connections per address. Memory for a frame grows with the bytes that arrive, a chunk
// at a time, never with what its header announces. Every link, authenticated or not, is closed
// when nothing arrives for idle_timeout; each side sends a Ping when it has sent nothing for
// keepalive, so a quiet but live link stays up. The listener caps connections in total and per
// address, and when the process runs out of descriptors it sheds the pending connection with a
// reserved descriptor and pauses instead of spinning.
//
// Everything runs on one event loop thread; no type here is thread-safe except Loop::Post and
// Loop::Stop. Asio stays inside transport.cc.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "zipnet/node_wire.h"

namespace zipnet::node {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string ToString() const;
};
// "host:port" (host may be a name, an IPv4 address or [IPv6]).
Result<Endpoint> ParseEndpoint(std::string_view text);

struct PeerAddress {
  PeerId peer{};
  Endpoint endpoint;
  std::string ToString() const;  // "<32 hex digits>@host:port"
};
Result<PeerAddress> ParsePeerAddress(std::string_view text);
// Comma- or whitespace-separated list of peer addresses; at least one.
Result<std::vector<PeerAddress>> ParsePeerList(std::string_view text);
// Peer ids (32 hex digits each), comma- or space-separated; empty text gives none.
Result<std::set<PeerId>> ParsePeerIds(std::string_view text);

class Timer {
 public:
  virtual ~Timer() = default;
  virtual void Cancel() = 0;
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs handlers until Stop().
  void Run();
  void Stop();  // thread-safe
  bool stopped() const;
  void Post(std::function<void()> fn);  // thread-safe
  // Calls fn once after `delay` unless the returned timer is cancelled or destroyed first.
  std::unique_ptr<Timer> After(std::chrono::milliseconds delay, std::function<void()> fn);
  // Calls fn(signal) on the loop for SIGINT and SIGTERM.
  void OnTerminationSignal(std::function<void(int)> fn);

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// A node's TLS identity: its Ed25519 key as a self-signed certificate, for serving and dialing.
class TlsIdentity {
 public:
  static Result<std::shared_ptr<TlsIdentity>> Create(const Ed25519KeyPair& identity);
  ~TlsIdentity();
  const PeerId& peer() const { return peer_; }

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  TlsIdentity() = default;
  std::unique_ptr<Impl> impl_;
  PeerId peer_{};
};

// Byte counters of a connection (frames included), for metrics and the network benchmark.
struct Traffic {
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Called per frame; a failed status closes the connection with that reason.
  using FrameHandler = std::function<Status(MessageType type, ByteSpan body)>;
  using CloseHandler = std::function<void(const std::string& reason)>;

  virtual ~Connection() = default;
  virtual const PeerId& peer() const = 0;
  virtual const PublicKey& peer_key() const = 0;  // the peer certificate's Ed25519 key
  // This TLS session's exporter value ("EXPORTER-zipnet-link-v1", 32 bytes, no context): what
  // evidence binds to be fresh for this connection (zipnet/node_wire.h, LinkReportData).
  virtual const LinkBinding& binding() const = 0;
  virtual std::string remote() const = 0;  // "host:port", for logs
  // Starts reading: frames go to on_frame until the connection closes (once, on_close).
  virtual void Start(FrameHandler on_frame, CloseHandler on_close) = 0;
  virtual void Send(MessageType type, ByteSpan body) = 0;
  // The owner knows who the peer is (its Hello was accepted): frames up to max_frame are now
  // taken from it, and the Hello deadline no longer applies. Dialed connections start so.
  virtual void Authenticated(std::size_t max_frame) = 0;
  // Calls `done` once everything sent so far has been written (or the connection closed).
  virtual void Flush(std::function<void()> done) = 0;
  // While a peer's Hello is judged off the loop: the frames after the one being handled are
  // not read until Resume(), so nothing the peer sent next is taken as from an admitted peer
  // (TCP holds the rest back; the Hello deadline still runs).
  virtual void Pause() = 0;
  virtual void Resume() = 0;
  // While this node's Hello is being made off the loop (its evidence is a quote): frames sent
  // from now on wait, and ReleaseOutput sends its frame before them, so the Hello goes first.
  virtual void HoldOutput() = 0;
  virtual void ReleaseOutput(MessageType type, ByteSpan body) = 0;
  // Sends bytes as they are, framed or not (tests of how peers handle malformed frames).
  virtual void SendRaw(ByteSpan bytes) = 0;
  virtual void Close(const std::string& reason) = 0;
  // Closes without calling the handlers (their owner is going away).
  virtual void Abandon() = 0;
  virtual bool open() const = 0;
  virtual Traffic traffic() const = 0;
};
using ConnectionPtr = std::shared_ptr<Connection>;

struct TransportOptions {
  WireLimits limits;  // limits.max_frame: the most any authenticated peer may send at once
  // A Hello is its attestation and about 100 bytes: a quote (5 KiB with its PCK chain) and an
  // RTMR3 log whose launch record holds at most the 64 KiB the guest's /init takes from the host
  // (hex in the log, so twice that).
  std::size_t unauthenticated_max_frame = 256 * 1024;
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds hello_timeout{10000};  // after TLS, until Authenticated
  std::chrono::milliseconds idle_timeout{60000};   // nothing received: closed
  std::chrono::milliseconds keepalive{15000};      // nothing sent: a Ping
  std::size_t max_queued_bytes = 256u << 20;       // a peer that reads slower is dropped
  std::size_t max_connections = 0;  // accepted ones open at once; 0: RLIMIT_NOFILE less a reserve
                                    // (64, or half of a limit of 128 or less)
  std::size_t max_connections_per_address = 256;
  std::size_t max_unauthenticated_per_address = 32;
};

// Accepts TCP connections and completes TLS handshakes; established connections (any peer id)
// go to on_accept, which must Start() or Close() them.
class Listener {
 public:
  static Result<std::unique_ptr<Listener>> Start(Loop& loop, std::shared_ptr<TlsIdentity> tls,
                                                 const Endpoint& bind, TransportOptions options,
                                                 std::function<void(ConnectionPtr)> on_accept);
  virtual ~Listener() = default;
  virtual Endpoint bound() const = 0;  // with the port the OS chose for port 0
  virtual void Close() = 0;
  // Connections accepted and not closed yet (handshakes included), and those refused at once
  // because of the caps or the descriptor limit since the start.
  virtual std::size_t open_connections() const = 0;
  virtual std::uint64_t refused_connections() const = 0;
};

// Dials `address` once: TCP connect, TLS handshake, peer id check. done() gets the connection
// or why it failed (name resolution, refused, handshake, "peer is <id>, not <expected>").
void Dial(Loop& loop, std::shared_ptr<TlsIdentity> tls, const PeerAddress& address,
          TransportOptions options, std::function<void(Result<ConnectionPtr>)> done);

// Keeps one outgoing connection to a peer up: dials, and after a failure or a close redials
// with exponential backoff (min_backoff doubling to max_backoff, with jitter). The backoff
// starts over only after a connection stayed up for 5 s, so a peer that accepts and then
// closes at once (another instance, a refusal) is not hammered.
class Redialer {
 public:
  using Connected = std::function<void(ConnectionPtr)>;
  using Failed = std::function<void(const std::string& reason)>;
  Redialer(Loop& loop, std::shared_ptr<TlsIdentity> tls, PeerAddress address,
           TransportOptions options, Connected on_connected, Failed on_failed = {});
  ~Redialer();
  // The owner calls this when the connection it got closes.
  void Lost();
  void Stop();
  const PeerAddress& address() const { return address_; }
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{3000};

 private:
  void Attempt();
  void Retry();
  Loop& loop_;
  std::shared_ptr<TlsIdentity> tls_;
  PeerAddress address_;
  TransportOptions options_;
  Connected on_connected_;
  Failed on_failed_;
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point connected_at_{};
  std::unique_ptr<Timer> timer_;
  std::shared_ptr<bool> alive_;
};

// A node's outgoing links to a list of peers (the committee servers, or the aggregator): one
// Redialer per peer, and the established connections. It starts each connection it gets,
// forgets it when it closes and redials that peer.
class PeerDialers {
 public:
  struct Handlers {
    // Frames of an established link; a failed status closes it.
    std::function<Status(const ConnectionPtr&, MessageType, ByteSpan)> on_frame;
    std::function<void(const ConnectionPtr&)> on_up;  // e.g. send the Hello
    std::function<void(const ConnectionPtr&, const std::string& reason)> on_down;
    std::function<void(const PeerId&, const std::string& reason)> on_failed;  // a dial attempt
  };
  PeerDialers();
  PeerDialers(Loop& loop, const std::shared_ptr<TlsIdentity>& tls,
              const std::vector<PeerAddress>& peers, const TransportOptions& options,
              Handlers handlers);
  PeerDialers(PeerDialers&&) noexcept;
  PeerDialers& operator=(PeerDialers&&) noexcept;
  ~PeerDialers();

  // The links up now, by peer.
  const std::map<PeerId, ConnectionPtr>& links() const;
  // Stops redialing and closes the links without calling the handlers.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zipnet::node
