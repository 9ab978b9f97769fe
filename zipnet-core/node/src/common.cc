// Shared pieces of the zipnet node programs (see zipnet/node/common.h).
#include "zipnet/node/common.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <time.h>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <cctype>
#include <ctime>
#include <mutex>

#include "tdxrt/file.h"
#include "tdxrt/hex.h"
#include "zipnet/node/node.h"

namespace zipnet::node {

NodeIdentity GenerateIdentity(Rng& rng) {
  return NodeIdentity{Ed25519Generate(rng), X25519Generate(rng)};
}

namespace {

constexpr std::string_view kIdentityHeader =
    "# zipnet node identity: SECRET keys. Keep this file mode 0600.\n";

Result<Secret32> ReadKeyLine(const std::string& text, std::string_view key,
                             const std::string& file) {
  const std::string prefix = std::string(key) + ": ";
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    const std::string line =
        text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    ++line_no;
    if (line.rfind(prefix, 0) == 0) {
      auto bytes = tdxrt::FromHex(line.substr(prefix.size()), 32);
      if (!bytes.ok()) {
        return Status::Corrupt(file + ":" + std::to_string(line_no) + ": " + std::string(key) +
                               " is not 64 hex digits");
      }
      Secret32 s;
      std::copy(bytes->begin(), bytes->end(), s.bytes().begin());
      Wipe(*bytes);
      return s;
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return Status::Corrupt(file + ": no '" + std::string(key) + ":' line");
}

}  // namespace

Result<NodeIdentity> LoadOrCreateIdentity(const std::filesystem::path& path, bool* created) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return Status::IoError(path.string() + ": " + std::strerror(errno));
    }
    SystemRng rng;
    NodeIdentity id = GenerateIdentity(rng);
    std::string text(kIdentityHeader);
    text += "ed25519-seed: " + tdxrt::ToHex(id.ed25519.seed.bytes()) + "\n";
    text += "x25519-secret: " + tdxrt::ToHex(id.x25519.secret.bytes()) + "\n";
    Status w = tdxrt::WriteFileAtomic(path, std::string_view(text), 0600);
    std::fill(text.begin(), text.end(), '\0');
    TDX_TRY(w);
    if (created) *created = true;
    return id;
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidArgument(path.string() +
                                   ": identity file is readable by group or others (mode " + mode +
                                   "); run chmod 600 on it");
  }
  TDX_ASSIGN_OR_RETURN(tdxrt::Bytes raw, tdxrt::ReadFile(path));
  std::string text(raw.begin(), raw.end());
  Wipe(raw);
  auto seed = ReadKeyLine(text, "ed25519-seed", path.string());
  auto dh = ReadKeyLine(text, "x25519-secret", path.string());
  std::fill(text.begin(), text.end(), '\0');
  if (!seed.ok()) return seed.status();
  if (!dh.ok()) return dh.status();
  if (created) *created = false;
  return NodeIdentity{Ed25519FromSeed(*seed), X25519FromSecret(*dh)};
}

// --- logging ------------------------------------------------------------------------------------

namespace {

class UpperLevel : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr std::string_view kNames[] = {"TRACE", "DEBUG",    "INFO", "WARN",
                                                  "ERROR", "CRITICAL", "OFF"};
    const auto name = kNames[static_cast<int>(msg.level)];
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<UpperLevel>();
  }
};

std::mutex g_log_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;
std::shared_ptr<spdlog::sinks::stderr_sink_mt> g_sink;

}  // namespace

Status ConfigureLogging(const std::string& level) {
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("log level '" + level +
                                   "' is not trace, debug, info, warn, error or off");
  }
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_level = lvl;
  spdlog::apply_all([lvl](const std::shared_ptr<spdlog::logger>& l) { l->set_level(lvl); });
  return Status::Ok();
}

std::shared_ptr<spdlog::logger> Logger(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (auto existing = spdlog::get(name)) return existing;
  if (!g_sink) g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(name, g_sink);
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<UpperLevel>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %* %n: %v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(g_level);
  logger->flush_on(spdlog::level::trace);
  spdlog::register_logger(logger);
  return logger;
}

