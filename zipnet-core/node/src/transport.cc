// zipnet transport over standalone Asio and OpenSSL (see zipnet/node/transport.h).
#include "zipnet/node/transport.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <charconv>
#include <deque>
#include <random>

#include "tdxrt/hex.h"
#include "zipnet/node_wire.h"

namespace zipnet::node {

using asio::ip::tcp;
using SslStream = asio::ssl::stream<tcp::socket>;

// --- addresses ----------------------------------------------------------------------------------

std::string Endpoint::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<Endpoint> ParseEndpoint(std::string_view text) {
  Endpoint e;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("address '" + std::string(text) + "' is not [host]:port");
    }
    e.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status::InvalidArgument("address '" + std::string(text) + "' is not host:port");
    }
    e.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535 || port.empty()) {
    return Status::InvalidArgument("address '" + std::string(text) + "': port '" +
                                   std::string(port) + "' is not 0..65535");
  }
  e.port = static_cast<std::uint16_t>(value);
  return e;
}

std::string PeerAddress::ToString() const { return tdxrt::ToHex(peer) + "@" + endpoint.ToString(); }

Result<PeerAddress> ParsePeerAddress(std::string_view text) {
  const auto at = text.find('@');
  if (at == std::string_view::npos) {
    return Status::InvalidArgument("peer '" + std::string(text) +
                                   "' is not <peer id>@host:port (32 hex digits before '@')");
  }
  PeerAddress a;
  auto id = tdxrt::FromHex(text.substr(0, at), a.peer.size());
  if (!id.ok()) {
    return Status::InvalidArgument("peer '" + std::string(text) + "': peer id is not " +
                                   std::to_string(2 * a.peer.size()) + " hex digits");
  }
  std::copy(id->begin(), id->end(), a.peer.begin());
  TDX_ASSIGN_OR_RETURN(a.endpoint, ParseEndpoint(text.substr(at + 1)));
  return a;
}

namespace {
// The items of a list separated by commas or white space.
std::vector<std::string_view> ListItems(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto end = text.find_first_of(", \t\n", i);
    const std::string_view item =
        text.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (!item.empty()) out.push_back(item);
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  return out;
}
}  // namespace

Result<std::vector<PeerAddress>> ParsePeerList(std::string_view text) {
  std::vector<PeerAddress> out;
  for (std::string_view item : ListItems(text)) {
    TDX_ASSIGN_OR_RETURN(PeerAddress a, ParsePeerAddress(item));
    out.push_back(std::move(a));
  }
  if (out.empty()) return Status::InvalidArgument("empty peer list");
  return out;
}

Result<std::set<PeerId>> ParsePeerIds(std::string_view text) {
  std::set<PeerId> out;
  for (std::string_view item : ListItems(text)) {
    PeerId p{};
    auto id = tdxrt::FromHex(item, p.size());
    if (!id.ok()) {
      return Status::InvalidArgument("peer id '" + std::string(item) + "' is not " +
                                     std::to_string(2 * p.size()) + " hex digits");
    }
    std::copy(id->begin(), id->end(), p.begin());
    out.insert(p);
  }
  return out;
}

// --- loop and timers ----------------------------------------------------------------------------

struct Loop::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::unique_ptr<asio::signal_set> signals;
};

void Loop::OnTerminationSignal(std::function<void(int)> fn) {
  impl_->signals = std::make_unique<asio::signal_set>(impl_->io, SIGINT, SIGTERM);
  impl_->signals->async_wait([fn = std::move(fn)](const asio::error_code& ec, int sig) {
    if (!ec) fn(sig);
  });
}

Loop::Loop() : impl_(std::make_unique<Impl>()) {}
Loop::~Loop() = default;
void Loop::Run() { impl_->io.run(); }
void Loop::Stop() { impl_->io.stop(); }
bool Loop::stopped() const { return impl_->io.stopped(); }
void Loop::Post(std::function<void()> fn) { asio::post(impl_->io, std::move(fn)); }

