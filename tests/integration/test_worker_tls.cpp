// Generations against workers that serve HTTPS and WSS: swarmpod-emulator started with
// --worker-tls-cert and a self-signed certificate for 127.0.0.1 made at test time, so the
// worker URLs are https://127.0.0.1:<port> and the WebSocket runs over wss://. The library
// trusts that certificate only when CaBundle names it, and https:// on loopback still
// needs AllowInsecureWorkerUrls.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "integration/abi_session.hpp"
#include "integration/emulator_process.hpp"
#include "integration/self_signed.hpp"

namespace {

using nlohmann::json;
using swarmpod::testing::Backend;
using swarmpod::testing::Collector;
using swarmpod::testing::emulator_config;
using swarmpod::testing::EmulatorProcess;
using swarmpod::testing::generate;
using swarmpod::testing::SelfSignedCertificate;

constexpr const char* kRequest = R"({"prompt": "a harbour at night", "images": 2, "width": 64, "height": 64})";

bool no_open_jobs(const json& ledger) {
    return ledger.value("running_jobs", -1) == 0 && ledger.value("queued_jobs", -1) == 0;
}

class WorkerTls : public ::testing::Test {
protected:
    static void SetUpTestSuite() { certificate_ = swarmpod::testing::make_self_signed_certificate("worker-tls"); }
    static void TearDownTestSuite() { swarmpod::testing::remove_self_signed_certificate(certificate_); }
    void SetUp() override {
        if (!certificate_.ready) {
            GTEST_SKIP() << "the openssl tool is missing or failed, so no test certificate could be made";
        }
    }

    static std::vector<std::string> emulator_args() {
        return {"--protocol",        "v2",
                "--cold-start-ms",   "250",
                "--generation-ms",   "50",
                "--idle-timeout-ms", "1000",
                "--cancel-stop-ms",  "50",
                "--worker-tls-cert", certificate_.certificate_path,
                "--worker-tls-key",  certificate_.key_path};
    }
    static std::string ca_bundle_field() { return "\"CaBundle\": \"" + certificate_.certificate_path + "\""; }

    static inline SelfSignedCertificate certificate_;
};

TEST_F(WorkerTls, WssGenerationWithCaBundle) {
    EmulatorProcess emulator(emulator_args());
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0, \"UseWebSocket\": true, " + ca_bundle_field()));
    Collector collector;

    const auto outcome = generate(backend.get(), kRequest, "test-key", collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("transport", ""), "websocket") << outcome.summary.dump();
    ASSERT_EQ(collector.images.size(), 2u);
    EXPECT_EQ(collector.images[0].mime, "image/png");
    const json ledger = emulator.wait_for_ledger(no_open_jobs);
    ASSERT_FALSE(ledger["workers"].empty());
    EXPECT_EQ(ledger["workers"][0].value("url", "").rfind("https://127.0.0.1:", 0), 0u) << ledger.dump();
    EXPECT_EQ(ledger.value("generations", -1), 1) << ledger.dump();
    EXPECT_EQ(ledger.value("tls_handshake_failures", -1), 0) << ledger.dump();
}

// Over TLS, a connection cut without a WebSocket Close frame also lacks close_notify, so
// the client sees a truncated TLS stream rather than the end of a TCP stream.
TEST_F(WorkerTls, WssCutWithoutCloseFrameIsReopened) {
    const std::string faults_path = ::testing::TempDir() + "/worker-tls-cut-faults.json";
    std::ofstream(faults_path) << R"([{"route": "image", "kind": "cut_socket", "count": 1}])";
    std::vector<std::string> args = emulator_args();
    args.insert(args.end(), {"--faults", faults_path});
    EmulatorProcess emulator(args);
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0, \"UseWebSocket\": true, " + ca_bundle_field()));
    Collector collector;

    const auto outcome = generate(backend.get(), kRequest, "test-key", collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("reconnects", 0), 1) << outcome.summary.dump();
    EXPECT_EQ(collector.images.size(), 2u);
    const json ledger = emulator.wait_for_ledger(no_open_jobs);
    EXPECT_EQ(ledger["images"].size(), 2u) << ledger.dump();
}

TEST_F(WorkerTls, HttpsGenerationWithCaBundle) {
    EmulatorProcess emulator(emulator_args());
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0, \"UseWebSocket\": false, " + ca_bundle_field()));
    Collector collector;

    const auto outcome = generate(backend.get(), kRequest, "test-key", collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("transport", ""), "http") << outcome.summary.dump();
    EXPECT_EQ(collector.images.size(), 2u);
}

TEST_F(WorkerTls, UntrustedWorkerFailsWithNothingSent) {
    EmulatorProcess emulator(emulator_args());
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0, \"UseWebSocket\": true"));
    Collector collector;

    const auto outcome = generate(backend.get(), kRequest, "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_TLS) << outcome.message;
    EXPECT_NE(outcome.message.find("CaBundle"), std::string::npos) << outcome.message;
    EXPECT_TRUE(collector.images.empty());
    // The worker's server records the failed handshake on its own thread, possibly after the
    // lease has ended, so wait for both.
    const json ledger = emulator.wait_for_ledger(
        [](const json& l) { return no_open_jobs(l) && l.value("tls_handshake_failures", -1) >= 1; });
    EXPECT_TRUE(no_open_jobs(ledger)) << "the lease was not ended: " << ledger.dump();
    EXPECT_GE(ledger.value("tls_handshake_failures", -1), 1) << ledger.dump();
    EXPECT_EQ(ledger.value("worker_requests", -1), 0) << "a request reached the untrusted worker: " << ledger.dump();
    EXPECT_EQ(ledger.value("generations", -1), 0) << ledger.dump();
}

TEST_F(WorkerTls, HttpsLoopbackNeedsAllowInsecureWorkerUrls) {
    EmulatorProcess emulator(emulator_args());
    // emulator_config allows loopback worker URLs, so this config is written out without it.
    Backend backend("{\"EndpointId\": \"test-endpoint\", \"ApiBaseUrl\": \"" + emulator.api_base() +
                    "\", \"PollIntervalMs\": 200, \"StartupTimeoutSec\": 30, \"KeepWarmSec\": 0, "
                    "\"ModelCachePath\": \"" +
                    certificate_.directory + "/cache\", " + ca_bundle_field() + "}");
    Collector collector;

    const auto outcome = generate(backend.get(), kRequest, "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_WORKER_URL_REJECTED) << outcome.message;
    const json ledger = emulator.wait_for_ledger(no_open_jobs);
    EXPECT_TRUE(no_open_jobs(ledger)) << ledger.dump();
    EXPECT_EQ(ledger.value("tls_handshake_failures", -1), 0) << "the worker was contacted: " << ledger.dump();
    EXPECT_EQ(ledger.value("worker_requests", -1), 0) << ledger.dump();
}

}  // namespace