// --- metrics ------------------------------------------------------------------------------------

MetricsEndpoint::~MetricsEndpoint() = default;

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& address, std::shared_ptr<prometheus::Registry> registry) {
  std::unique_ptr<MetricsEndpoint> m(new MetricsEndpoint());
  try {
    m->exposer_ = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return Status::IoError("metrics address " + address + ": " + e.what());
  }
  m->exposer_->RegisterCollectable(registry);
  return m;
}

// --- attestation ---------------------------------------------------------------------------------

prometheus::Family<prometheus::Counter>& RefusedPeersMetric(prometheus::Registry& r) {
  return prometheus::BuildCounter()
      .Name("zipnet_peers_refused_total")
      .Help("Peers refused at their Hello because their attestation failed, by role and reason")
      .Register(r);
}

namespace {

// A judged Hello: logs an admitted peer's policy set, or logs and counts a refusal.
Status RecordVerdict(const Hello& h, const Connection& c, const std::optional<Refusal>& r,
                     const std::string& matched, spdlog::logger& log,
                     prometheus::Family<prometheus::Counter>* refused) {
  if (!r) {
    if (!matched.empty()) {
      log.info("{} {} attested ({}): policy set {}", NodeRoleName(h.role), ShortHex(c.peer()),
               c.remote(), matched);
    }
    return Status::Ok();
  }
  log.warn("refused {} {} from {}: attestation ({}): {}", NodeRoleName(h.role), ShortHex(c.peer()),
           c.remote(), r->reason, r->detail);
  if (refused) {
    refused->Add({{"role", std::string(NodeRoleName(h.role))}, {"reason", r->reason}}).Increment();
  }
  return Status::Mismatch("attestation: " + r->detail);
}

// A Hello from `role` of this instance with these round parameters, or why not.
Result<Hello> DecodeExpectedHello(ByteSpan body, const NodeCommon& common, NodeRole role,
                                  const Connection& c, spdlog::logger& log) {
  TDX_ASSIGN_OR_RETURN(Hello h, DecodePeerHello(body, common.transport.limits, c, log));
  if (h.role != role || h.instance_id != common.instance_id() || !(h.params == common.params)) {
    return Status::Mismatch("peer is not a " + std::string(NodeRoleName(role)) +
                            " of this instance with these round parameters");
  }
  return h;
}

}  // namespace

// --- evidence off the loop ----------------------------------------------------------------------

namespace {
std::int64_t ThreadCpuNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}
}  // namespace

struct AttestationWorkers::Impl {
  Loop& loop;
  std::optional<asio::thread_pool> pool;
  std::shared_ptr<char> alive = std::make_shared<char>(0);  // expires with these workers
  std::atomic<std::int64_t> cpu_ns{0};
  explicit Impl(Loop& l) : loop(l) {}
};

AttestationWorkers::AttestationWorkers(Loop& loop, unsigned threads)
    : impl_(std::make_unique<Impl>(loop)) {
  if (threads > 0) impl_->pool.emplace(threads);
}

AttestationWorkers::~AttestationWorkers() {
  impl_->alive.reset();
  if (impl_->pool) impl_->pool->join();
}

void AttestationWorkers::Run(std::function<void()> job, std::function<void()> then) {
  if (!impl_->pool) {
    job();
    then();
    return;
  }
  // The destructor joins the pool before impl_ goes: the job may use it.
  asio::post(*impl_->pool, [job = std::move(job), then = std::move(then),
                            alive = std::weak_ptr<char>(impl_->alive), impl = impl_.get()] {
    const std::int64_t t0 = ThreadCpuNs();
    job();
    impl->cpu_ns += ThreadCpuNs() - t0;
    Loop* loop = &impl->loop;
    // The loop outlives these workers (it ran them), and the destructor waits for this job.
    if (alive.expired()) return;
    loop->Post([then, alive] {
      if (alive.lock()) then();
    });
  });
}

double AttestationWorkers::cpu_seconds() const { return double(impl_->cpu_ns.load()) / 1e9; }

