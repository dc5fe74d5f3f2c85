#include "backend/progress.hpp"

namespace swarmpod::backend {

const char* phase_name(Phase phase) noexcept {
    switch (phase) {
        case Phase::queued: return "queued";
        case Phase::starting_worker: return "starting_worker";
        case Phase::loading_backends: return "loading_backends";
        case Phase::loading_model: return "loading_model";
        case Phase::generating: return "generating";
        case Phase::done: return "done";
    }
    return "unknown";
}

nlohmann::json to_json(const ProgressEvent& event) {
    nlohmann::json out{
        {"phase", phase_name(event.phase)},
        {"batch_index", event.batch_index},
        {"elapsed_seconds", event.elapsed_seconds},
        {"message", event.message},
        {"has_preview", !event.preview.empty()},
    };
    out["estimated_remaining_seconds"] =
        event.estimated_remaining_seconds < 0 ? nlohmann::json() : nlohmann::json(event.estimated_remaining_seconds);
    out["overall_percent"] = event.overall_percent < 0 ? nlohmann::json() : nlohmann::json(event.overall_percent);
    out["current_percent"] = event.current_percent < 0 ? nlohmann::json() : nlohmann::json(event.current_percent);
    out["worker_id"] = event.worker_id.empty() ? nlohmann::json() : nlohmann::json(event.worker_id);
    if (!event.preview_mime.empty()) out["preview_mime"] = event.preview_mime;
    return out;
}

}  // namespace swarmpod::backend
