// The test runner. Catch2's implementation is compiled once, in tests/support/catch_runtime.cpp.
namespace fleetcomm::testing {
int RunCatchSession(int argc, char* argv[]);
}

int main(int argc, char* argv[]) { return fleetcomm::testing::RunCatchSession(argc, argv); }
