// The operator's side of Configure (see zipnet/node/node.h, SendConfiguration): dial the server
// with the operator's identity, say Hello as the operator, admit the server's Hello (its
// attestation, when the operator judges servers), send the committee list, wait for the server's
// ConfigureResult. One link: its evidence is made and judged on the loop (AttestationWorkers
// without threads), through the same Hello passes as every node's.
#include <spdlog/spdlog.h>

#include "tdxrt/hex.h"
#include "zipnet/node/common.h"
#include "zipnet/node/node.h"

namespace zipnet::node {

void SendConfiguration(Loop& loop, const NodeCommon& common, const Ed25519KeyPair& identity,
                       const PeerAddress& server, const std::vector<PeerAddress>& committee,
                       const PeerAddress& aggregator, Millis timeout,
                       std::function<void(Result<ConfigureResult>)> done) {
  // Whatever ends the exchange first (answer, close, timeout, dial failure) calls done once.
  struct Exchange {
    std::function<void(Result<ConfigureResult>)> done;
    ConnectionPtr conn;
    std::unique_ptr<Timer> timer;
    std::unique_ptr<AttestationWorkers> workers;
    void Finish(Result<ConfigureResult> r) {
      if (!done) return;
      auto cb = std::move(done);
      done = nullptr;
      timer.reset();
      if (conn) conn->Abandon();
      cb(std::move(r));
    }
  };
  auto ex = std::make_shared<Exchange>();
  ex->done = std::move(done);
  ex->workers = std::make_unique<AttestationWorkers>(loop, 0);
  auto tls = TlsIdentity::Create(identity);
  if (!tls.ok()) {
    ex->Finish(tls.status());
    return;
  }
  Configure m;
  m.instance_id = common.instance_id();
  for (const auto& p : committee) m.committee.emplace_back(p.peer, p.endpoint.ToString());
  m.aggregator = aggregator.peer;
  m.aggregator_address = aggregator.endpoint.ToString();
  const std::string where = server.ToString();
  ex->timer = loop.After(timeout, [ex, where] {
    ex->Finish(Status::IoError(where + ": no answer to Configure in time"));
  });
  Dial(loop, *tls, server, common.transport,
       [ex, common, m = std::move(m), where, pub = identity.public_key](Result<ConnectionPtr> c) {
         if (!c.ok()) return ex->Finish(c.status());
         if (!ex->done) return (*c)->Close("no longer waiting");
         ex->conn = *c;
         ex->conn->Start(
             [ex, where, common, m](MessageType type, ByteSpan body) -> Status {
               if (type == MessageType::kHello) {
                 // The list goes only to a server whose attestation is admitted (when the
                 // operator has a committee policy): a host's impostor learns nothing and
                 // is configured with nothing.
                 Status st = ExpectHelloOffLoop(
                     *ex->workers, body, common, ex->conn, NodeRole::kServer,
                     *Logger("zipnet_operator"), nullptr,
                     [ex, where, m](Hello, const Status& verdict, std::optional<Refusal>) {
                       if (!verdict.ok()) {
                         ex->Finish(verdict.WithContext(where));
                       } else {
                         ex->conn->Send(MessageType::kConfigure, Encode(m));
                       }
                       return Status::Ok();
                     });
                 if (!st.ok()) ex->Finish(st.WithContext(where));
                 return Status::Ok();
               }
               if (type != MessageType::kConfigureResult) {
                 return Status::Corrupt("unexpected frame type " + std::to_string(int(type)));
               }
               auto r = DecodeConfigureResult(body);
               ex->Finish(r.ok() ? std::move(r) : r.status().WithContext(where));
               return Status::Ok();
             },
             [ex, where](const std::string& why) {
               ex->Finish(Status::IoError(where + ": closed before answering: " + why));
             });
         SendHello(*ex->workers, common, NodeRole::kOperator, ex->conn, pub, PublicKey{}, nullptr,
                   [ex](const Status& st) { ex->Finish(st); });
       });
}

}  // namespace zipnet::node
