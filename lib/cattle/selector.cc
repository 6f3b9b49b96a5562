#include "cattle/selector.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "cattle/validation.h"

namespace cattle {

namespace {

// GCC/Clang 128-bit integers (__extension__ keeps -Wpedantic quiet).
__extension__ typedef unsigned __int128 uint128;
__extension__ typedef __int128 int128;

// Go's strconv.ParseInt(s, 10, 64).
bool ParseGoInt64(std::string_view s, int64_t* out) {
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  uint128 v = 0;
  const uint128 limit =
      static_cast<uint128>(std::numeric_limits<int64_t>::max()) + (neg ? 1 : 0);
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > limit) return false;
  }
  *out = neg ? static_cast<int64_t>(-static_cast<int128>(v)) : static_cast<int64_t>(v);
  return true;
}

// The rendering of a field error's bad value: %q for strings, JSON for string lists
// (nil -> "null"), as Kubernetes' field.Error does.
std::string JsonStringList(const std::vector<std::string>* values) {
  if (values == nullptr) return "null";
  nlohmann::json arr = nlohmann::json::array();
  for (const std::string& v : *values) arr.push_back(v);
  std::string dumped = arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Go's encoding/json escapes <, > and & for HTML safety.
  std::string out;
  for (char c : dumped) {
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FieldInvalid(const std::string& field, const std::string& rendered_value,
                         const std::string& detail) {
  return field + ": Invalid value: " + rendered_value + ": " + detail;
}

// utilerrors.NewAggregate(...).Error(): one message as is, several de-duplicated and
// bracketed.
std::string Aggregate(const std::vector<std::string>& messages) {
  if (messages.size() == 1) return messages[0];
  std::vector<std::string> unique;
  for (const std::string& m : messages) {
    if (std::find(unique.begin(), unique.end(), m) == unique.end()) unique.push_back(m);
  }
  if (unique.size() == 1) return unique[0];
  return "[" + JoinMessages(unique, ", ") + "]";
}

// validateLabelKey: nullopt when valid.
std::optional<std::string> LabelKeyError(const std::string& key, const std::string& path) {
  std::vector<std::string> errs = QualifiedNameErrors(key);
  if (errs.empty()) return std::nullopt;
  return FieldInvalid(path, GoQuote(key), JoinMessages(errs, "; "));
}

// labels.NewRequirement's checks, with Kubernetes' field paths ("key", "values",
// "values[i]", "values[i][key]"). `values_is_nil` renders an empty value list as JSON
// null, as Kubernetes renders a nil Go slice.
std::vector<std::string> RequirementErrors(const std::string& key, SelectorOp op,
                                           const std::vector<std::string>& values,
                                           bool values_is_nil) {
  std::vector<std::string> errs;
  if (auto e = LabelKeyError(key, "key")) errs.push_back(*e);
  const std::string rendered =
      JsonStringList(values_is_nil && values.empty() ? nullptr : &values);
  switch (op) {
    case SelectorOp::kIn:
    case SelectorOp::kNotIn:
      if (values.empty()) {
        errs.push_back(FieldInvalid("values", rendered,
                                    "for 'in', 'notin' operators, values set can't be empty"));
      }
      break;
    case SelectorOp::kEquals:
    case SelectorOp::kDoubleEquals:
    case SelectorOp::kNotEquals:
      if (values.size() != 1) {
        errs.push_back(FieldInvalid("values", rendered,
                                    "exact-match compatibility requires one single value"));
      }
      break;
    case SelectorOp::kExists:
    case SelectorOp::kDoesNotExist:
      if (!values.empty()) {
        errs.push_back(FieldInvalid(
            "values", rendered, "values set must be empty for exists and does not exist"));
      }
      break;
    case SelectorOp::kGreaterThan:
    case SelectorOp::kLessThan:
      if (values.size() != 1) {
        errs.push_back(FieldInvalid(
            "values", rendered, "for 'Gt', 'Lt' operators, exactly one value is required"));
      }
      for (size_t i = 0; i < values.size(); ++i) {
        int64_t unused;
        if (!ParseGoInt64(values[i], &unused)) {
          errs.push_back(FieldInvalid("values[" + std::to_string(i) + "]", GoQuote(values[i]),
                                      "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      }
      break;
  }
  for (size_t i = 0; i < values.size(); ++i) {
    std::vector<std::string> value_errs = LabelValueErrors(values[i]);
    if (!value_errs.empty()) {
      errs.push_back(FieldInvalid("values[" + std::to_string(i) + "][" + key + "]",
                                  GoQuote(values[i]), JoinMessages(value_errs, "; ")));
    }
  }
  return errs;
}

void SortByKey(std::vector<Requirement>* reqs) {
  std::stable_sort(reqs->begin(), reqs->end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
}

// --- the label selector lexer and parser, token for token as Kubernetes' ---------------

enum class Tok {
  kError,
  kEnd,
  kClosedPar,
  kComma,
  kDoesNotExist,
  kDoubleEquals,
  kEquals,
  kGreaterThan,
  kIdentifier,
  kIn,
  kLessThan,
  kNotEquals,
  kNotIn,
  kOpenPar,
};

bool LookupToken(std::string_view s, Tok* tok) {
  static constexpr std::pair<std::string_view, Tok> kTokens[] = {
      {")", Tok::kClosedPar},  {",", Tok::kComma},     {"!", Tok::kDoesNotExist},
      {"==", Tok::kDoubleEquals}, {"=", Tok::kEquals}, {">", Tok::kGreaterThan},
      {"in", Tok::kIn},        {"<", Tok::kLessThan},  {"!=", Tok::kNotEquals},
      {"notin", Tok::kNotIn},  {"(", Tok::kOpenPar},
  };
  for (const auto& [text, t] : kTokens) {
    if (text == s) {
      *tok = t;
      return true;
    }
  }
  return false;
}

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsSpecialSymbol(char c) {
  switch (c) {
    case '=':
    case '!':
    case '(':
    case ')':
    case ',':
    case '>':
    case '<':
      return true;
    default:
      return false;
  }
}

struct Item {
  Tok tok;
  std::string lit;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Item Lex() {
    char ch = Read();
    while (IsWhitespace(ch)) ch = Read();
    if (ch == 0) return {Tok::kEnd, ""};
    Unread();
    return IsSpecialSymbol(ch) ? ScanSpecialSymbol() : ScanIdOrKeyword();
  }

 private:
  char Read() { return pos_ < s_.size() ? s_[pos_++] : 0; }
  void Unread() { --pos_; }

  Item ScanIdOrKeyword() {
    std::string buffer;
    while (true) {
      char ch = Read();
      if (ch == 0) break;
      if (IsSpecialSymbol(ch) || IsWhitespace(ch)) {
        Unread();
        break;
      }
      buffer.push_back(ch);
    }
    Tok tok;
    if (LookupToken(buffer, &tok)) return {tok, buffer};
    return {Tok::kIdentifier, buffer};
  }

  // Returns the longest operator token; every single special character is one.
  Item ScanSpecialSymbol() {
    std::string buffer;
    std::optional<Item> last;
    while (true) {
      char ch = Read();
      if (ch == 0) break;
      if (!IsSpecialSymbol(ch)) {
        Unread();
        break;
      }
      buffer.push_back(ch);
      Tok tok;
      if (LookupToken(buffer, &tok)) {
        last = Item{tok, buffer};
      } else if (last.has_value()) {
        Unread();
        break;
      }
    }
    if (!last.has_value()) {
      return {Tok::kError, "error expected: keyword found '" + buffer + "'"};
    }
    return *last;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

enum class Context { kKeyAndOperator, kValues };

class Parser {
 public:
  explicit Parser(std::string_view s) {
    Lexer lexer(s);
    while (true) {
      items_.push_back(lexer.Lex());
      if (items_.back().tok == Tok::kEnd) break;
    }
  }

  // Returns the error message on failure.
  std::optional<std::string> Parse(std::vector<Requirement>* out) {
    while (true) {
      Item next = Lookahead(Context::kValues);
      switch (next.tok) {
        case Tok::kIdentifier:
        case Tok::kDoesNotExist: {
          Requirement r;
          if (auto err = ParseRequirement(&r)) return "unable to parse requirement: " + *err;
          out->push_back(std::move(r));
          Item t = Consume(Context::kValues);
          if (t.tok == Tok::kEnd) return std::nullopt;
          if (t.tok == Tok::kComma) {
            Item t2 = Lookahead(Context::kValues);
            if (t2.tok != Tok::kIdentifier && t2.tok != Tok::kDoesNotExist) {
              return "found '" + t2.lit + "', expected: identifier after ','";
            }
            break;
          }
          return "found '" + t.lit + "', expected: ',' or 'end of string'";
        }
        case Tok::kEnd:
          return std::nullopt;
        default:
          return "found '" + next.lit + "', expected: !, identifier, or 'end of string'";
      }
    }
  }

 private:
  static Item InContext(Item item, Context context) {
    if (context == Context::kValues && (item.tok == Tok::kIn || item.tok == Tok::kNotIn)) {
      item.tok = Tok::kIdentifier;
    }
    return item;
  }
  Item Lookahead(Context context) const { return InContext(items_[position_], context); }
  Item Consume(Context context) {
    Item item = InContext(items_[position_], context);
    if (position_ + 1 < items_.size()) ++position_;
    return item;
  }

  std::optional<std::string> ParseRequirement(Requirement* r) {
    std::optional<SelectorOp> op;
    // parseKeyAndInferOperator
    Item tok = Consume(Context::kValues);
    if (tok.tok == Tok::kDoesNotExist) {
      op = SelectorOp::kDoesNotExist;
      tok = Consume(Context::kValues);
    }
    if (tok.tok != Tok::kIdentifier) return "found '" + tok.lit + "', expected: identifier";
    // Kubernetes validates the key here with a nil field path, printed as "<nil>".
    if (auto err = LabelKeyError(tok.lit, "<nil>")) return err;
    r->key = tok.lit;
    Tok after = Lookahead(Context::kValues).tok;
    if ((after == Tok::kEnd || after == Tok::kComma) && op != SelectorOp::kDoesNotExist) {
      op = SelectorOp::kExists;
    }
    std::set<std::string> values;
    if (op == SelectorOp::kExists || op == SelectorOp::kDoesNotExist) {
      r->op = *op;
    } else {
      // parseOperator
      Item o = Consume(Context::kKeyAndOperator);
      switch (o.tok) {
        case Tok::kIn: r->op = SelectorOp::kIn; break;
        case Tok::kEquals: r->op = SelectorOp::kEquals; break;
        case Tok::kDoubleEquals: r->op = SelectorOp::kDoubleEquals; break;
        case Tok::kGreaterThan: r->op = SelectorOp::kGreaterThan; break;
        case Tok::kLessThan: r->op = SelectorOp::kLessThan; break;
        case Tok::kNotIn: r->op = SelectorOp::kNotIn; break;
        case Tok::kNotEquals: r->op = SelectorOp::kNotEquals; break;
        default:
          return "found '" + o.lit + "', expected: in, notin, =, ==, !=, gt, lt";
      }
      std::optional<std::string> err = (r->op == SelectorOp::kIn || r->op == SelectorOp::kNotIn)
                                           ? ParseValues(&values)
                                           : ParseExactValue(&values);
      if (err) return err;
    }
    r->values.assign(values.begin(), values.end());  // sets.String.List(): sorted
    // NewRequirement's checks (the key already passed above).
    std::vector<std::string> errs = RequirementErrors(r->key, r->op, r->values, false);
    if (!errs.empty()) return Aggregate(errs);
    return std::nullopt;
  }

  std::optional<std::string> ParseValues(std::set<std::string>* values) {
    Item tok = Consume(Context::kValues);
    if (tok.tok != Tok::kOpenPar) return "found '" + tok.lit + "' expected: '('";
    Item next = Lookahead(Context::kValues);
    switch (next.tok) {
      case Tok::kIdentifier:
      case Tok::kComma: {
        if (auto err = ParseIdentifiersList(values)) return err;
        if (Consume(Context::kValues).tok != Tok::kClosedPar) {
          return "found '" + next.lit + "', expected: ')'";
        }
        return std::nullopt;
      }
      case Tok::kClosedPar:
        Consume(Context::kValues);
        values->insert("");
        return std::nullopt;
      default:
        return "found '" + next.lit + "', expected: ',', ')' or identifier";
    }
  }

  std::optional<std::string> ParseIdentifiersList(std::set<std::string>* values) {
    while (true) {
      Item tok = Consume(Context::kValues);
      switch (tok.tok) {
        case Tok::kIdentifier: {
          values->insert(tok.lit);
          Item tok2 = Lookahead(Context::kValues);
          if (tok2.tok == Tok::kComma) continue;
          if (tok2.tok == Tok::kClosedPar) return std::nullopt;
          return "found '" + tok2.lit + "', expected: ',' or ')'";
        }
        case Tok::kComma: {
          if (values->empty()) values->insert("");  // "(,"
          Tok tok2 = Lookahead(Context::kValues).tok;
          if (tok2 == Tok::kClosedPar) {  // ",)"
            values->insert("");
            return std::nullopt;
          }
          if (tok2 == Tok::kComma) values->insert("");  // ",,"
          continue;
        }
        default:
          return "found '" + tok.lit + "', expected: ',', or identifier";
      }
    }
  }

  std::optional<std::string> ParseExactValue(std::set<std::string>* values) {
    Tok next = Lookahead(Context::kValues).tok;
    if (next == Tok::kEnd || next == Tok::kComma) {
      values->insert("");
      return std::nullopt;
    }
    Item tok = Consume(Context::kValues);
    if (tok.tok == Tok::kIdentifier) {
      values->insert(tok.lit);
      return std::nullopt;
    }
    return "found '" + tok.lit + "', expected: identifier";
  }

  std::vector<Item> items_;
  size_t position_ = 0;
};

// Byte length of the valid UTF-8 sequence at the start of `s` (non-empty), or 0 when it
// does not start with one (a stray byte, a truncated or overlong sequence, a surrogate):
// Go's utf8.DecodeRuneInString, which a range loop over a string uses, reads such a byte
// as U+FFFD of width 1. The bytes after an invalid lead byte are never swallowed: they
// may be the ',', '=' or '\' that matters.
size_t ValidUtf8Length(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = b(0);
  if (lead < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i)
    if (b(i) < 0x80 || b(i) > 0xBF) return 0;
  return n;
}

}  // namespace

const char* SelectorOpName(SelectorOp op) {
  switch (op) {
    case SelectorOp::kEquals: return "=";
    case SelectorOp::kDoubleEquals: return "==";
    case SelectorOp::kNotEquals: return "!=";
    case SelectorOp::kIn: return "in";
    case SelectorOp::kNotIn: return "notin";
    case SelectorOp::kExists: return "exists";
    case SelectorOp::kDoesNotExist: return "!";
    case SelectorOp::kGreaterThan: return "gt";
    case SelectorOp::kLessThan: return "lt";
  }
  return "";
}

// --- Requirement / LabelSelector ---------------------------------------------------------

bool Requirement::Matches(const Labels& labels) const {
  auto it = labels.find(key);
  const bool has = it != labels.end();
  auto has_value = [&](const std::string& v) {
    return std::find(values.begin(), values.end(), v) != values.end();
  };
  switch (op) {
    case SelectorOp::kIn:
    case SelectorOp::kEquals:
    case SelectorOp::kDoubleEquals:
      return has && has_value(it->second);
    case SelectorOp::kNotIn:
    case SelectorOp::kNotEquals:
      return !has || !has_value(it->second);
    case SelectorOp::kExists:
      return has;
    case SelectorOp::kDoesNotExist:
      return !has;
    case SelectorOp::kGreaterThan:
    case SelectorOp::kLessThan: {
      if (!has || values.size() != 1) return false;
      int64_t label_value, bound;
      if (!ParseGoInt64(it->second, &label_value) || !ParseGoInt64(values[0], &bound)) {
        return false;
      }
      return op == SelectorOp::kGreaterThan ? label_value > bound : label_value < bound;
    }
  }
  return false;
}

std::string Requirement::ToString() const {
  std::string out;
  if (op == SelectorOp::kDoesNotExist) out = "!";
  out += key;
  switch (op) {
    case SelectorOp::kEquals: out += "="; break;
    case SelectorOp::kDoubleEquals: out += "=="; break;
    case SelectorOp::kNotEquals: out += "!="; break;
    case SelectorOp::kIn: out += " in "; break;
    case SelectorOp::kNotIn: out += " notin "; break;
    case SelectorOp::kGreaterThan: out += ">"; break;
    case SelectorOp::kLessThan: out += "<"; break;
    case SelectorOp::kExists:
    case SelectorOp::kDoesNotExist:
      return out;
  }
  const bool set_based = op == SelectorOp::kIn || op == SelectorOp::kNotIn;
  if (set_based) out += "(";
  std::vector<std::string> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  out += JoinMessages(sorted, ",");
  if (set_based) out += ")";
  return out;
}

Result<Requirement> MakeRequirement(std::string key, SelectorOp op,
                                    std::vector<std::string> values) {
  std::vector<std::string> errs = RequirementErrors(key, op, values, false);
  if (!errs.empty()) return Status::Invalid(Aggregate(errs));
  return Requirement{std::move(key), op, std::move(values)};
}

LabelSelector LabelSelector::Nothing() {
  LabelSelector s;
  s.nothing_ = true;
  return s;
}

LabelSelector::LabelSelector(std::vector<Requirement> requirements)
    : requirements_(std::move(requirements)) {
  SortByKey(&requirements_);
}

bool LabelSelector::Matches(const Labels& labels) const {
  if (nothing_) return false;
  for (const Requirement& r : requirements_) {
    if (!r.Matches(labels)) return false;
  }
  return true;
}

std::string LabelSelector::ToString() const {
  std::string out;
  for (size_t i = 0; i < requirements_.size(); ++i) {
    if (i > 0) out += ",";
    out += requirements_[i].ToString();
  }
  return out;
}

bool LabelSelector::RequiresExactMatch(const std::string& label, std::string* value) const {
  for (const Requirement& r : requirements_) {
    if (r.key != label) continue;
    if ((r.op == SelectorOp::kEquals || r.op == SelectorOp::kDoubleEquals ||
         r.op == SelectorOp::kIn) &&
        r.values.size() == 1) {
      if (value != nullptr) *value = r.values[0];
      return true;
    }
    return false;
  }
  return false;
}

LabelSelector LabelSelector::Add(Requirement r) const {
  if (nothing_) return *this;
  LabelSelector out = *this;
  out.requirements_.push_back(std::move(r));
  SortByKey(&out.requirements_);
  return out;
}

Result<LabelSelector> ParseLabelSelector(std::string_view selector) {
  // Kubernetes' lexer reads a NUL byte as the end of the input.
  const size_t nul = selector.find('\0');
  if (nul != std::string_view::npos) selector = selector.substr(0, nul);
  Parser parser(selector);
  std::vector<Requirement> requirements;
  if (auto err = parser.Parse(&requirements)) return Status::BadRequest(*err);
  return LabelSelector(std::move(requirements));
}

LabelSelector LabelSelectorFromSet(const Labels& labels) {
  std::vector<Requirement> reqs;
  reqs.reserve(labels.size());
  for (const auto& [k, v] : labels) reqs.push_back({k, SelectorOp::kEquals, {v}});
  return LabelSelector(std::move(reqs));
}

Result<LabelSelector> LabelSelectorFromMatch(
    const std::map<std::string, std::string>& match_labels,
    const std::vector<LabelSelectorRequirement>& exprs) {
  if (match_labels.empty() && exprs.empty()) return LabelSelector::Everything();
  std::vector<Requirement> reqs;
  for (const auto& [k, v] : match_labels) {
    std::vector<std::string> errs = RequirementErrors(k, SelectorOp::kEquals, {v}, false);
    if (!errs.empty()) return Status::Invalid(Aggregate(errs));
    reqs.push_back({k, SelectorOp::kEquals, {v}});
  }
  for (const LabelSelectorRequirement& e : exprs) {
    SelectorOp op;
    if (e.op == "In") {
      op = SelectorOp::kIn;
    } else if (e.op == "NotIn") {
      op = SelectorOp::kNotIn;
    } else if (e.op == "Exists") {
      op = SelectorOp::kExists;
    } else if (e.op == "DoesNotExist") {
      op = SelectorOp::kDoesNotExist;
    } else {
      return Status::Invalid(GoQuote(e.op) + " is not a valid label selector operator");
    }
    // Kubernetes copies the values into a nil slice: no values renders as null.
    std::vector<std::string> errs = RequirementErrors(e.key, op, e.values, true);
    if (!errs.empty()) return Status::Invalid(Aggregate(errs));
    reqs.push_back({e.key, op, e.values});
  }
  return LabelSelector(std::move(reqs));
}

Result<LabelSelector> LabelSelectorFromJson(const nlohmann::json& selector) {
  if (selector.is_null()) return LabelSelector::Nothing();
  if (!selector.is_object()) {
    return Status::BadRequest("label selector must be an object, got " +
                              std::string(selector.type_name()));
  }
  std::map<std::string, std::string> match_labels;
  std::vector<LabelSelectorRequirement> exprs;
  if (auto it = selector.find("matchLabels"); it != selector.end() && !it->is_null()) {
    if (!it->is_object()) return Status::BadRequest("matchLabels must be an object");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) {
        return Status::BadRequest("matchLabels[" + k + "] must be a string");
      }
      match_labels[k] = v.get<std::string>();
    }
  }
  if (auto it = selector.find("matchExpressions"); it != selector.end() && !it->is_null()) {
    if (!it->is_array()) return Status::BadRequest("matchExpressions must be an array");
    for (const nlohmann::json& e : *it) {
      if (!e.is_object()) {
        return Status::BadRequest("matchExpressions entries must be objects");
      }
      LabelSelectorRequirement req;
      auto str_field = [&](const char* name, std::string* out) -> bool {
        auto f = e.find(name);
        if (f == e.end() || f->is_null()) return true;
        if (!f->is_string()) return false;
        *out = f->get<std::string>();
        return true;
      };
      if (!str_field("key", &req.key) || !str_field("operator", &req.op)) {
        return Status::BadRequest("matchExpressions key and operator must be strings");
      }
      if (auto v = e.find("values"); v != e.end() && !v->is_null()) {
        if (!v->is_array()) return Status::BadRequest("matchExpressions values must be an array");
        for (const nlohmann::json& s : *v) {
          if (!s.is_string()) {
            return Status::BadRequest("matchExpressions values must be strings");
          }
          req.values.push_back(s.get<std::string>());
        }
      }
      exprs.push_back(std::move(req));
    }
  }
  return LabelSelectorFromMatch(match_labels, exprs);
}

// --- FieldSelector -----------------------------------------------------------------------

bool FieldSelector::Matches(
    const std::function<std::optional<std::string>(const std::string& field)>& get) const {
  for (const Term& t : terms_) {
    std::optional<std::string> v = get(t.field);
    const std::string& actual = v.has_value() ? *v : std::string();
    const bool equal = actual == t.value;
    if (t.op == SelectorOp::kNotEquals ? equal : !equal) return false;
  }
  return true;
}

bool FieldSelector::Matches(const std::map<std::string, std::string>& fields) const {
  return Matches([&fields](const std::string& f) -> std::optional<std::string> {
    auto it = fields.find(f);
    if (it == fields.end()) return std::nullopt;
    return it->second;
  });
}

bool FieldSelector::RequiresExactMatch(const std::string& field, std::string* value) const {
  for (const Term& t : terms_) {
    if (t.op != SelectorOp::kNotEquals && t.field == field) {
      if (value != nullptr) *value = t.value;
      return true;
    }
  }
  return false;
}

std::string FieldSelector::ToString() const {
  std::string out;
  for (size_t i = 0; i < terms_.size(); ++i) {
    if (i > 0) out += ",";
    out += terms_[i].field;
    out += terms_[i].op == SelectorOp::kNotEquals ? "!=" : "=";
    out += EscapeFieldSelectorValue(terms_[i].value);
  }
  return out;
}

std::string EscapeFieldSelectorValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == ',' || c == '=') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

Result<std::string> UnescapeFieldSelectorValue(std::string_view value) {
  if (value.find_first_of("\\,=") == std::string_view::npos) return std::string(value);
  std::string out;
  out.reserve(value.size());
  bool in_slash = false;
  for (size_t i = 0; i < value.size();) {
    const char c = value[i];
    const size_t valid = ValidUtf8Length(value.substr(i));
    const size_t n = valid == 0 ? 1 : valid;
    if (in_slash) {
      if (c == '\\' || c == ',' || c == '=') {
        out.push_back(c);
      } else {
        // Kubernetes prints the rune: U+FFFD for a byte that is not valid UTF-8.
        std::string rune = valid == 0 ? std::string("\xEF\xBF\xBD") : std::string(value.substr(i, n));
        return Status::BadRequest("invalid field selector: invalid escape sequence: \\" + rune);
      }
      in_slash = false;
    } else if (c == '\\') {
      in_slash = true;
    } else if (c == ',' || c == '=') {
      // Kubernetes prints the rune with %v: its code point.
      return Status::BadRequest("invalid field selector: unescaped character in value: " +
                                std::to_string(static_cast<int>(c)));
    } else {
      out.append(value.substr(i, n));
    }
    i += n;
  }
  if (in_slash) {
    return Status::BadRequest("invalid field selector: invalid escape sequence: \\");
  }
  return out;
}

Result<FieldSelector> ParseFieldSelector(std::string_view selector) {
  // splitTerms: split on commas not escaped by a backslash.
  std::vector<std::string> parts;
  if (!selector.empty()) {
    size_t start = 0;
    bool in_slash = false;
    for (size_t i = 0; i < selector.size(); ++i) {
      const char c = selector[i];
      if (in_slash) {
        in_slash = false;
      } else if (c == '\\') {
        in_slash = true;
      } else if (c == ',') {
        parts.emplace_back(selector.substr(start, i - start));
        start = i + 1;
      }
    }
    parts.emplace_back(selector.substr(start));
  }
  std::sort(parts.begin(), parts.end());

  std::vector<FieldSelector::Term> terms;
  for (const std::string& part : parts) {
    if (part.empty()) continue;
    // splitTerm: the first occurrence of "!=", "==" or "=" (checked in that order at
    // each position).
    size_t op_pos = std::string::npos, op_len = 0;
    SelectorOp op = SelectorOp::kEquals;
    for (size_t i = 0; i < part.size() && op_pos == std::string::npos; ++i) {
      std::string_view rest = std::string_view(part).substr(i);
      if (rest.substr(0, 2) == "!=") {
        op_pos = i, op_len = 2, op = SelectorOp::kNotEquals;
      } else if (rest.substr(0, 2) == "==") {
        op_pos = i, op_len = 2, op = SelectorOp::kEquals;
      } else if (rest.substr(0, 1) == "=") {
        op_pos = i, op_len = 1, op = SelectorOp::kEquals;
      }
    }
    if (op_pos == std::string::npos) {
      return Status::BadRequest("invalid selector: '" + std::string(selector) +
                                "'; can't understand '" + part + "'");
    }
    Result<std::string> value = UnescapeFieldSelectorValue(part.substr(op_pos + op_len));
    if (!value.ok()) return value.status();
    std::string field = part.substr(0, op_pos);
    // A term whose field and value are both empty selects everything: drop it.
    if (field.empty() && value->empty()) continue;
    terms.push_back({std::move(field), op, std::move(value).value()});
  }
  return FieldSelector(std::move(terms));
}

}  // namespace cattle
