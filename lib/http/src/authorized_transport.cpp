#include "http/authorized_transport.hpp"

#include "core/log.hpp"

namespace ib::http {

namespace {
void set_authorization(Headers& headers, const std::string& token) {
  std::erase_if(headers, [](const auto& h) {
    constexpr std::string_view kName = "authorization";
    if (h.first.size() != kName.size()) return false;
    for (std::size_t i = 0; i < kName.size(); ++i) {
      const char c = h.first[i];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kName[i]) return false;
    }
    return true;
  });
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
}
}  // namespace

AuthorizedTransport::AuthorizedTransport(std::shared_ptr<Transport> inner,
                                         std::shared_ptr<TokenProvider> tokens)
    : inner_(std::move(inner)), tokens_(std::move(tokens)) {}

boost::asio::awaitable<Result> AuthorizedTransport::send(Request request) {
  auto token = co_await tokens_->token();
  if (!token) co_return token.error();
  Request first = request;
  set_authorization(first.headers, *token);
  auto result = co_await inner_->send(std::move(first));
  if (!result || result->status != 401 || token->empty()) co_return result;

  ib::log::info("HTTP 401: refreshing the access token and sending the request once more",
                {{"method", request.method}, {"target", request.target}});
  tokens_->invalidate(*token);
  auto fresh = co_await tokens_->token();
  if (!fresh) co_return fresh.error();
  set_authorization(request.headers, *fresh);
  co_return co_await inner_->send(std::move(request));
}

}  // namespace ib::http
