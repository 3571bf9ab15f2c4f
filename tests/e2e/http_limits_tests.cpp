// HTTP limits, framing and slow clients (RELIABILITY-ANCHORS.md section 4) with raw bytes,
// on the plain ops listener and, where TLS changes the picture, on the device listener.
#include "tests/support/server_process.hpp"

#include <catch2/catch.hpp>

#include <thread>

using fleetcomm::testing::ClientTls;
using fleetcomm::testing::ParseHttpResponse;
using fleetcomm::testing::RawConnection;
using fleetcomm::testing::RawReadResult;
using fleetcomm::testing::RunningFleetcomm;
using namespace std::chrono_literals;

namespace {

// Small limits so that each timeout costs the suite a second or two.
const fleetcomm::testing::ConfigOverrides kSmallLimits = {
    {"limits.header_bytes", "2048"},      {"limits.body_bytes", "4096"},
    {"limits.header_timeout_s", "2"},     {"limits.idle_timeout_s", "1"},
    {"limits.handshake_timeout_s", "2"},
};

class LimitsFixture {
 protected:
  // Sends `request` on a fresh ops connection and reads until the server closes it.
  RawReadResult Exchange(const std::string& request, std::chrono::milliseconds timeout = 5s) {
    RawConnection raw(fleetcomm_.config.ports.ops, std::nullopt);
    raw.Send(request);
    return raw.ReadUntilClose(timeout);
  }

  RunningFleetcomm fleetcomm_{kSmallLimits};
};

// The one response in `raw`, which must be a protocol error with `code`, and the
// connection closed after it.
void CheckErrorAnswer(const RawReadResult& raw, unsigned status, const std::string& code) {
  INFO("received: " << raw.data << "\nended: " << raw.end);
  const auto response = ParseHttpResponse(raw.data);
  REQUIRE(response);
  CHECK(response->status == status);
  CHECK(response->ErrorCode() == code);
  CHECK_THAT(response->Header("Content-Type"), Catch::StartsWith("application/json"));
  CHECK(raw.closed);
  CHECK(raw.elapsed < 1500ms);  // answered at once, not after a timeout
}

}  // namespace

TEST_CASE_METHOD(LimitsFixture, "limits: a header over limits.header_bytes is 431", "[e2e][limits]") {
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(3000, 'a') + "\r\n\r\n";
  CheckErrorAnswer(Exchange(request), 431, "header_too_large");
}

TEST_CASE_METHOD(LimitsFixture, "limits: a Content-Length over limits.body_bytes is 413 before any body byte",
                 "[e2e][limits]") {
  // No body is ever sent: the answer must not wait for it.
  CheckErrorAnswer(Exchange("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"), 413,
                   "payload_too_large");
}

TEST_CASE_METHOD(LimitsFixture, "limits: a body left unread ends the connection, never becomes a request",
                 "[e2e][limits]") {
  // 405 is answered without reading the body; were the connection kept, the body would be
  // parsed as the next request (smuggling).
  const std::string smuggled = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto raw = Exchange("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                            std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
  INFO(raw.data);
  const auto response = ParseHttpResponse(raw.data);
  REQUIRE(response);
  CHECK(response->status == 405);
  CHECK(response->ErrorCode() == "method_not_allowed");
  CHECK(response->Header("Allow") == "GET");
  CHECK(raw.closed);
  CHECK(raw.data.find("HTTP/1.1", 1) == std::string::npos);
}

TEST_CASE_METHOD(LimitsFixture, "limits: ambiguous or unsupported framing is refused", "[e2e][limits]") {
  SECTION("Content-Length with Transfer-Encoding") {
    CheckErrorAnswer(Exchange("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                     400, "bad_request");
  }
  SECTION("Transfer-Encoding then Content-Length") {
    CheckErrorAnswer(Exchange("POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                              "Content-Length: 5\r\n\r\n0\r\n\r\n"),
                     400, "bad_request");
  }
  SECTION("two different Content-Lengths") {
    CheckErrorAnswer(Exchange("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
                     400, "bad_request");
  }
  SECTION("unknown transfer coding") {
    CheckErrorAnswer(Exchange("POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"), 501,
                     "not_implemented");
  }
  SECTION("garbage request line") {
    CheckErrorAnswer(Exchange("HELLO THERE\r\n\r\n"), 400, "bad_request");
  }
  SECTION("space before the colon") {
    CheckErrorAnswer(Exchange("GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n"), 400, "bad_request");
  }
}

TEST_CASE_METHOD(LimitsFixture, "limits: a half-sent header is cut at limits.header_timeout_s", "[e2e][limits]") {
  SECTION("plain") {
    RawConnection raw(fleetcomm_.config.ports.ops, std::nullopt);
    raw.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    const auto result = raw.ReadUntilClose(5s);
    INFO(result.end << " after " << result.elapsed.count() << " ms");
    CHECK(result.closed);
    CHECK(result.elapsed >= 1500ms);
    CHECK(result.elapsed < 4s);
  }
  SECTION("over TLS") {
    RawConnection raw(fleetcomm_.config.ports.device, ClientTls(fleetcomm_.pki, &fleetcomm_.pki.device_xrx0001));
    raw.Send("GET /rs/v1/x HTTP/1.1\r\nHost: x\r\n");
    const auto result = raw.ReadUntilClose(5s);
    INFO(result.end << " after " << result.elapsed.count() << " ms");
    CHECK(result.closed);
    CHECK(result.elapsed >= 1500ms);
    CHECK(result.elapsed < 4s);
  }
}

TEST_CASE_METHOD(LimitsFixture, "limits: trickling a header byte by byte does not extend the header deadline",
                 "[e2e][limits]") {
  RawConnection raw(fleetcomm_.config.ports.ops, std::nullopt);
  const std::string header = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(40, 'a');
  const auto start = std::chrono::steady_clock::now();
  bool cut = false;
  for (char c : header) {
    if (!raw.Send(std::string(1, c))) {
      cut = true;
      break;
    }
    std::this_thread::sleep_for(100ms);  // 40+ bytes: well past the 2 s deadline if never cut
  }
  const auto result = raw.ReadUntilClose(cut ? 1s : 3s);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  INFO("cut while sending: " << cut << ", end: " << result.end);
  CHECK((cut || result.closed));
  CHECK(elapsed < 5s);
}

TEST_CASE_METHOD(LimitsFixture, "limits: an idle keep-alive connection is closed after limits.idle_timeout_s",
                 "[e2e][limits]") {
  RawConnection raw(fleetcomm_.config.ports.ops, std::nullopt);
  raw.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto result = raw.ReadUntilClose(5s);
  INFO(result.data << "\nended: " << result.end << " after " << result.elapsed.count() << " ms");
  const auto response = ParseHttpResponse(result.data);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(result.closed);
  CHECK(result.elapsed >= 700ms);
  CHECK(result.elapsed < 3s);
}

TEST_CASE_METHOD(LimitsFixture, "limits: a TCP connection that never starts TLS is cut at limits.handshake_timeout_s",
                 "[e2e][limits]") {
  auto raw = RawConnection::TcpOnly(fleetcomm_.config.ports.device);
  const auto result = raw->ReadUntilClose(5s);
  INFO(result.end << " after " << result.elapsed.count() << " ms");
  CHECK(result.closed);
  CHECK(result.elapsed >= 1500ms);
  CHECK(result.elapsed < 4s);
}
