// yaml-cpp 0.7 (Debian 12) loops forever, allocating, in YAML::LoadAll when a document
// starts at a token no node can start with, e.g. a ',' outside any flow collection ("{},",
// "\"x\",", ","): the parser reports an empty document without consuming the token, again
// and again (yaml-cpp issue 1040, fixed upstream in 2024). ParseYamlDocuments calls LoadAll,
// so the yaml target skips such inputs unless CATTLE_FUZZ_STRICT=1; the examples are in
// fuzz/corpus/crashes/yaml_codec/.
#pragma once

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <sstream>
#include <string>
#include <string_view>

namespace cattle::fuzz {

// True when every document of `text` starts further on than the one before: the parse
// terminates. Stops at the first document that does not.
inline bool YamlDocumentsAdvance(std::string_view text) {
  struct Starts : YAML::EventHandler {
    int pos = -1;
    void OnDocumentStart(const YAML::Mark& mark) override { pos = mark.pos; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } starts;
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  int previous = -2;
  try {
    while (parser.HandleNextDocument(starts)) {
      if (starts.pos == previous) return false;
      previous = starts.pos;
    }
  } catch (const YAML::Exception&) {
    // Malformed: LoadAll throws too, which is fine.
  }
  return true;
}

}  // namespace cattle::fuzz
