#pragma once

#include "http/transport.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <string>

namespace ib::http {

/// An access token, or why none could be had (code auth_unavailable: try later;
/// auth_rejected: the identity provider refused our credentials; fix the configuration).
using TokenResult = boost::system::result<std::string, Failure>;

/// Source of bearer tokens for AuthorizedTransport.
///
/// Thread: call on the executor thread of the transport that uses it. Many token() calls
/// may run at once; implementations that fetch tokens make one fetch for all of them.
class TokenProvider {
public:
  virtual ~TokenProvider() = default;
  /// A currently valid access token; an empty string means "send no Authorization header".
  virtual boost::asio::awaitable<TokenResult> token() = 0;
  /// The server answered 401 to `rejected_token`: forget it, so the next token() fetches a
  /// new one. Ignored when the cached token is already another one (a concurrent caller
  /// refreshed it), so N concurrent 401s cause one refresh. Empty: forget unconditionally.
  virtual void invalidate(std::string rejected_token) = 0;
};

/// No authentication (local simulator): token() is always "".
class NoAuthProvider final : public TokenProvider {
public:
  boost::asio::awaitable<TokenResult> token() override;
  void invalidate(std::string) override {}
};

/// A fixed token given at startup (local use, tests). invalidate() changes nothing.
class StaticTokenProvider final : public TokenProvider {
public:
  explicit StaticTokenProvider(std::string token) : token_(std::move(token)) {}
  boost::asio::awaitable<TokenResult> token() override;
  void invalidate(std::string) override {}

private:
  std::string token_;
};

}  // namespace ib::http
