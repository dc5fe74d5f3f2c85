// The generation on a held worker: its SwarmUI session, the shaped request handed to the
// HTTP or WebSocket transport, and the model and feature refresh afterwards.
#include "backend/forward.hpp"

#include <algorithm>
#include <utility>

#include "backend/forward_internal.hpp"
#include "backend/model_cache.hpp"
#include "log/log.hpp"
#include "swarm/messages.hpp"

namespace swarmpod::backend {
namespace {

using nlohmann::json;

// The model refresh after a generation runs while the lease is held anyway; it must
// not keep the worker (and its bill) much longer.
constexpr Millis kModelRefreshBudget{2000};
// How often a generation's worker is also asked for its model lists and feature flags.
constexpr std::chrono::seconds kRefreshAfterGenerationEvery{60};

// Stores the feature flags of the worker's SwarmUI while the worker is awake anyway.
void refresh_features_after(const ForwardContext& context, swarm::Client& worker) {
    if (context.models == nullptr || context.cancel.cancelled()) return;
    refresh_features(worker, *context.models, Deadline::in(kModelRefreshBudget), &context.cancel);
}

// Refreshes the cached model lists while the worker is awake anyway, logging failures
// at debug level instead of throwing them.
void refresh_models_after(const ForwardContext& context, swarm::Client& worker) {
    if (context.models == nullptr) return;
    const Deadline budget = Deadline::in(kModelRefreshBudget);
    std::vector<std::string> subtypes = context.models->cached_subtypes();
    for (const char* always : {"Stable-Diffusion", "LoRA"}) {
        if (std::find(subtypes.begin(), subtypes.end(), always) == subtypes.end()) subtypes.emplace_back(always);
    }
    int refreshed = 0;
    for (const std::string& subtype : subtypes) {
        if (budget.expired() || context.cancel.cancelled()) break;
        try {
            const json reply = worker.list_models(subtype, budget, &context.cancel);
            // An empty list here is more likely a worker still mounting its volume
            // than a real change, so it never replaces a stored list.
            if (reply["files"].empty()) continue;
            context.models->store(subtype, reply["files"]);
            ++refreshed;
        } catch (const std::exception& error) {
            SP_DEBUG("Model refresh of {} on worker {} after the generation failed: {}", subtype,
                     context.lease.worker_id, error.what());
        }
    }
    SP_DEBUG("Refreshed {} model list(s) from worker {} after the generation", refreshed, context.lease.worker_id);
}

}  // namespace

int forward_generation(const ForwardContext& context, json request, ImageCount count) {
    swarm::Client worker(context.http, swarm::WorkerAddress{context.lease.public_url, context.lease.token});
    const Deadline deadline = Deadline::in(std::chrono::seconds(context.config.generation_timeout_sec));
    const int images = count.expected();
    Generation generation(context, worker, images, deadline);

    if (context.session != nullptr && !context.session->empty()) {
        worker.use_session(*context.session);
    } else {
        generation.progress(Phase::loading_backends, "Opening a SwarmUI session on worker " + context.lease.worker_id,
                            -1, -1, -1);
        worker.new_session(deadline, &context.cancel);
    }
    // Hand the session back however forwarding ends: a renewed one replaces the old.
    struct SessionHandBack {
        std::string* session;
        const swarm::Client& worker;
        ~SessionHandBack() {
            try {
                if (session != nullptr) *session = worker.session_id();
            } catch (...) {
                if (session != nullptr) session->clear();  // the next generation opens a new one
            }
        }
    } hand_back{context.session, worker};

    json shaped = swarm::shape_request(std::move(request), count.images);
    const bool websocket = context.config.use_websocket;
    context.summary["transport"] = websocket ? "websocket" : "http";
    generation.progress(Phase::generating,
                        "Generating " + std::to_string(images) + " image(s) on worker " + context.lease.worker_id, -1,
                        0.0, 0.0);
    SP_INFO("Generating {} image(s) ({} job(s) of {}) on worker {} over {}", images, count.images, count.batch_size,
            context.lease.worker_id, websocket ? "WebSocket" : "HTTP");

    int delivered = 0;
    try {
        if (websocket) {
            delivered = generate_over_websocket(generation, worker, context, std::move(shaped), count.batch_size);
        } else {
            delivered = generate_over_http(generation, worker, std::move(shaped));
        }
    } catch (const swarm::WorkerError& error) {
        // The worker's SwarmUI answered, and may have refused a request that needs a
        // feature it lacks, so its flags are worth storing before the error goes up.
        if (error.state() == swarm::WorkerState::reported_error) refresh_features_after(context, worker);
        throw;
    }
    // Each refresh costs the caller a few requests to the worker after its images, so a
    // busy endpoint refreshes at most once a minute.
    if (context.models != nullptr && context.models->take_refresh_turn(kRefreshAfterGenerationEvery)) {
        refresh_features_after(context, worker);
        refresh_models_after(context, worker);
    }
    return delivered;
}

}  // namespace swarmpod::backend
