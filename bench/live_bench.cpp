// The warm path against swarmpod-emulator on loopback (protocol v2, 0 ms generations, one
// progress step): how much a 64 x 64 one-image generation through swarmpod costs beyond
// sending the same GenerateText2Image body straight to the worker.
//
// - BM_DirectPost: POST /API/GenerateText2Image with the lease token and a session made
//   once, on a kept-alive connection (cpp-httplib): the floor that swarmpod is compared to.
// - BM_DirectPostNewConnection: the same with a new TCP connection per request.
// - BM_DirectWebSocket: the same body over GenerateText2ImageWS with a plain Boost.Beast
//   client (connect, upgrade with the token, request, messages until socket_intention
//   "close", then the close handshake): the floor for the WebSocket paths.
// - BM_DirectWebSocketOpenedAhead: the same on a socket connected and upgraded before the
//   timed part and closed after it: the floor for a generation that finds a socket open.
// - BM_ForwardHttp, BM_ForwardWebSocket: backend::forward_generation on a lease this
//   program holds (request, images back, image validation; the SwarmUI session is opened
//   once per transport and reused, as a pool lease does).
// - BM_GenerateHttp, BM_GenerateWebSocket: Backend::generate with a worker its pool
//   already holds warm (pool checkout, forward, model-list refresh, release).
// - BM_WarmPathInterleaved: one of each of the above per iteration, in turn, so that every
//   path runs under the same machine load. It reports the median and p90 of each path and
//   the ratio of each median to the direct POST's.
#include <benchmark/benchmark.h>

#include <httplib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.hpp"
#include "backend/config.hpp"
#include "backend/forward.hpp"
#include "integration/emulator_process.hpp"
#include "worker/lease.hpp"

