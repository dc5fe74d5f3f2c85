// Worker protocol v1 (the SwarmUI RunPod worker before leases): a `wakeup` job returns
// the worker's URL once its SwarmUI answers; a blocking `keepalive` job then holds that
// worker, and cancelling it releases the worker (RunPod stops a worker whose running
// job is cancelled).
#pragma once

#include "worker/protocol.hpp"

namespace swarmpod::worker {

// Wakes a worker and holds it with a keepalive job. On any failure, including
// withdrawal, every job it submitted is withdrawn or cancelled before it throws.
// Throws ProtocolMismatch when the worker answers as a v2 (lease) worker.
Lease acquire_v1(AcquireContext& context);

// Submits one more keepalive for a held v1 worker whose window is about to end and
// waits until it runs on that same worker. Returns false (and cancels what it
// submitted) when that cannot be confirmed; the caller then releases the worker.
bool renew_v1(AcquireContext& context, Lease& lease);

}  // namespace swarmpod::worker
