// Status reads of one RunPod job that may overlap in time, for waits where learning a
// state change late costs money (a woken v1 worker stops once the endpoint's idle
// timeout passes).
#pragma once

#include <condition_variable>
#include <exception>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/cancel.hpp"
#include "core/clock.hpp"
#include "runpod/client.hpp"

namespace swarmpod::worker {

// Ranks a job state by how far the job has got: unknown 0, queued 1, running 2, ended 3.
// A reply from a read that started earlier may arrive after one from a later read, and
// must not move the job back.
int job_progress_rank(runpod::JobState state);

// Runs each /status read of one job on its own thread, so a read whose reply is slow
// does not hold up the next one. A state change is then seen when the first read
// started after it returns, however long earlier replies take. At most `max_in_flight`
// reads wait at once, which bounds the extra load on RunPod's rate limit. When that many
// are slow, no read starts until one returns.
class OverlappingStatusReads {
public:
    OverlappingStatusReads(runpod::Client& client, std::string job_id, Deadline deadline, int max_in_flight);
    // Cancels the reads that still wait (the HTTP client stops each within about
    // 100 ms) and joins their threads.
    ~OverlappingStatusReads();
    OverlappingStatusReads(const OverlappingStatusReads&) = delete;
    OverlappingStatusReads& operator=(const OverlappingStatusReads&) = delete;

    // Starts one more read, unless `max_in_flight` reads already wait for a reply.
    void start();

    // Waits up to `wait`, or until `stop` fires, for replies not yet returned by an earlier
    // call. Returns the one that shows the job furthest along (queued, then running,
    // then ended), or nothing when no reply came. Rethrows the error of a failed read.
    std::optional<runpod::Job> wait_for_reply(Millis wait, const CancelToken& stop);

private:
    struct Read {
        std::thread thread;
        bool done = false;
    };

    void run_read(Read* read);
    void join_finished_locked(std::unique_lock<std::mutex>& lock);

    runpod::Client& client_;
    const std::string job_id_;
    const Deadline deadline_;
    const int max_in_flight_;
    CancelToken cancel_;

    std::mutex mutex_;
    std::condition_variable replied_;
    std::list<Read> reads_;
    int in_flight_ = 0;
    std::optional<runpod::Job> best_reply_;
    std::exception_ptr failure_;
};

}  // namespace swarmpod::worker
