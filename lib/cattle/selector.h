// Label selectors and field selectors with Kubernetes' syntax, semantics, canonical
// String() form and error messages (k8s.io/apimachinery/pkg/labels, pkg/fields and
// metav1.LabelSelectorAsSelector).
//
// Label selector string syntax (labels.Parse):
//   <selector>    ::= <requirement> | <requirement> "," <selector>
//   <requirement> ::= [!] KEY [ <set-based> | <exact-match> | <ordering> ]
//   <set-based>   ::= ("in" | "notin") "(" VALUE { "," VALUE } ")"
//   <exact-match> ::= ("=" | "==" | "!=") VALUE
//   <ordering>    ::= (">" | "<") INTEGER
// Whitespace (space, tab, CR, LF) separates tokens; an empty VALUE is allowed; a bare
// KEY means "exists" and "!KEY" means "does not exist". Keys must be qualified names
// and values label values (see validation.h). Requirements are kept sorted by key, and
// in/notin value sets are sorted and de-duplicated, so ToString() is canonical.
//
// Field selector syntax (fields.ParseSelector): comma-separated terms "f=v", "f==v" or
// "f!=v"; in a value, "\,", "\=" and "\\" stand for ',', '=' and '\'. Nothing is
// trimmed. Terms are kept sorted by their raw text.
//
// All types here are plain values; const methods are safe to call concurrently.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cattle/status.h"

namespace cattle {

// selection.Operator. kDoubleEquals behaves as kEquals but keeps printing as "==".
enum class SelectorOp {
  kEquals,        // "="
  kDoubleEquals,  // "=="
  kNotEquals,     // "!="
  kIn,            // "in"
  kNotIn,         // "notin"
  kExists,        // "exists" (a bare key)
  kDoesNotExist,  // "!" (a "!key")
  kGreaterThan,   // "gt" (">")
  kLessThan,      // "lt" ("<")
};

// Kubernetes' operator name: "=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt".
const char* SelectorOpName(SelectorOp op);

using Labels = std::map<std::string, std::string>;

// One label requirement. Build validated ones with MakeRequirement; a hand-built one is
// used as is.
struct Requirement {
  std::string key;
  SelectorOp op = SelectorOp::kExists;
  std::vector<std::string> values;

  // Kubernetes' Requirement.Matches: In/=/== need the key with a listed value;
  // NotIn/!= match when the key is absent or its value is not listed; Gt/Lt need the
  // key with an integer value strictly greater/less than the single integer value.
  bool Matches(const Labels& labels) const;
  // "key=v", "key==v", "key!=v", "key in (a,b)", "key notin (a)", "key", "!key",
  // "key>1", "key<1"; values printed sorted.
  std::string ToString() const;

  friend bool operator==(const Requirement&, const Requirement&) = default;
};

// labels.NewRequirement: validates the key (qualified name), the value count for the
// operator, Gt/Lt values as integers, and each value as a label value. On failure
// returns Invalid whose message is Kubernetes' aggregated field-error text, e.g.
// `values[0][app]: Invalid value: "-x": a valid label must be ...`.
Result<Requirement> MakeRequirement(std::string key, SelectorOp op,
                                    std::vector<std::string> values);

class LabelSelector {
 public:
  // Matches everything (labels.Everything()).
  LabelSelector() = default;
  static LabelSelector Everything() { return LabelSelector(); }
  // Matches nothing (labels.Nothing(), what a null metav1.LabelSelector means).
  static LabelSelector Nothing();
  // Takes `requirements` as given (no validation) and sorts them by key (stable).
  explicit LabelSelector(std::vector<Requirement> requirements);

