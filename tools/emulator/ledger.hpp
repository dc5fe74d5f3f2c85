// Record of every image the workers sent, for tests that compare bytes without decoding them.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace emulator {

struct ImageRecord {
    std::string session_id;
    std::string worker_id;
    int batch_index = 0;
    std::uint64_t fnv1a64 = 0;
    std::size_t bytes = 0;
    int width = 0;
    int height = 0;
    std::string mime;
    std::int64_t at_ms = 0;
    std::string damage; // the fault kind that changed the bytes (corrupt_image, truncate_image), or empty
};

// Thread-safe: worker connection threads add records while the admin route reads them.
class Ledger {
public:
    void add_image(ImageRecord record);
    // Counts one generation request (a whole GenerateText2Image call, any number of images).
    void count_generation();
    // Counts one HTTP request (a WebSocket upgrade included) that reached a worker's server.
    void count_worker_request();
    // Counts one client whose TLS handshake with a worker's server failed.
    void count_tls_handshake_failure();
    // Counts one GenerateText2ImageWS socket that the client closed after socket_intention
    // "close", before the server's own Close.
    void count_ws_client_close();
    void clear();

    nlohmann::json images_json() const;
    std::int64_t generations() const;
    std::int64_t worker_requests() const;
    std::int64_t tls_handshake_failures() const;
    std::int64_t ws_client_closes() const;

private:
    mutable std::mutex mutex_;
    std::vector<ImageRecord> images_;
    std::int64_t generations_ = 0;
    std::int64_t worker_requests_ = 0;
    std::int64_t tls_handshake_failures_ = 0;
    std::int64_t ws_client_closes_ = 0;
};

} // namespace emulator
