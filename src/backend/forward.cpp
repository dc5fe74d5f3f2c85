#include "backend/forward.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

#include "backend/model_cache.hpp"
#include "core/json_fields.hpp"
#include "log/log.hpp"
#include "media/image.hpp"
#include "swarm/client.hpp"
#include "swarm/messages.hpp"
#include "swarm/ws_client.hpp"

namespace swarmpod::backend {
namespace {

using nlohmann::json;

// SwarmUI sends keep_alive at least every 30 s while a request has pending jobs, so
// twice that without any message means the connection is gone.
constexpr Millis kSilenceTimeout{60000};
constexpr Millis kConnectTimeout{15000};
// The wait for InterruptAll after a cancel. On loopback it takes milliseconds.
constexpr Millis kInterruptWait{2000};
constexpr Millis kCloseWait{1000};
// The model refresh after a generation runs while the lease is held anyway; it must
// not keep the worker (and its bill) much longer.
constexpr Millis kModelRefreshBudget{2000};
// How often a generation's worker is also asked for its model lists and feature flags.
constexpr std::chrono::seconds kRefreshAfterGenerationEvery{60};
constexpr const char* kWsRoute = "GenerateText2ImageWS";

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

// The progress of one generation on the worker, and its reports to the host.
class Generation {
public:
    Generation(const ForwardContext& context, swarm::Client& worker, int images, Deadline deadline)
        : context_(context),
          worker_(worker),
          images_(images),
          deadline_(deadline),
          started_(context.started == Clock::time_point{} ? Clock::now() : context.started),
          forwarding_started_(Clock::now()) {}

    int images() const { return images_; }
    int delivered() const { return delivered_; }
    Deadline deadline() const { return deadline_; }
    const std::string& worker_id() const { return context_.lease.worker_id; }
    CancelToken& cancel() const { return context_.cancel; }

