// Declarations shared by the forwarder's source files (backend/forward*.cpp). They cover
// one generation's progress and image delivery, and the HTTP and WebSocket transports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/forward.hpp"
#include "core/error.hpp"
#include "swarm/client.hpp"

namespace swarmpod::backend {

// The wait for InterruptAll after a cancel. On loopback it takes milliseconds.
constexpr Millis kInterruptWait{2000};

// The progress of one generation on the worker, and its reports to the host.
class Generation {
public:
    Generation(const ForwardContext& context, swarm::Client& worker, int images, Deadline deadline)
        : context_(context),
          worker_(worker),
          images_(images),
          deadline_(deadline),
          started_(context.started == Clock::time_point{} ? Clock::now() : context.started),
          forwarding_started_(Clock::now()) {}

    int images() const { return images_; }
    int delivered() const { return delivered_; }
    // Images that arrived, handed on or invalid.
    int received() const { return delivered_ + invalid_; }
    Deadline deadline() const { return deadline_; }
    const std::string& worker_id() const { return context_.lease.worker_id; }
    CancelToken& cancel() const { return context_.cancel; }

    void progress(Phase phase, const std::string& message, int batch_index, double overall, double current,
                  std::vector<uint8_t> preview = {}, std::string preview_mime = {});

    // Decodes and validates one image (a data URL or a saved path), then hands it to
    // the host at once. An invalid image is not handed on: check_all_delivered then throws
    // Error(image_invalid) naming its batch index, after the request's other images came.
    // The data URL is freed before the host receives the image.
    void deliver(int batch_index, std::string reference, std::string metadata);
    // The same for an image read in place, which its owner frees.
    void deliver(int batch_index, std::string_view reference, std::string metadata);

    // Stops this generation's session on the worker (once) and returns the cancel error to throw.
    Error cancelled_error();

    // Throws the first invalid image's error, or Error(worker) when fewer images came than
    // requested.
    void check_all_delivered() const;

    // Appends the cached model names closest to `model` to a model-not-found error.
    std::string model_hint(const std::string& text, const std::string& model) const;

private:
    // Frees *free_after_decode (which `reference` views) once a data URL is decoded.
    void deliver_image(int batch_index, std::string_view reference, std::string metadata,
                       std::string* free_after_decode);

    const ForwardContext& context_;
    swarm::Client& worker_;
    int images_;
    Deadline deadline_;
    Clock::time_point started_;
    Clock::time_point forwarding_started_;  // the start of GPU time that is this generation's own
    int delivered_ = 0;
    int invalid_ = 0;
    std::string first_invalid_;  // the error of the first invalid image, empty when none
    double highest_overall_ = 0;  // the highest overall percent reported so far
    bool interrupted_ = false;
};

// Runs the generation over SwarmUI's GenerateText2Image HTTP route and returns the
// number of images delivered.
int generate_over_http(Generation& generation, swarm::Client& worker, nlohmann::json shaped);

// Runs the generation over SwarmUI's GenerateText2ImageWS socket and returns the number
// of images delivered. It renews a rejected session once and reconnects once after a
// lost socket.
int generate_over_websocket(Generation& generation, swarm::Client& worker, const ForwardContext& context,
                            nlohmann::json shaped, int batch_size);

}  // namespace swarmpod::backend
