// The benchmark reuses the test harness (a throwaway PostgreSQL, the real binary, the test
// PKI), whose helpers are written against Catch2: this provides Catch's implementation
// without a test runner. The benchmark itself calls no Catch macro.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
