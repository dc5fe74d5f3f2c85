#include "swarm_api.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

#include "util.hpp"

namespace emulator {
namespace {

constexpr const char* swarm_version = "0.9.8.2-emulator";
constexpr int max_side = 4096;
constexpr int min_side = 64;
constexpr int max_images = 1000;

std::string lower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

SwarmReply error_reply(const std::string& message)
{
    return {200, {{"error", message}}, false};
}

// SwarmUI parses parameters from their text form, so "512" and 512 are both accepted.
std::optional<std::int64_t> read_integer(const nlohmann::json& value)
{
    if (value.is_number_integer()) {
        return value.get<std::int64_t>();
    }
    if (value.is_number_float()) {
        return static_cast<std::int64_t>(value.get<double>());
    }
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        try {
            std::size_t used = 0;
            auto parsed = std::stoll(text, &used);
            if (used == text.size()) {
                return parsed;
            }
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

bool read_bool(const nlohmann::json& body, const char* key, bool fallback)
{
    if (!body.contains(key)) {
        return fallback;
    }
    const auto& value = body[key];
    if (value.is_boolean()) {
        return value.get<bool>();
    }
    if (value.is_string()) {
        return lower(value.get<std::string>()) == "true";
    }
    return fallback;
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

SwarmApi::SwarmApi(const Config& config, const ModelCatalog& models, Ledger& ledger, std::string worker_id)
    : config_(config), models_(models), ledger_(ledger), worker_id_(std::move(worker_id)),
      server_id_(make_hex_id(8) + "-" + make_hex_id(4) + "-" + make_hex_id(4) + "-" + make_hex_id(4) + "-" +
                 make_hex_id(12)),
      last_activity_ms_(now_ms())
{
}

std::string SwarmApi::create_session()
{
    std::string id = make_hex_id(40);
    std::lock_guard<std::mutex> lock(mutex_);
    sessions_.emplace(id, 0);
    return id;
}

bool SwarmApi::has_session(const std::string& session_id) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return sessions_.count(session_id) != 0;
}

void SwarmApi::clear_sessions()
{
    std::lock_guard<std::mutex> lock(mutex_);
    sessions_.clear();
}

void SwarmApi::shut_down()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        shut_down_ = true;
    }
    changed_.notify_all();
}

nlohmann::json SwarmApi::get_new_session()
{
    return {{"session_id", create_session()},
            {"user_id", "local"},
            {"output_append_user", true},
            {"version", swarm_version},
            {"server_id", server_id_},
            {"permissions", {"basic_image_generation", "model_params", "fundamental_model_access",
                             "view_backends_list", "load_models_now", "param_backend_id", "control_mem_clean"}}};
}

SwarmReply SwarmApi::call(const std::string& route, const nlohmann::json& body, std::int64_t cut_at_ms)
{
    const std::string name = lower(route);
    if (name == "getnewsession") {
        return {200, get_new_session(), false};
    }

    std::string session_id;
    if (body.contains("session_id") && body["session_id"].is_string()) {
        session_id = body["session_id"].get<std::string>();
    }
    if (session_id.empty()) {
        return {400, {{"error", "Invalid request: missing session_id."}, {"error_id", "basic_api"}}, false};
    }
    if (!has_session(session_id)) {
        return {401,
                {{"error", "Invalid session ID. You may need to refresh the page."},
                 {"error_id", "invalid_session_id"}},
                false};
    }

    if (name == "generatetext2image") {
        return generate_http(session_id, body, cut_at_ms);
    }
    if (name == "listmodels") {
        return list_models(body);
    }
    if (name == "listbackends") {
        nlohmann::json backend = {{"type", "comfyui_selfstart"},
                                  {"status", "running"},
                                  {"id", 0},
                                  {"settings", nlohmann::json::object()},
                                  {"modcount", 0},
                                  {"features", {"comfyui", "refiners", "controlnet", "variation_seed", "freeu"}},
                                  {"enabled", true},
                                  {"title", ""},
                                  {"max_usages", 1},
                                  {"seconds_since_used", 0},
                                  {"time_since_used", "0 seconds ago"},
                                  {"can_load_models", true}};
        return {200, {{"0", backend}}, false};
    }
    if (name == "interruptall") {
        return interrupt_all(session_id, body);
    }
    if (name == "getcurrentstatus" || name == "getglobalstatus") {
        return {200, status_json(), false};
    }
    if (name == "selectmodel") {
        if (!body.contains("model") || !body["model"].is_string() || body["model"].get<std::string>().empty()) {
            return error_reply("Invalid empty name.");
        }
        if (!models_.find_checkpoint(body["model"].get<std::string>())) {
            return error_reply("Model not found.");
        }
        return {200, {{"success", true}}, false};
    }
    return {400, {{"error", "Unknown API route '" + route + "'."}, {"error_id", "bad_route"}}, false};
}

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
        // A session dropped by invalidation keeps running, as SwarmUI does not cancel on session loss.
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
    for (int index = 0; index < params.images && outcome == GenerationOutcome::done; ++index) {
        ImageRequest image{params.seed + index, params.prompt, params.width, params.height, index};
        std::int64_t image_start = now_ms();
        for (int step = 1; step <= steps; ++step) {
            std::int64_t step_end = image_start + config_.generation_ms * step / steps;
            if (auto stopped = wait_until(session_id, epoch, step_end, cut_at_ms, events, next_keepalive)) {
                outcome = *stopped;
                break;
            }
            if (events.on_step) {
                events.on_step(index, step, steps, image);
            }
        }
        if (outcome != GenerationOutcome::done) {
            break;
        }

        EncodedImage encoded = render_image(image, config_.image_format);
        ledger_.add_image({session_id, worker_id_, index, fnv1a64(encoded.bytes), encoded.bytes.size(), image.width,
                           image.height, encoded.mime, now_ms()});
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
            events.on_image(index, reference, image);
        }
    }

