#pragma once
// Keyset pages: queries fetch limit + 1 rows ordered by id; the extra row only tells that
// a next page exists, and the last returned id is its cursor.
#include "storage/accounts.hpp"

#include <pqxx/result>

namespace fleetcomm::storage {

template <class T, class ReadRow, class IdOf>
Page<T> MakePage(const pqxx::result& rows, int limit, ReadRow read_row, IdOf id_of) {
  Page<T> page;
  for (const auto& row : rows) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next = id_of(page.items.back());
      break;
    }
    page.items.push_back(read_row(row));
  }
  return page;
}

}  // namespace fleetcomm::storage
