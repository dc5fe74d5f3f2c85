#include "swarm_api.hpp"

#include <algorithm>
#include <cctype>

#include "swarm_params.hpp"
#include "util.hpp"

namespace emulator {
namespace {

constexpr const char* swarm_version = "0.9.8.2-emulator";

// The flags SwarmUI 0.9.8.2's ComfyUI self-start backend reports on Linux with the nodes it
// installs itself (SwarmComfyCommon) and ComfyUI's own FreeU node; ComfyUIBackendExtension
// adds flags such as "ipadapter" or "teacache" only when their custom nodes are installed.
nlohmann::json worker_features()
{
    return {"comfyui",
            "refiners",
            "controlnet",
            "endstepsearly",
            "seamless",
            "video",
            "comfy_loadimage_b64",
            "comfy_saveimage_ws",
            "comfy_just_load_model",
            "comfy_latent_blend_masked",
            "variation_seed",
            "freeu",
            "folderslash"};
}

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
                                  {"features", worker_features()},
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
            {"supported_features", worker_features()}};
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