namespace {

class AsioTimer : public Timer {
 public:
  AsioTimer(asio::io_context& io, std::chrono::milliseconds delay, std::function<void()> fn)
      : timer_(io, delay), live_(std::make_shared<bool>(true)) {
    timer_.async_wait([live = live_, fn = std::move(fn)](const asio::error_code& ec) {
      if (!ec && *live) {
        *live = false;
        fn();
      }
    });
  }
  ~AsioTimer() override { Cancel(); }
  void Cancel() override {
    *live_ = false;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  std::shared_ptr<bool> live_;
};

}  // namespace

std::unique_ptr<Timer> Loop::After(std::chrono::milliseconds delay, std::function<void()> fn) {
  return std::make_unique<AsioTimer>(impl_->io, delay, std::move(fn));
}

// --- TLS identity -------------------------------------------------------------------------------

namespace {

std::string OpenSslError(std::string_view what) {
  std::string out(what);
  if (unsigned long e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

// Any certificate is acceptable to OpenSSL's chain check: what a peer is allowed to be is
// decided afterwards from its Ed25519 key (PeerOf), and TLS 1.3's CertificateVerify has
// proved it holds that key.
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

// The peer's Ed25519 key from its (self-signed) certificate.
Result<PublicKey> PeerKeyOf(SSL* ssl) {
  std::unique_ptr<X509, X509Free> cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return Status::Mismatch("peer presented no certificate");
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
    return Status::Mismatch("peer certificate key is not Ed25519");
  }
  if (X509_verify(cert.get(), key) != 1) {
    ERR_clear_error();
    return Status::Mismatch("peer certificate is not self-signed by its key");
  }
  PublicKey out{};
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1 || len != out.size()) {
    return Status::Mismatch(OpenSslError("peer certificate key"));
  }
  return out;
}

}  // namespace

struct TlsIdentity::Impl {
  asio::ssl::context ctx{asio::ssl::context::tls};
};

TlsIdentity::~TlsIdentity() = default;

Result<std::shared_ptr<TlsIdentity>> TlsIdentity::Create(const Ed25519KeyPair& identity) {
  std::shared_ptr<TlsIdentity> t(new TlsIdentity());
  t->impl_ = std::make_unique<Impl>();
  t->peer_ = PeerIdOf(identity.public_key);
  SSL_CTX* ctx = t->impl_->ctx.native_handle();

  std::unique_ptr<EVP_PKEY, EvpPkeyFree> key(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, identity.seed.bytes().data(), identity.seed.bytes().size()));
  if (!key) return Status::IoError(OpenSslError("TLS identity key"));
  std::unique_ptr<X509, X509Free> cert(X509_new());
  const std::string cn = "zipnet " + tdxrt::ToHex(t->peer_);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!cert || X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) != 1 ||
      ASN1_TIME_set_string(X509_getm_notBefore(cert.get()), "20000101000000Z") != 1 ||
      ASN1_TIME_set_string(X509_getm_notAfter(cert.get()), "99991231235959Z") != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1 ||
      X509_sign(cert.get(), key.get(), nullptr) <= 0) {
    return Status::IoError(OpenSslError("self-signed TLS certificate"));
  }
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_use_certificate(ctx, cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return Status::IoError(OpenSslError("TLS context"));
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, AcceptAnyCertificate);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  return t;
}

// --- connections --------------------------------------------------------------------------------

