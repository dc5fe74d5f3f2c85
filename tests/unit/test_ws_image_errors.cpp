// Image checks of forward_generation against a real loopback SwarmUI stand-in
// (cpp-httplib) over the HTTP transport, because swarmpod-emulator has no fault that
// corrupts images. Both transports share the same delivery code.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <stb_image_write.h>

#include "backend/forward.hpp"
#include "core/error.hpp"
#include "media/image.hpp"
#include "unit/loopback_server.hpp"

namespace {

using nlohmann::json;
using namespace swarmpod;

void append_bytes(void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    const auto* bytes = static_cast<const uint8_t*>(data);
    out->insert(out->end(), bytes, bytes + size);
}

std::vector<uint8_t> small_png() {
    std::vector<uint8_t> pixels(16 * 8 * 3, 200);
    std::vector<uint8_t> png;
    stbi_write_png_to_func(append_bytes, &png, 16, 8, 3, pixels.data(), 16 * 3);
    return png;
}

std::string data_url(const std::string& mime, const std::vector<uint8_t>& bytes) {
    return "data:" + mime + ";base64," + media::base64_encode(bytes.data(), bytes.size());
}

// Serves GetNewSession and a GenerateText2Image reply with the given `images` strings.
class FakeWorker {
public:
    explicit FakeWorker(std::vector<std::string> images) : images_(std::move(images)) {
        server_.server().Post("/API/GetNewSession", [](const httplib::Request&, httplib::Response& reply) {
            reply.set_content(R"({"session_id":"0123456789abcdef"})", "application/json");
        });
        server_.server().Post("/API/GenerateText2Image", [this](const httplib::Request&, httplib::Response& reply) {
            reply.set_content(json{{"images", images_}}.dump(), "application/json");
        });
        server_.server().Get("/View/local/raw/saved.png", [](const httplib::Request&, httplib::Response& reply) {
            const std::vector<uint8_t> png = small_png();
            reply.set_content(std::string(png.begin(), png.end()), "image/png");
        });
        server_.start();
    }
    std::string url() const { return server_.url(); }

private:
    std::vector<std::string> images_;
    test::LoopbackServer server_;
};

struct ForwardRun {
    std::vector<backend::GeneratedImage> delivered;
    std::string error;
    Status status = Status::ok;
};

ForwardRun forward(const FakeWorker& worker, backend::ImageCount count) {
    http::Client http{http::ClientOptions{}};
    backend::Config config;
    config.use_websocket = false;
    config.generation_timeout_sec = 10;
    worker::Lease lease;
    lease.worker_id = "fake-worker";
    lease.public_url = worker.url();
    CancelToken cancel;
    ForwardRun run;
    backend::Callbacks callbacks;
    callbacks.on_image = [&run](const backend::GeneratedImage& image) {
        run.delivered.push_back(image);
        return true;
    };
    const backend::EmitFn emit = [](backend::Phase, const std::string&, const std::string&, double, double) {};
    json summary = {{"images", json::array()}};
    const backend::ForwardContext context{http, config, lease, cancel, callbacks, emit, summary};
    try {
        backend::forward_generation(context, json{{"prompt", "x"}}, count);
    } catch (const Error& error) {
        run.error = error.what();
        run.status = error.status();
    }
    return run;
}

TEST(ImageErrors, BadImageNamesBatchIndex) {
    std::vector<uint8_t> truncated = small_png();
    truncated.resize(truncated.size() / 2);
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"truncated", data_url("image/png", truncated)},
        {"corrupt base64", "data:image/png;base64,iVBO!!!notbase64"},
        {"wrong mime", data_url("image/jpeg", small_png())},
    };
    for (const auto& [name, bad] : cases) {
        FakeWorker worker({data_url("image/png", small_png()), bad});
        const ForwardRun run = forward(worker, backend::ImageCount{2, 1});
        EXPECT_EQ(run.status, Status::image_invalid) << name << ": " << run.error;
        EXPECT_NE(run.error.find("batch index 1"), std::string::npos) << name << ": " << run.error;
        EXPECT_NE(run.error.find("fake-worker"), std::string::npos) << name << ": " << run.error;
        EXPECT_EQ(run.delivered.size(), 1u) << name;
    }
}

// The images after an invalid one are billed too, so they are still received and handed on.
// The error, naming the invalid image, comes at the end.
TEST(ImageErrors, ImagesAfterBadOneDelivered) {
    const std::string png = data_url("image/png", small_png());
    FakeWorker worker({"data:image/png;base64,iVBO!!!notbase64", png, png});

    const ForwardRun run = forward(worker, backend::ImageCount{3, 1});

    EXPECT_EQ(run.status, Status::image_invalid) << run.error;
    EXPECT_NE(run.error.find("batch index 0"), std::string::npos) << run.error;
    EXPECT_NE(run.error.find("The other 2 image(s) of the request were delivered"), std::string::npos) << run.error;
    EXPECT_EQ(run.delivered.size(), 2u);
}

TEST(ImageErrors, FewerImagesThanRequestedIsError) {
    FakeWorker worker({data_url("image/png", small_png())});
    const ForwardRun run = forward(worker, backend::ImageCount{2, 1});
    EXPECT_EQ(run.status, Status::worker) << run.error;
    EXPECT_NE(run.error.find("1 of 2"), std::string::npos) << run.error;
    EXPECT_EQ(run.delivered.size(), 1u);
}

TEST(ImageErrors, BatchSizeCountsEveryImage) {
    const std::string png = data_url("image/png", small_png());
    FakeWorker three({png, png, png});
    const ForwardRun short_run = forward(three, backend::ImageCount{2, 2});
    EXPECT_EQ(short_run.status, Status::worker) << short_run.error;
    EXPECT_NE(short_run.error.find("3 of 4"), std::string::npos) << short_run.error;

    FakeWorker four({png, png, png, png});
    const ForwardRun full_run = forward(four, backend::ImageCount{2, 2});
    EXPECT_EQ(full_run.status, Status::ok) << full_run.error;
    EXPECT_EQ(full_run.delivered.size(), 4u);
}

TEST(ImageErrors, SavedPathFetchedFromWorker) {
    FakeWorker worker({"View/local/raw/saved.png"});
    const ForwardRun run = forward(worker, backend::ImageCount{1, 1});
    ASSERT_EQ(run.status, Status::ok) << run.error;
    ASSERT_EQ(run.delivered.size(), 1u);
    EXPECT_EQ(run.delivered[0].mime, "image/png");
    EXPECT_EQ(run.delivered[0].info.width, 16);
    EXPECT_EQ(run.delivered[0].info.height, 8);
}

TEST(ImageErrors, UnknownMimePassedThrough) {
    const std::vector<uint8_t> bytes = {1, 2, 3, 4};
    FakeWorker worker({data_url("video/mp4", bytes)});
    const ForwardRun run = forward(worker, backend::ImageCount{1, 1});
    ASSERT_EQ(run.status, Status::ok) << run.error;
    ASSERT_EQ(run.delivered.size(), 1u);
    EXPECT_EQ(run.delivered[0].mime, "video/mp4");
    EXPECT_EQ(run.delivered[0].bytes, bytes);
}

}  // namespace
