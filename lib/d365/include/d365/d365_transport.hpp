#pragma once

#include "config/config_source.hpp"
#include "d365/d365_config.hpp"
#include "http/transport.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>

namespace ib::d365 {

/// The HTTP transport to D365 per `config`: a BeastTransport (pool, TLS, deadline) wrapped
/// in an AuthorizedTransport when auth is on. Reads the token / client secret from its file
/// or environment variable (`env`); throws std::runtime_error naming the source (never the
/// value) when missing, std::invalid_argument on bad settings. Startup only.
std::shared_ptr<http::Transport> make_d365_transport(boost::asio::any_io_executor executor,
                                                     const D365Config& config,
                                                     const config::Environment& env);

}  // namespace ib::d365
