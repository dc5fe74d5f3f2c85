#include "swarm_ws.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include <poll.h>

#include "util.hpp"

namespace emulator {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

// Thrown by a send when the client has gone, to leave the generation loop.
struct ClientGone {};
// Thrown after an image when a drop_socket or cut_socket fault fires, to end the socket before the
// request ends: with a Close frame, or (`cut`) by closing the TCP connection without one.
struct SocketDropped {
    bool cut = false;
};

template <class Socket>
void send(Socket& ws, const nlohmann::json& message)
{
    beast::error_code error;
    ws.text(true);
    ws.write(boost::asio::buffer(message.dump()), error);
    if (error) {
        throw ClientGone{};
    }
}

template <class Socket>
void close(Socket& ws)
{
    beast::error_code ignored;
    ws.close(websocket::close_code::normal, ignored);
}

std::string metadata_for(const GenerationParams& params, const ImageRequest& image, int steps)
{
    nlohmann::json metadata = {{"sui_image_params",
                                {{"prompt", image.prompt},
                                 {"model", params.model},
                                 {"seed", image.seed},
                                 {"steps", steps},
                                 {"width", image.width},
                                 {"height", image.height},
                                 {"images", params.images},
                                 {"batchsize", params.batch_size},
                                 {"swarm_version", "0.9.8.2-emulator"}}}};
    return metadata.dump();
}

// Returns false when the worker is stopping, so the socket is dropped without the end sequence.
template <class Socket>
bool run_generation(SwarmApi& api, const Config& config, Socket& ws, const std::string& session_id,
                    const nlohmann::json& input)
{
    send(ws, api.status_json());
    auto parsed = api.parse_generation(input);
    if (auto* message = std::get_if<std::string>(&parsed)) {
        send(ws, {{"error", *message}});
        return true;
    }
    const auto& params = std::get<GenerationParams>(parsed);
    const std::string request_id = std::to_string(fnv1a64(make_hex_id(8)) % 100000);

    GenerationEvents events;
    // Like SwarmUI, a job's progress carries the batch index of its first image.
    events.on_step = [&](int job, int step, int steps, const ImageRequest& image) {
        double current = static_cast<double>(step) / steps;
        nlohmann::json progress = {{"batch_index", std::to_string(image.batch_index)},
                                   {"request_id", request_id},
                                   {"overall_percent", (job + current) / params.images},
                                   {"current_percent", current}};
        auto preview = render_preview(image, current);
        progress["preview"] = "data:" + preview.mime + ";base64," + base64_encode(preview.bytes);
        send(ws, {{"gen_progress", progress}});
    };
    events.on_image = [&](int index, const std::string& reference, const ImageRequest& image) {
        send(ws, {{"image", reference},
                  {"batch_index", std::to_string(index)},
                  {"request_id", request_id},
                  {"metadata", metadata_for(params, image, std::max(1, config.steps_per_image))}});
        const SwarmApi::SocketEnd end = api.take_socket_end();
        if (end != SwarmApi::SocketEnd::keep) {
            throw SocketDropped{end == SwarmApi::SocketEnd::cut};
        }
        send(ws, {{"keep_alive", true}});
    };
    events.on_keepalive = [&] { send(ws, {{"keep_alive", true}}); };

    // NOTE: a WebSocket generation is never cut by --proxy-cut-ms, because progress and keep_alive
    // messages flow at least every --keepalive-ms; a silent socket is not modelled.
    switch (api.generate(session_id, params, events, 0)) {
    case GenerationOutcome::done:
        break;
    case GenerationOutcome::interrupted:
        send(ws, {{"error", "Generation session interrupted."}});
        break;
    case GenerationOutcome::shut_down:
    case GenerationOutcome::cut:
        return false;
    }
    send(ws, {{"discard_indices", nlohmann::json::array()}});
    return true;
}

// Waits up to `linger_ms` for the client's next frame after socket_intention "close", as
// SwarmUI does. Returns true when the client closed the socket in that time (Beast replies to
// its Close frame inside the read, after `close_reply_ms`).
// NOTE: a second generation request on the same socket, which SwarmUI would run, gets
// an error reply.
template <class Socket>
bool client_closed_during_linger(Socket& ws, std::int64_t linger_ms, std::int64_t close_reply_ms)
{
    pollfd waiting{};
    waiting.fd = beast::get_lowest_layer(ws).native_handle();
    waiting.events = POLLIN;
    if (linger_ms <= 0 || ::poll(&waiting, 1, static_cast<int>(linger_ms)) <= 0) {
        return false;
    }
    if (close_reply_ms > 0) {
        // With no events asked, poll returns early only on a hang-up or an error, which is what
        // HttpServer::stop causes when it shuts the socket down: the worker's stop does not
        // wait out the delay.
        pollfd stopping{};
        stopping.fd = waiting.fd;
        ::poll(&stopping, 1, static_cast<int>(close_reply_ms));
    }
    beast::flat_buffer buffer;
    beast::error_code error;
    ws.read(buffer, error);
    if (error == websocket::error::closed) {
        return true;
    }
    if (error) {
        throw ClientGone{};
    }
    send(ws, {{"error", "The emulator does not run a second request on one WebSocket."},
              {"error_id", "not_emulated"}});
    return false;
}

template <class NextLayer>
void serve_on(SwarmApi& api, const Config& config, NextLayer& next_layer,
              const boost::beast::http::request<boost::beast::http::string_body>& request)
{
    websocket::stream<NextLayer&> ws(next_layer);
    beast::error_code error;
    ws.read_message_max(200ULL * 1024 * 1024);
    // One frame per message: SwarmUI's clients accept fragments, but simple test clients often do not.
    ws.auto_fragment(false);
    ws.accept(request, error);
    if (error) {
        return;
    }
    std::string path(request.target().substr(0, request.target().find('?')));
    try {
        if (!beast::iequals(path, "/API/GenerateText2ImageWS")) {
            send(ws, {{"error", "Unknown WebSocket API route '" + path + "'."}, {"error_id", "bad_route"}});
            close(ws);
            return;
        }

        // Like SwarmUI, wait a limited time for the request, then close the socket.
        pollfd waiting{};
        waiting.fd = beast::get_lowest_layer(ws).native_handle();
        waiting.events = POLLIN;
        if (::poll(&waiting, 1, static_cast<int>(config.ws_first_message_timeout_ms)) == 0) {
            spdlog::info("WebSocket request did not arrive within {} ms; closing the socket",
                         config.ws_first_message_timeout_ms);
            close(ws);
            return;
        }
        beast::flat_buffer buffer;
        ws.read(buffer, error);
        if (error) {
            return;
        }
        const std::string first_frame = beast::buffers_to_string(buffer.data());
        auto input = json_too_deep(first_frame) ? nlohmann::json(nlohmann::json::value_t::discarded)
                                                : nlohmann::json::parse(first_frame, nullptr, false);
        if (input.is_discarded() || !input.is_object()) {
            send(ws, {{"error", "An internal error occurred"}, {"error_id", "internal_error"}});
            close(ws);
            return;
        }
        std::string session_id;
        if (input.contains("session_id") && input["session_id"].is_string()) {
            session_id = input["session_id"].get<std::string>();
        }
        if (!api.has_session(session_id)) {
            send(ws, {{"error", "Invalid session ID. You may need to refresh the page."},
                      {"error_id", "invalid_session_id"}});
            close(ws);
            return;
        }

        if (!run_generation(api, config, ws, session_id, input)) {
            return;
        }
        send(ws, {{"socket_intention", "close"}});
        if (client_closed_during_linger(ws, config.ws_linger_ms, config.ws_close_reply_ms)) {
            api.count_ws_client_close();
            return;
        }
        send(ws, api.status_json());
        close(ws);
    } catch (const ClientGone&) {
        spdlog::debug("WebSocket client left during {}", path);
    } catch (const SocketDropped& dropped) {
        if (!dropped.cut) {
            close(ws);
            return;
        }
        // No Close frame and, over TLS, no close_notify: the client sees the stream end.
        beast::error_code ignored;
        beast::get_lowest_layer(next_layer).shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(next_layer).close(ignored);
    }
}

} // namespace

void serve_websocket(SwarmApi& api, const Config& config, tcp::socket& socket, TlsStream* tls,
                     boost::beast::http::request<boost::beast::http::string_body> request)
{
    if (tls != nullptr) {
        serve_on(api, config, *tls, request);
    } else {
        serve_on(api, config, socket, request);
    }
}

} // namespace emulator
