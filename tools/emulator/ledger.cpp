#include "ledger.hpp"

#include "util.hpp"

namespace emulator {

void Ledger::add_image(ImageRecord record)
{
    std::lock_guard<std::mutex> lock(mutex_);
    images_.push_back(std::move(record));
}

void Ledger::count_generation()
{
    std::lock_guard<std::mutex> lock(mutex_);
    ++generations_;
}

void Ledger::count_worker_request()
{
    std::lock_guard<std::mutex> lock(mutex_);
    ++worker_requests_;
}

void Ledger::count_tls_handshake_failure()
{
    std::lock_guard<std::mutex> lock(mutex_);
    ++tls_handshake_failures_;
}

void Ledger::count_ws_client_close()
{
    std::lock_guard<std::mutex> lock(mutex_);
    ++ws_client_closes_;
}

void Ledger::clear()
{
    std::lock_guard<std::mutex> lock(mutex_);
    images_.clear();
    generations_ = 0;
    worker_requests_ = 0;
    tls_handshake_failures_ = 0;
    ws_client_closes_ = 0;
}

nlohmann::json Ledger::images_json() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto out = nlohmann::json::array();
    for (const auto& image : images_) {
        out.push_back({{"session", image.session_id},
                       {"worker_id", image.worker_id},
                       {"batch_index", image.batch_index},
                       {"fnv1a64", hex16(image.fnv1a64)},
                       {"bytes", image.bytes},
                       {"width", image.width},
                       {"height", image.height},
                       {"mime", image.mime},
                       {"at_ms", image.at_ms},
                       {"damaged", !image.damage.empty()},
                       {"damage", image.damage}});
    }
    return out;
}

std::int64_t Ledger::generations() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return generations_;
}

std::int64_t Ledger::worker_requests() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return worker_requests_;
}

std::int64_t Ledger::tls_handshake_failures() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return tls_handshake_failures_;
}

std::int64_t Ledger::ws_client_closes() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return ws_client_closes_;
}

} // namespace emulator
