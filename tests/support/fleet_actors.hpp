#pragma once
// The people and machines of an end-to-end test, talking to a RunningFleetcomm: an operator
// with a bearer token, a device with its certificate, an agent enrolled with a registration key.
#include "tests/support/server_process.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace fleetcomm::testing {

// An operator call that must answer `expected` (fails the test otherwise); returns the body.
nlohmann::json OperatorCall(const RunningFleetcomm& fleetcomm, const std::string& token, const std::string& method,
                            const std::string& target, unsigned expected,
                            const nlohmann::json& body = nlohmann::json());

// A new account with `fields` (name defaults to "Site"); returns its id.
std::string CreateAccount(const RunningFleetcomm& fleetcomm, const std::string& admin_token,
                          nlohmann::json fields = nlohmann::json::object());

struct TestAgent {
  std::string id;
  std::string account_id;
  CertKeyPaths files;  // the issued certificate and the agent's own key, written under `dir`
};

// Creates a registration key in `account_id` and enrols an agent with a fresh P-256 key.
TestAgent EnrollTestAgent(const RunningFleetcomm& fleetcomm, const std::string& admin_token,
                          const std::string& account_id, const std::string& dir);

// POST /rs/v1/register for the test PKI's device certificate of `serial` (manufacturer "Xerox").
HttpResult RegisterTestDevice(const RunningFleetcomm& fleetcomm, const CertKeyPaths& device, const std::string& serial);

// Pre-provisions `serial` (manufacturer "Xerox") in `account_id`, then registers `device`'s
// certificate for it: the device is active. Returns its id; fails the test otherwise.
std::string ProvisionActiveDevice(const RunningFleetcomm& fleetcomm, const std::string& admin_token,
                                  const std::string& account_id, const CertKeyPaths& device, const std::string& serial);

// POST /rs/v1/uploads with `client`'s certificate.
HttpResult PostUpload(const RunningFleetcomm& fleetcomm, const CertKeyPaths& client, const std::string& body,
                      const std::string& content_type = "application/zip");

// One value from the test's database (superuser connection).
long long QueryNumber(const RunningFleetcomm& fleetcomm, const std::string& sql);

}  // namespace fleetcomm::testing
