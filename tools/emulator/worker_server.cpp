#include "worker_server.hpp"

#include <chrono>
#include <thread>

#include <boost/beast/core/string.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include "swarm_ws.hpp"
#include "util.hpp"

namespace emulator {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

HttpResponse api_error(const HttpRequest& request, unsigned status, const std::string& message, const std::string& id)
{
    return json_response(request, status, {{"error", message}, {"error_id", id}});
}

// The reply RunPod's proxy sends when a request stays silent too long; the proxy then drops the connection.
HttpResponse proxy_timeout(const HttpRequest& request)
{
    auto response = make_response(request, 524,
                                  "<!DOCTYPE html><html><head><title>524: A timeout occurred</title></head>"
                                  "<body><h1>Error 524</h1><p>A timeout occurred.</p></body></html>",
                                  "text/html; charset=UTF-8");
    response.reason("A timeout occurred");
    response.keep_alive(false);
    return response;
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
    : config_(config), worker_id_(worker_id), gateway_(gateway), ledger_(ledger),
      api_(config, models, ledger, worker_id),
      http_("worker " + worker_id, [this](Exchange& exchange) { handle(exchange); })
{
}

WorkerServer::~WorkerServer()
{
    stop();
}

void WorkerServer::set_fault_hooks(Faults* faults, std::function<void(const std::string& worker_id)> kill)
{
    faults_ = faults;
    kill_ = std::move(kill);
    api_.set_faults(faults);
}

void WorkerServer::start()
{
    if (!config_.worker_tls_cert.empty()) {
        http_.use_tls(make_server_tls_context(config_.worker_tls_cert, config_.worker_tls_key),
                      [this] { ledger_.count_tls_handshake_failure(); });
    }
    port_ = http_.listen("127.0.0.1", 0);
}

void WorkerServer::stop()
{
    api_.shut_down();
    http_.stop();
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
        http_.close_upgraded();
    }
}

bool WorkerServer::token_matches(const HttpRequest& request) const
{
    std::string authorization(request[http::field::authorization]);
    std::string presented;
    if (authorization.size() > 7 && beast::iequals(authorization.substr(0, 7), "bearer ")) {
        presented = authorization.substr(7);
    } else if (authorization.empty()) {
        presented = cookie_value(request[http::field::cookie], "swarmui_worker_token");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    return token_.has_value() && !presented.empty() && equal_constant_time(presented, *token_);
}

void WorkerServer::handle(Exchange& exchange)
{
    ledger_.count_worker_request();
    const HttpRequest& request = exchange.request;
    // The gateway checks the token first, so an unauthenticated caller never learns whether SwarmUI is up.
    if (gateway_ && !token_matches(request)) {
        exchange.response = json_response(request, 401, {{"error", "unauthorized"}, {"error_id", "worker_unauthorized"}});
        exchange.response.set(http::field::www_authenticate, "Bearer realm=\"swarmui-worker\"");
        return;
    }
    if (!ready_) {
        exchange.response =
            json_response(request, 503, {{"error", "SwarmUI is still starting"}, {"error_id", "worker_starting"}});
        exchange.response.set(http::field::retry_after, "5");
        return;
    }
    if (apply_fault(exchange)) {
        return;
    }

    const std::string& path = exchange.path;
    if (beast::websocket::is_upgrade(request)) {
        *exchange.upgraded = true;
        exchange.after = Exchange::After::taken;
        serve_websocket(api_, config_, exchange.socket, exchange.tls, std::move(exchange.request));
        return;
    }
    if (path.rfind("/API/", 0) == 0) {
        handle_api(exchange, path.substr(5));
    } else if (request.method() == http::verb::get && path.rfind("/View/", 0) == 0) {
        if (auto image = api_.saved_image(percent_decode(path.substr(1)))) {
            exchange.response = make_response(request, 200, image->bytes, image->mime);
        } else {
            exchange.response = api_error(request, 404, "File not found.", "file_not_found");
        }
    } else if (request.method() == http::verb::get && path == "/") {
        exchange.response =
            make_response(request, 200, "<!DOCTYPE html><html><body>SwarmUI</body></html>", "text/html; charset=utf-8");
    } else {
        exchange.response = api_error(request, 404, "Not found.", "file_not_found");
    }
}

bool WorkerServer::apply_fault(Exchange& exchange)
{
    if (faults_ == nullptr || exchange.path.rfind("/API/", 0) != 0) {
        return false;
    }
    auto fault = faults_->take("worker:" + exchange.path.substr(5));
    if (!fault) {
        return false;
    }
    spdlog::info("worker {}: fault {} on {}", worker_id_, fault->kind, exchange.path);
    if (fault->kind == "slow") {
        std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
        return false;
    }
    if (fault->kind == "worker_death" && kill_) {
        kill_(worker_id_);
    }
    if (fault->kind != "status") {
        exchange.after = Exchange::After::reset;
        return true;
    }
    const auto& request = exchange.request;
    exchange.response =
        fault->html ? make_response(request, static_cast<unsigned>(fault->status),
                                    "<!DOCTYPE html><html><body><h1>Error " + std::to_string(fault->status) +
                                        "</h1></body></html>",
                                    "text/html; charset=UTF-8")
                    : api_error(request, static_cast<unsigned>(fault->status),
                                "Injected fault: HTTP " + std::to_string(fault->status),
                                fault->error_id.empty() ? "injected_fault" : fault->error_id);
    if (!fault->retry_after.empty()) {
        exchange.response.set(http::field::retry_after, fault->retry_after);
    }
    return true;
}

void WorkerServer::handle_api(Exchange& exchange, const std::string& route)
{
    const HttpRequest& request = exchange.request;
    if (route.size() > 2 && beast::iequals(route.substr(route.size() - 2), "WS")) {
        exchange.response = api_error(request, 400, "This route needs a WebSocket connection.", "bad_request_method");
        return;
    }
    if (request.method() != http::verb::post) {
        exchange.response = make_response(request, 302, "", "text/plain");
        exchange.response.set(http::field::location, "/Error/NoGetAPI");
        return;
    }
    // SwarmUI rejects bodies without a Content-Length, chunked ones included.
    if (exchange.chunked || !exchange.content_length || *exchange.content_length == 0) {
        exchange.response = api_error(request, 400, "Request must have a Content-Length header.", "basic_api");
        return;
    }
    auto body = json_too_deep(request.body()) ? nlohmann::json(nlohmann::json::value_t::discarded)
                                              : nlohmann::json::parse(request.body(), nullptr, false);
    if (body.is_discarded()) {
        exchange.response = api_error(request, 400, "An internal error occurred", "internal_error");
        return;
    }
    if (!body.is_object()) {
        exchange.response = api_error(request, 400, "Request body must be a JSON object.", "basic_api");
        return;
    }
    // SwarmUI takes the session from the X-Session-ID header when the body has none.
    auto header_session = request.find("X-Session-ID");
    if (!body.contains("session_id") && header_session != request.end()) {
        body["session_id"] = std::string(header_session->value());
    }
    std::int64_t cut_at = config_.proxy_cut_ms > 0 ? now_ms() + config_.proxy_cut_ms : 0;
    auto reply = api_.call(route, body, cut_at);
    exchange.response = reply.cut ? proxy_timeout(request) : json_response(request, reply.status, reply.body);
}

} // namespace emulator