namespace {

using nlohmann::json;
using namespace swarmpod;
using SteadyClock = std::chrono::steady_clock;

const json kRequest = {{"prompt", "bench"}, {"width", 64}, {"height", 64}, {"seed", 1}};

// A v2 lease taken straight from the emulator's RunPod API, outside any swarmpod pool.
struct DirectLease {
    std::string job_id;
    std::string url;
    std::string token;
};

DirectLease take_lease(const testing::EmulatorProcess& emulator) {
    httplib::Client api("127.0.0.1", emulator.port());
    const httplib::Headers auth = {{"Authorization", "Bearer test-key"}};
    const json input = {
        {"input",
         {{"action", "lease"}, {"idle_seconds", 3600}, {"startup_grace_seconds", 3600}, {"max_lease_seconds", 3600}}}};
    const auto run = api.Post("/v2/test-endpoint/run", auth, input.dump(), "application/json");
    if (!run || run->status != 200) throw std::runtime_error("POST /run of the lease job failed");
    DirectLease lease;
    lease.job_id = json::parse(run->body).at("id").get<std::string>();
    const auto until = SteadyClock::now() + std::chrono::seconds(30);
    while (lease.token.empty() && SteadyClock::now() < until) {
        const auto stream = api.Get(("/v2/test-endpoint/stream/" + lease.job_id).c_str(), auth);
        if (stream && stream->status == 200) {
            for (const json& chunk : json::parse(stream->body).value("stream", json::array())) {
                const json& output = chunk.at("output");
                if (output.contains("token")) {
                    lease.url = output.at("public_url").get<std::string>();
                    lease.token = output.at("token").get<std::string>();
                }
            }
        }
        if (lease.token.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (lease.token.empty()) throw std::runtime_error("the lease job gave no token within 30 s");
    return lease;
}

// Makes a SwarmUI session on the leased worker, waiting out worker_starting.
std::string new_session(httplib::Client& worker) {
    const auto until = SteadyClock::now() + std::chrono::seconds(30);
    while (SteadyClock::now() < until) {
        const auto reply = worker.Post("/API/GetNewSession", "{}", "application/json");
        if (reply && reply->status == 200) return json::parse(reply->body).at("session_id").get<std::string>();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("GetNewSession on the leased worker did not succeed within 30 s");
}

std::unique_ptr<backend::Backend> warm_backend(const testing::EmulatorProcess& emulator, bool websocket) {
    const std::string extra = std::string("\"KeepWarmSec\": 600, \"UseWebSocket\": ") + (websocket ? "true" : "false");
    auto warmed = std::make_unique<backend::Backend>(backend::parse_config(testing::emulator_config(emulator, extra)));
    CancelToken cancel;
    json summary;
    warmed->generate(kRequest.dump(), "test-key", cancel, backend::Callbacks{}, summary);
    return warmed;
}

// One emulator, one lease held by this program and two backends with a warm worker each.
struct Fixture {
    std::unique_ptr<testing::EmulatorProcess> emulator;
    DirectLease direct;
    std::string session_id;
    std::unique_ptr<httplib::Client> kept_alive;
    std::unique_ptr<http::Client> http;
    std::unique_ptr<backend::Backend> websocket_backend;
    std::unique_ptr<backend::Backend> http_backend;

    Fixture() {
        emulator = std::make_unique<testing::EmulatorProcess>(
            std::vector<std::string>{"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "0",
                                     "--steps-per-image", "1", "--idle-timeout-ms", "600000", "--max-workers", "4"});
        direct = take_lease(*emulator);
        kept_alive = std::make_unique<httplib::Client>(direct.url);
        kept_alive->set_keep_alive(true);
        kept_alive->set_tcp_nodelay(true);
        kept_alive->set_bearer_token_auth(direct.token);
        session_id = new_session(*kept_alive);
        http = std::make_unique<http::Client>(http::ClientOptions{});
        websocket_backend = warm_backend(*emulator, true);
        http_backend = warm_backend(*emulator, false);
    }

    // The body swarmpod sends for kRequest (swarm::shape_request), with our session.
    std::string direct_body() const {
        json body = kRequest;
        body["images"] = 1;
        body["donotsave"] = true;
        body["session_id"] = session_id;
        return body.dump();
    }
};

// Set up on first use. A setup failure ends the program after the members built so far,
// the emulator process among them, are destroyed.
Fixture& fixture() {
    static const std::unique_ptr<Fixture> instance = [] {
        try {
            return std::make_unique<Fixture>();
        } catch (const std::exception& error) {
            std::fprintf(stderr, "swarmpod_live_bench: setup failed: %s\n", error.what());
            std::exit(1);
        }
    }();
    return *instance;
}

// Each path runs one generation and returns false when it failed.
bool direct_post(httplib::Client& client, const std::string& body) {
    const auto reply = client.Post("/API/GenerateText2Image", body, "application/json");
    return reply && reply->status == 200 && reply->body.find("data:image/png;base64,") != std::string::npos;
}

bool direct_post_kept_alive() {
    Fixture& f = fixture();
    return direct_post(*f.kept_alive, f.direct_body());
}

bool direct_post_new_connection() {
    Fixture& f = fixture();
    httplib::Client client(f.direct.url);
    client.set_tcp_nodelay(true);
    client.set_bearer_token_auth(f.direct.token);
    return direct_post(client, f.direct_body());
}

// A GenerateText2ImageWS socket of the direct client: connected, upgraded with the lease token.
struct DirectSocket {
    boost::asio::io_context io;
    boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws{io};
};

std::unique_ptr<DirectSocket> open_direct_socket() {
    namespace net = boost::asio;
    namespace websocket = boost::beast::websocket;
    Fixture& f = fixture();
    const std::string authority = f.direct.url.substr(f.direct.url.find("://") + 3);
    const std::size_t colon = authority.rfind(':');
    auto socket = std::make_unique<DirectSocket>();
    socket->ws.next_layer().connect(net::ip::tcp::endpoint(
        net::ip::make_address(authority.substr(0, colon)), static_cast<unsigned short>(std::stoi(authority.substr(colon + 1)))));
    socket->ws.next_layer().set_option(net::ip::tcp::no_delay(true));
    const std::string bearer = "Bearer " + f.direct.token;
    socket->ws.set_option(websocket::stream_base::decorator(
        [bearer](websocket::request_type& request) { request.set(boost::beast::http::field::authorization, bearer); }));
    socket->ws.handshake(authority, "/API/GenerateText2ImageWS");
    socket->ws.text(true);
    return socket;
}

// Sends the request and reads every message until socket_intention "close"; returns
// whether an image came.
bool direct_exchange(DirectSocket& socket) {
    socket.ws.write(boost::asio::buffer(fixture().direct_body()));
    bool image = false;
    for (;;) {
        boost::beast::flat_buffer buffer;
        socket.ws.read(buffer);
        const std::string message = boost::beast::buffers_to_string(buffer.data());
        image = image || message.find("data:image/png;base64,") != std::string::npos;
        if (message.find("socket_intention") != std::string::npos) break;
    }
    return image;
}

bool direct_websocket() try {
    const std::unique_ptr<DirectSocket> socket = open_direct_socket();
    const bool image = direct_exchange(*socket);
    socket->ws.close(boost::beast::websocket::close_code::normal);
    return image;
} catch (const std::exception& error) {
    std::fprintf(stderr, "direct WebSocket generation failed: %s\n", error.what());
    return false;
}

// The socket of direct_websocket_opened_ahead, opened before its timed part and closed after.
std::unique_ptr<DirectSocket>& ahead_socket() {
    static std::unique_ptr<DirectSocket> socket;
    return socket;
}

bool direct_websocket_opened_ahead() try {
    if (!ahead_socket()) return false;
    return direct_exchange(*ahead_socket());
} catch (const std::exception& error) {
    std::fprintf(stderr, "direct WebSocket generation on a socket opened ahead failed: %s\n", error.what());
    return false;
}

void open_ahead_socket() {
    try {
        ahead_socket() = open_direct_socket();
    } catch (const std::exception& error) {
        std::fprintf(stderr, "opening a WebSocket ahead failed: %s\n", error.what());
        ahead_socket().reset();
    }
}

void close_ahead_socket() {
    if (!ahead_socket()) return;
    boost::beast::error_code ignored;
    ahead_socket()->ws.close(boost::beast::websocket::close_code::normal, ignored);
    ahead_socket().reset();
}

bool forward(bool websocket) {
    Fixture& f = fixture();
    backend::Config config = f.websocket_backend->config();
    config.use_websocket = websocket;
    worker::Lease lease;
    lease.worker_id = "bench-lease";
    lease.public_url = f.direct.url;
    lease.token = f.direct.token;
    lease.protocol = 2;
    const backend::Callbacks callbacks;
    const backend::EmitFn emit = [](backend::Phase, const std::string&, const std::string&, double, double) {};
    CancelToken cancel;
    json summary = {{"images", json::array()}};
    // Like a pool lease, each transport keeps the SwarmUI session its first call opened.
    static std::string sessions[2];
    const backend::ForwardContext context{*f.http,  config, lease, cancel, callbacks, emit, summary, {}, nullptr,
                                          0,        &sessions[websocket ? 1 : 0]};
    return backend::forward_generation(context, kRequest, backend::ImageCount{1, 1}) == 1;
}

bool generate(backend::Backend& backend) {
    CancelToken cancel;
    json summary;
    backend.generate(kRequest.dump(), "test-key", cancel, backend::Callbacks{}, summary);
    return summary.value("images", json::array()).size() == 1;
}

struct Path {
    const char* name;
    std::function<bool()> run;        // the timed part
    std::function<void()> before{};   // untimed, before each run
    std::function<void()> after{};    // untimed, after each run
};

const std::vector<Path>& paths() {
    static const std::vector<Path> all = {
        {"direct_post", direct_post_kept_alive},
        {"direct_post_new_connection", direct_post_new_connection},
        {"direct_websocket", direct_websocket},
        {"direct_websocket_opened_ahead", direct_websocket_opened_ahead, open_ahead_socket, close_ahead_socket},
        {"forward_http", [] { return forward(false); }},
        {"forward_websocket", [] { return forward(true); }},
        {"generate_http", [] { return generate(*fixture().http_backend); }},
        {"generate_websocket", [] { return generate(*fixture().websocket_backend); }},
    };
    return all;
}

void run_path(benchmark::State& state, const char* name) {
    const auto& all = paths();
    const auto found =
        std::find_if(all.begin(), all.end(), [&](const Path& path) { return std::string(path.name) == name; });
    fixture();
    for (auto _ : state) {
        if (found->before) {
            state.PauseTiming();
            found->before();
            state.ResumeTiming();
        }
        const bool ok = found->run();
        if (found->after) {
            state.PauseTiming();
            found->after();
            state.ResumeTiming();
        }
        if (!ok) {
            state.SkipWithError("the generation failed");
            break;
        }
    }
}

void BM_DirectPost(benchmark::State& state) {
    run_path(state, "direct_post");
}
void BM_DirectPostNewConnection(benchmark::State& state) {
    run_path(state, "direct_post_new_connection");
}
void BM_DirectWebSocket(benchmark::State& state) {
    run_path(state, "direct_websocket");
}
void BM_DirectWebSocketOpenedAhead(benchmark::State& state) {
    run_path(state, "direct_websocket_opened_ahead");
}
void BM_ForwardHttp(benchmark::State& state) {
    run_path(state, "forward_http");
}
void BM_ForwardWebSocket(benchmark::State& state) {
    run_path(state, "forward_websocket");
}
void BM_GenerateHttp(benchmark::State& state) {
    run_path(state, "generate_http");
}
void BM_GenerateWebSocket(benchmark::State& state) {
    run_path(state, "generate_websocket");
}

double percentile_ms(std::vector<double> samples, double fraction) {
    std::sort(samples.begin(), samples.end());
    const auto index = static_cast<std::size_t>(fraction * static_cast<double>(samples.size() - 1) + 0.5);
    return samples[index];
}

void BM_WarmPathInterleaved(benchmark::State& state) {
    fixture();
    const auto& all = paths();
    std::map<std::string, std::vector<double>> samples;
    std::size_t turn = 0;
    for (auto _ : state) {
        // The starting path rotates, so no path always runs right after the same other one.
        for (std::size_t i = 0; i < all.size(); ++i) {
            const Path& path = all[(turn + i) % all.size()];
            if (path.before) path.before();
            const auto start = SteadyClock::now();
            const bool ok = path.run();
            samples[path.name].push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count());
            if (path.after) path.after();
            if (!ok) state.SkipWithError("a generation failed");
        }
        ++turn;
    }
    const double direct = percentile_ms(samples["direct_post"], 0.5);
    for (const auto& [name, values] : samples) {
        const double median = percentile_ms(values, 0.5);
        state.counters[name + "_p50_ms"] = median;
        state.counters[name + "_p90_ms"] = percentile_ms(values, 0.9);
        if (name != "direct_post") state.counters[name + "_ratio"] = median / direct;
    }
    const double direct_websocket = percentile_ms(samples["direct_websocket"], 0.5);
    const double opened_ahead = percentile_ms(samples["direct_websocket_opened_ahead"], 0.5);
    for (const char* name : {"forward_websocket", "generate_websocket"}) {
        state.counters[std::string(name) + "_ratio_to_direct_websocket"] =
            percentile_ms(samples[name], 0.5) / direct_websocket;
        state.counters[std::string(name) + "_ratio_to_opened_ahead"] = percentile_ms(samples[name], 0.5) / opened_ahead;
    }
}

BENCHMARK(BM_DirectPost)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DirectPostNewConnection)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DirectWebSocket)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DirectWebSocketOpenedAhead)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForwardHttp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForwardWebSocket)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GenerateHttp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GenerateWebSocket)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_WarmPathInterleaved)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(300);

}  // namespace

BENCHMARK_MAIN();