namespace {

// The counts a listener admits connections by: in total, and per address all of them and those
// whose peer is not authenticated yet.
struct Admission {
  std::size_t total = 0;
  std::map<std::string, std::pair<std::size_t, std::size_t>> by_address;  // all, unauthenticated
  std::uint64_t refused = 0;
};

// An accepted connection's place in its listener's counts, from accept to close.
class Slot {
 public:
  Slot(std::shared_ptr<Admission> a, std::string address)
      : admission_(std::move(a)), address_(std::move(address)) {
    ++admission_->total;
    auto& [all, unauthenticated] = admission_->by_address[address_];
    ++all;
    ++unauthenticated;
  }
  ~Slot() {
    --admission_->total;
    auto it = admission_->by_address.find(address_);
    --it->second.first;
    if (!authenticated_) --it->second.second;
    if (it->second.first == 0) admission_->by_address.erase(it);
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  void Authenticated() {
    if (authenticated_) return;
    authenticated_ = true;
    --admission_->by_address[address_].second;
  }

 private:
  std::shared_ptr<Admission> admission_;
  std::string address_;
  bool authenticated_ = false;
};

constexpr std::size_t kReadChunk = 64 * 1024;

class TlsConnection : public Connection {
 public:
  // `slot` is the listener's count of an accepted connection (none when dialed); a dialed
  // connection's peer is the one dialed, so it starts authenticated.
  TlsConnection(std::shared_ptr<SslStream> stream, PublicKey key, std::string remote,
                TransportOptions options, std::shared_ptr<Slot> slot)
      : stream_(std::move(stream)),
        key_(key),
        peer_(PeerIdOf(key)),
        remote_(std::move(remote)),
        options_(options),
        slot_(std::move(slot)),
        authenticated_(slot_ == nullptr),
        max_frame_(authenticated_
                       ? options_.limits.max_frame
                       : std::min(options_.unauthenticated_max_frame, options_.limits.max_frame)),
        timer_(stream_->get_executor()),
        last_rx_(std::chrono::steady_clock::now()),
        last_tx_(last_rx_),
        hello_deadline_(last_rx_ + options_.hello_timeout) {
    // Both ends derive the same value from this session's secrets (RFC 8446 section 7.5); it
    // exists for no other session, so evidence that carries it was made for this connection.
    static constexpr char kLabel[] = "EXPORTER-zipnet-link-v1";
    if (SSL_export_keying_material(stream_->native_handle(), binding_.data(), binding_.size(),
                                   kLabel, sizeof kLabel - 1, nullptr, 0, 0) != 1) {
      // Only possible before a handshake completed, which never reaches here; a zero binding
      // would match no evidence anyway.
      ERR_clear_error();
      binding_.fill(0);
    }
  }

  const PeerId& peer() const override { return peer_; }
  const LinkBinding& binding() const override { return binding_; }
  const PublicKey& peer_key() const override { return key_; }
  std::string remote() const override { return remote_; }
  bool open() const override { return open_; }
  Traffic traffic() const override { return traffic_; }

  void Start(FrameHandler on_frame, CloseHandler on_close) override {
    on_frame_ = std::move(on_frame);
    on_close_ = std::move(on_close);
    if (!open_) {
      NotifyClosed();
      return;
    }
    ReadHeader();
    Arm();
  }

  void Authenticated(std::size_t max_frame) override {
    authenticated_ = true;
    max_frame_ = std::min(max_frame, options_.limits.max_frame);
    if (slot_) slot_->Authenticated();
  }

  void Send(MessageType type, ByteSpan body) override { Queue(EncodeFrame(type, body)); }
  void Flush(std::function<void()> done) override {
    if (!open_ || (out_.empty() && !held_)) {
      asio::post(stream_->get_executor(), std::move(done));
      return;
    }
    flushed_.push_back(std::move(done));
  }
  void SendRaw(ByteSpan bytes) override { Queue(Bytes(bytes.begin(), bytes.end())); }

  void Pause() override { paused_ = true; }
  void Resume() override {
    paused_ = false;
    if (!read_waiting_ || !open_) return;
    read_waiting_ = false;
    auto self = std::static_pointer_cast<TlsConnection>(shared_from_this());
    asio::post(stream_->get_executor(), [self] {
      if (self->open_ && !self->paused_)
        self->ReadHeader();
      else if (self->open_)
        self->read_waiting_ = true;
    });
  }

  void HoldOutput() override { held_ = true; }
  void ReleaseOutput(MessageType type, ByteSpan body) override {
    held_ = false;
    std::deque<std::shared_ptr<Bytes>> later = std::move(held_out_);
    held_out_.clear();
    Queue(EncodeFrame(type, body));
    for (auto& frame : later) Append(std::move(frame));
  }