void SendHello(AttestationWorkers& workers, const NodeCommon& common, NodeRole role,
               const ConnectionPtr& c, const PublicKey& ed25519, const PublicKey& x25519,
               std::function<void(Hello&)> finish, std::function<void(const Status&)> failed) {
  auto h = std::make_shared<Hello>();
  h->role = role;
  h->instance_id = common.instance_id();
  h->params = common.params;
  h->x25519 = x25519;
  if (!common.attester) {
    if (finish) finish(*h);
    c->Send(MessageType::kHello, Encode(*h));
    return;
  }
  const auto rd = LinkReportData(c->binding(), role, h->instance_id, ed25519, x25519);
  auto made = std::make_shared<std::optional<Result<Attestation>>>();
  c->HoldOutput();
  workers.Run(
      [attester = common.attester, rd, made] { made->emplace(attester->Attest(rd)); },
      [c, h, made, finish = std::move(finish), failed = std::move(failed)] {
        if (!c->open()) return;
        if (!(*made)->ok()) {
          failed((*made)->status().WithContext("attestation for the link to " + c->remote()));
          return;
        }
        h->attestation = std::move(**made).value();
        if (finish) finish(*h);
        c->ReleaseOutput(MessageType::kHello, Encode(*h));
      });
}

Status AdmitHelloOffLoop(AttestationWorkers& workers, const NodeCommon& common, Hello hello,
                         const ConnectionPtr& c, spdlog::logger& log,
                         prometheus::Family<prometheus::Counter>* refused, HelloJudged judged) {
  std::shared_ptr<const PeerJudge> judge = common.judges.Shared(hello.role);
  if (!judge) {
    Status verdict = RecordVerdict(hello, *c, std::nullopt, "", log, refused);
    return judged(std::move(hello), verdict, std::nullopt);
  }
  const auto rd =
      LinkReportData(c->binding(), hello.role, hello.instance_id, c->peer_key(), hello.x25519);
  auto h = std::make_shared<Hello>(std::move(hello));
  auto verdict = std::make_shared<std::variant<std::string, Refusal>>();
  c->Pause();
  workers.Run(
      [judge, rd, h, verdict] {
        *verdict = judge->Judge(h->attestation, rd, static_cast<std::int64_t>(std::time(nullptr)));
      },
      [c, h, verdict, log = &log, refused, judged = std::move(judged)] {
        if (!c->open()) return;
        std::optional<Refusal> refusal;
        std::string matched;
        if (auto* no = std::get_if<Refusal>(verdict.get())) {
          refusal = std::move(*no);
        } else {
          matched = std::get<std::string>(*verdict);
        }
        Status st = RecordVerdict(*h, *c, refusal, matched, *log, refused);
        Status next = judged(std::move(*h), st, std::move(refusal));
        if (!next.ok()) return c->Close(next.message());
        if (c->open()) c->Resume();
      });
  return Status::Ok();
}

Status ExpectHelloOffLoop(AttestationWorkers& workers, ByteSpan body, const NodeCommon& common,
                          const ConnectionPtr& c, NodeRole role, spdlog::logger& log,
                          prometheus::Family<prometheus::Counter>* refused, HelloJudged judged) {
  TDX_ASSIGN_OR_RETURN(Hello h, DecodeExpectedHello(body, common, role, *c, log));
  return AdmitHelloOffLoop(workers, common, std::move(h), c, log, refused, std::move(judged));
}

Result<Hello> DecodePeerHello(ByteSpan body, const WireLimits& limits, const Connection& c,
                              spdlog::logger& log) {
  auto h = DecodeHello(body, limits);
  if (!h.ok() && h.status().code() == Status::Code::kUnsupported) {
    log.info("refused the link from {}: {}", c.remote(), h.status().message());
  }
  return h;
}

std::size_t EnvelopeFrameLimit(const RoundParams& params) { return params.vector_len() + 4096; }

std::string ShortHex(ByteSpan id, std::size_t n) { return tdxrt::ToHex(id).substr(0, n); }

}  // namespace zipnet::node
