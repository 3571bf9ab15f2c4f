#pragma once
// Figures of the pipelines (issue 6), printed by the upload benchmark after its run.
#include "tests/support/server_process.hpp"

#include <string>

namespace fleetcomm::bench {

// Waits until the pipelines finished every job and the sequencer numbered every feed item,
// then prints the lag from upload commit to pipeline commit (p50, p99, max), the drain time, and
// the median lag of the jobs of each second of the run (bounded or growing).
void ReportPipelineLag(const std::string& database);

// Adds `items` meter reads, waits for them to be numbered, and reads the whole meter-reads
// feed three times as one consumer (limit 1000, one keep-alive connection): items/s.
void ReportFeedRate(testing::RunningFleetcomm& fleetcomm, int items);

}  // namespace fleetcomm::bench
