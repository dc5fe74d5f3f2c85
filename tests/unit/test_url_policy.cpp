#include <gtest/gtest.h>

#include "core/error.hpp"
#include "worker/url_policy.hpp"

namespace {

using swarmpod::Error;
using swarmpod::Status;
using swarmpod::worker::UrlPolicy;
using swarmpod::worker::check_worker_url;

std::string rejection(const std::string& url, bool insecure = false) {
    try {
        check_worker_url(url, UrlPolicy{insecure});
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::worker_url_rejected);
        return error.what();
    }
    return "";
}

TEST(UrlPolicy, RunPodProxyAccepted) {
    EXPECT_EQ(check_worker_url("https://abc123-7801.proxy.runpod.net/", UrlPolicy{}),
              "https://abc123-7801.proxy.runpod.net");
    EXPECT_EQ(check_worker_url("https://ABC123-7801.proxy.runpod.net", UrlPolicy{}),
              "https://ABC123-7801.proxy.runpod.net");
}

TEST(UrlPolicy, PlainHttpRejectedByDefault) {
    EXPECT_NE(rejection("http://abc123-7801.proxy.runpod.net"), "");
    EXPECT_NE(rejection("http://127.0.0.1:7801").find("AllowInsecureWorkerUrls"), std::string::npos);
}

TEST(UrlPolicy, LoopbackNeedsInsecureOption) {
    EXPECT_EQ(check_worker_url("http://127.0.0.1:7801/", UrlPolicy{true}), "http://127.0.0.1:7801");
    EXPECT_EQ(check_worker_url("http://[::1]:7801", UrlPolicy{true}), "http://[::1]:7801");
    EXPECT_EQ(check_worker_url("http://localhost:1", UrlPolicy{true}), "http://localhost:1");
}

TEST(UrlPolicy, OtherHostsRejectedEvenWithInsecureOption) {
    EXPECT_NE(rejection("http://169.254.169.254/latest/meta-data", true), "");
    EXPECT_NE(rejection("http://10.0.0.5:7801", true), "");
    EXPECT_NE(rejection("https://evil.example.com", true), "");
    EXPECT_NE(rejection("https://proxy.runpod.net.evil.example.com"), "");
    EXPECT_NE(rejection("https://x.y-7801.proxy.runpod.net"), "");
    EXPECT_NE(rejection("http://127.example.com", true), "");
}

TEST(UrlPolicy, CredentialsRejectedAndHidden) {
    const std::string message = rejection("https://user:hunter2secret@abc-7801.proxy.runpod.net");
    EXPECT_NE(message.find("credentials"), std::string::npos) << message;
    EXPECT_EQ(message.find("hunter2secret"), std::string::npos) << message;
}

TEST(UrlPolicy, ControlBytesAndSpacesRejected) {
    EXPECT_NE(rejection(std::string("https://abc-7801.proxy.runpod.net/a\0b", 37)), "");
    EXPECT_NE(rejection("https://abc-7801.proxy.runpod.net/a b"), "");
    const std::string message = rejection("https://abc-7801.proxy.runpod.net/a\nb");
    EXPECT_NE(message.find("\\x0a"), std::string::npos) << message;
}

TEST(UrlPolicy, MalformedRejected) {
    EXPECT_NE(rejection("abc-7801.proxy.runpod.net"), "");
    EXPECT_NE(rejection("https://"), "");
    EXPECT_NE(rejection("https://abc-7801.proxy.runpod.net:x"), "");
    EXPECT_NE(rejection("https://abc-7801.proxy.runpod.net/?a=b"), "");
    EXPECT_NE(rejection("javascript:alert(1)"), "");
}

}  // namespace
