// Worker protocol v2 (the SwarmUI worker image with leases): a `lease` job streams one
// first output (the worker's URL, a per-lease bearer token, its id and the limits it
// applied), then runs until the worker releases it (idle, startup grace, max lifetime)
// or we cancel it.
#pragma once

#include <optional>

#include "worker/protocol.hpp"

namespace swarmpod::worker {

// Starts a lease and waits for its first output. A lost /stream reply does not lose the
// lease: the first output is also read from /status, whose output aggregates every chunk.
// Throws ProtocolMismatch when the worker answers as a v1 worker. On any other failure
// the lease job is ended before it throws.
Lease acquire_v2(AcquireContext& context);

// Reads the lease job's state. Returns the release reason when it has ended ("idle",
// "startup_grace_expired", "max_lifetime", "swarmui_exited", or the job state), or
// nothing while it still holds the worker. Transport errors count as still held.
std::optional<std::string> check_v2_lease(runpod::Client& client, const Lease& lease,
                                          const CancelToken* cancel = nullptr);

}  // namespace swarmpod::worker
