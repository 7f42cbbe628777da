// The server's TLS context: loaded from PEM files at start and on SIGHUP.
#pragma once

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "server/config.hpp"

namespace corochat::server {

// TLS 1.2 at least (1.3 is preferred by OpenSSL whenever both ends have it),
// OpenSSL's default ciphers, no renegotiation. Throws std::runtime_error
// naming the file when the certificate or key cannot be used.
std::shared_ptr<boost::asio::ssl::context> load_tls_context(const TlsListenerConfig& options);

}  // namespace corochat::server
