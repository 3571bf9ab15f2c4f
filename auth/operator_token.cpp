#include "auth/operator_token.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace fleetcomm::auth {
namespace {

constexpr std::string_view kTokenPrefix = "fco_";
constexpr std::size_t kTokenRandomBytes = 32;
constexpr std::size_t kTokenLength = 4 + 43;  // prefix + unpadded base64url of 32 bytes

std::string Base64Url(const unsigned char* data, std::size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < size; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3F];
  return out;
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "account_manager") return Role::kAccountManager;
  if (name == "auditor") return Role::kAuditor;
  if (name == "consumer") return Role::kConsumer;
  return std::nullopt;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kAccountManager: return "account_manager";
    case Role::kAuditor: return "auditor";
    case Role::kConsumer: return "consumer";
  }
  return "unknown";
}

std::string GenerateSecret(std::string_view prefix) {
  std::array<unsigned char, kTokenRandomBytes> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    throw std::runtime_error("could not gather randomness for a secret");
  }
  return std::string(prefix) + Base64Url(random.data(), random.size());
}

std::string SecretDigest(std::string_view secret) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(secret.data(), secret.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

std::optional<std::string_view> ParseBearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() < kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    // The scheme is case-insensitive (RFC 9110 11.1).
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    char k = kScheme[i];
    if (k >= 'A' && k <= 'Z') k = static_cast<char>(k - 'A' + 'a');
    if (c != k) return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.size() != kTokenLength || token.substr(0, kTokenPrefix.size()) != kTokenPrefix) return std::nullopt;
  for (char c : token.substr(kTokenPrefix.size())) {
    if (!IsBase64UrlChar(c)) return std::nullopt;
  }
  return token;
}

}  // namespace fleetcomm::auth
