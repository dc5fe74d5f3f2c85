// TLS through the C ABI: a loopback HTTPS server with a self-signed certificate made at
// test time. The library trusts it only when CaBundle names it, checks the host name
// even then, and has no setting that turns verification off.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "integration/abi_session.hpp"
#include "integration/self_signed.hpp"
#include "unit/loopback_server.hpp"

namespace {

using nlohmann::json;
using swarmpod::testing::Collector;
using swarmpod::testing::generate;
using swarmpod::test::LoopbackServer;

class AbiTls : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // The certificate names only the IP address 127.0.0.1, not "localhost".
        certificate_ = swarmpod::testing::make_self_signed_certificate("abi-tls");
        directory_ = certificate_.directory;
    }
    static void TearDownTestSuite() { swarmpod::testing::remove_self_signed_certificate(certificate_); }
    void SetUp() override {
        if (!certificate_.ready) {
            GTEST_SKIP() << "the openssl tool is missing or failed, so no test certificate could be made";
        }
        server_ = std::make_unique<LoopbackServer>(cert(), key());
        server_->server().Get(R"(/v2/test-endpoint/health)", [this](const httplib::Request&, httplib::Response& reply) {
            ++requests_;
            reply.set_content(R"({"jobs": {"completed": 0}, "workers": {"ready": 1}})", "application/json");
        });
        server_->server().Post(R"(/v2/test-endpoint/run)", [this](const httplib::Request&, httplib::Response& reply) {
            ++requests_;
            reply.status = 401;
            reply.set_content(R"({"error": "Unauthorized"})", "application/json");
        });
        server_->start();
    }

    static std::string cert() { return certificate_.certificate_path; }
    static std::string key() { return certificate_.key_path; }

    std::string config(const std::string& host, const std::string& extra = "") const {
        std::string text = "{\"EndpointId\": \"test-endpoint\", \"ApiBaseUrl\": \"https://" + host + ":" +
                           std::to_string(server_->port()) + "/v2\", \"StartupTimeoutSec\": 10";
        if (!extra.empty()) text += ", " + extra;
        return text + "}";
    }

    static inline swarmpod::testing::SelfSignedCertificate certificate_;
    static inline std::string directory_;
    std::unique_ptr<LoopbackServer> server_;
    std::atomic<int> requests_{0};
};

TEST_F(AbiTls, UntrustedCertificateFailsHealth) {
    swarmpod::testing::Backend backend(config("127.0.0.1"));
    char* out = nullptr;

    const int32_t status = swarmpod_endpoint_health(backend.get(), "test-key", &out);

    EXPECT_EQ(status, SWARMPOD_E_TLS) << swarmpod_last_error_message();
    EXPECT_EQ(out, nullptr);
    EXPECT_EQ(requests_.load(), 0) << "a request reached the server over an untrusted connection";
}

TEST_F(AbiTls, UntrustedCertificateFailsGenerate) {
    swarmpod::testing::Backend backend(config("127.0.0.1"));
    Collector collector;

    auto outcome = generate(backend.get(), R"({"prompt": "x", "images": 1})", "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_TLS) << outcome.message;
    EXPECT_EQ(outcome.summary.value("status_code", 0), SWARMPOD_E_TLS);
    EXPECT_EQ(requests_.load(), 0);
}

TEST_F(AbiTls, CaBundleMakesHealthWork) {
    swarmpod::testing::Backend backend(config("127.0.0.1", "\"CaBundle\": \"" + cert() + "\""));
    char* out = nullptr;

    const int32_t status = swarmpod_endpoint_health(backend.get(), "test-key", &out);

    ASSERT_EQ(status, SWARMPOD_OK) << swarmpod_last_error_message();
    ASSERT_NE(out, nullptr);
    const json health = json::parse(out);
    swarmpod_string_free(out);
    EXPECT_EQ(health.value("diagnosis", ""), "ready") << health.dump();
    EXPECT_EQ(requests_.load(), 1);
}

TEST_F(AbiTls, CaBundleStillChecksHostName) {
    // "localhost" reaches the same server, but the certificate does not name it.
    swarmpod::testing::Backend backend(config("localhost", "\"CaBundle\": \"" + cert() + "\""));
    char* out = nullptr;

    const int32_t status = swarmpod_endpoint_health(backend.get(), "test-key", &out);

    EXPECT_EQ(status, SWARMPOD_E_TLS) << swarmpod_last_error_message();
    EXPECT_EQ(requests_.load(), 0);
}

TEST_F(AbiTls, NoSettingTurnsVerificationOff) {
    for (const char* field : {"\"VerifyTls\": false", "\"VerifySsl\": false", "\"InsecureSkipVerify\": true",
                              "\"SslVerifyPeer\": 0", "\"AllowInsecureTls\": true"}) {
        swarmpod_backend* backend = nullptr;
        const int32_t status = swarmpod_backend_new(config("127.0.0.1", field).c_str(), &backend);
        EXPECT_EQ(status, SWARMPOD_E_INVALID_CONFIG) << field;
        EXPECT_EQ(backend, nullptr) << field;
        EXPECT_NE(std::string(swarmpod_last_error_message()).find("Unknown config field"), std::string::npos)
            << swarmpod_last_error_message();
        swarmpod_backend_free(backend);
    }
}

TEST_F(AbiTls, MissingCaBundleFileRejected) {
    swarmpod_backend* backend = nullptr;
    const std::string text = config("127.0.0.1", "\"CaBundle\": \"" + directory_ + "/no-such.pem\"");

    EXPECT_EQ(swarmpod_backend_new(text.c_str(), &backend), SWARMPOD_E_INVALID_CONFIG);
    EXPECT_NE(std::string(swarmpod_last_error_message()).find("CaBundle"), std::string::npos);
}

}  // namespace
