// The WebSocket transport of a generation: SwarmUI's GenerateText2ImageWS socket, with
// progress and previews relayed, a renewed session, and one reconnect after a lost socket.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/forward_internal.hpp"
#include "core/json_fields.hpp"
#include "log/log.hpp"
#include "media/image.hpp"
#include "swarm/messages.hpp"
#include "swarm/ws_client.hpp"
#include "swarm/ws_preconnect.hpp"

namespace swarmpod::backend {
namespace {

using nlohmann::json;

// SwarmUI sends keep_alive at least every 30 s while a request has pending jobs, so
// twice that without any message means the connection is gone.
constexpr Millis kSilenceTimeout{60000};
constexpr Millis kConnectTimeout{15000};
constexpr Millis kCloseWait{1000};
// A socket opened ahead is used only while younger than this, because SwarmUI closes a
// socket that gets no request within a minute. (RunPod's proxy cuts HTTP requests silent
// for about 100 s; an idle socket is assumed to fare no better.)
constexpr Millis kSpareMaxAge{45000};
// The connect of a socket opened ahead; a generation waits for it rather than connect twice.
constexpr Millis kSpareConnectTimeout{5000};
constexpr const char* kWsRoute = "GenerateText2ImageWS";

// The reason one socket of a WebSocket generation ended.
enum class SocketEnd {
    finished,         // the close sequence came, or every image arrived before a Close frame
    invalid_session,  // the worker rejected our session: renew it and send again
    lost,             // silent for kSilenceTimeout, or ended early (Close frame or cut) without an error
    stale,            // a socket opened ahead was closed before any message: send on a new one
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

    // Closes a finished socket that open_next_socket did not take (an error came first).
    ~WebSocketGeneration() {
        if (finished_socket_) finished_socket_->close(kCloseWait);
    }
    WebSocketGeneration(const WebSocketGeneration&) = delete;
    WebSocketGeneration& operator=(const WebSocketGeneration&) = delete;

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
        open_next_socket();
        return generation_.delivered();
    }

private:
    // Uses the socket opened ahead when it is still open, else connects.
    SocketEnd run_socket() {
        if (std::unique_ptr<swarm::WsClient> spare = take_spare()) {
            const SocketEnd end = exchange(*spare, /*opened_ahead=*/true);
            if (end != SocketEnd::stale) {
                context_.summary["websocket_opened_ahead"] = true;
                keep_if_finished(std::move(spare), end);
                return end;
            }
            SP_DEBUG("The WebSocket opened ahead to worker {} was closed before use; opening another",
                     generation_.worker_id());
        }
        auto socket = std::make_unique<swarm::WsClient>(options_);
        const SocketEnd end = exchange(*socket, /*opened_ahead=*/false);
        keep_if_finished(std::move(socket), end);
        return end;
    }

    // Keeps a socket whose request ended for its close handshake, which runs after the
    // generation returns (see open_next_socket). Waiting for the worker's Close frame would
    // add a round trip through RunPod's proxy to every generation.
    void keep_if_finished(std::unique_ptr<swarm::WsClient> socket, SocketEnd end) {
        if (end == SocketEnd::finished) finished_socket_ = std::move(socket);
    }

    std::unique_ptr<swarm::WsClient> take_spare() {
        if (context_.spare_socket == nullptr || !*context_.spare_socket) return nullptr;
        const std::shared_ptr<swarm::WsPreconnect> spare = std::move(*context_.spare_socket);
        return spare->take(kSpareMaxAge, &generation_.cancel());
    }

    // Opens a socket for the lease's next generation while the worker stays warm. The
    // same thread then closes the finished socket; without a next socket it closes here.
    void open_next_socket() {
        if (context_.spare_socket == nullptr || context_.config.keep_warm_sec <= 0) return;
        try {
            *context_.spare_socket = swarm::WsPreconnect::start(url_, context_.lease.token, options_,
                                                                kSpareConnectTimeout, std::move(finished_socket_),
                                                                kCloseWait);
        } catch (const std::exception& error) {
            SP_DEBUG("Could not start opening a WebSocket ahead to worker {}: {}", generation_.worker_id(),
                     error.what());
        }
    }

    // Sends the request on `socket` and receives until the request ends. A socket opened
    // ahead that fails before its first message is reported as stale.
    SocketEnd exchange(swarm::WsClient& socket, bool opened_ahead) {
        messages_on_socket_ = 0;
        try {
            if (!opened_ahead) {
                const Deadline connect_deadline =
                    Deadline::in(std::min(kConnectTimeout, generation_.deadline().remaining()));
                socket.connect(url_, context_.lease.token, connect_deadline, &generation_.cancel());
            }
            request_["session_id"] = worker_.session_id();
            {
                std::string text = request_.dump();
                socket.send_text(text, generation_.deadline(), &generation_.cancel());
            }
            return receive(socket, opened_ahead);
        } catch (const Error& error) {
            socket.abort();
            if (error.status() == Status::cancelled || generation_.cancel().cancelled()) {
                throw generation_.cancelled_error();
            }
            if (opened_ahead && messages_on_socket_ == 0 && error.status() == Status::network) return SocketEnd::stale;
            if (error.status() == Status::too_large) {
                throw Error(Status::too_large, std::string(error.what()) + " Raise MaxWebSocketMessageMiB (now " +
                                                   std::to_string(context_.config.max_websocket_message_mib) +
                                                   ") to accept larger images.");
            }
            throw;
        }
    }

    SocketEnd receive(swarm::WsClient& socket, bool opened_ahead) {
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
                if (opened_ahead && messages_on_socket_ == 0) return SocketEnd::stale;
                if (close_announced || generation_.received() >= generation_.images()) return SocketEnd::finished;
                lost_reason_ = result == swarm::ReadResult::closed
                                   ? "the worker closed it before the end of the request"
                                   : "the connection ended without a WebSocket Close frame";
                return SocketEnd::lost;
            }
            ++messages_on_socket_;
            swarm::WsMessage message = swarm::parse_message(std::move(text));
            text = std::string();
            if (handle(message, close_announced) == Handled::invalid_session) return SocketEnd::invalid_session;
            if (generation_.cancel().cancelled()) throw generation_.cancelled_error();
            // After socket_intention "close" SwarmUI waits 2 s for another request before its
            // final status and Close. With every image here, our Close ends that wait.
            if (close_announced && generation_.received() >= generation_.images()) return SocketEnd::finished;
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
    int messages_on_socket_ = 0;
    std::unique_ptr<swarm::WsClient> finished_socket_;  // the socket whose request ended, not yet closed
};

}  // namespace

ImageCount ask_again_for(int remaining, int batch_size) {
    if (remaining < 1) return ImageCount{0, 0};
    ImageCount again;
    again.images = (remaining + batch_size - 1) / batch_size;
    again.batch_size = (remaining + again.images - 1) / again.images;
    return again;
}

int generate_over_websocket(Generation& generation, swarm::Client& worker, const ForwardContext& context, json shaped,
                            int batch_size) {
    WebSocketGeneration live(generation, worker, context, std::move(shaped), batch_size);
    return live.run();
}

}  // namespace swarmpod::backend
