#pragma once
// The parts of a report that are stored as documents (jsonb) rather than rows: a device's
// latest identity, modules, network, properties, status, supplies and usage, an agent's
// host, and the personal-data sections. Field names are the operator API's (PROTOCOL.md 4.2),
// so that reads hand them out without reshaping.
#include "protocol/report.hpp"

#include <nlohmann/json.hpp>

namespace fleetcomm::storage {

nlohmann::json IdentityDocument(const protocol::Identity& identity);
nlohmann::json ModulesDocument(const std::vector<protocol::Module>& modules);
nlohmann::json NetworkDocument(const protocol::Network& network);
nlohmann::json PropertiesDocument(const std::vector<protocol::Property>& properties);
nlohmann::json StatusDocument(const protocol::Status& status);
nlohmann::json SupplyDocument(const protocol::Supply& supply);
nlohmann::json UsageDocument(const std::vector<protocol::UsageItem>& usage);
nlohmann::json HostDocument(const protocol::Host& host);
nlohmann::json JobDocument(const protocol::Job& job);
nlohmann::json PolicyEventDocument(const protocol::PolicyEvent& event);

}  // namespace fleetcomm::storage
