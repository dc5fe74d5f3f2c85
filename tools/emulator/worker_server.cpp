#include "worker_server.hpp"

#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

#include "swarm_ws.hpp"
#include "util.hpp"

namespace emulator {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// SwarmUI's default Network.MaxNetworkRequestMegabytes.
constexpr std::uint64_t max_body_bytes = 200ULL * 1024 * 1024;

Response make_response(const Request& request, http::status status, std::string body, const char* content_type)
{
    Response response{status, request.version()};
    response.set(http::field::server, "swarmpod-emulator");
    response.set(http::field::content_type, content_type);
    response.set(http::field::cache_control, "no-store");
    response.keep_alive(request.keep_alive());
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

Response json_response(const Request& request, unsigned status, const nlohmann::json& body)
{
    return make_response(request, static_cast<http::status>(status), body.dump(), "application/json; charset=utf-8");
}

Response api_error(const Request& request, unsigned status, const std::string& message, const std::string& id)
{
    return json_response(request, status, {{"error", message}, {"error_id", id}});
}

// The reply RunPod's proxy sends when a request stays silent too long; the proxy then drops the connection.
Response proxy_timeout(const Request& request)
{
    auto response = make_response(request, static_cast<http::status>(524),
                                  "<!DOCTYPE html><html><head><title>524: A timeout occurred</title></head>"
                                  "<body><h1>Error 524</h1><p>A timeout occurred.</p></body></html>",
                                  "text/html; charset=UTF-8");
    response.keep_alive(false);
    return response;
}

std::string percent_decode(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::string cookie_value(std::string_view header, std::string_view name)
{
    std::size_t at = 0;
    while (at < header.size()) {
        std::size_t end = header.find(';', at);
        std::string_view part = header.substr(at, end == std::string_view::npos ? header.npos : end - at);
        while (!part.empty() && part.front() == ' ') {
            part.remove_prefix(1);
        }
        if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=') {
            return std::string(part.substr(name.size() + 1));
        }
        if (end == std::string_view::npos) {
            break;
        }
        at = end + 1;
    }
    return {};
}

} // namespace

WorkerServer::WorkerServer(const Config& config, const ModelCatalog& models, Ledger& ledger, std::string worker_id,
                           bool gateway)
    : config_(config), worker_id_(worker_id), gateway_(gateway), api_(config, models, ledger, worker_id),
      acceptor_(io_context_)
{
}

WorkerServer::~WorkerServer()
{
    stop();
}

void WorkerServer::start()
{
    tcp::endpoint endpoint{asio::ip::make_address("127.0.0.1"), 0};
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_next();
    accept_thread_ = std::thread([this] { io_context_.run(); });
}

void WorkerServer::stop()
{
    if (stopped_.exchange(true)) {
        return;
    }
    io_context_.stop();
    if (accept_thread_.joinable()) {
        accept_thread_.join();
    }
    beast::error_code ignored;
    acceptor_.close(ignored);
    api_.shut_down();

    std::list<Connection> connections;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        connections.swap(connections_);
        // NOTE: shutdown(2) on the raw descriptor is what unblocks a thread blocked in a synchronous read;
        // Asio's own close() is not safe to call while another thread uses the socket.
        for (auto& connection : connections) {
            if (!*connection.done) {
                ::shutdown(connection.native_handle, SHUT_RDWR);
            }
        }
    }
    for (auto& connection : connections) {
        connection.thread.join();
    }
}

void WorkerServer::set_fault_hooks(Faults* faults, std::function<void(const std::string& worker_id)> kill)
{
    faults_ = faults;
    kill_ = std::move(kill);
}

void WorkerServer::set_token(std::optional<std::string> token)
{
    bool revoked = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        revoked = token_.has_value() && token_ != token;
        token_ = std::move(token);
    }
    if (revoked) {
        close_websockets();
    }
}

void WorkerServer::close_websockets()
{
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& connection : connections_) {
        if (connection.websocket && !*connection.done) {
            ::shutdown(connection.native_handle, SHUT_RDWR);
        }
    }
}

void WorkerServer::mark_websocket(int native_handle)
{
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& connection : connections_) {
        if (connection.native_handle == native_handle) {
            connection.websocket = true;
        }
    }
}

bool WorkerServer::token_matches(const std::string& authorization, const std::string& cookie) const
{
    std::string presented;
    if (authorization.size() > 7 && beast::iequals(authorization.substr(0, 7), "bearer ")) {
        presented = authorization.substr(7);
    } else if (authorization.empty()) {
        presented = cookie_value(cookie, "swarmui_worker_token");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    return token_.has_value() && !presented.empty() && equal_constant_time(presented, *token_);
}

void WorkerServer::accept_next()
{
    acceptor_.async_accept([this](beast::error_code error, tcp::socket socket) {
        if (error) {
            if (error != asio::error::operation_aborted) {
                spdlog::warn("worker {}: accept failed: {}", worker_id_, error.message());
            }
            return;
        }
        reap_finished_connections();
        auto done = std::make_shared<std::atomic<bool>>(false);
        int handle = socket.native_handle();
        std::lock_guard<std::mutex> lock(mutex_);
        connections_.push_back(Connection{std::thread(), done, handle, false});
        connections_.back().thread = std::thread(
            [this, done](tcp::socket connected) { serve(std::move(connected), done); }, std::move(socket));
        accept_next();
    });
}

void WorkerServer::reap_finished_connections()
{
    std::list<Connection> finished;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto it = connections_.begin(); it != connections_.end();) {
            if (*it->done) {
                auto next = std::next(it);
                finished.splice(finished.end(), connections_, it);
                it = next;
            } else {
                ++it;
            }
        }
    }
    for (auto& connection : finished) {
        connection.thread.join();
    }
}