  void Queue(Bytes bytes) {
    if (!open_) return;
    auto frame = std::make_shared<Bytes>(std::move(bytes));
    queued_ += frame->size();
    last_tx_ = std::chrono::steady_clock::now();
    if (queued_ > options_.max_queued_bytes) {
      Close("peer reads too slowly (more than " + std::to_string(options_.max_queued_bytes) +
            " bytes queued)");
      return;
    }
    if (held_) {
      held_out_.push_back(std::move(frame));
      return;
    }
    Append(std::move(frame));
  }

  void Abandon() override {
    on_frame_ = nullptr;
    on_close_ = nullptr;
    Close("abandoned");
  }

  void Close(const std::string& reason) override {
    if (!open_) return;
    open_ = false;
    reason_ = reason;
    held_out_.clear();
    RunFlushed();
    timer_.cancel();
    slot_.reset();
    asio::error_code ec;
    stream_->lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
    stream_->lowest_layer().close(ec);
    if (on_frame_ || on_close_) {
      // Not from inside the caller's stack: the owner may be iterating its connections.
      asio::post(stream_->get_executor(), [self = shared_from_this()] {
        static_cast<TlsConnection*>(self.get())->NotifyClosed();
      });
    }
  }

 private:
  using Clock = std::chrono::steady_clock;

  // A frame already counted in queued_, to the write queue.
  void Append(std::shared_ptr<Bytes> frame) {
    if (!open_) return;
    out_.push_back(std::move(frame));
    if (!writing_) WriteNext();
  }

  // One timer per connection, set for the earliest of: the Hello deadline (until
  // authenticated), the idle deadline, the next keep-alive.
  void Arm() {
    if (!open_) return;
    Clock::time_point next =
        std::min(last_rx_ + options_.idle_timeout, last_tx_ + options_.keepalive);
    if (!authenticated_) next = std::min(next, hello_deadline_);
    timer_.expires_at(next);
    auto self = std::static_pointer_cast<TlsConnection>(shared_from_this());
    timer_.async_wait([self](const asio::error_code& ec) {
      if (!ec && self->open_) self->Tick();
    });
  }

  void Tick() {
    const auto now = Clock::now();
    const auto ms = [](auto d) {
      return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
    };
    if (!authenticated_ && now >= hello_deadline_) {
      return Close("no Hello accepted within " + ms(options_.hello_timeout) + " ms");
    }
    if (now - last_rx_ >= options_.idle_timeout) {
      return Close("nothing received for " + ms(options_.idle_timeout) + " ms");
    }
    if (now - last_tx_ >= options_.keepalive && out_.empty()) {
      Send(MessageType::kPing, EncodePing());
    }
    Arm();
  }

  void RunFlushed() {
    auto callbacks = std::move(flushed_);
    flushed_.clear();
    for (auto& cb : callbacks) asio::post(stream_->get_executor(), std::move(cb));
  }

  void NotifyClosed() {
    CloseHandler cb = std::move(on_close_);
    on_close_ = nullptr;
    on_frame_ = nullptr;
    if (cb) cb(reason_);
  }

  void ReadHeader() {
    auto self = std::static_pointer_cast<TlsConnection>(shared_from_this());
    asio::async_read(
        *stream_, asio::buffer(header_), [self](const asio::error_code& ec, std::size_t n) {
          if (!self->open_) return;
          if (ec) return self->Close(Describe(ec));
          self->traffic_.bytes_in += n;
          self->last_rx_ = Clock::now();
          const std::uint32_t len =
              std::uint32_t{self->header_[0]} | std::uint32_t{self->header_[1]} << 8 |
              std::uint32_t{self->header_[2]} << 16 | std::uint32_t{self->header_[3]} << 24;
          if (len == 0 || len > self->max_frame_) {
            return self->Close("frame length " + std::to_string(len) + " is not 1.." +
                               std::to_string(self->max_frame_) +
                               (self->authenticated_ ? "" : " (before the peer's Hello)"));
          }
          self->body_.clear();
          self->ReadBody(len);
        });
  }

