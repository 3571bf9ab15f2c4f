// The fleetcomm executable: everything it does is in server/commands.cpp.
#include "server/commands.hpp"

int main(int argc, char** argv) {
  return fleetcomm::server::RunCommandLine(std::vector<std::string>(argv, argv + argc));
}