    return outcome;
}

SwarmReply SwarmApi::generate_http(const std::string& session_id, const nlohmann::json& body,
                                   std::int64_t cut_at_ms)
{
    auto parsed = parse_generation(body);
    if (auto* message = std::get_if<std::string>(&parsed)) {
        return error_reply(*message);
    }
    const auto& params = std::get<GenerationParams>(parsed);

    std::vector<std::string> images(static_cast<std::size_t>(params.images));
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

SwarmReply SwarmApi::list_models(const nlohmann::json& body) const
{
    for (const char* required : {"path", "depth"}) {
        if (!body.contains(required)) {
            return error_reply(std::string("Missing required parameter '") + required + "'");
        }
    }
    std::string path = body["path"].is_string() ? body["path"].get<std::string>() : "";
    auto depth = read_integer(body["depth"]);
    if (!depth) {
        return error_reply("Invalid value for parameter 'depth' - must be an integer.");
    }
    std::string subtype = "Stable-Diffusion";
    if (body.contains("subtype") && body["subtype"].is_string()) {
        subtype = body["subtype"].get<std::string>();
    }
    auto listing = models_.list(subtype, path, static_cast<int>(std::clamp<std::int64_t>(*depth, 1, 20)));
    if (!listing) {
        return error_reply("Invalid sub-type.");
    }
    return {200, *listing, false};
}

SwarmReply SwarmApi::interrupt_all(const std::string& session_id, const nlohmann::json& body)
{
    bool other_sessions = read_bool(body, "other_sessions", false);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& [id, epoch] : sessions_) {
            if (other_sessions || id == session_id) {
                ++epoch;
            }
        }
    }
    changed_.notify_all();
    return {200, {{"success", true}}, false};
}

std::optional<EncodedImage> SwarmApi::saved_image(const std::string& path) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = saved_.find(path);
    if (found == saved_.end()) {
        return std::nullopt;
    }
    return found->second;
}

nlohmann::json SwarmApi::status_json() const
{
    int live = live_generations();
    return {{"status", {{"waiting_gens", 0}, {"loading_models", 0}, {"waiting_backends", 0}, {"live_gens", live}}},
            {"backend_status",
             {{"status", live > 0 ? "running" : "idle"}, {"class", ""}, {"message", ""}, {"any_loading", false}}},
            {"supported_features", {"comfyui", "refiners", "controlnet", "variation_seed", "freeu"}}};
}

int SwarmApi::live_generations() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return live_generations_;
}

std::int64_t SwarmApi::last_activity_ms() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return live_generations_ > 0 ? now_ms() : last_activity_ms_;
}

} // namespace emulator
