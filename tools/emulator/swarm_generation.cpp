// SwarmApi's generation: parameter checks, timed steps with interrupts, image rendering and the HTTP route.
#include <algorithm>
#include <chrono>
#include <ctime>

#include <spdlog/spdlog.h>

#include "swarm_api.hpp"
#include "swarm_params.hpp"
#include "util.hpp"

namespace emulator {
namespace {

// SwarmUI registers Width and Height with Min 64; 4096 is the emulator's own cap on rendering time.
// NOTE: whether SwarmUI rejects or clamps a value below Min is unverified; the emulator rejects it.
constexpr int max_side = 4096;
constexpr int min_side = 64;
constexpr int max_images = 1000;
// SwarmUI registers Batch Size with Min 1 and Max 100.
constexpr int max_batch_size = 100;

SwarmReply error_reply(const std::string& message)
{
    return {200, {{"error", message}}, false};
}

std::string today()
{
    std::time_t now = std::time(nullptr);
    std::tm parts{};
    localtime_r(&now, &parts);
    char text[16];
    std::strftime(text, sizeof text, "%Y-%m-%d", &parts);
    return text;
}

} // namespace

std::variant<GenerationParams, std::string> SwarmApi::parse_generation(const nlohmann::json& body) const
{
    GenerationParams params;
    if (!body.contains("images")) {
        return std::string("Missing required parameter 'images'");
    }
    auto images = read_integer(body["images"]);
    if (!images || *images < 1 || *images > max_images) {
        return std::string("Invalid value for parameter Images - must be an integer from 1 to ") +
               std::to_string(max_images) + ".";
    }
    params.images = static_cast<int>(*images);
    if (body.contains("batchsize")) {
        auto batch_size = read_integer(body["batchsize"]);
        if (!batch_size || *batch_size < 1 || *batch_size > max_batch_size) {
            return std::string("Invalid value for parameter Batch Size - must be an integer from 1 to ") +
                   std::to_string(max_batch_size) + ".";
        }
        params.batch_size = static_cast<int>(*batch_size);
    }

    if (body.contains("prompt")) {
        params.prompt = body["prompt"].is_string() ? body["prompt"].get<std::string>() : body["prompt"].dump();
    }
    if (body.contains("seed")) {
        auto seed = read_integer(body["seed"]);
        if (!seed) {
            return std::string("Invalid value for parameter Seed - must be an integer.");
        }
        params.seed = *seed;
    }
    if (params.seed == -1) {
        params.seed = static_cast<std::int64_t>(fnv1a64(make_hex_id(16)) % 2147483647ULL);
    }

    for (const char* key : {"width", "height"}) {
        if (!body.contains(key)) {
            continue;
        }
        auto side = read_integer(body[key]);
        if (!side || *side < min_side || *side > max_side) {
            return std::string("Invalid value for parameter ") + (key[0] == 'w' ? "Width" : "Height") +
                   " - must be an integer from " + std::to_string(min_side) + " to " + std::to_string(max_side) +
                   ".";
        }
        (key[0] == 'w' ? params.width : params.height) = static_cast<int>(*side);
    }

    if (body.contains("model") && !(body["model"].is_string() && body["model"].get<std::string>().empty())) {
        std::string requested = body["model"].is_string() ? body["model"].get<std::string>() : body["model"].dump();
        auto match = models_.find_checkpoint(requested);
        if (!match) {
            return "Invalid model value for param Model - '" + requested +
                   "' - are you sure that model name is correct?";
        }
        params.model = *match;
    }
    params.donotsave = read_bool(body, "donotsave", false);
    return params;
}

std::optional<GenerationOutcome> SwarmApi::wait_until(const std::string& session_id, std::uint64_t epoch,
                                                      std::int64_t until_ms, std::int64_t cut_at_ms,
                                                      const GenerationEvents& events, std::int64_t& next_keepalive)
{
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        if (shut_down_) {
            return GenerationOutcome::shut_down;
        }
        auto session = sessions_.find(session_id);
        // A generation whose session was invalidated keeps running; only InterruptAll or a stop ends it.
        if (session != sessions_.end() && session->second != epoch) {
            return GenerationOutcome::interrupted;
        }
        std::int64_t now = now_ms();
        if (cut_at_ms > 0 && now >= cut_at_ms) {
            return GenerationOutcome::cut;
        }
        if (events.on_keepalive && now >= next_keepalive) {
            next_keepalive = now + std::max<std::int64_t>(1, config_.keepalive_ms);
            lock.unlock();
            events.on_keepalive();
            lock.lock();
            continue;
        }
        if (now >= until_ms) {
            return std::nullopt;
        }
        std::int64_t wake = until_ms;
        if (cut_at_ms > 0) {
            wake = std::min(wake, cut_at_ms);
        }
        if (events.on_keepalive) {
            wake = std::min(wake, next_keepalive);
        }
        changed_.wait_for(lock, std::chrono::milliseconds(wake - now));
    }
}

SwarmApi::SocketEnd SwarmApi::take_socket_end()
{
    if (faults_ == nullptr) {
        return SocketEnd::keep;
    }
    if (faults_->take("image", "drop_socket")) {
        spdlog::info("worker {}: fault drop_socket after an image", worker_id_);
        return SocketEnd::close_frame;
    }
    if (faults_->take("image", "cut_socket")) {
        spdlog::info("worker {}: fault cut_socket after an image", worker_id_);
        return SocketEnd::cut;
    }
    return SocketEnd::keep;
}

