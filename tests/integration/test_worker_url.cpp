// The allow-list for the URL a worker reports: each rejected URL gives
// SWARMPOD_E_WORKER_URL_REJECTED, receives nothing, and leaves no job running. Where the
// URL is on loopback, a spy server stands at that address and must see no request.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "integration/abi_session.hpp"
#include "integration/emulator_process.hpp"
#include "unit/loopback_server.hpp"

namespace {

using nlohmann::json;
using swarmpod::test::LoopbackServer;
using swarmpod::testing::Backend;
using swarmpod::testing::Collector;
using swarmpod::testing::EmulatorProcess;
using swarmpod::testing::emulator_config;
using swarmpod::testing::generate;

// Counts every request that reaches it, on any path and method.
class SpyServer {
public:
    SpyServer() {
        server_.server().set_pre_routing_handler([this](const httplib::Request&, httplib::Response& reply) {
            ++requests_;
            reply.set_content("{}", "application/json");
            return httplib::Server::HandlerResponse::Handled;
        });
        server_.start();
    }
    int port() const { return server_.port(); }
    int requests() const { return requests_.load(); }

private:
    LoopbackServer server_;
    std::atomic<int> requests_{0};
};

struct Rejection {
    int32_t status = 0;
    std::string message;
    json ledger;
};

// Runs one generation against an emulator whose workers report `url`.
Rejection generate_with_reported_url(const std::string& url, const std::string& extra_config) {
    EmulatorProcess emulator({"--cold-start-ms", "300", "--generation-ms", "50", "--idle-timeout-ms", "1000",
                              "--report-url", url});
    Backend backend(extra_config.empty() ? "{\"EndpointId\": \"test-endpoint\", \"ApiBaseUrl\": \"" +
                                               emulator.api_base() + "\", \"PollIntervalMs\": 200}"
                                         : emulator_config(emulator, extra_config));
    Collector collector;
    auto outcome = generate(backend.get(), R"({"prompt": "x", "images": 1, "width": 64, "height": 64})", "test-key",
                            collector);
    Rejection rejection{outcome.status, outcome.message, json()};
    rejection.ledger = emulator.wait_for_ledger(
        [](const json& l) { return l.value("running_jobs", -1) == 0 && l.value("queued_jobs", -1) == 0; }, 5000);
    return rejection;
}

void expect_rejected_cleanly(const Rejection& rejection, const std::string& reason) {
    EXPECT_EQ(rejection.status, SWARMPOD_E_WORKER_URL_REJECTED) << rejection.message;
    EXPECT_NE(rejection.message.find(reason), std::string::npos) << rejection.message;
    EXPECT_NE(rejection.message.find("Nothing was sent"), std::string::npos) << rejection.message;
    EXPECT_EQ(rejection.ledger.value("running_jobs", -1), 0) << rejection.ledger.dump();
    EXPECT_EQ(rejection.ledger.value("queued_jobs", -1), 0) << rejection.ledger.dump();
    for (const auto& job : rejection.ledger["jobs"]) {
        EXPECT_NE(job.value("action", ""), "keepalive") << "a keepalive was started for a rejected worker";
    }
}

TEST(WorkerUrl, LoopbackWithoutInsecureOptionGetsNothing) {
    SpyServer spy;
    const auto rejection = generate_with_reported_url("http://127.0.0.1:" + std::to_string(spy.port()), "");
    expect_rejected_cleanly(rejection, "AllowInsecureWorkerUrls");
    EXPECT_EQ(spy.requests(), 0);
}

TEST(WorkerUrl, CredentialsOnLoopbackGetNothing) {
    SpyServer spy;
    const auto rejection = generate_with_reported_url(
        "http://admin:hunter2secret@127.0.0.1:" + std::to_string(spy.port()) + "/", "\"PollIntervalMs\": 200");
    expect_rejected_cleanly(rejection, "credentials");
    EXPECT_EQ(rejection.message.find("hunter2secret"), std::string::npos) << rejection.message;
    EXPECT_EQ(spy.requests(), 0);
}

TEST(WorkerUrl, QueryOnLoopbackGetsNothing) {
    SpyServer spy;
    const auto rejection = generate_with_reported_url(
        "http://127.0.0.1:" + std::to_string(spy.port()) + "/?next=1", "\"PollIntervalMs\": 200");
    expect_rejected_cleanly(rejection, "query");
    EXPECT_EQ(spy.requests(), 0);
}

TEST(WorkerUrl, CredentialsOnProxyHostRefused) {
    const auto rejection =
        generate_with_reported_url("https://user:pass@abc123-7801.proxy.runpod.net", "\"PollIntervalMs\": 200");
    expect_rejected_cleanly(rejection, "credentials");
    EXPECT_EQ(rejection.message.find("user:pass"), std::string::npos) << rejection.message;
}

TEST(WorkerUrl, MetadataAddressRefusedWithInsecureOption) {
    const auto rejection =
        generate_with_reported_url("http://169.254.169.254/latest/meta-data/", "\"PollIntervalMs\": 200");
    expect_rejected_cleanly(rejection, "loopback");
}

TEST(WorkerUrl, UnexpectedHostRefused) {
    const auto rejection = generate_with_reported_url("https://swarm.example.com:7801", "\"PollIntervalMs\": 200");
    expect_rejected_cleanly(rejection, "not a RunPod proxy host");
}

TEST(WorkerUrl, LookalikeProxyHostRefused) {
    const auto rejection =
        generate_with_reported_url("https://abc123-7801.proxy.runpod.net.example.com", "\"PollIntervalMs\": 200");
    expect_rejected_cleanly(rejection, "not a RunPod proxy host");
}

TEST(WorkerUrl, NonHttpSchemeRefused) {
    const auto rejection = generate_with_reported_url("file:///etc/passwd", "\"PollIntervalMs\": 200");
    expect_rejected_cleanly(rejection, "https://");
}

}  // namespace
