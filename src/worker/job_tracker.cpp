#include "worker/job_tracker.hpp"

#include <algorithm>
#include <chrono>

#include "worker/job_journal.hpp"

namespace swarmpod::worker {

void JobTracker::add(TrackedJob job) {
    if (journal_ != nullptr) {
        const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
        journal_->add(JournalEntry{job.endpoint_id, job.job_id, job.kind,
                                   std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count(),
                                   key_fingerprint(job.api_key)});
    }
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
}

void JobTracker::remove(const std::string& job_id) {
    if (journal_ != nullptr) journal_->remove(job_id);
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.erase(std::remove_if(jobs_.begin(), jobs_.end(), [&](const TrackedJob& job) { return job.job_id == job_id; }),
                jobs_.end());
}

std::vector<TrackedJob> JobTracker::snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return jobs_;
}

std::size_t JobTracker::size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return jobs_.size();
}

}  // namespace swarmpod::worker
