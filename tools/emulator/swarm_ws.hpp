// SwarmUI's WebSocket route GenerateText2ImageWS on a worker connection.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "config.hpp"
#include "http_server.hpp"
#include "swarm_api.hpp"

namespace emulator {

// Accepts the upgrade in `request` and serves the WebSocket until it closes. Blocks the caller.
// The connection is `tls` when that is not null (then `socket` is its TCP layer), else `socket`.
void serve_websocket(SwarmApi& api, const Config& config, boost::asio::ip::tcp::socket& socket, TlsStream* tls,
                     boost::beast::http::request<boost::beast::http::string_body> request);

} // namespace emulator
