// The RunPod jobs a backend has started and not yet seen end. Whatever is left when the
// backend shuts down is cancelled, so no job keeps a worker billing after we are gone.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace swarmpod::worker {

struct TrackedJob {
    std::string endpoint_id;
    std::string job_id;
    std::string kind;  // "wakeup", "keepalive", "lease"
    std::string api_key;  // kept in memory only, to cancel the job at shutdown; never logged
    Clock::time_point started_at{};
};

class JobJournal;

class JobTracker {
public:
    // Also records each job in `journal` (not owned; may be null), so a crash leaves a trace.
    void set_journal(JobJournal* journal) { journal_ = journal; }
    void add(TrackedJob job);
    void remove(const std::string& job_id);
    std::vector<TrackedJob> snapshot() const;
    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    std::vector<TrackedJob> jobs_;
    JobJournal* journal_ = nullptr;
};

}  // namespace swarmpod::worker