  // Reads a frame body of `len` bytes a chunk at a time: the buffer grows with what arrives.
  void ReadBody(std::size_t len) {
    auto self = std::static_pointer_cast<TlsConnection>(shared_from_this());
    const std::size_t have = body_.size();
    const std::size_t chunk = std::min(kReadChunk, len - have);
    body_.resize(have + chunk);
    asio::async_read(
        *stream_, asio::buffer(body_.data() + have, chunk),
        [self, len](const asio::error_code& ec, std::size_t n) {
          if (!self->open_) return;
          if (ec) return self->Close(Describe(ec));
          self->traffic_.bytes_in += n;
          self->last_rx_ = Clock::now();
          if (self->body_.size() < len) return self->ReadBody(len);
          const std::uint8_t type = self->body_[0];
          if (!IsMessageType(type)) {
            return self->Close("frame type " + std::to_string(type) + " is not a zipnet message");
          }
          if (type == static_cast<std::uint8_t>(MessageType::kPing)) {
            Status st = DecodePing(ByteSpan(self->body_).subspan(1));
            if (!st.ok()) return self->Close(st.message());
            return self->ReadHeader();
          }
          Status st = self->on_frame_ ? self->on_frame_(static_cast<MessageType>(type),
                                                        ByteSpan(self->body_).subspan(1))
                                      : Status::Ok();
          if (!self->open_) return;
          if (!st.ok()) return self->Close(st.message());
          if (self->body_.capacity() > (1u << 20)) Bytes().swap(self->body_);
          if (self->paused_) {
            self->read_waiting_ = true;  // Resume() reads on
            return;
          }
          self->ReadHeader();
        });
  }

  void WriteNext() {
    writing_ = true;
    auto self = std::static_pointer_cast<TlsConnection>(shared_from_this());
    asio::async_write(*stream_, asio::buffer(*out_.front()),
                      [self](const asio::error_code& ec, std::size_t n) {
                        if (!self->open_) return;
                        if (ec) return self->Close(Describe(ec));
                        self->traffic_.bytes_out += n;
                        self->queued_ -= self->out_.front()->size();
                        self->out_.pop_front();
                        if (self->out_.empty()) {
                          self->writing_ = false;
                          self->RunFlushed();
                        } else {
                          self->WriteNext();
                        }
                      });
  }

  static std::string Describe(const asio::error_code& ec) {
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      return "closed by peer";
    }
    return ec.message();
  }

