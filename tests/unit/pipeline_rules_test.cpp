// The pure rules of the pipelines: meter-read plausibility (R5.1) and replenishment
// triggers (R5.2).
#include "storage/meter_reads.hpp"
#include "storage/supply_orders.hpp"

#include <catch2/catch.hpp>

using fleetcomm::storage::JudgeMeterRead;
using fleetcomm::storage::MeterReadFacts;
using fleetcomm::storage::SupplyFacts;
using fleetcomm::storage::SupplyNeedsOrder;
using fleetcomm::storage::SupplyReplaced;

TEST_CASE("meter reads: the first read is billable; decreases and impossible jumps are not", "[pipelines][meter]") {
  MeterReadFacts facts;
  facts.counter = "total-impressions";
  facts.value = 100;
  facts.read_at = 3600;
  CHECK(JudgeMeterRead(facts, {}).billable);

  facts.previous = 101;
  facts.previous_read_at = 0;
  CHECK(JudgeMeterRead(facts, {}).reason == "counter_decreased");
  facts.reset_at = 1800;  // reset between the two reads
  CHECK(JudgeMeterRead(facts, {}).billable);
  facts.reset_at = 7200;  // a reset after this read explains nothing
  CHECK(JudgeMeterRead(facts, {}).reason == "counter_decreased");
  facts.reset_at.reset();

  facts.previous = 100;
  facts.speed_ppm = 10;  // 600 pages in the hour at most
  facts.value = 700;
  CHECK(JudgeMeterRead(facts, {}).billable);
  facts.value = 701;
  CHECK(JudgeMeterRead(facts, {}).reason == "implausible_increase");
  // Scans are not limited by the print speed but by the configured ceiling.
  facts.counter = "scan-images";
  CHECK(JudgeMeterRead(facts, {}).billable);
  fleetcomm::storage::MeterReadOptions strict;
  strict.max_pages_per_minute = 1;
  CHECK(JudgeMeterRead(facts, strict).reason == "implausible_increase");
}

TEST_CASE("supplies: what opens an order and what shows a new supply", "[pipelines][supplies]") {
  CHECK(SupplyNeedsOrder({20, 100, std::nullopt, std::nullopt, 20}));
  CHECK_FALSE(SupplyNeedsOrder({21, 100, std::nullopt, std::nullopt, 20}));
  CHECK(SupplyNeedsOrder({90, 100, std::string("low"), std::nullopt, 20}));
  CHECK(SupplyNeedsOrder({-3, -2, std::string("empty"), std::nullopt, 20}));
  CHECK_FALSE(SupplyNeedsOrder({-3, 100, std::string("low"), std::nullopt, 20}));
  CHECK_FALSE(SupplyNeedsOrder({-3, -2, std::nullopt, std::nullopt, 20}));
  CHECK_FALSE(SupplyNeedsOrder({0, 0, std::nullopt, std::nullopt, 20}));   // capacity 0: no percent
  CHECK_FALSE(SupplyNeedsOrder({5, -2, std::nullopt, std::nullopt, 20}));  // capacity unknown
  CHECK(SupplyNeedsOrder({0, 0, std::string("empty"), std::nullopt, 20}));

  const SupplyFacts refilled{95, 100, std::string("ok"), std::string("TC1"), 20};
  CHECK(SupplyReplaced(refilled, std::string("TC1"), 10.0, 30));
  CHECK_FALSE(SupplyReplaced({39, 100, std::nullopt, std::string("TC1"), 20}, std::string("TC1"), 10.0, 30));
  CHECK(SupplyReplaced({5, 100, std::nullopt, std::string("TC2"), 20}, std::string("TC1"), 5.0, 30));
  CHECK_FALSE(SupplyReplaced({21, 100, std::nullopt, std::nullopt, 20}, std::nullopt, 19.0, 30));
}
