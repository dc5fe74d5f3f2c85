#include "worker/job_tracker.hpp"

#include <algorithm>

namespace swarmpod::worker {

void JobTracker::add(TrackedJob job) {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
}

void JobTracker::remove(const std::string& job_id) {
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