  std::shared_ptr<SslStream> stream_;
  LinkBinding binding_{};
  PublicKey key_;
  PeerId peer_;
  std::string remote_;
  TransportOptions options_;
  std::shared_ptr<Slot> slot_;
  bool authenticated_;
  std::size_t max_frame_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point last_rx_, last_tx_, hello_deadline_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  std::array<std::uint8_t, 4> header_{};
  Bytes body_;
  std::deque<std::shared_ptr<Bytes>> out_;
  bool paused_ = false;        // Pause(): no frame is read after the current one
  bool read_waiting_ = false;  // a frame was handled while paused: Resume() reads the next
  bool held_ = false;          // HoldOutput(): frames wait in held_out_ for ReleaseOutput
  std::deque<std::shared_ptr<Bytes>> held_out_;
  std::vector<std::function<void()>> flushed_;  // Flush callbacks waiting for out_ to drain
  std::size_t queued_ = 0;
  bool writing_ = false;
  bool open_ = true;
  std::string reason_;
  Traffic traffic_;
};

template <typename Socket>
std::string RemoteOf(const Socket& s) {
  asio::error_code ec;
  const auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  return Endpoint{ep.address().to_string(), ep.port()}.ToString();
}

// Runs a TLS handshake with a deadline; done gets the peer's key or why it failed.
void Handshake(asio::io_context& io, const std::shared_ptr<SslStream>& stream,
               asio::ssl::stream_base::handshake_type type, std::chrono::milliseconds timeout,
               std::function<void(Result<PublicKey>)> done) {
  auto timer = std::make_shared<asio::steady_timer>(io, timeout);
  auto finished = std::make_shared<bool>(false);
  timer->async_wait([stream, finished](const asio::error_code& ec) {
    if (ec || *finished) return;
    asio::error_code ignored;
    stream->lowest_layer().close(ignored);
  });
  stream->async_handshake(
      type, [stream, timer, finished, done = std::move(done)](const asio::error_code& ec) {
        const bool timed_out = !stream->lowest_layer().is_open();
        *finished = true;
        timer->cancel();
        if (ec) {
          done(Status::IoError(timed_out ? "TLS handshake timed out"
                                         : "TLS handshake failed: " + ec.message()));
          return;
        }
        done(PeerKeyOf(stream->native_handle()));
      });
}

class AsioListener : public Listener {
 public:
  AsioListener(asio::io_context& io, std::shared_ptr<TlsIdentity> tls, TransportOptions options,
               std::function<void(ConnectionPtr)> on_accept)
      : io_(io),
        tls_(std::move(tls)),
        options_(options),
        on_accept_(std::move(on_accept)),
        acceptor_(io),
        alive_(std::make_shared<bool>(true)),
        admission_(std::make_shared<Admission>()),
        retry_(io) {
    if (options_.max_connections == 0) {
      // What this process may open, less a reserve for its own links, files and metrics (half
      // of a small limit), so that the cap refuses before the process runs out.
      rlimit r{};
      const rlim_t soft = ::getrlimit(RLIMIT_NOFILE, &r) == 0 ? r.rlim_cur : 1024;
      options_.max_connections = static_cast<std::size_t>(soft > 128 ? soft - 64 : soft / 2);
    }
    reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  ~AsioListener() override {
    Close();
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
  }

  Status Bind(const Endpoint& bind) {
    asio::error_code ec;
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(bind.host, std::to_string(bind.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument("listen address " + bind.ToString() +
                                     ": cannot resolve: " + ec.message());
    }
    const tcp::endpoint ep = results.begin()->endpoint();
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::IoError("listen on " + bind.ToString() + ": " + ec.message());
    const auto local = acceptor_.local_endpoint(ec);
    bound_ = Endpoint{local.address().to_string(), local.port()};
    Accept();
    return Status::Ok();
  }

  Endpoint bound() const override { return bound_; }
  void Close() override {
    *alive_ = false;
    asio::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  }
  std::size_t open_connections() const override { return admission_->total; }
  std::uint64_t refused_connections() const override { return admission_->refused; }

 private:
  void Accept() {
    acceptor_.async_accept([this, alive = alive_](const asio::error_code& ec, tcp::socket socket) {
      if (!*alive) return;
      if (ec) return AcceptFailed(ec);
      asio::error_code ignored;
      const auto ep = socket.remote_endpoint(ignored);
      const std::string address = ignored ? "?" : ep.address().to_string();
      if (!Admit(address)) {
        ++admission_->refused;
        socket.close(ignored);
      } else {
        socket.set_option(tcp::no_delay(true), ignored);
        const std::string remote = RemoteOf(socket);
        auto slot = std::make_shared<Slot>(admission_, address);
        auto stream = std::make_shared<SslStream>(std::move(socket), tls_->impl().ctx);
        Handshake(
            io_, stream, asio::ssl::stream_base::server, options_.handshake_timeout,
            [this, alive, stream, remote, slot](Result<PublicKey> key) {
              if (!*alive || !key.ok()) return;  // a failed handshake is the peer's problem
              on_accept_(std::make_shared<TlsConnection>(stream, *key, remote, options_, slot));
            });
      }
      if (acceptor_.is_open()) Accept();
    });
  }

  // Whether one more connection from `address` fits the caps.
  bool Admit(const std::string& address) const {
    if (admission_->total >= options_.max_connections) return false;
    auto it = admission_->by_address.find(address);
    if (it == admission_->by_address.end()) return true;
    return it->second.first < options_.max_connections_per_address &&
           it->second.second < options_.max_unauthenticated_per_address;
  }

  // An accept that failed. Out of descriptors, the pending connection would make every accept
  // fail at once, forever (a busy loop): take it with the reserved descriptor, close it, and
  // pause before accepting again. Other errors pause briefly too.
  void AcceptFailed(const asio::error_code& ec) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    auto pause = std::chrono::milliseconds(10);
    if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
      ++admission_->refused;
      // (Only on a non-blocking socket, as Asio keeps it: accept must not wait here.)
      const int listening = acceptor_.native_handle();
      if (reserve_fd_ >= 0 && (::fcntl(listening, F_GETFL) & O_NONBLOCK) != 0) {
        ::close(reserve_fd_);
        const int fd = ::accept4(listening, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) ::close(fd);
        reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
      pause = std::chrono::milliseconds(100);
    }
    retry_.expires_after(pause);
    retry_.async_wait([this, alive = alive_](const asio::error_code& e) {
      if (!e && *alive && acceptor_.is_open()) Accept();
    });
  }

  asio::io_context& io_;
  std::shared_ptr<TlsIdentity> tls_;
  TransportOptions options_;
  std::function<void(ConnectionPtr)> on_accept_;
  tcp::acceptor acceptor_;
  Endpoint bound_;
  std::shared_ptr<bool> alive_;
  std::shared_ptr<Admission> admission_;
  asio::steady_timer retry_;
  int reserve_fd_ = -1;  // given up to take a connection when the process is out of descriptors
};

}  // namespace

Result<std::unique_ptr<Listener>> Listener::Start(Loop& loop, std::shared_ptr<TlsIdentity> tls,
                                                  const Endpoint& bind, TransportOptions options,
                                                  std::function<void(ConnectionPtr)> on_accept) {
  auto l =
      std::make_unique<AsioListener>(loop.impl().io, std::move(tls), options, std::move(on_accept));
  TDX_TRY(l->Bind(bind));
  return std::unique_ptr<Listener>(std::move(l));
}

void Dial(Loop& loop, std::shared_ptr<TlsIdentity> tls, const PeerAddress& address,
          TransportOptions options, std::function<void(Result<ConnectionPtr>)> done) {
  asio::io_context& io = loop.impl().io;
  auto resolver = std::make_shared<tcp::resolver>(io);
  auto shared_done = std::make_shared<std::function<void(Result<ConnectionPtr>)>>(std::move(done));
  const std::string where = address.ToString();
  resolver->async_resolve(
      address.endpoint.host, std::to_string(address.endpoint.port),
      [&io, resolver, tls, address, options, shared_done, where](
          const asio::error_code& ec, const tcp::resolver::results_type& results) {
        if (ec) {
          (*shared_done)(Status::IoError(where + ": cannot resolve: " + ec.message()));
          return;
        }
        auto stream = std::make_shared<SslStream>(tcp::socket(io), tls->impl().ctx);
        asio::async_connect(
            stream->lowest_layer(), results,
            [&io, stream, address, options, shared_done, where](const asio::error_code& ec2,
                                                                const tcp::endpoint&) {
              if (ec2) {
                (*shared_done)(Status::IoError(where + ": " + ec2.message()));
                return;
              }
              asio::error_code ignored;
              stream->lowest_layer().set_option(tcp::no_delay(true), ignored);
              const std::string remote = RemoteOf(stream->lowest_layer());
              Handshake(
                  io, stream, asio::ssl::stream_base::client, options.handshake_timeout,
                  [stream, address, options, shared_done, where, remote](Result<PublicKey> key) {
                    if (!key.ok()) {
                      (*shared_done)(key.status().WithContext(where));
                      return;
                    }
                    const PeerId got = PeerIdOf(*key);
                    if (got != address.peer) {
                      (*shared_done)(Status::Mismatch(where + ": peer is " + tdxrt::ToHex(got) +
                                                      ", not " + tdxrt::ToHex(address.peer)));
                      return;
                    }
                    (*shared_done)(ConnectionPtr(
                        std::make_shared<TlsConnection>(stream, *key, remote, options, nullptr)));
                  });
            });
      });
}

// --- redialer -----------------------------------------------------------------------------------

Redialer::Redialer(Loop& loop, std::shared_ptr<TlsIdentity> tls, PeerAddress address,
                   TransportOptions options, Connected on_connected, Failed on_failed)
    : loop_(loop),
      tls_(std::move(tls)),
      address_(std::move(address)),
      options_(options),
      on_connected_(std::move(on_connected)),
      on_failed_(std::move(on_failed)),
      alive_(std::make_shared<bool>(true)) {
  loop_.Post([this, alive = alive_] {
    if (*alive) Attempt();
  });
}

Redialer::~Redialer() { Stop(); }

void Redialer::Stop() {
  *alive_ = false;
  timer_.reset();
}

void Redialer::Attempt() {
  Dial(loop_, tls_, address_, options_, [this, alive = alive_](Result<ConnectionPtr> c) {
    if (!*alive) {
      if (c.ok()) (*c)->Close("shutting down");
      return;
    }
    if (!c.ok()) {
      if (on_failed_) on_failed_(c.status().message());
      Retry();
      return;
    }
    connected_at_ = std::chrono::steady_clock::now();
    on_connected_(*c);
  });
}

void Redialer::Lost() {
  if (!*alive_) return;
  if (std::chrono::steady_clock::now() - connected_at_ > std::chrono::seconds(5)) {
    backoff_ = std::chrono::milliseconds(0);
  }
  Retry();
}

void Redialer::Retry() {
  backoff_ = backoff_.count() == 0 ? min_backoff : std::min(max_backoff, backoff_ * 2);
  static thread_local std::minstd_rand jitter{std::random_device{}()};
  const auto delay =
      backoff_ / 2 + std::chrono::milliseconds(static_cast<std::int64_t>(
                         jitter() % static_cast<unsigned long>(backoff_.count() / 2 + 1)));
  timer_ = loop_.After(delay, [this] { Attempt(); });
}

struct PeerDialers::Impl {
  Handlers handlers;
  std::vector<std::unique_ptr<Redialer>> dialers;
  std::map<PeerId, ConnectionPtr> links;