    void progress(Phase phase, const std::string& message, int batch_index, double overall, double current,
                  std::vector<uint8_t> preview = {}, std::string preview_mime = {}) {
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

    // Decodes and validates one image (a data URL or a saved path), then hands it to
    // the host at once. Throws Error(image_invalid) naming the batch index.
    void deliver(int batch_index, std::string reference, std::string metadata) {
        GeneratedImage image;
        image.batch_index = batch_index;
        image.metadata = std::move(metadata);
        image.gpu_seconds = context_.gpu_seconds_before + seconds_between(forwarding_started_, Clock::now());
        try {
            if (reference.rfind("data:", 0) == 0) {
                media::DecodedImage decoded = media::decode_image_data_url(reference);
                std::string().swap(reference);
                image.bytes = std::move(decoded.bytes);
                image.mime = std::move(decoded.mime);
                image.info = decoded.info;
            } else {
                // The worker saved the image instead of inlining it, ignoring donotsave.
                image.mime = mime_from_path(reference);
                image.bytes = worker_.fetch_view(reference, deadline_, &context_.cancel);
                image.info = media::validate_image(image.bytes.data(), image.bytes.size(), image.mime);
            }
        } catch (const Error& error) {
            if (error.status() != Status::image_invalid) throw;
            throw Error(Status::image_invalid, "The image at batch index " + std::to_string(batch_index) +
                                                   " from worker " + worker_id() + " is invalid: " + error.what());
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

    // Stops this generation's session on the worker (once) and returns the cancel error to throw.
    Error cancelled_error() {
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

    void check_all_delivered() const {
        if (delivered_ >= images_) return;
        throw Error(Status::worker, "The worker " + worker_id() + " returned " + std::to_string(delivered_) + " of " +
                                        std::to_string(images_) + " requested image(s) and reported no error.");
    }

    // Appends the cached model names closest to `model` to a model-not-found error.
    std::string model_hint(const std::string& text, const std::string& model) const {
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

private:
    const ForwardContext& context_;
    swarm::Client& worker_;
    int images_;
    Deadline deadline_;
    Clock::time_point started_;
    Clock::time_point forwarding_started_;  // the start of GPU time that is this generation's own
    int delivered_ = 0;
    double highest_overall_ = 0;  // the highest overall percent reported so far
    bool interrupted_ = false;
};

// ------------------------------------------------------------------ HTTP

int generate_over_http(Generation& generation, swarm::Client& worker, json shaped) {
    std::vector<std::string> results;
    try {
        results = worker.generate_http(std::move(shaped), generation.deadline(), &generation.cancel());
    } catch (const Error& error) {
        if (generation.cancel().cancelled()) throw generation.cancelled_error();
        const std::string text = error.what();
        if (text.find("HTTP 524") != std::string::npos) {
            throw Error(Status::timeout,
                        "RunPod's proxy cut the HTTP generation request on worker " + generation.worker_id() +
                            " because it was silent too long (HTTP 524; RunPod cuts after about 100 s). Set "
                            "UseWebSocket to true: the WebSocket route sends progress and keep-alive messages.");
        }
        throw;
    }
    for (std::size_t index = 0; index < results.size(); ++index) {
        generation.deliver(static_cast<int>(index), std::move(results[index]), "");
        if (generation.cancel().cancelled()) throw generation.cancelled_error();
    }
    generation.check_all_delivered();
    return generation.delivered();
}

// ------------------------------------------------------------- WebSocket

// The reason one socket of a WebSocket generation ended.
enum class SocketEnd {
    finished,         // the close sequence came, or every image arrived before a Close frame
    invalid_session,  // the worker rejected our session: renew it and send again
    lost,             // silent for kSilenceTimeout, or ended early (Close frame or cut) without an error
};

class WebSocketGeneration {
public:
    WebSocketGeneration(Generation& generation, swarm::Client& worker, const ForwardContext& context, json shaped,
                        int batch_size)
        : generation_(generation),
          worker_(worker),
          context_(context),
          request_(std::move(shaped)),
          batch_size_(batch_size) {
        model_ = string_member(request_, "model");
        options_.ca_bundle = context.config.ca_bundle;
        options_.max_message_bytes = static_cast<std::size_t>(context.config.max_websocket_message_mib) * 1024 * 1024;
        options_.user_agent = "swarmpod/0.1";
        url_ = swarm::websocket_url(context.lease.public_url, kWsRoute);
    }

    int run() {
        bool renewed = false;
        bool reconnected = false;
        for (;;) {
            const SocketEnd end = run_socket();
            if (end == SocketEnd::finished) break;
            if (end == SocketEnd::invalid_session) {
                if (renewed) {
                    throw Error(Status::worker, "The worker " + generation_.worker_id() +
                                                    " rejected a freshly created SwarmUI session (error_id "
                                                    "invalid_session_id); check that its sessions are not being "
                                                    "cleared, then retry.");
                }
                renewed = true;
                SP_INFO("The SwarmUI session on worker {} is no longer valid; opening a new one and sending again",
                        generation_.worker_id());
                worker_.new_session(generation_.deadline(), &generation_.cancel());
                context_.summary["session_renewals"] = 1;
                continue;
            }
            if (reconnected) {
                throw Error(Status::network, "The WebSocket to worker " + generation_.worker_id() + " was lost twice (" +
                                                 lost_reason_ + ") after " + std::to_string(generation_.delivered()) +
                                                 " of " + std::to_string(generation_.images()) + " image(s).");
            }
            reconnected = true;
            prepare_reconnect();
        }
        if (!discarded_.empty()) context_.summary["discarded_indices"] = discarded_;
        generation_.check_all_delivered();
        return generation_.delivered();
    }

private:
    SocketEnd run_socket() {
        swarm::WsClient socket(options_);
        try {
            const Deadline connect_deadline = Deadline::in(std::min(kConnectTimeout, generation_.deadline().remaining()));
            socket.connect(url_, context_.lease.token, connect_deadline, &generation_.cancel());
            request_["session_id"] = worker_.session_id();
            {
                std::string text = request_.dump();
                socket.send_text(text, generation_.deadline(), &generation_.cancel());
            }
            const SocketEnd end = receive(socket);
            if (end == SocketEnd::finished) socket.close(kCloseWait);
            return end;
        } catch (const Error& error) {
            socket.abort();
            if (error.status() == Status::cancelled || generation_.cancel().cancelled()) {
                throw generation_.cancelled_error();
            }
            if (error.status() == Status::too_large) {
                throw Error(Status::too_large, std::string(error.what()) + " Raise MaxWebSocketMessageMiB (now " +
                                                   std::to_string(context_.config.max_websocket_message_mib) +
                                                   ") to accept larger images.");
            }
            throw;
        }
    }

    SocketEnd receive(swarm::WsClient& socket) {
        bool close_announced = false;
        std::string text;
        for (;;) {
            const swarm::ReadResult result =
                socket.read(text, kSilenceTimeout, generation_.deadline(), &generation_.cancel());
            if (result == swarm::ReadResult::silent) {
                lost_reason_ = "no message for " + std::to_string(kSilenceTimeout.count() / 1000) + " s";
                return SocketEnd::lost;
            }
            if (result == swarm::ReadResult::closed || result == swarm::ReadResult::cut) {
                if (close_announced || generation_.delivered() >= generation_.images()) return SocketEnd::finished;
                lost_reason_ = result == swarm::ReadResult::closed
                                   ? "the worker closed it before the end of the request"
                                   : "the connection ended without a WebSocket Close frame";
                return SocketEnd::lost;
            }
            swarm::WsMessage message = swarm::parse_message(std::move(text));
            text = std::string();
            if (handle(message, close_announced) == Handled::invalid_session) return SocketEnd::invalid_session;
            if (generation_.cancel().cancelled()) throw generation_.cancelled_error();
            // After socket_intention "close" SwarmUI waits 2 s for another request before its
            // final status and Close. With every image here, our Close ends that wait.
            if (close_announced && generation_.delivered() >= generation_.images()) return SocketEnd::finished;
        }
    }

    enum class Handled { next, invalid_session };

    Handled handle(swarm::WsMessage& message, bool& close_announced) {
        switch (message.kind) {
            case swarm::MessageKind::status:
                if (message.loading_models > 0) {
                    generation_.progress(Phase::loading_model, "Loading the model on worker " + generation_.worker_id(),
                                         -1, -1, -1);
                }
                break;
            case swarm::MessageKind::progress:
                relay_progress(message);
                break;
            case swarm::MessageKind::image:
                generation_.deliver(batch_offset_ + std::max(0, message.batch_index), std::move(message.image),
                                    std::move(message.metadata));
                break;
            case swarm::MessageKind::discard_indices:
                // Images are handed to the host as they arrive, so these cannot be
                // recalled; the summary lists them for the host to drop.
                for (const int index : message.discarded) discarded_.push_back(batch_offset_ + index);
                break;
            case swarm::MessageKind::keep_alive:
                break;
            case swarm::MessageKind::socket_intention:
                close_announced = close_announced || message.intention == "close";
                break;
            case swarm::MessageKind::error:
                if (message.error_id == "invalid_session_id") return Handled::invalid_session;
                throw_worker_error(message);
            case swarm::MessageKind::other:
                SP_DEBUG("Ignoring a '{}' message from worker {}", message.first_key, generation_.worker_id());
                break;
        }
        return Handled::next;
    }

    void relay_progress(swarm::WsMessage& message) {
        std::vector<uint8_t> preview;
        std::string preview_mime;
        if (!message.preview.empty()) {
            try {
                const media::DataUrl url = media::parse_data_url(message.preview);
                preview = media::base64_decode(url.base64);
                preview_mime = std::string(url.mime);
            } catch (const Error& error) {
                SP_DEBUG("Dropping an unreadable preview from worker {}: {}", generation_.worker_id(), error.what());
            }
        }
        // After a reconnect the worker's percents cover only the images asked again.
        const int images = generation_.images();
        const double share = static_cast<double>(images - batch_offset_) / images;
        const double overall = message.overall_percent < 0
                                   ? -1
                                   : std::min(1.0, static_cast<double>(batch_offset_) / images +
                                                       message.overall_percent * share);
        const int batch_index = message.batch_index < 0 ? -1 : batch_offset_ + message.batch_index;
        generation_.progress(Phase::generating, "Generating on worker " + generation_.worker_id(), batch_index,
                             overall, message.current_percent, std::move(preview), std::move(preview_mime));
    }

    [[noreturn]] void throw_worker_error(const swarm::WsMessage& message) {
        if (generation_.cancel().cancelled()) throw generation_.cancelled_error();
        std::string text = "The worker's SwarmUI reported an error on worker " + generation_.worker_id() + ": '" +
                           log::redact(message.error.substr(0, 1000)) + "'";
        if (!message.error_id.empty()) text += " (error_id '" + message.error_id.substr(0, 80) + "')";
        text += ".";
        text += generation_.model_hint(message.error, model_);
        throw swarm::WorkerError(swarm::WorkerState::reported_error, text);
    }

    // A new socket cannot resume a generation, because SwarmUI ties it to the old
    // socket's request. So the old request is interrupted and the missing images are
    // requested again (see ask_again_for). Their batch indices follow the delivered ones.
    void prepare_reconnect() {
        SP_WARN("The WebSocket to worker {} was lost ({}); checking the worker and reconnecting once",
                generation_.worker_id(), lost_reason_);
        try {
            worker_.call("GetCurrentStatus", json::object(), Deadline::in(kConnectTimeout), &generation_.cancel());
        } catch (const Error& error) {
            if (generation_.cancel().cancelled()) throw generation_.cancelled_error();
            throw Error(error.status(), "The WebSocket to worker " + generation_.worker_id() + " was lost (" +
                                            lost_reason_ + ") and the worker no longer answers: " + error.what());
        }
        try {
            worker_.interrupt(Deadline::in(kInterruptWait), &generation_.cancel(), /*other_sessions=*/false);
        } catch (const std::exception& error) {
            SP_WARN("InterruptAll before reconnecting to worker {} failed: {}", generation_.worker_id(), error.what());
        }
        const int delivered = generation_.delivered();
        const int remaining = generation_.images() - delivered;
        if (remaining <= 0) return;
        const int newly_delivered = delivered - batch_offset_;
        batch_offset_ = delivered;
        const ImageCount again = ask_again_for(remaining, batch_size_);
        request_["images"] = again.images;
        if (again.batch_size > 1 || request_.contains("batchsize")) request_["batchsize"] = again.batch_size;
        SP_INFO("Asking worker {} again for {} image(s): {} job(s) of {}", generation_.worker_id(), remaining,
                again.images, again.batch_size);
        // SwarmUI gives job j the seed seed + j * batchsize. Moving a fixed seed on by the
        // images delivered gives the next job the seed it would have had when the socket
        // was lost between jobs, and keeps already used seeds out of the new request.
        const auto seed = request_.find("seed");
        if (seed != request_.end() && seed->is_number_integer() && seed->get<long long>() >= 0) {
            *seed = seed->get<long long>() + newly_delivered;
        }
        context_.summary["reconnects"] = 1;
    }

    Generation& generation_;
    swarm::Client& worker_;
    const ForwardContext& context_;
    json request_;
    std::string model_;
    std::string url_;
    swarm::WsOptions options_;
    int batch_size_ = 1;
    int batch_offset_ = 0;
    std::vector<int> discarded_;
    std::string lost_reason_;
};

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

ImageCount ask_again_for(int remaining, int batch_size) {
    if (remaining < 1) return ImageCount{0, 0};
    ImageCount again;
    again.images = (remaining + batch_size - 1) / batch_size;
    again.batch_size = (remaining + again.images - 1) / again.images;
    return again;
}

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
            WebSocketGeneration live(generation, worker, context, std::move(shaped), count.batch_size);
            delivered = live.run();
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
