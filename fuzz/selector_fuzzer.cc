// Label and field selectors (lib/cattle/selector.*): ParseLabelSelector and
// ParseFieldSelector of the same text, matching against a few label sets, and
// LabelSelectorFromJson when the text is JSON.
//
// Input: the selector text.
// Every error must come back as a Status: this target catches no exception.
// Invariants: a parsed selector's ToString() parses again to the same selector (it is
// canonical); a field selector's ToString() parses again to the same terms.
#include "cattle/selector.h"

#include <algorithm>
#include <tuple>

#include "cattle/codec.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cattle;
  std::string_view text = fuzz::AsView(data, size);
  static const Labels kLabelSets[] = {
      {},
      {{"app", "web"}, {"tier", "frontend"}, {"version", "3"}},
      {{"app", "db"}, {"env", "prod"}, {"example.com/shard", "-12"}},
  };
  auto labels = ParseLabelSelector(text);
  if (labels.ok()) {
    for (const Labels& l : kLabelSets) (void)labels->Matches(l);
    std::string s = labels->ToString();
    auto again = ParseLabelSelector(s);
    fuzz::Check(again.ok(), "a label selector's ToString() parses");
    fuzz::Check(again->ToString() == s, "a label selector's ToString() is canonical");
    std::string value;
    if (!labels->requirements().empty())
      (void)labels->RequiresExactMatch(labels->requirements()[0].key, &value);
  }
  auto fields = ParseFieldSelector(text);
  if (fields.ok()) {
    (void)fields->Matches(std::map<std::string, std::string>{{"metadata.name", "a"}, {"spec.nodeName", ""}});
    // Terms are sorted by their raw text, and "==" prints as "=", so the order may change
    // once (as in Kubernetes); the terms may not, and a second round is stable.
    std::string s = fields->ToString();
    auto again = ParseFieldSelector(s);
    fuzz::Check(again.ok(), "a field selector's ToString() parses");
    auto key = [](const FieldSelector::Term& t) { return std::tie(t.field, t.op, t.value); };
    auto sorted = [&](std::vector<FieldSelector::Term> terms) {
      std::sort(terms.begin(), terms.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
      return terms;
    };
    fuzz::Check(sorted(again->terms()) == sorted(fields->terms()), "a field selector's ToString() keeps the terms");
    std::string s2 = again->ToString();
    auto third = ParseFieldSelector(s2);
    fuzz::Check(third.ok() && third->ToString() == s2, "a reparsed field selector's ToString() is stable");
  }
  (void)UnescapeFieldSelectorValue(text);
  (void)EscapeFieldSelectorValue(text);
  if (!text.empty() && (text[0] == '{' || text == "null")) {
    auto json = fuzz::ParseJson(text);
    if (json) {
      auto sel = LabelSelectorFromJson(*json);
      if (sel.ok()) (void)sel->ToString();
    }
  }
  return 0;
}
