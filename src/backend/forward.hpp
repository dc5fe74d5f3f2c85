// The generation on a held worker: session, request, images back, progress relayed,
// over SwarmUI's GenerateText2ImageWS socket or, with UseWebSocket false, over HTTP.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "backend/config.hpp"
#include "backend/progress.hpp"
#include "core/cancel.hpp"
#include "core/clock.hpp"
#include "http/client.hpp"
#include "worker/lease.hpp"

namespace swarmpod::backend {

class ModelCache;

// Reports progress on the generating thread: phase, message, worker id, overall and
// current percent (0..1, negative = unknown).
using EmitFn = std::function<void(Phase phase, const std::string& message, const std::string& worker_id,
                                  double overall, double current)>;

struct ForwardContext {
    http::Client& http;
    const Config& config;
    const worker::Lease& lease;
    CancelToken& cancel;
    const Callbacks& callbacks;
    const EmitFn& emit;
    nlohmann::json& summary;  // gains one entry per image under "images"
    // When the generate call started, for elapsed_seconds; the default means "when
    // forwarding started".
    Clock::time_point started{};
    // The endpoint's model lists and feature flags, refreshed after a successful
    // generation; may be null.
    ModelCache* models = nullptr;
    // Estimated GPU-seconds this generation was billed before forwarding started: the
    // worker's cold start when this generation started it, and its share of warm idle time.
    double gpu_seconds_before = 0;
    // In: the lease's SwarmUI session, or empty to open one. Out: the session in use when
    // forwarding ended, for the lease's next generation. May be null.
    std::string* session = nullptr;
    // In: a WebSocket opened ahead for this generation, used when still open. Out: one
    // opened for the lease's next generation (only when KeepWarmSec is above 0). May be null.
    std::shared_ptr<swarm::WsPreconnect>* spare_socket = nullptr;
};

// The image count of a request. SwarmUI runs `images` jobs, and each job makes
// `batch_size` images (the request field `batchsize`), so `expected()` images come back.
struct ImageCount {
    int images = 1;
    int batch_size = 1;
    int expected() const { return images * batch_size; }
};

// Returns the request that a WebSocket reconnect sends for `remaining` missing images of
// a generation with `batch_size` images per job. It keeps the jobs at most `batch_size`
// images each and uses the fewest jobs: images = ceil(remaining / batch_size) and
// batch_size = ceil(remaining / images). That is exact when `remaining` is a multiple of
// the batch size (a socket lost between jobs). Otherwise it requests fewer than `images`
// extra images, which are delivered and billed. `remaining` < 1 gives {0, 0}.
ImageCount ask_again_for(int remaining, int batch_size);

// Sends `request` (SwarmUI's GenerateText2Image body) to the worker's SwarmUI in a
// session of its own and delivers every image through context.callbacks as soon as it
// arrives, with its GPU-seconds so far (context.gpu_seconds_before plus the time since this
// call started). Returns the number delivered, which is at least count.expected() on success
// (more only after a WebSocket reconnect that had to ask for whole batches).
// After a success it refreshes the feature flags and model lists in context.models from
// the worker within about 2 s each, and a failure there only logs; after an error that
// the worker's SwarmUI reported it refreshes the feature flags only. Throws Error: cancelled (after InterruptAll on this
// generation's session only), worker (the worker's text and error_id quoted),
// image_invalid (naming the batch index), too_large, timeout, network.
int forward_generation(const ForwardContext& context, nlohmann::json request, ImageCount count);

}  // namespace swarmpod::backend
