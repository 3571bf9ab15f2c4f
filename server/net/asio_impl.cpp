// The one translation unit that compiles Asio (and its OpenSSL layer).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
