#include "protocol/protocol_error.hpp"
#include "protocol/report_parser.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/report_documents.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

extern char** environ;

using namespace fleetcomm;
using testing::AgentDoc;
using testing::DeviceDoc;
using testing::ReportDoc;

namespace {

const std::string kSchema = std::string(FLEETCOMM_SOURCE_DIR) + "/protocol/report.xsd";

// Runs `xmllint --noout --schema protocol/report.xsd <file>`; its output goes to a file
// that is shown when an expectation fails.
struct XmllintResult {
  int exit_code = -1;
  std::string output;
};

XmllintResult Xmllint(const std::string& document) {
  testing::TempDir dir;
  const std::string path = dir.File("report.xml");
  std::ofstream(path, std::ios::binary) << document;
  const std::string log_path = dir.File("xmllint.log");
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(null_fd >= 0);
  REQUIRE(log_fd >= 0);
  std::vector<std::string> args{"/usr/bin/xmllint", "--noout", "--nonet", "--schema", kSchema, path};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = testing::SpawnChild(argv.data(), environ, null_fd, log_fd, log_fd);
  close(null_fd);
  close(log_fd);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  XmllintResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream log(log_path);
  result.output.assign(std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>());
  return result;
}

bool ParserAccepts(const std::string& document) {
  try {
    protocol::ParseReport(document);
    return true;
  } catch (const protocol::ProtocolError&) {
    return false;
  }
}

// Documents the parser accepts, chosen to reach every branch of the schema.
std::vector<std::string> ValidDocuments() {
  return {
      testing::ProtocolExample(),
      DeviceDoc(""),
      AgentDoc(R"(<Agent/>)"),
      AgentDoc(R"(<Agent securityMode="lockdown" disabledActions="restart  change_settings" xml:lang="en">
  <acme:Tuning xmlns:acme="urn:acme"><anything/></acme:Tuning>
  <Host ip="10.0.0.1" ramTotalMB="9223372036854775807"/>
  <PolicyEvents><Event at="2026-11-24T01:00:00.250-03:30" user="bob" cost="0.12" extra="1"/></PolicyEvents>
</Agent>)",
               R"(<Device serial="s" manufacturer="Canon" model="o" class="production" disabledActions="">
  <JobLog><Job id="7" pages="3" colorPages="0" duplex="1" submittedAt="2026-11-24T00:00:00Z"/><Job duplex="false"/></JobLog>
</Device>
<Device serial="t" manufacturer="Canon" model="o"/>)"),
      DeviceDoc(R"(<Usage><Item name="a" value=""/></Usage>
<Supplies>
  <Supply index="2" type="wasteToner" unit="hundrethsOfFluidOunces" capacity="-2" level="-3" state="unknown"/>
  <Supply index="3" type="matteInk" unit="tenThousandthsOfInches" capacity="-1" level="-1"/>
</Supplies>
<Counters readAt="2024-02-29T23:59:59.123456+14:00">
  <v:Meter xmlns:v="urn:vendor" v:kind="x"/>
  <Counter name="x-a.b-c" value="0" resetAt="2026-01-01T00:00:00-12:00"/>
  <Counter name="scan-images" value="9223372036854775807"/>
</Counters>
<Status state="down" printerStatus="warmup" uptimeSeconds="0">
  <Alert code="" severity="critical" group="finSupplyMediaInput" location="l"/>
</Status>
<FaultHistory><Fault code="x"/></FaultHistory>
<Identity firmware="1"><v:Note xmlns:v="urn:vendor">free text</v:Note></Identity>
<Properties/><Modules><Module/></Modules><Network mac="m"/>)",
                " firmwareBuild=\"7\""),
      R"(<?xml version="1.0" encoding="UTF-8"?>
<r:Report xmlns:r="urn:fleetcomm:report:1" id="0B8C7A52-3F7E-4A7B-9F65-1D2E3C4B5A69"
          generatedAt="2026-11-24T03:00:00Z" source="device">
  <r:Device serial="S" manufacturer="M" model="X"><Status xmlns="urn:fleetcomm:report:1" state="running"/></r:Device>
</r:Report>)",
  };
}

// Documents both the parser and the schema refuse.
std::vector<std::string> InvalidDocuments() {
  std::string wrong_namespace = DeviceDoc("");
  wrong_namespace.replace(wrong_namespace.find("report:1"), 8, "report:2");
  std::string bad_id = DeviceDoc("");
  bad_id.replace(bad_id.find("0b8c7a52-"), 9, "0b8c7a52_");
  return {
      wrong_namespace,
      bad_id,
      ReportDoc("<Device manufacturer=\"m\" model=\"o\"/>"),
      DeviceDoc("<Counters><Counter name=\"sheets\" value=\"9223372036854775808\"/></Counters>"),
      DeviceDoc("<Counters><Counter name=\"sheets\" value=\"-1\"/></Counters>"),
      DeviceDoc("<Counters><Counter name=\"vendor-count\" value=\"1\"/></Counters>"),
      DeviceDoc("<Counters readAt=\"2026-11-24T03:00:00\"/>"),
      DeviceDoc("<Toner/>"),
      DeviceDoc("<JobLog/><Identity/>"),
      DeviceDoc("<Supplies><Supply index=\"1\" level=\"-4\"/></Supplies>"),
      DeviceDoc("<Supplies><Supply index=\"1\" type=\"cartridge\"/></Supplies>"),
      DeviceDoc("<Status><Alert code=\"1\" severity=\"fatal\"/></Status>"),
      DeviceDoc("", " disabledActions=\"restart reboot\""),
      ReportDoc("<Device serial=\"  \" manufacturer=\"m\" model=\"o\"/>"),
      AgentDoc("<Agent><PolicyEvents/><Host/></Agent>"),
      DeviceDoc("<Extra xmlns=\"\"/>"),
  };
}

}  // namespace

TEST_CASE("xmllint is available", "[protocol][xsd]") {
  REQUIRE(access("/usr/bin/xmllint", X_OK) == 0);
}

TEST_CASE("the schema accepts the PROTOCOL.md example and every document the parser accepts", "[protocol][xsd]") {
  for (const std::string& document : ValidDocuments()) {
    INFO(document);
    REQUIRE(ParserAccepts(document));
    const XmllintResult result = Xmllint(document);
    INFO(result.output);
    CHECK(result.exit_code == 0);
  }
}

TEST_CASE("the schema refuses what the parser refuses for its value rules", "[protocol][xsd]") {
  for (const std::string& document : InvalidDocuments()) {
    INFO(document);
    REQUIRE_FALSE(ParserAccepts(document));
    const XmllintResult result = Xmllint(document);
    INFO(result.output);
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("fails to validate") != std::string::npos);
  }
}
