#include <catch2/catch.hpp>

#include "tools/snmp_text.hpp"
#include "tools/snmprec.hpp"

using fleetcomm::tools::SnmpRecording;
using fleetcomm::tools::SnmpText;
using fleetcomm::tools::SnmpType;

TEST_CASE("snmprec lines decode every type and split on the first two bars only", "[fixtures][snmprec]") {
  const auto recording = SnmpRecording::Parse(
      "1.3.6.1.2.1.1.1.0|4|HP|ETHERNET|x\r\n"
      "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11.2.3.9.1\n"
      "1.3.6.1.2.1.1.3.0|67|139939\n"
      "1.3.6.1.2.1.2.2.1.6.2|4x|14CB19952ea0\n"
      "1.3.6.1.2.1.4.20.1.3.10.0.0.1|64|255.255.255.0\n"
      "1.3.6.1.2.1.4.20.1.3.10.0.0.2|64x|ffffff00\n"
      "1.3.6.1.2.1.43.11.1.1.8.1.1|2|-2\n"
      "1.3.6.1.2.1.43.11.1.1.8.1.2|66|4294967295\n"
      "1.3.6.1.2.1.43.10.2.1.4.1.1|65|15232\n"
      "1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615\n"
      "1.3.6.1.2.1.25.3.5.1.2.1|4|\n"
      "1.3.6.1.2.1.99.0|5|\n"
      "1.3.6.1.2.1.98.0|68|opaque\n");
  CHECK(recording.Skipped().empty());
  CHECK(recording.Size() == 13);
  CHECK(recording.Get("1.3.6.1.2.1.1.1.0")->bytes == "HP|ETHERNET|x");
  CHECK(recording.Get(".1.3.6.1.2.1.1.2.0")->bytes == "1.3.6.1.4.1.11.2.3.9.1");
  CHECK(recording.Get("1.3.6.1.2.1.1.3.0")->number == 139939);
  CHECK(recording.Get("1.3.6.1.2.1.2.2.1.6.2")->bytes == std::string("\x14\xcb\x19\x95\x2e\xa0", 6));
  CHECK(recording.Get("1.3.6.1.2.1.4.20.1.3.10.0.0.2")->bytes == "255.255.255.0");
  CHECK(recording.Get("1.3.6.1.2.1.43.11.1.1.8.1.1")->number == -2);
  CHECK(recording.Get("1.3.6.1.2.1.43.11.1.1.8.1.2")->type == SnmpType::kGauge32);
  CHECK(recording.Get("1.3.6.1.2.1.43.10.2.1.4.1.1")->type == SnmpType::kCounter32);
  const auto* counter64 = recording.Get("1.3.6.1.2.1.31.1.1.1.6.1");
  CHECK_FALSE(counter64->number.has_value());  // above 2^63-1
  CHECK(counter64->unsigned_number == 18446744073709551615u);
  CHECK(recording.Get("1.3.6.1.2.1.25.3.5.1.2.1")->bytes.empty());
  CHECK(recording.Get("1.3.6.1.2.1.99.0")->type == SnmpType::kNull);
  CHECK(recording.Get("1.3.6.1.2.1.98.0")->type == SnmpType::kOpaque);
  CHECK(recording.Get("1.3.6.1.2.1.1.4.0") == nullptr);
}

TEST_CASE("undecodable snmprec lines are skipped with their line number", "[fixtures][snmprec]") {
  const auto recording = SnmpRecording::Parse(
      "1.3.6.1.2.1.2.2.1.17.1|65|6git3159\n"
      "1.3.6.1.2.1.2.2.1.16.1|65|4294967296\n"
      "1.3.6.1.2.1.2.2.1.6.1|4x|abc\n"
      "not-an-oid|2|1\n"
      "1.3.6.1.2.1.1.3.0|67\n"
      "1.3.6.1.2.1.1.9.0|99|x\n"
      "1.3.6.1.2.1.1.3.0|67|5\n"
      "1.3.6.1.2.1.1.3.0|67|6\n");
  REQUIRE(recording.Skipped().size() == 6);
  CHECK(recording.Skipped().front().line == 1);
  CHECK(recording.Skipped().back().line == 6);
  CHECK(recording.Get("1.3.6.1.2.1.1.3.0")->number == 5);  // a repeated OID keeps its first value
}

TEST_CASE("a walk returns the rows below a column, in OID order", "[fixtures][snmprec]") {
  const auto recording = SnmpRecording::Parse(
      "1.3.6.1.2.1.43.11.1.1.9.1.10|2|5\n"
      "1.3.6.1.2.1.43.11.1.1.9.1.2|2|7\n"
      "1.3.6.1.2.1.43.11.1.1.9|2|0\n"
      "1.3.6.1.2.1.43.11.1.1.10.1.1|2|9\n"
      "1.3.6.1.2.1.43.11.1.1.8.1.1|2|9\n");
  const auto rows = recording.Walk("1.3.6.1.2.1.43.11.1.1.9");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].index == fleetcomm::tools::Oid{1, 2});
  CHECK(rows[0].value->number == 7);
  CHECK(rows[1].index == fleetcomm::tools::Oid{1, 10});
}

TEST_CASE("a missing recording is an error, not an empty printer", "[fixtures][snmprec]") {
  CHECK_THROWS_AS(SnmpRecording::Load("/nonexistent/printer.snmprec"), fleetcomm::tools::SnmpRecordingError);
}

TEST_CASE("SNMP strings are repaired into XML-safe UTF-8 text", "[fixtures][snmprec]") {
  // The README's folded Hex-STRING: "Black Cartridge " then hex lines of "827A HP CF300A".
  const std::string folded = "Black Cartridge \n38 32 37 41 20 48 50 20 \n43 46 33 30 30 41 ";
  CHECK(SnmpText(folded) == "Black Cartridge 827A HP CF300A");
  // The same from the recording's hex, with the HP PML header in front.
  const auto pml = SnmpRecording::Parse(
      "1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.2.0|4x|01154850204C617365724A6574204D460a353020323020344420333120333320333020"
      "364520373720\n");
  CHECK(SnmpText(pml.Get("1.3.6.1.4.1.11.2.3.9.4.2.1.1.3.2.0")->bytes) == "HP LaserJet MFP M130nw");
  CHECK(SnmpText(std::string("\x01\x15VNCRC48198", 12)) == "VNCRC48198");
  // A newline followed by words is text, not a fold.
  CHECK(SnmpText("Line one\nLine two") == "Line one\nLine two");
  CHECK(SnmpText("Code\n12 07") == "Code\n12 07");  // would decode to control bytes
  CHECK(SnmpText("Ma\xefnz") == "Ma\xc3\xafnz");  // Latin-1 becomes UTF-8
  CHECK(SnmpText("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 stays
  CHECK(SnmpText(std::string("Toner\0\0\0", 8)) == "Toner");
  CHECK(SnmpText("a\x02" "b") == "a\xef\xbf\xbd" "b");  // forbidden in XML 1.0
  CHECK(SnmpText("  Drum Unit  ") == "Drum Unit");
}
