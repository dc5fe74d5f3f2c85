#include "runpod/diagnosis.hpp"

namespace swarmpod::runpod {

Diagnosis diagnose(const Health& h) {
    const int64_t serving = h.workers_idle + h.workers_ready + h.workers_running;
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
        if (h.jobs_in_queue > 0) {
            return {"no_workers",
                    "Jobs are queued but no worker is running or starting. Check the endpoint's max workers (it may "
                    "be 0) and GPU availability."};
        }
        return {"no_workers", "No worker is running; the next generation starts one (a cold start of 1-4 minutes)."};
    }
    if (h.workers_idle + h.workers_ready == 0 && h.jobs_in_queue > 0) {
        return {"busy", "Every worker is busy and jobs are queued; raise the endpoint's max workers to run more at once."};
    }
    return {"ready", "Workers are available."};
}

}  // namespace swarmpod::runpod
