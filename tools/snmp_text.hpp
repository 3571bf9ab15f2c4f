#pragma once
// Turning the bytes of an SNMP OCTET STRING into text that can travel in report.xml:
// recording artifacts repaired, valid UTF-8, no character that XML 1.0 forbids.
#include <optional>
#include <string>
#include <string_view>

namespace fleetcomm::tools {

// HP PML values start with the two bytes 01 15 (a PML type header), not with text.
std::string_view StripPmlHeader(std::string_view bytes);

// A long Hex-STRING that net-snmp printed over several lines and that was then recorded
// as the bytes of that *text*: the first line as characters, then lines of hex pairs
// ("Black Cartridge \n38 32 37 41 20 ..."). Returns the original bytes, or nullopt when
// `bytes` does not have that shape.
std::optional<std::string> UnfoldHexString(std::string_view bytes);

bool IsValidUtf8(std::string_view bytes);

// UTF-8 unchanged; anything else read as Latin-1 (what printers send in practice), so
// that no byte is lost.
std::string ToUtf8(std::string_view bytes);

// Valid UTF-8 in, valid UTF-8 out, with every character XML 1.0 forbids (C0 controls
// other than tab, LF and CR; U+FFFE; U+FFFF) replaced by U+FFFD.
std::string ReplaceXmlForbidden(std::string_view utf8);

// All of the above plus trailing NUL padding and surrounding blanks removed: what a
// human would call the string's text.
std::string SnmpText(std::string_view bytes);

}  // namespace fleetcomm::tools
