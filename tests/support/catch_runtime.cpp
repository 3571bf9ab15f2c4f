// Catch2's implementation, compiled once for every test executable and the benchmarks (it
// is the slowest translation unit of the tests); tests/main.cpp only calls RunCatchSession.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

namespace fleetcomm::testing {

int RunCatchSession(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }

}  // namespace fleetcomm::testing