std::string SwarmApi::damage_image(std::string& bytes)
{
    if (faults_ == nullptr || bytes.size() < 2) {
        return {};
    }
    auto fault = faults_->take("image", "corrupt_image");
    if (!fault) {
        fault = faults_->take("image", "truncate_image");
    }
    if (!fault) {
        return {};
    }
    if (fault->kind == "truncate_image") {
        bytes.resize(bytes.size() / 2);
    } else {
        bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
    }
    spdlog::info("worker {}: fault {} on an image", worker_id_, fault->kind);
    return fault->kind;
}

GenerationOutcome SwarmApi::generate(const std::string& session_id, const GenerationParams& params,
                                     const GenerationEvents& events, std::int64_t cut_at_ms)
{
    std::uint64_t epoch = 0;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto session = sessions_.find(session_id);
        epoch = session == sessions_.end() ? 0 : session->second;
        ++live_generations_;
        last_activity_ms_ = now_ms();
    }
    ledger_.count_generation();
    // Event callbacks may throw (a WebSocket send to a closed client), so the live count is restored by a guard.
    struct LiveGuard {
        SwarmApi& api;
        ~LiveGuard()
        {
            std::lock_guard<std::mutex> lock(api.mutex_);
            --api.live_generations_;
            api.last_activity_ms_ = now_ms();
        }
    } guard{*this};

    const int steps = std::max(1, config_.steps_per_image);
    std::int64_t next_keepalive = now_ms() + std::max<std::int64_t>(1, config_.keepalive_ms);
    GenerationOutcome outcome = GenerationOutcome::done;
    // As in SwarmUI's T2IAPI: job `job` gets the seed seed + job * batchsize, and its images
    // the batch indices job * batchsize + 0 .. batchsize - 1.
    for (int job = 0; job < params.images && outcome == GenerationOutcome::done; ++job) {
        const int first_index = job * params.batch_size;
        ImageRequest first{params.seed + first_index, params.prompt, params.width, params.height, first_index};
        // A batch samples all its images together, so every image is ready when the job's last step ends.
        const std::int64_t job_ms = config_.generation_ms * params.batch_size;
        const std::int64_t job_start = now_ms();
        for (int step = 1; step <= steps; ++step) {
            std::int64_t step_end = job_start + job_ms * step / steps;
            if (auto stopped = wait_until(session_id, epoch, step_end, cut_at_ms, events, next_keepalive)) {
                outcome = *stopped;
                break;
            }
            if (events.on_step) {
                events.on_step(job, step, steps, first);
            }
        }
        if (outcome != GenerationOutcome::done) {
            break;
        }
        for (int in_batch = 0; in_batch < params.batch_size; ++in_batch) {
            ImageRequest image = first;
            image.batch_index = first_index + in_batch;
            deliver_image(session_id, params, image, events);
        }
    }

    return outcome;
}

void SwarmApi::deliver_image(const std::string& session_id, const GenerationParams& params,
                             const ImageRequest& image, const GenerationEvents& events)
{
    EncodedImage encoded = render_image(image, config_.image_format, config_.image_noise);
    std::string damage = damage_image(encoded.bytes);
    ledger_.add_image({session_id, worker_id_, image.batch_index, fnv1a64(encoded.bytes), encoded.bytes.size(),
                       image.width, image.height, encoded.mime, now_ms(), damage});
    std::string reference;
    if (params.donotsave) {
        reference = "data:" + encoded.mime + ";base64," + base64_encode(encoded.bytes);
    } else {
        std::lock_guard<std::mutex> lock(mutex_);
        reference = "View/local/raw/" + today() + "/" + std::to_string(++saved_count_) + "-" +
                    std::to_string(image.seed) + "." + encoded.extension;
        saved_.emplace(reference, std::move(encoded));
    }
    if (events.on_image) {
        events.on_image(image.batch_index, reference, image);
    }
}

SwarmReply SwarmApi::generate_http(const std::string& session_id, const nlohmann::json& body,
                                   std::int64_t cut_at_ms)
{
    auto parsed = parse_generation(body);
    if (auto* message = std::get_if<std::string>(&parsed)) {
        return error_reply(*message);
    }
    const auto& params = std::get<GenerationParams>(parsed);

    std::vector<std::string> images(static_cast<std::size_t>(params.images) *
                                    static_cast<std::size_t>(params.batch_size));
    GenerationEvents events;
    events.on_image = [&images](int index, const std::string& reference, const ImageRequest&) {
        images[static_cast<std::size_t>(index)] = reference;
    };
    switch (generate(session_id, params, events, cut_at_ms)) {
    case GenerationOutcome::done:
        return {200, {{"images", images}}, false};
    case GenerationOutcome::interrupted:
        return error_reply("Generation session interrupted.");
    case GenerationOutcome::cut:
        return {524, nlohmann::json::object(), true};
    case GenerationOutcome::shut_down:
        break;
    }
    return error_reply("The server is shutting down.");
}

} // namespace emulator
