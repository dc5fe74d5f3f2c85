// A worker held for our use: its address, the job that keeps it alive, and timings.
#pragma once

#include <memory>
#include <string>

#include "core/clock.hpp"

namespace swarmpod::swarm {
class WsPreconnect;
}

namespace swarmpod::worker {

struct Lease {
    std::string worker_id;
    std::string public_url;    // checked against the allow-list
    std::string token;         // v2 per-lease bearer token; empty for v1
    std::string hold_job_id;   // the running job that holds the worker (v1 keepalive, v2 lease); empty once ended
    std::string wakeup_job_id; // v1 only
    // The SwarmUI session on the worker, reused by this lease's generations (one at a
    // time, so cancelling one never interrupts another); empty until the first one.
    std::string session_id;
    // A GenerateText2ImageWS socket opened after this lease's last WebSocket generation,
    // for the next one; null when there is none. Ending the lease closes it.
    std::shared_ptr<swarm::WsPreconnect> spare_socket;
    int protocol = 1;
    // v1: false when RunPod did not report which worker runs the keepalive job, so
    // nothing proved that the keepalive holds the worker at public_url.
    bool hold_verified = true;

    Clock::time_point requested_at{};  // when we submitted the first job for this worker
    Clock::time_point picked_at{};     // when RunPod first reported our job IN_PROGRESS (or done)
    Clock::time_point ready_at{};      // when the worker's SwarmUI had a running backend
    Clock::time_point released_at{};
    double queue_seconds = 0;          // RunPod's delayTime of the first job (queue + cold start)
    // False when the time from requested_at to ready_at is no cold start: a protocol
    // probe took a worker first, and RunPod did not report that it was this one.
    bool cold_start_measured = true;

    // v1: when the running keepalive job ends by itself.
    Clock::time_point hold_expires_at = Clock::time_point::max();
    // v2: the limits the worker applied (after its own clamping), in seconds.
    double idle_seconds = 0;
    double startup_grace_seconds = 0;
    double max_lease_seconds = 0;
    std::string release_reason;  // v2 final output reason, or our own reason
};

// RunPod bills a worker from its start to its stop, per second, rounded up. We see
// the start only as our job's submission (we caused the start) and the stop as our
// release plus the endpoint's idle timeout, so this is an estimate.
double estimated_billed_seconds(const Lease& lease, Clock::time_point now, double endpoint_idle_seconds);

}  // namespace swarmpod::worker
