#pragma once
// Certificate revocation lists for the device trust anchors (`device.crls`), loaded into
// the device listener's certificate store. Each CRL must be current and signed by one of
// the configured anchors, or the whole load fails with a ConfigError, so that a SIGHUP
// with a bad file keeps the lists in force (the TLS contexts are only swapped on success).
#include "server/config.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_store_ctx_st X509_STORE_CTX;

namespace fleetcomm::server {

// Loads every CRL of config.device_crls into ctx's store and turns CRL checking on; does
// nothing when none is configured. Throws ConfigError naming the file.
void LoadDeviceCrls(SSL_CTX* ctx, const Config& config);

// For the verify callback: an anchor without a CRL is not an error (only anchors that
// publish one are checked). Clears the error and returns true in that case.
bool ForgiveMissingCrl(X509_STORE_CTX* store);

}  // namespace fleetcomm::server
