#pragma once

#include "http/token_provider.hpp"
#include "http/transport.hpp"

#include <memory>

namespace ib::http {

/// Adds `Authorization: Bearer <token>` to every request. On a 401 it invalidates that
/// token and sends the request once more with a fresh one: a 401 means the server did not
/// process the request, so this is safe even for a non-idempotent POST. A second 401 is
/// returned to the caller (a permanent error). When no token can be had, send() fails
/// with the provider's failure (auth_unavailable / auth_rejected, request_sent = false).
///
/// Thread: as the inner transport.
class AuthorizedTransport final : public Transport {
public:
  AuthorizedTransport(std::shared_ptr<Transport> inner, std::shared_ptr<TokenProvider> tokens);
  boost::asio::awaitable<Result> send(Request request) override;

private:
  std::shared_ptr<Transport> inner_;
  std::shared_ptr<TokenProvider> tokens_;
};

}  // namespace ib::http
