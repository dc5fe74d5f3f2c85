// One generation's progress reports and image delivery to the host, and its cancel and
// error texts.
#include <algorithm>
#include <cctype>
#include <utility>

#include "backend/forward_internal.hpp"
#include "backend/model_cache.hpp"
#include "log/log.hpp"
#include "media/image.hpp"

namespace swarmpod::backend {
namespace {

using nlohmann::json;

double seconds_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

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

bool contains_ignoring_case(const std::string& text, const std::string& part) {
    const auto it = std::search(text.begin(), text.end(), part.begin(), part.end(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
    return it != text.end();
}

}  // namespace

void Generation::progress(Phase phase, const std::string& message, int batch_index, double overall, double current,
                          std::vector<uint8_t> preview, std::string preview_mime) {
    if (!context_.callbacks.on_progress) return;
    // The worker's percents cover its jobs, which end before their images arrive, so
    // the count of delivered images can be behind them. The host sees the larger one.
    if (overall >= 0) {
        overall = std::max(overall, highest_overall_);
        highest_overall_ = overall;
    }
    ProgressEvent event;
    event.phase = phase;
    event.batch_index = batch_index;
    event.elapsed_seconds = seconds_between(started_, Clock::now());
    event.overall_percent = overall;
    event.current_percent = current;
    event.worker_id = context_.lease.worker_id;
    event.message = message;
    event.preview = std::move(preview);
    event.preview_mime = std::move(preview_mime);
    if (!context_.callbacks.on_progress(event)) context_.cancel.cancel();
}

void Generation::deliver(int batch_index, std::string reference, std::string metadata) {
    deliver_image(batch_index, reference, std::move(metadata), &reference);
}

void Generation::deliver(int batch_index, std::string_view reference, std::string metadata) {
    deliver_image(batch_index, reference, std::move(metadata), nullptr);
}

void Generation::deliver_image(int batch_index, std::string_view reference, std::string metadata,
                               std::string* free_after_decode) {
    GeneratedImage image;
    image.batch_index = batch_index;
    image.metadata = std::move(metadata);
    image.gpu_seconds = context_.gpu_seconds_before + seconds_between(forwarding_started_, Clock::now());
    try {
        if (reference.rfind("data:", 0) == 0) {
            media::DecodedImage decoded = media::decode_image_data_url(reference);
            if (free_after_decode != nullptr) std::string().swap(*free_after_decode);
            image.bytes = std::move(decoded.bytes);
            image.mime = std::move(decoded.mime);
            image.info = decoded.info;
        } else {
            // The worker saved the image instead of inlining it, ignoring donotsave.
            const std::string path(reference);
            image.mime = mime_from_path(path);
            image.bytes = worker_.fetch_view(path, deadline_, &context_.cancel);
            image.info = media::validate_image(image.bytes.data(), image.bytes.size(), image.mime);
        }
    } catch (const Error& error) {
        if (error.status() != Status::image_invalid) throw;
        // The request's other images are still received and handed on, because they are
        // billed as well; the error comes at the end.
        const std::string text = "The image at batch index " + std::to_string(batch_index) + " from worker " +
                                 worker_id() + " is invalid: " + error.what();
        SP_WARN("{}", text);
        if (first_invalid_.empty()) first_invalid_ = text;
        ++invalid_;
        return;
    }
    if (image.info.format.empty()) {
        SP_WARN("Passing on an image of type {} from worker {} unchecked (batch index {})", image.mime,
                worker_id(), batch_index);
    }
    context_.summary["images"].push_back(json{{"batch_index", image.batch_index},
                                              {"mime", image.mime},
                                              {"width", image.info.width},
                                              {"height", image.info.height},
                                              {"bytes", image.bytes.size()},
                                              {"gpu_seconds", image.gpu_seconds}});
    ++delivered_;
    if (context_.callbacks.on_image && !context_.callbacks.on_image(image)) context_.cancel.cancel();
    const double overall = std::min(1.0, static_cast<double>(delivered_) / images_);
    // Only a reconnect that requested the missing images in whole batches brings more than expected.
    const std::string message = delivered_ <= images_ ? "Received image " + std::to_string(delivered_) + " of " +
                                                            std::to_string(images_)
                                                      : "Received extra image " + std::to_string(delivered_) +
                                                            " (" + std::to_string(images_) + " requested)";
    progress(Phase::generating, message, batch_index, overall, 1.0);
}

Error Generation::cancelled_error() {
    if (!interrupted_) {
        interrupted_ = true;
        try {
            worker_.interrupt(Deadline::in(kInterruptWait), nullptr, /*other_sessions=*/false);
        } catch (const std::exception& error) {
            SP_WARN("InterruptAll on worker {} after a cancel failed: {}", worker_id(), error.what());
        }
    }
    return Error(Status::cancelled, "The generation was cancelled on worker " + worker_id() + " after " +
                                        std::to_string(delivered_) + " of " + std::to_string(images_) +
                                        " image(s); images delivered before stay delivered.");
}

void Generation::check_all_delivered() const {
    if (!first_invalid_.empty()) {
        const std::string others = invalid_ > 1 ? " (" + std::to_string(invalid_) + " invalid images in all)" : "";
        std::string first = first_invalid_;
        if (!first.empty() && first.back() == '.') first.pop_back();
        throw Error(Status::image_invalid, first + others + ". The other " + std::to_string(delivered_) +
                                               " image(s) of the request were delivered.");
    }
    if (delivered_ >= images_) return;
    throw Error(Status::worker, "The worker " + worker_id() + " returned " + std::to_string(delivered_) + " of " +
                                    std::to_string(images_) + " requested image(s) and reported no error.");
}

std::string Generation::model_hint(const std::string& text, const std::string& model) const {
    if (context_.models == nullptr || model.empty()) return "";
    if (!contains_ignoring_case(text, "model")) return "";
    const bool not_found = contains_ignoring_case(text, "not found") || contains_ignoring_case(text, "invalid model");
    if (!not_found) return "";
    const std::vector<std::string> names = context_.models->closest_names("Stable-Diffusion", model);
    if (names.empty()) return " No cached model name is close to '" + model + "'; refresh the model list.";
    std::string hint = " Closest cached model names:";
    for (std::size_t i = 0; i < names.size(); ++i) hint += (i == 0 ? " '" : ", '") + names[i] + "'";
    return hint + ".";
}

}  // namespace swarmpod::backend
