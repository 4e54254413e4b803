#include "http/token_provider.hpp"

namespace ib::http {

boost::asio::awaitable<TokenResult> NoAuthProvider::token() { co_return std::string(); }

boost::asio::awaitable<TokenResult> StaticTokenProvider::token() { co_return token_; }

}  // namespace ib::http
