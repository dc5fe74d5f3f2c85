// Progress events and finished images as the backend reports them to its host.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "media/image.hpp"

namespace swarmpod::backend {

// Values equal the SWARMPOD_PHASE_* constants of the C header.
enum class Phase : int32_t { queued = 0, starting_worker = 1, loading_backends = 2, loading_model = 3, generating = 4, done = 5 };

const char* phase_name(Phase phase) noexcept;

struct ProgressEvent {
    Phase phase = Phase::queued;
    int32_t batch_index = -1;
    double elapsed_seconds = 0;
    double estimated_remaining_seconds = -1;  // negative = unknown
    double overall_percent = -1;              // 0..1, negative = unknown
    double current_percent = -1;
    std::string worker_id;
    std::string message;
    std::vector<uint8_t> preview;
    std::string preview_mime;
};

// The event as a JSON object (preview bytes left out; `has_preview` says whether any came).
nlohmann::json to_json(const ProgressEvent& event);

struct GeneratedImage {
    int32_t batch_index = 0;
    std::vector<uint8_t> bytes;
    std::string mime;
    media::ImageInfo info;
    std::string metadata;  // the worker's metadata JSON string, empty when none
    // Estimated GPU-seconds of the generation up to the moment this image arrived;
    // negative when unknown.
    double gpu_seconds = -1;
};

// Host callbacks. Each returns false to cancel the generation.
struct Callbacks {
    std::function<bool(const ProgressEvent&)> on_progress;
    std::function<bool(const GeneratedImage&)> on_image;
};

}  // namespace swarmpod::backend
