// A minimal HTTP/1.0 server for boot tests: listens on 127.0.0.1 (port 0 = any), prints the port,
// answers every request with a fixed body, and exits after --seconds (bounded; loopback only).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  std::string body = "hello from the host";
  int seconds = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--body") == 0) body = argv[i + 1];
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
  }
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 8) != 0) {
    std::perror("http_hello: bind/listen");
    return 1;
  }
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  std::printf("%d\n", ntohs(a.sin_port));
  std::fflush(stdout);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{s, POLLIN, 0};
    if (::poll(&p, 1, 500) <= 0) continue;
    const int c = ::accept(s, nullptr, nullptr);
    if (c < 0) continue;
    char buf[2048];
    const ssize_t n = ::recv(c, buf, sizeof buf - 1, 0);
    if (n > 0) {
      buf[n] = 0;
      std::fprintf(stderr, "http_hello: %.*s\n", static_cast<int>(std::strcspn(buf, "\r\n")), buf);
    }
    const std::string resp = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    (void)::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
    ::close(c);
  }
  ::close(s);
  return 0;
}