  bool Matches(const Labels& labels) const;
  // True when the selector does not restrict anything (no requirements, not Nothing).
  bool Empty() const { return !nothing_ && requirements_.empty(); }
  bool IsNothing() const { return nothing_; }
  // Canonical Kubernetes form, requirements joined with ","; "" for Everything/Nothing.
  std::string ToString() const;
  const std::vector<Requirement>& requirements() const { return requirements_; }
  // labels' RequiresExactMatch: if the first requirement on `label` is =, == or in with
  // exactly one value, stores it in *value and returns true.
  bool RequiresExactMatch(const std::string& label, std::string* value) const;
  // A copy with `r` added (kept sorted by key). Adding to Nothing stays Nothing.
  LabelSelector Add(Requirement r) const;

 private:
  std::vector<Requirement> requirements_;
  bool nothing_ = false;
};

// Parses a label selector string. Errors are BadRequest with Kubernetes' message, e.g.
// "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt" or
// "found ',', expected: identifier after ','". "" parses as Everything.
Result<LabelSelector> ParseLabelSelector(std::string_view selector);

// Equality requirements for every pair, without validation (SelectorFromValidatedSet).
// An empty map gives Everything.
LabelSelector LabelSelectorFromSet(const Labels& labels);

// One metav1.LabelSelectorRequirement: operator is "In", "NotIn", "Exists" or
// "DoesNotExist".
struct LabelSelectorRequirement {
  std::string key;
  std::string op;
  std::vector<std::string> values;
};

// metav1.LabelSelectorAsSelector for a non-null selector: matchLabels become equality
// requirements, matchExpressions their operators; no labels and no expressions gives
// Everything. Errors are Invalid: `"Foo" is not a valid label selector operator`, or
// the MakeRequirement message (e.g. `values: Invalid value: null: for 'in', 'notin'
// operators, values set can't be empty`).
Result<LabelSelector> LabelSelectorFromMatch(
    const std::map<std::string, std::string>& match_labels,
    const std::vector<LabelSelectorRequirement>& exprs);

// The same from a metav1.LabelSelector JSON value: null gives Nothing; otherwise an
// object with optional "matchLabels" (object of strings) and "matchExpressions" (array
// of {"key", "operator", "values"}). A value of the wrong JSON type is BadRequest;
// semantic errors are as LabelSelectorFromMatch.
Result<LabelSelector> LabelSelectorFromJson(const nlohmann::json& selector);

class FieldSelector {
 public:
  struct Term {
    std::string field;
    SelectorOp op = SelectorOp::kEquals;  // kEquals ("=" or "==") or kNotEquals
    std::string value;                    // unescaped

    friend bool operator==(const Term&, const Term&) = default;
  };

  // Matches everything.
  FieldSelector() = default;
  // Takes the terms as given; only kEquals and kNotEquals are meaningful.
  explicit FieldSelector(std::vector<Term> terms) : terms_(std::move(terms)) {}

  // `get` returns a field's value, or nullopt when the object has no such field, which
  // compares as "" (as Kubernetes' fields.Set does).
  bool Matches(const std::function<std::optional<std::string>(const std::string& field)>&
                   get) const;
  bool Matches(const std::map<std::string, std::string>& fields) const;
  bool Empty() const { return terms_.empty(); }
  const std::vector<Term>& terms() const { return terms_; }
  // If a term requires `field` == X, stores X in *value and returns true (the first such
  // term; != terms never qualify). Used to index e.g. spec.nodeName=X.
  bool RequiresExactMatch(const std::string& field, std::string* value) const;
  // "f=v,g!=w" with values escaped; "" when empty.
  std::string ToString() const;

 private:
  std::vector<Term> terms_;
};

// Parses a field selector. Errors are BadRequest with Kubernetes' messages:
//   "invalid selector: 'x'; can't understand 'x'"
//   "invalid field selector: invalid escape sequence: \a"
//   "invalid field selector: unescaped character in value: 61"   (the code point)
// Empty terms are skipped, as are terms whose field and value are both empty ("=").
Result<FieldSelector> ParseFieldSelector(std::string_view selector);

// fields.EscapeValue / UnescapeValue. Unescape errors are BadRequest as above.
std::string EscapeFieldSelectorValue(std::string_view value);
Result<std::string> UnescapeFieldSelectorValue(std::string_view value);

}  // namespace cattle
