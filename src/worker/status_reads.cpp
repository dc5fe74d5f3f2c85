#include "worker/status_reads.hpp"

#include <algorithm>
#include <vector>

namespace swarmpod::worker {
namespace {

using runpod::Job;
using runpod::JobState;

// Slice of a wait between checks of the caller's stop token.
constexpr Millis kStopCheckInterval{50};

}  // namespace

int job_progress_rank(JobState state) {
    if (runpod::is_terminal(state)) return 3;
    if (state == JobState::in_progress) return 2;
    if (state == JobState::in_queue) return 1;
    return 0;
}

OverlappingStatusReads::OverlappingStatusReads(runpod::Client& client, std::string job_id, Deadline deadline,
                                               int max_in_flight)
    : client_(client), job_id_(std::move(job_id)), deadline_(deadline), max_in_flight_(std::max(1, max_in_flight)) {}

OverlappingStatusReads::~OverlappingStatusReads() {
    cancel_.cancel();
    std::list<Read> reads;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        reads.swap(reads_);
    }
    for (Read& read : reads) {
        if (read.thread.joinable()) read.thread.join();
    }
}

void OverlappingStatusReads::start() {
    std::unique_lock<std::mutex> lock(mutex_);
    join_finished_locked(lock);
    if (in_flight_ >= max_in_flight_) return;
    reads_.emplace_back();
    Read* read = &reads_.back();
    ++in_flight_;
    try {
        read->thread = std::thread([this, read] { run_read(read); });
    } catch (...) {
        --in_flight_;
        reads_.pop_back();
        throw;
    }
}

void OverlappingStatusReads::run_read(Read* read) {
    std::optional<Job> reply;
    std::exception_ptr failure;
    try {
        reply = client_.status(job_id_, deadline_, &cancel_);
    } catch (...) {
        failure = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
    read->done = true;
    if (reply) {
        if (!best_reply_ || job_progress_rank(reply->state) >= job_progress_rank(best_reply_->state)) {
            best_reply_ = std::move(reply);
        }
    } else if (!cancel_.cancelled() && !failure_) {
        failure_ = failure;
    }
    replied_.notify_all();
}

void OverlappingStatusReads::join_finished_locked(std::unique_lock<std::mutex>& lock) {
    std::vector<std::thread> finished;
    for (auto it = reads_.begin(); it != reads_.end();) {
        if (it->done) {
            finished.push_back(std::move(it->thread));
            it = reads_.erase(it);
        } else {
            ++it;
        }
    }
    lock.unlock();
    for (std::thread& thread : finished) {
        if (thread.joinable()) thread.join();
    }
    lock.lock();
}

std::optional<Job> OverlappingStatusReads::wait_for_reply(Millis wait, const CancelToken& stop) {
    const Deadline until = Deadline::in(wait);
    std::unique_lock<std::mutex> lock(mutex_);
    while (!best_reply_ && !failure_ && !until.expired() && !stop.cancelled()) {
        replied_.wait_for(lock, std::min(kStopCheckInterval, until.remaining()));
    }
    if (best_reply_) {
        std::optional<Job> reply = std::move(best_reply_);
        best_reply_.reset();
        return reply;
    }
    if (failure_) {
        std::exception_ptr failure = failure_;
        failure_ = nullptr;
        std::rethrow_exception(failure);
    }
    return std::nullopt;
}

}  // namespace swarmpod::worker
