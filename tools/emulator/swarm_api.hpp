// The SwarmUI subset a worker serves: sessions, generation, model and backend lists.
// Transport-free: worker_server.cpp feeds it parsed JSON and sends back what it returns.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "config.hpp"
#include "faults.hpp"
#include "images.hpp"
#include "ledger.hpp"
#include "models.hpp"

namespace emulator {

struct SwarmReply {
    unsigned status = 200;
    nlohmann::json body;
    // Set when a proxy in front of the worker would have cut the silent request.
    bool cut = false;
};

struct GenerationParams {
    int images = 1;     // number of jobs, because SwarmUI runs one backend job per requested image
    int batch_size = 1; // images per job (SwarmUI's `batchsize`)
    std::string prompt;
    std::int64_t seed = -1;
    int width = 512;
    int height = 512;
    std::string model;
    bool donotsave = false;
};

// Callbacks a generation makes; each one is optional.
struct GenerationEvents {
    // After step `step` (1-based) of `steps` of job `job`; `image` is the job's first image.
    std::function<void(int job, int step, int steps, const ImageRequest& image)> on_step;
    // When the image at batch index `index` is ready; `reference` is the data URL or View/ path the client gets.
    std::function<void(int index, const std::string& reference, const ImageRequest& image)> on_image;
    // Every `Config::keepalive_ms` while the generation waits.
    std::function<void()> on_keepalive;
};

enum class GenerationOutcome { done, interrupted, shut_down, cut };

class SwarmApi {
public:
    SwarmApi(const Config& config, const ModelCatalog& models, Ledger& ledger, std::string worker_id);

    // Rules for the `image` route (corrupt_image, truncate_image, drop_socket, cut_socket); nullptr means none.
    void set_faults(Faults* faults) { faults_ = faults; }

    // The early end of a WebSocket generation after the image just sent, when a rule fires.
    enum class SocketEnd { keep, close_frame, cut };
    SocketEnd take_socket_end();

    // Counts a WebSocket that the client closed during the linger after socket_intention "close".
    void count_ws_client_close() { ledger_.count_ws_client_close(); }

    std::string create_session();
    bool has_session(const std::string& session_id) const;
    // Makes every session invalid, as a SwarmUI restart without persistence would.
    void clear_sessions();
    // Ends every running generation; later calls fail fast. Called when the worker stops.
    void shut_down();

    // Runs API route `route` (case-insensitive, without "/API/"). `cut_at_ms` (0 = never) is when a proxy
    // would cut a request that has sent nothing yet.
    SwarmReply call(const std::string& route, const nlohmann::json& body, std::int64_t cut_at_ms);

    // Returns the parsed request, or the SwarmUI error text for a bad parameter.
    std::variant<GenerationParams, std::string> parse_generation(const nlohmann::json& body) const;
    GenerationOutcome generate(const std::string& session_id, const GenerationParams& params,
                               const GenerationEvents& events, std::int64_t cut_at_ms);

    // A saved image for GET /View/<path>: bytes and MIME type.
    std::optional<EncodedImage> saved_image(const std::string& path) const;

    nlohmann::json status_json() const;
    int live_generations() const;
    // When a generation last ran (ms on the emulator clock), or the creation time if none ran.
    std::int64_t last_activity_ms() const;

private:
    SwarmReply generate_http(const std::string& session_id, const nlohmann::json& body, std::int64_t cut_at_ms);
    // Renders, records and hands over one image of a job.
    void deliver_image(const std::string& session_id, const GenerationParams& params, const ImageRequest& image,
                       const GenerationEvents& events);
    // Applies one corrupt_image or truncate_image rule to `bytes`; returns its kind, or "" when none fired.
    std::string damage_image(std::string& bytes);
    SwarmReply list_models(const nlohmann::json& body) const;
    SwarmReply interrupt_all(const std::string& session_id, const nlohmann::json& body);
    nlohmann::json get_new_session();
    // Waits until `until_ms`; returns early with the reason if the session is interrupted or the server stops.
    std::optional<GenerationOutcome> wait_until(const std::string& session_id, std::uint64_t epoch,
                                                std::int64_t until_ms, std::int64_t cut_at_ms,
                                                const GenerationEvents& events, std::int64_t& next_keepalive);

    const Config& config_;
    const ModelCatalog& models_;
    Ledger& ledger_;
    const std::string worker_id_;
    const std::string server_id_;
    Faults* faults_ = nullptr;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    // Session id -> interrupt epoch; InterruptAll bumps the epoch and running generations compare it.
    std::map<std::string, std::uint64_t> sessions_;
    std::map<std::string, EncodedImage> saved_;
    int saved_count_ = 0;
    int live_generations_ = 0;
    std::int64_t last_activity_ms_ = 0;
    bool shut_down_ = false;
};

} // namespace emulator
