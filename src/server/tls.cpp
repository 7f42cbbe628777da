#include "server/tls.hpp"

#include <stdexcept>

#include <openssl/ssl.h>

namespace corochat::server {
namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> load_tls_context(const TlsListenerConfig& options) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // Client-initiated renegotiation costs the server a handshake for free.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  // Idle connections give their read and write buffers back.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);

  boost::system::error_code ec;
  context->use_certificate_chain_file(options.cert_file, ec);
  if (ec) throw std::runtime_error("TLS certificate " + options.cert_file + ": " + ec.message());
  context->use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("TLS key " + options.key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1)
    throw std::runtime_error("TLS key " + options.key_file + " does not match the certificate " + options.cert_file);
  return context;
}

}  // namespace corochat::server
