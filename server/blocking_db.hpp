#pragma once
// For the command line and start-up checks: storage::RunDbBlocking, under the server's name.
// Never call it from an I/O thread.
#include "storage/db_task.hpp"

namespace fleetcomm::server {

using storage::RunDbBlocking;

}  // namespace fleetcomm::server
