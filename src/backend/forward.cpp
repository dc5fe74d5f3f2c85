#include "backend/forward.hpp"

#include <cctype>

#include "log/log.hpp"
#include "media/image.hpp"
#include "swarm/client.hpp"

namespace swarmpod::backend {
namespace {

using nlohmann::json;

// Picks the mime type of a saved output from its file extension.
std::string mime_from_path(const std::string& path) {
    const auto dot = path.rfind('.');
    std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == "png") return "image/png";
    if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
    if (ext == "webp") return "image/webp";
    if (ext == "gif") return "image/gif";
    return "application/octet-stream";
}

}  // namespace

int forward_generation(const ForwardContext& context, json request, int images) {
    swarm::Client worker_client(context.http, swarm::WorkerAddress{context.lease.public_url, context.lease.token});
    const Deadline generation_deadline = Deadline::in(std::chrono::seconds(context.config.generation_timeout_sec));

    context.emit(Phase::loading_backends, "Opening a SwarmUI session on worker " + context.lease.worker_id,
                 context.lease.worker_id, -1, -1);
    worker_client.new_session(generation_deadline, &context.cancel);

    context.emit(Phase::generating,
                 "Generating " + std::to_string(images) + " image(s) on worker " + context.lease.worker_id,
                 context.lease.worker_id, 0.0, 0.0);
    SP_INFO("Generating {} image(s) on worker {}", images, context.lease.worker_id);
    json shaped = swarm::shape_request(std::move(request), images);

    std::vector<std::string> results;
    try {
        results = worker_client.generate_http(std::move(shaped), generation_deadline, &context.cancel);
    } catch (const Error& error) {
        if (!context.cancel.cancelled()) throw;
        try {
            // The transfer was aborted; also stop the worker's SwarmUI for this session.
            worker_client.call("InterruptAll", json{{"other_sessions", false}}, Deadline::in(Millis(5000)));
        } catch (const std::exception& interrupt_error) {
            SP_DEBUG("InterruptAll after cancel failed: {}", interrupt_error.what());
        }
        throw Error(Status::cancelled, "The generation was cancelled while the worker was generating.");
    }

    int delivered = 0;
    for (std::size_t index = 0; index < results.size(); ++index) {
        const std::string& item = results[index];
        GeneratedImage image;
        image.batch_index = static_cast<int32_t>(index);
        try {
            if (item.rfind("data:", 0) == 0) {
                media::DecodedImage decoded = media::decode_image_data_url(item);
                image.bytes = std::move(decoded.bytes);
                image.mime = std::move(decoded.mime);
                image.info = decoded.info;
            } else {
                // The worker saved the image instead of inlining it; fetch it.
                image.mime = mime_from_path(item);
                image.bytes = worker_client.fetch_view(item, generation_deadline, &context.cancel);
                image.info = media::validate_image(image.bytes.data(), image.bytes.size(), image.mime);
            }
        } catch (const Error& error) {
            if (error.status() != Status::image_invalid) throw;
            throw Error(Status::image_invalid, "Image " + std::to_string(index) + " from worker " +
                                                   context.lease.worker_id + " is invalid: " + error.what());
        }
        context.summary["images"].push_back(json{{"batch_index", image.batch_index},
                                                 {"mime", image.mime},
                                                 {"width", image.info.width},
                                                 {"height", image.info.height},
                                                 {"bytes", image.bytes.size()}});
        ++delivered;
        if (context.callbacks.on_image && !context.callbacks.on_image(image)) context.cancel.cancel();
        context.emit(Phase::generating, "Received image " + std::to_string(delivered) + " of " + std::to_string(images),
                     context.lease.worker_id, static_cast<double>(delivered) / images, 1.0);
        if (context.cancel.cancelled()) {
            throw Error(Status::cancelled, "The generation was cancelled after " + std::to_string(delivered) + " of " +
                                               std::to_string(images) + " images.");
        }
    }
    if (delivered < images) {
        throw Error(Status::worker, "The worker returned " + std::to_string(delivered) + " of " +
                                        std::to_string(images) + " requested images without an error.");
    }
    return delivered;
}

}  // namespace swarmpod::backend
