#pragma once
// The parts of a report that are stored as documents (jsonb) rather than rows: a device's
// latest identity, modules, network, properties, status, supplies and usage, an agent's
// host, and the personal-data sections. Field names are the operator API's (PROTOCOL.md 4.2),
// so that reads hand them out without reshaping. Each writes one JSON value into `out`.
#include "protocol/report.hpp"
#include "storage/json_text.hpp"

namespace fleetcomm::storage {

void WriteIdentityDocument(JsonText& out, const protocol::Identity& identity);
void WriteModulesDocument(JsonText& out, const std::vector<protocol::Module>& modules);
void WriteNetworkDocument(JsonText& out, const protocol::Network& network);
void WritePropertiesDocument(JsonText& out, const std::vector<protocol::Property>& properties);
void WriteStatusDocument(JsonText& out, const protocol::Status& status);
// The keys of a supply, inside an object the caller opened (supply rows add theirs).
void WriteSupplyFields(JsonText& out, const protocol::Supply& supply);
void WriteUsageDocument(JsonText& out, const std::vector<protocol::UsageItem>& usage);
void WriteHostDocument(JsonText& out, const protocol::Host& host);
void WriteJobDocument(JsonText& out, const protocol::Job& job);
void WritePolicyEventDocument(JsonText& out, const protocol::PolicyEvent& event);

}  // namespace fleetcomm::storage
