// Live-path benchmarks against swarmpod-emulator on loopback:
// - the warm path: one 0-ms generation on an already held worker through
//   forward_generation (WebSocket and HTTP), against the same request sent straight to
//   the worker's SwarmUI with cpp-httplib (GetNewSession + GenerateText2Image);
// - data-URL decoding and validation of a 4096 x 4096 PNG made by the emulator.
#include <benchmark/benchmark.h>

#include <httplib.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "backend/backend.hpp"
#include "backend/config.hpp"
#include "backend/forward.hpp"
#include "integration/emulator_process.hpp"
#include "media/image.hpp"
#include "worker/lease.hpp"

namespace {

using nlohmann::json;
using namespace swarmpod;

// One emulator and one warm worker for the whole run.
// TODO: a run of this program printed nothing for 10 minutes (Release build, 2 cores),
// so the fixture setup or the first benchmark blocks; find where before trusting it.
struct Fixture {
    std::unique_ptr<testing::EmulatorProcess> emulator;
    std::unique_ptr<backend::Backend> backend;
    std::unique_ptr<http::Client> http;
    std::string worker_url;
    std::string large_png_data_url;

    Fixture() {
        emulator = std::make_unique<testing::EmulatorProcess>(std::vector<std::string>{
            "--cold-start-ms", "200", "--generation-ms", "0", "--steps-per-image", "1", "--idle-timeout-ms",
            "600000"});
        backend = std::make_unique<backend::Backend>(
            backend::parse_config(testing::emulator_config(*emulator, "\"KeepWarmSec\": 600")));
        CancelToken cancel;
        json summary;
        backend->generate(json{{"prompt", "warm up"}, {"images", 1}, {"width", 64}, {"height", 64}}.dump(), "test-key",
                          cancel, backend::Callbacks{}, summary);
        for (const json& worker : emulator->ledger()["workers"]) {
            if (worker.value("state", "") != "stopped") worker_url = worker.value("url", "");
        }
        if (worker_url.empty()) throw std::runtime_error("no live worker in the emulator ledger");
        http = std::make_unique<http::Client>(http::ClientOptions{});
    }

    const std::string& large_png() {
        if (!large_png_data_url.empty()) return large_png_data_url;
        httplib::Client client(worker_url);
        client.set_read_timeout(120, 0);
        const auto session = client.Post("/API/GetNewSession", "{}", "application/json");
        const std::string session_id = json::parse(session->body)["session_id"];
        const json body = {{"session_id", session_id}, {"images", 1}, {"width", 4096}, {"height", 4096},
                           {"prompt", "large"},        {"seed", 7},   {"donotsave", true}};
        const auto reply = client.Post("/API/GenerateText2Image", body.dump(), "application/json");
        large_png_data_url = json::parse(reply->body)["images"][0];
        return large_png_data_url;
    }
};

Fixture& fixture() {
    static Fixture instance;
    return instance;
}

void BM_DirectPost(benchmark::State& state) {
    Fixture& f = fixture();
    httplib::Client client(f.worker_url);
    client.set_tcp_nodelay(true);
    for (auto _ : state) {
        const auto session = client.Post("/API/GetNewSession", "{}", "application/json");
        const std::string session_id = json::parse(session->body)["session_id"];
        const json body = {{"session_id", session_id}, {"images", 1}, {"width", 64},   {"height", 64},
                           {"prompt", "bench"},        {"seed", 1},   {"donotsave", true}};
        const auto reply = client.Post("/API/GenerateText2Image", body.dump(), "application/json");
        if (!reply || reply->status != 200) state.SkipWithError("direct POST failed");
        benchmark::DoNotOptimize(reply->body.data());
    }
}

void run_forward(benchmark::State& state, bool websocket) {
    Fixture& f = fixture();
    backend::Config config = f.backend->config();
    config.use_websocket = websocket;
    worker::Lease lease;
    lease.worker_id = "bench-worker";
    lease.public_url = f.worker_url;
    const backend::Callbacks callbacks;
    const backend::EmitFn emit = [](backend::Phase, const std::string&, const std::string&, double, double) {};
    for (auto _ : state) {
        CancelToken cancel;
        json summary = {{"images", json::array()}};
        const backend::ForwardContext context{*f.http, config, lease, cancel, callbacks, emit, summary};
        const json request = {{"prompt", "bench"}, {"width", 64}, {"height", 64}, {"seed", 1}};
        benchmark::DoNotOptimize(backend::forward_generation(context, request, 1));
    }
}

void BM_ForwardWebSocket(benchmark::State& state) { run_forward(state, true); }
void BM_ForwardHttp(benchmark::State& state) { run_forward(state, false); }

void BM_DecodePngDataUrl4096(benchmark::State& state) {
    const std::string& url = fixture().large_png();
    for (auto _ : state) {
        media::DecodedImage image = media::decode_image_data_url(url);
        benchmark::DoNotOptimize(image.bytes.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(url.size()));
    state.counters["data_url_MiB"] = static_cast<double>(url.size()) / (1024.0 * 1024.0);
}

BENCHMARK(BM_DirectPost)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5);
BENCHMARK(BM_ForwardWebSocket)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5);
BENCHMARK(BM_ForwardHttp)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5);
BENCHMARK(BM_DecodePngDataUrl4096)->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5);

}  // namespace

BENCHMARK_MAIN();