void WorkerServer::serve(tcp::socket socket, std::shared_ptr<std::atomic<bool>> done)
{
    beast::flat_buffer buffer;
    beast::error_code error;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(max_body_bytes);
        http::read(socket, buffer, parser, error);
        if (error) {
            if (error == http::error::body_limit) {
                Request empty;
                http::write(socket, api_error(empty, 400, "Request body is too large.", "basic_api"), error);
            }
            break;
        }
        Request request = parser.release();
        const std::string target(request.target());
        const std::string path = target.substr(0, target.find('?'));

        if (gateway_ && !token_matches(std::string(request[http::field::authorization]),
                                       std::string(request[http::field::cookie]))) {
            auto response = json_response(request, 401, {{"error", "unauthorized"}, {"error_id", "worker_unauthorized"}});
            response.set(http::field::www_authenticate, "Bearer realm=\"swarmui-worker\"");
            http::write(socket, response, error);
            if (error || !response.keep_alive()) {
                break;
            }
            continue;
        }
        if (!ready_) {
            auto response = json_response(request, 503,
                                          {{"error", "SwarmUI is still starting"}, {"error_id", "worker_starting"}});
            response.set(http::field::retry_after, "5");
            http::write(socket, response, error);
            if (error || !response.keep_alive()) {
                break;
            }
            continue;
        }

        if (faults_ != nullptr && path.rfind("/API/", 0) == 0) {
            if (auto fault = faults_->take("worker:" + path.substr(5))) {
                spdlog::info("worker {}: fault {} on {}", worker_id_, fault->kind, path);
                if (fault->kind == "reset" || fault->kind == "drop_stream_chunk") {
                    break;
                }
                if (fault->kind == "worker_death") {
                    if (kill_) {
                        kill_(worker_id_);
                    }
                    break;
                }
                if (fault->kind == "slow") {
                    std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
                } else if (fault->kind == "status") {
                    auto response = fault->html
                                        ? make_response(request, static_cast<http::status>(fault->status),
                                                        "<!DOCTYPE html><html><body><h1>Error " +
                                                            std::to_string(fault->status) + "</h1></body></html>",
                                                        "text/html; charset=UTF-8")
                                        : api_error(request, static_cast<unsigned>(fault->status),
                                                    "Injected fault: HTTP " + std::to_string(fault->status),
                                                    "injected_fault");
                    if (!fault->retry_after.empty()) {
                        response.set(http::field::retry_after, fault->retry_after);
                    }
                    http::write(socket, response, error);
                    if (error || !response.keep_alive()) {
                        break;
                    }
                    continue;
                }
            }
        }

        if (beast::websocket::is_upgrade(request)) {
            mark_websocket(socket.native_handle());
            serve_websocket(api_, config_, socket, std::move(request));
            break;
        }

        Response response;
        if (path.rfind("/API/", 0) == 0) {
            const std::string route = path.substr(5);
            if (route.size() > 2 && beast::iequals(route.substr(route.size() - 2), "WS")) {
                response = api_error(request, 400, "This route is WebSocket only.", "bad_request_method");
            } else if (request.method() != http::verb::post) {
                response = make_response(request, http::status::found, "", "text/plain");
                response.set(http::field::location, "/Error/NoGetAPI");
            } else if (parser.chunked() || !parser.content_length() || *parser.content_length() == 0) {
                response = api_error(request, 400, "Request must have a Content-Length header.", "basic_api");
            } else {
                auto body = nlohmann::json::parse(request.body(), nullptr, false);
                if (body.is_discarded()) {
                    response = api_error(request, 400, "An internal error occurred", "internal_error");
                } else if (!body.is_object()) {
                    response = api_error(request, 400, "Request body must be a JSON object.", "basic_api");
                } else {
                    std::int64_t cut_at = config_.proxy_cut_ms > 0 ? now_ms() + config_.proxy_cut_ms : 0;
                    auto reply = api_.call(route, body, cut_at);
                    response = reply.cut ? proxy_timeout(request) : json_response(request, reply.status, reply.body);
                }
            }
        } else if (request.method() == http::verb::get && path.rfind("/View/", 0) == 0) {
            auto image = api_.saved_image(percent_decode(path.substr(1)));
            if (image) {
                response = make_response(request, http::status::ok, image->bytes, image->mime.c_str());
            } else {
                response = api_error(request, 404, "File not found.", "file_not_found");
            }
        } else if (request.method() == http::verb::get && path == "/") {
            response = make_response(request, http::status::ok, "<!DOCTYPE html><html><body>SwarmUI</body></html>",
                                     "text/html; charset=utf-8");
        } else {
            response = api_error(request, 404, "Not found.", "file_not_found");
        }

        http::write(socket, response, error);
        if (error || !response.keep_alive()) {
            break;
        }
    }
    // Closing under the lock keeps stop() from calling shutdown(2) on a descriptor number already reused.
    std::lock_guard<std::mutex> lock(mutex_);
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    *done = true;
}

} // namespace emulator
