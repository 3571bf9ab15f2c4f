#pragma once
// Synchronous HTTP(S) clients for end-to-end tests against the real binary.
//
// HttpClient keeps one connection open across requests (keep-alive), so tests can check
// what the server does to a connection, not only to a request. RawConnection sends
// arbitrary bytes, for framing, limits and slow-client tests that a well-behaved client
// cannot express. Every network operation has a deadline: a hung server fails a test, it
// never hangs the suite.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fleetcomm::testing {

struct TlsClientOptions {
  std::string ca_file;    // verifies the server's chain and name; empty: no verification
  std::string cert_file;  // client certificate chain (PEM, leaf first); empty: none
  std::string key_file;
  std::string server_name = "localhost";  // SNI and the name checked in the certificate
  int min_version = 0;                    // TLS1_2_VERSION etc.; 0: OpenSSL's default
  int max_version = 0;
  // -1 keeps the system default (Debian: 2). Tests that must *present* a weak certificate
  // or an old protocol lower it, so that the refusal they observe is the server's.
  int security_level = -1;
  // Offers the session (ticket) of this client's previous connection when it reconnects,
  // as a poller that connects anew each time would; see HttpClient::Resumed.
  bool resume_sessions = false;
};

struct HttpResult {
  bool connected = false;     // TCP connect succeeded
  bool handshake_ok = false;  // TLS handshake completed (true for plain HTTP once connected)
  bool answered = false;      // a complete response was read
  bool tls_alert = false;     // the failure was a TLS alert / TLS protocol error
  std::string error;          // what failed, when !answered
  unsigned status = 0;
  std::multimap<std::string, std::string> headers;  // names in lower case
  std::string body;

  // First value of the header, or "" (name case-insensitive).
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // body's error.code when the body is a protocol error document, else "".
  std::string ErrorCode() const;
  // One line for failure messages.
  std::string Describe() const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  // tls == nullopt: plain HTTP (the ops listener).
  HttpClient(std::uint16_t port, std::optional<TlsClientOptions> tls,
             std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Opens the connection (and completes the TLS handshake) unless one is open.
  HttpResult Connect();
  // Sends one request on the open connection (opening one if needed) and reads the answer.
  // The connection stays open unless the server or a failure ended it.
  HttpResult Request(const std::string& method, const std::string& target, const Headers& headers = {},
                     const std::string& body = {});
  HttpResult Get(const std::string& target, const Headers& headers = {}) { return Request("GET", target, headers); }

  bool IsOpen() const;
  // Waits up to `timeout` for the server to close the idle connection; true if it did.
  bool WaitForServerClose(std::chrono::milliseconds timeout);
  void Close();
  int ConnectionsOpened() const { return connections_opened_; }
  // Whether the server resumed the session offered by the open (or last) connection.
  bool Resumed() const;
  // Lowercase hex SHA-256 of the server certificate of the open TLS connection, or "".
  std::string PeerFingerprint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int connections_opened_ = 0;
};

struct RawReadResult {
  std::string data;     // everything received
  bool closed = false;  // the peer closed (FIN, reset or TLS close) before the deadline
  std::string end;      // how reading ended: "eof", "timeout", or the error text
  std::chrono::milliseconds elapsed{0};
};

// A byte pipe to the server, optionally through TLS, with no HTTP logic at all.
class RawConnection {
 public:
  // Connects (and handshakes, for TLS) within `timeout`; throws std::runtime_error if not.
  RawConnection(std::uint16_t port, std::optional<TlsClientOptions> tls,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Connects over TCP only, for handshake-timeout tests: no byte is sent.
  static std::unique_ptr<RawConnection> TcpOnly(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False if the server has already closed or reset the connection.
  bool Send(std::string_view bytes);
  // Reads until the peer closes or `timeout` passes.
  RawReadResult ReadUntilClose(std::chrono::milliseconds timeout);
  // Reads until `bytes` have arrived in total, the peer closes, or `timeout` passes.
  RawReadResult ReadAtLeast(std::size_t bytes, std::chrono::milliseconds timeout);

 private:
  RawConnection();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses the first HTTP response in `raw` (status, headers, body). nullopt if incomplete.
std::optional<HttpResult> ParseHttpResponse(std::string_view raw);

}  // namespace fleetcomm::testing
