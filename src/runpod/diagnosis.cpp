#include "runpod/diagnosis.hpp"

#include <string>

namespace swarmpod::runpod {

namespace {

// RunPod's /health counts a scaled-down worker as "idle". Such a worker is stopped and not
// billed, so a job for it waits for a start. Only "ready" (started, waiting for a job) and
// "running" (working on a job) workers can serve a request without that start.
std::string idle_note(const Health& h) {
    if (h.workers_idle == 0) return "";
    return " (" + std::to_string(h.workers_idle) + " idle: scaled down, not billed, started on demand)";
}

}  // namespace

Diagnosis diagnose(const Health& h) {
    const int64_t serving = h.workers_ready + h.workers_running;
    if (h.workers_unhealthy > 0 && serving == 0) {
        return {"unhealthy",
                "The endpoint's workers are unhealthy: the worker image is crashing at start. Open the worker logs in "
                "the RunPod console."};
    }
    if (h.workers_throttled > 0 && serving == 0 && h.workers_initializing == 0) {
        return {"throttled",
                "RunPod has no free GPU of the endpoint's type right now (workers throttled). Wait, or allow more GPU "
                "types in the endpoint settings."};
    }
    if (h.workers_initializing > 0 && serving == 0) {
        return {"initializing", "A worker is starting (cold start: downloading the image and loading SwarmUI)."};
    }
    if (serving == 0) {
        if (h.jobs_in_queue > 0 && h.workers_idle == 0) {
            return {"no_workers",
                    "Jobs are queued but no worker is running or starting. Check the endpoint's max workers (it may "
                    "be 0) and GPU availability."};
        }
        if (h.jobs_in_queue > 0) {
            return {"no_workers", "Jobs are queued and no worker is running yet" + idle_note(h) +
                                      "; RunPod should start one. If none starts, check GPU availability."};
        }
        return {"no_workers", "No worker is running" + idle_note(h) +
                                  "; the next generation starts one (a cold start of 1-4 minutes)."};
    }
    if (h.workers_ready == 0 && h.jobs_in_queue > 0) {
        if (h.workers_idle > 0) {
            return {"busy", "Every running worker is busy and jobs are queued" + idle_note(h) +
                                "; RunPod should start another worker for them."};
        }
        return {"busy", "Every worker is busy and jobs are queued; raise the endpoint's max workers to run more at "
                        "once."};
    }
    if (h.workers_ready == 0) {
        return {"ready", std::to_string(h.workers_running) +
                             " worker(s) are running jobs and none is waiting for one; a new generation waits for a "
                             "job to end or for RunPod to start another worker."};
    }
    return {"ready", std::to_string(h.workers_ready) +
                         " worker(s) are started and waiting for a job, so a generation can start without a cold start."};
}

}  // namespace swarmpod::runpod
