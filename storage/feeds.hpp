#pragma once
// Downstream feeds (PROTOCOL.md 4.5): immutable items in a stable order, read with a cursor.
// Items are written with seq NULL by the pipelines; SequenceFeeds numbers the committed ones
// from one counter, one run at a time across all instances (transaction advisory lock), so
// every number it hands out is above every number already visible: a reader of
// `seq > cursor` never skips an item whose transaction committed late.
#include "storage/storage_error.hpp"

#include <optional>
#include <string>

namespace pqxx {
class connection_base;
}

namespace fleetcomm::storage {

enum class Feed { kMeterReads, kSupplyOrders, kServiceEvents };

struct FeedPage {
  std::string items;                // a JSON array of the items, in feed order
  std::optional<std::string> next;  // the cursor after the last item; nullopt for an empty page
};

// Up to `limit` sequenced items after `after` (0: from the start).
StorageResult<FeedPage> ReadFeed(pqxx::connection_base& conn, Feed feed, long long after, int limit);

struct SequencedItems {
  bool ran = false;     // false: another instance held the sequencer
  long long items = 0;  // items numbered by this run
};

// Numbers up to `max_items` unsequenced items of every feed in one transaction.
StorageResult<SequencedItems> SequenceFeeds(pqxx::connection_base& conn, int max_items = 50000);

}  // namespace fleetcomm::storage
