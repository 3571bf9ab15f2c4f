#pragma once
// Diagnostics (REQUIREMENTS.md R5.3): service events from what devices report. Alerts are
// compared between consecutive reports of a device (by report time): a new code is
// `alert_raised` (once while it stays active), a code gone is `alert_cleared`; a report
// older than the newest judged one changes nothing. Faults new to the fault history are
// `fault` events, once each. Critical alerts are flagged (`critical`) for service staff.
#include <string>
#include <vector>

namespace pqxx {
class transaction_base;
}

namespace fleetcomm::storage {

struct PipelineJob;

// The diagnostics pipeline step for some uploads' jobs; reports of one device among them are
// compared in report-time order. Every event is keyed (source_key), so a retried step raises
// nothing twice.
void DeriveServiceEvents(pqxx::transaction_base& tx, const std::vector<PipelineJob>& jobs);

}  // namespace fleetcomm::storage
