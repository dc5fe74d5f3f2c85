// SwarmUI's WebSocket route GenerateText2ImageWS on a worker connection.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "config.hpp"
#include "swarm_api.hpp"

namespace emulator {

// Accepts the upgrade in `request` on `socket` and serves the WebSocket until it closes. Blocks the caller.
void serve_websocket(SwarmApi& api, const Config& config, boost::asio::ip::tcp::socket& socket,
                     boost::beast::http::request<boost::beast::http::string_body> request);

} // namespace emulator