  void Up(const ConnectionPtr& c) {
    links[c->peer()] = c;
    c->Start(
        [this, w = std::weak_ptr<Connection>(c)](MessageType t, ByteSpan b) {
          auto conn = w.lock();
          return conn ? handlers.on_frame(conn, t, b) : Status::Ok();
        },
        [this, c](const std::string& why) {
          if (auto it = links.find(c->peer()); it != links.end() && it->second == c) {
            links.erase(it);
          }
          if (handlers.on_down) handlers.on_down(c, why);
          for (auto& d : dialers) {
            if (d->address().peer == c->peer()) d->Lost();
          }
        });
    if (handlers.on_up) handlers.on_up(c);
  }
};

PeerDialers::PeerDialers() : impl_(std::make_unique<Impl>()) {}
PeerDialers::PeerDialers(PeerDialers&&) noexcept = default;
PeerDialers& PeerDialers::operator=(PeerDialers&&) noexcept = default;
PeerDialers::~PeerDialers() {
  if (impl_) Stop();
}

PeerDialers::PeerDialers(Loop& loop, const std::shared_ptr<TlsIdentity>& tls,
                         const std::vector<PeerAddress>& peers, const TransportOptions& options,
                         Handlers handlers)
    : impl_(std::make_unique<Impl>()) {
  impl_->handlers = std::move(handlers);
  Impl* impl = impl_.get();  // stable across moves of this object
  for (const auto& p : peers) {
    impl->dialers.push_back(std::make_unique<Redialer>(
        loop, tls, p, options, [impl](ConnectionPtr c) { impl->Up(c); },
        [impl, peer = p.peer](const std::string& why) {
          if (impl->handlers.on_failed) impl->handlers.on_failed(peer, why);
        }));
  }
}

const std::map<PeerId, ConnectionPtr>& PeerDialers::links() const { return impl_->links; }

void PeerDialers::Stop() {
  for (auto& d : impl_->dialers) d->Stop();
  for (auto& [peer, c] : impl_->links) c->Abandon();
  impl_->links.clear();
}

}  // namespace zipnet::node
