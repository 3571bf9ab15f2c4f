#pragma once
// Operator bearer tokens: generation, the digest that is stored instead of the token,
// and the roles of PROTOCOL.md section 4. Tokens carry 256 random bits, so a plain
// SHA-256 digest is enough to make the stored form useless to a reader of the database.
#include <optional>
#include <string>
#include <string_view>

namespace fleetcomm::auth {

enum class Role { kAdmin, kAccountManager, kAuditor, kConsumer };

std::optional<Role> ParseRole(std::string_view name);
std::string_view RoleName(Role role);

// `prefix` followed by 43 base64url characters (32 random bytes from the OS CSPRNG).
std::string GenerateSecret(std::string_view prefix);

// Raw 32-byte SHA-256 of a secret: the only form that is stored or compared. A fast digest
// suffices because every secret carries 256 random bits: nothing to brute-force.
std::string SecretDigest(std::string_view secret);

// "fco_..." operator tokens and "RK-..." registration keys.
inline std::string GenerateOperatorToken() { return GenerateSecret("fco_"); }
inline std::string GenerateRegistrationKey() { return GenerateSecret("RK-"); }
inline std::string OperatorTokenDigest(std::string_view token) { return SecretDigest(token); }

// Extracts the token from an `Authorization: Bearer <token>` value; nullopt when the
// header is not a well-formed bearer credential of our token format.
std::optional<std::string_view> ParseBearerToken(std::string_view authorization);

}  // namespace fleetcomm::auth
