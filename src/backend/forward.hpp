// The generation on a held worker: session, request, images back, progress relayed.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "backend/config.hpp"
#include "backend/progress.hpp"
#include "core/cancel.hpp"
#include "http/client.hpp"
#include "worker/lease.hpp"

namespace swarmpod::backend {

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
};

// Sends `request` (SwarmUI's GenerateText2Image body) to the worker's SwarmUI and
// delivers every image through context.callbacks. Returns the number delivered, which
// equals `images` on success. Throws Error: cancelled (after interrupting the worker's
// session), worker (its text quoted), image_invalid (naming the batch index).
int forward_generation(const ForwardContext& context, nlohmann::json request, int images);

}  // namespace swarmpod::backend
