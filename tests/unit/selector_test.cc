// Tests for cattle's label and field selectors. Tables follow Kubernetes'
// pkg/labels/selector_test.go and pkg/fields/selector_test.go, plus exact error texts.
#include "cattle/selector.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cattle {

// Readable gtest output for the value types (internal linkage: found by ADL, no clash
// with other test files).
static void PrintTo(const Requirement& r, std::ostream* os) {
  *os << "Requirement{" << r.ToString() << "}";
}
static void PrintTo(const FieldSelector::Term& t, std::ostream* os) {
  *os << "Term{" << t.field << " " << SelectorOpName(t.op) << " " << t.value << "}";
}

namespace {

const std::string kValueMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character (e.g. "
    "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const std::string kKeyNameMsg =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
    "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

LabelSelector MustParseLabels(std::string_view s) {
  Result<LabelSelector> sel = ParseLabelSelector(s);
  EXPECT_TRUE(sel.ok()) << s << ": " << sel.status().ToString();
  return sel.ok() ? *sel : LabelSelector::Nothing();
}

TEST(LabelSelectorTest, ParseRoundTripsWithoutSpaces) {
  // Kubernetes' TestSelectorParse good strings: String() is the input minus spaces.
  for (std::string s : {"x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ",
                        "!x", "x>1", "x>1,z<5", "x==a", "notin=in"}) {
    std::string want = s;
    std::erase(want, ' ');
    EXPECT_EQ(MustParseLabels(s).ToString(), want) << s;
  }
}

TEST(LabelSelectorTest, ParseCanonicalForms) {
  // Kubernetes' TestSetSelectorParser, expressed through the canonical String().
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"", ""},
      {"\rx", "x"},
      {"this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"},
      {"this-is-another-dns.domain.com/key-with-dash in (so,what)",
       "this-is-another-dns.domain.com/key-with-dash in (so,what)"},
      {"0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
       "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)"},
      {"foo  in\t (abc)", "foo in (abc)"},
      {"x notin\n (abc)", "x notin (abc)"},
      {"x  notin\t\t(abc,def)", "x notin (abc,def)"},
      {"x in (abc,def)", "x in (abc,def)"},
      {"x in (def,abc)", "x in (abc,def)"},
      {"x in (abc,)", "x in (,abc)"},
      {"x in (abc,abc)", "x in (abc)"},
      {"x in ()", "x in ()"},
      {"x in (a,,)", "x in (,a)"},
      {"x in (a,,,)", "x in (,a)"},
      {"x in (a,,,,,,)", "x in (,a)"},
      {"x in (a,,a,,a,,a,,)", "x in (,a)"},
      {"x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()"},
      {"x,y in (a)", "x,y in (a)"},
      {"y in (a),x", "x,y in (a)"},
      {"x=a", "x=a"},
      {"x>1", "x>1"},
      {"x<7", "x<7"},
      {"x=a,y!=b", "x=a,y!=b"},
      {"x=a,y!=b,z in (h,i,j)", "x=a,y!=b,z in (h,i,j)"},
      {"x notin ( )", "x notin ()"},
      {"x notin (, a)", "x notin (,a)"},
      {"a ", "a"},
      {"a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"},
      {"in in (in)", "in in (in)"},
      {"notin notin (notin)", "notin notin (notin)"},
      {"x=a,a=x", "a=x,x=a"},
      {"a=x,x=a", "a=x,x=a"},
      {"example.com/app=web , !tier", "example.com/app=web,!tier"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MustParseLabels(c.in).ToString(), c.out) << c.in;
  }
  // Kubernetes' lexer reads a NUL byte as the end of the input.
  EXPECT_EQ(MustParseLabels(std::string("x=a\0garbage(", 12)).ToString(), "x=a");

  LabelSelector s = MustParseLabels("x in (b,a,b),y");
  ASSERT_EQ(s.requirements().size(), 2u);
  EXPECT_EQ(s.requirements()[0], (Requirement{"x", SelectorOp::kIn, {"a", "b"}}));
  EXPECT_EQ(s.requirements()[1], (Requirement{"y", SelectorOp::kExists, {}}));
  EXPECT_EQ(MustParseLabels("!y").requirements()[0].op, SelectorOp::kDoesNotExist);
  EXPECT_EQ(MustParseLabels("y==b").requirements()[0].op, SelectorOp::kDoubleEquals);
  EXPECT_EQ(MustParseLabels("y<3").requirements()[0].op, SelectorOp::kLessThan);
}

TEST(LabelSelectorTest, ParseErrorsAreBadRequestWithKubernetesMessages) {
  const std::string kOps = "in, notin, =, ==, !=, gt, lt";
  struct Case {
    std::string in;
    std::string message;
  } cases[] = {
      {"a b", "unable to parse requirement: found 'b', expected: " + kOps},
      {"a (", "unable to parse requirement: found '(', expected: " + kOps},
      {"x nott in (y)", "unable to parse requirement: found 'nott', expected: " + kOps},
      {"x,,y", "found ',', expected: identifier after ','"},
      {",x,y", "found ',', expected: !, identifier, or 'end of string'"},
      {"(", "found '(', expected: !, identifier, or 'end of string'"},
      {"x==a==b", "found '==', expected: ',' or 'end of string'"},
      {"!x=a", "found '=', expected: ',' or 'end of string'"},
      {"a in (xyz),", "found '', expected: identifier after ','"},
      {"a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'"},
      {"!", "unable to parse requirement: found '', expected: identifier"},
      {"!=a", "found '!=', expected: !, identifier, or 'end of string'"},
      {"!!a", "unable to parse requirement: found '!', expected: identifier"},
      {"x in a", "unable to parse requirement: found 'a' expected: '('"},
      {"x in", "unable to parse requirement: found '' expected: '('"},
      {"x in (a", "unable to parse requirement: found '', expected: ',' or ')'"},
      {"x in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'"},
      {"a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier"},
      {"x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"},
      {"x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"},
      {"x=(", "unable to parse requirement: found '(', expected: identifier"},
      {"x<a",
       "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' "
       "operators, the value must be an integer"},
      {"x>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' "
             "operators, the value must be an integer"},
      {"x=a||y=b",
       "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": " + kValueMsg},
      {"x>-1", "unable to parse requirement: values[0][x]: Invalid value: \"-1\": " + kValueMsg},
      {"x>a-",
       "unable to parse requirement: [values[0]: Invalid value: \"a-\": for 'Gt', 'Lt' "
       "operators, the value must be an integer, values[0][x]: Invalid value: \"a-\": " +
           kValueMsg + "]"},
      {"x in (" + std::string(64, 'v') + ")",
       "unable to parse requirement: values[0][x]: Invalid value: \"" + std::string(64, 'v') +
           "\": must be no more than 63 bytes"},
      {"-bad=x", "unable to parse requirement: <nil>: Invalid value: \"-bad\": " + kKeyNameMsg},
      {"a/b/c", "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a valid label "
                "key must consist of alphanumeric characters, '-', '_' or '.', and must start "
                "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                "'123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
                "prefix and '/' (e.g. 'example.com/MyName')"},
      {"/a", "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be "
             "non-empty"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    Result<LabelSelector> sel = ParseLabelSelector(c.in);
    ASSERT_FALSE(sel.ok()) << sel->ToString();
    EXPECT_EQ(sel.status().reason(), Reason::kBadRequest);
    EXPECT_EQ(sel.status().message(), c.message);
  }
}

TEST(LabelSelectorTest, Matches) {
  struct Case {
    const char* selector;
    Labels labels;
    bool match;
  } cases[] = {
      // Kubernetes' TestSelectorMatches.
      {"", {{"x", "y"}}, true},
      {"x=y", {{"x", "y"}}, true},
      {"x=y,z=w", {{"x", "y"}, {"z", "w"}}, true},
      {"x!=y,z!=w", {{"x", "z"}, {"z", "a"}}, true},
      {"notin=in", {{"notin", "in"}}, true},
      {"x", {{"x", "z"}}, true},
      {"!x", {{"y", "z"}}, true},
      {"x>1", {{"x", "2"}}, true},
      {"x<1", {{"x", "0"}}, true},
      {"x=z", {}, false},
      {"x=y", {{"x", "z"}}, false},
      {"x=y,z=w", {{"x", "w"}, {"z", "w"}}, false},
      {"x!=y,z!=w", {{"x", "z"}, {"z", "w"}}, false},
      {"x", {{"y", "z"}}, false},
      {"!x", {{"x", "z"}}, false},
      {"x>1", {{"x", "0"}}, false},
      {"x<1", {{"x", "2"}}, false},
      {"foo=bar,baz=blah", {{"foo", "bar"}, {"baz", "blah"}}, true},
      {"foo=bar,foobar=bar,baz=blah", {{"foo", "bar"}, {"baz", "blah"}}, false},
      // TestRequirementSelectorMatching.
      {"x notin (),y", {{"y", ""}}, true},
      {"!x,y", {{"y", ""}}, true},
      {"x notin (),!y", {{"y", ""}}, false},
      {"x in ()", {{"y", "baz"}}, false},
      {"x in ()", {{"x", ""}}, true},
      {"z>1", {{"z", "2"}}, true},
      {"z>1", {{"z", "v2"}}, false},
      // More.
      {"x!=y", {}, true},
      {"x notin (a)", {}, true},
      {"x in (a,b)", {{"x", "b"}}, true},
      {"x in (a,b)", {{"x", "c"}}, false},
      {"x=", {{"x", ""}}, true},
      {"x=", {}, false},
      {"x>-5", {{"x", "-4"}}, false},  // "-5" is not a valid label value: see errors
      {"x<10", {{"x", "-4"}}, true},
      {"x<10", {{"x", "+4"}}, true},
      {"x>9", {{"x", "9223372036854775808"}}, false},  // not an int64
      {"x>1", {}, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.selector);
    Result<LabelSelector> sel = ParseLabelSelector(c.selector);
    if (!sel.ok()) {
      // "x>-5" is rejected at parse time, as in Kubernetes.
      EXPECT_STREQ(c.selector, "x>-5");
      continue;
    }
    EXPECT_EQ(sel->Matches(c.labels), c.match);
  }
}

TEST(LabelSelectorTest, EverythingNothingAndSets) {
  LabelSelector everything;
  EXPECT_TRUE(everything.Empty());
  EXPECT_TRUE(everything.Matches({{"x", "y"}}));
  EXPECT_TRUE(everything.Matches({}));
  EXPECT_EQ(everything.ToString(), "");

  LabelSelector nothing = LabelSelector::Nothing();
  EXPECT_FALSE(nothing.Empty());
  EXPECT_TRUE(nothing.IsNothing());
  EXPECT_FALSE(nothing.Matches({}));
  EXPECT_FALSE(nothing.Matches({{"x", "y"}}));
  EXPECT_EQ(nothing.ToString(), "");
  EXPECT_TRUE(nothing.Add({"x", SelectorOp::kExists, {}}).IsNothing());

  EXPECT_TRUE(LabelSelectorFromSet({}).Empty());
  LabelSelector set = LabelSelectorFromSet({{"app", "foo"}, {"a", "b"}});
  EXPECT_EQ(set.ToString(), "a=b,app=foo");
  EXPECT_TRUE(set.Matches({{"app", "foo"}, {"a", "b"}, {"extra", "x"}}));
  EXPECT_FALSE(set.Matches({{"app", "foo"}}));

  LabelSelector added = everything.Add({"key2", SelectorOp::kEquals, {"value2"}})
                            .Add({"key", SelectorOp::kIn, {"value"}});
  EXPECT_EQ(added.ToString(), "key in (value),key2=value2");
  EXPECT_FALSE(added.Empty());
}

TEST(LabelSelectorTest, RequirementToString) {
  // Kubernetes' TestToString.
  EXPECT_EQ(LabelSelector({{"x", SelectorOp::kIn, {"abc", "def"}},
                           {"y", SelectorOp::kNotIn, {"jkl"}},
                           {"z", SelectorOp::kExists, {}}})
                .ToString(),
            "x in (abc,def),y notin (jkl),z");
  EXPECT_EQ(LabelSelector({{"x", SelectorOp::kNotIn, {"abc", "def"}},
                           {"y", SelectorOp::kNotEquals, {"jkl"}},
                           {"z", SelectorOp::kDoesNotExist, {}}})
                .ToString(),
            "x notin (abc,def),y!=jkl,!z");
  EXPECT_EQ(LabelSelector({{"x", SelectorOp::kNotIn, {"abc"}},
                           {"y", SelectorOp::kIn, {"jkl", "mno"}},
                           {"z", SelectorOp::kNotIn, {""}}})
                .ToString(),
            "x notin (abc),y in (jkl,mno),z notin ()");
  EXPECT_EQ(LabelSelector({{"x", SelectorOp::kEquals, {"abc"}},
                           {"y", SelectorOp::kDoubleEquals, {"jkl"}},
                           {"z", SelectorOp::kNotEquals, {"a"}},
                           {"z", SelectorOp::kExists, {}}})
                .ToString(),
            "x=abc,y==jkl,z!=a,z");
  EXPECT_EQ(LabelSelector({{"x", SelectorOp::kGreaterThan, {"2"}},
                           {"y", SelectorOp::kLessThan, {"8"}},
                           {"z", SelectorOp::kExists, {}}})
                .ToString(),
            "x>2,y<8,z");
  // Values print sorted (duplicates kept), the stored order is untouched.
  Requirement r{"k", SelectorOp::kIn, {"b", "a", "b"}};
  EXPECT_EQ(r.ToString(), "k in (a,b,b)");
  EXPECT_EQ(r.values, (std::vector<std::string>{"b", "a", "b"}));
}

TEST(LabelSelectorTest, RequiresExactMatch) {
  struct Case {
    const char* selector;
    const char* label;
    bool found;
    const char* value;
  } cases[] = {
      {"key in (value)", "key", true, "value"},
      {"key=value", "key", true, "value"},
      {"key==value", "key", true, "value"},
      {"key in (a,b)", "key", false, ""},
      {"key notin (value)", "key", false, ""},
      {"key!=value", "key", false, ""},
      {"key", "key", false, ""},
      {"!key", "key", false, ""},
      {"a=1,key=2,z=3", "key", true, "2"},
      {"a=1", "key", false, ""},
      {"key,key=v", "key", false, ""},  // the first requirement on the key decides
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.selector);
    std::string value = "unset";
    EXPECT_EQ(MustParseLabels(c.selector).RequiresExactMatch(c.label, &value), c.found);
    if (c.found) {
      EXPECT_EQ(value, c.value);
    }
  }
}

TEST(LabelSelectorTest, MakeRequirementValidates) {
  // Kubernetes' TestRequirementConstructor, with the full messages.
  struct Case {
    std::string key;
    SelectorOp op;
    std::vector<std::string> values;
    std::string error;  // "" for success
  } cases[] = {
      {"x1", SelectorOp::kIn, {},
       "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"},
      {"x2", SelectorOp::kNotIn, {},
       "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"},
      {"x3", SelectorOp::kIn, {"foo"}, ""},
      {"x4", SelectorOp::kNotIn, {"foo"}, ""},
      {"x5", SelectorOp::kEquals, {"bar", "foo"},
       "values: Invalid value: [\"bar\",\"foo\"]: exact-match compatibility requires one "
       "single value"},
      {"x6", SelectorOp::kExists, {}, ""},
      {"x7", SelectorOp::kDoesNotExist, {}, ""},
      {"x8", SelectorOp::kExists, {"foo"},
       "values: Invalid value: [\"foo\"]: values set must be empty for exists and does not "
       "exist"},
      {"x11", SelectorOp::kGreaterThan, {"1"}, ""},
      {"x12", SelectorOp::kLessThan, {"6"}, ""},
      {"x13", SelectorOp::kGreaterThan, {},
       "values: Invalid value: []: for 'Gt', 'Lt' operators, exactly one value is required"},
      {"x14", SelectorOp::kGreaterThan, {"bar"},
       "values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' operators, the value must be an "
       "integer"},
      {"x15", SelectorOp::kLessThan, {"bar"},
       "values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' operators, the value must be an "
       "integer"},
      {std::string(254, 'a'), SelectorOp::kExists, {},
       "key: Invalid value: \"" + std::string(254, 'a') +
           "\": name part must be no more than 63 bytes"},
      {"x16", SelectorOp::kEquals, {std::string(254, 'a')},
       "values[0][x16]: Invalid value: \"" + std::string(254, 'a') +
           "\": must be no more than 63 bytes"},
      {"x17", SelectorOp::kEquals, {"a b"},
       "values[0][x17]: Invalid value: \"a b\": " + kValueMsg},
      {"-k", SelectorOp::kGreaterThan, {"x"},
       "[key: Invalid value: \"-k\": " + kKeyNameMsg +
           ", values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be "
           "an integer]"},
      {"x18", SelectorOp::kIn, {"<a>"},
       "values[0][x18]: Invalid value: \"<a>\": " + kValueMsg},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    Result<Requirement> r = MakeRequirement(c.key, c.op, c.values);
    if (c.error.empty()) {
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->key, c.key);
      EXPECT_EQ(r->op, c.op);
      EXPECT_EQ(r->values, c.values);
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().reason(), Reason::kInvalid);
      EXPECT_EQ(r.status().message(), c.error);
    }
  }
}

TEST(LabelSelectorTest, FromMatch) {
  Result<LabelSelector> everything = LabelSelectorFromMatch({}, {});
  ASSERT_TRUE(everything.ok());
  EXPECT_TRUE(everything->Empty());

  Result<LabelSelector> s = LabelSelectorFromMatch(
      {{"app", "web"}}, {{"tier", "In", {"fe", "be"}}, {"canary", "DoesNotExist", {}},
                         {"env", "NotIn", {"prod"}}, {"zone", "Exists", {}}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->ToString(), "app=web,!canary,env notin (prod),tier in (be,fe),zone");
  EXPECT_TRUE(s->Matches({{"app", "web"}, {"tier", "fe"}, {"zone", "a"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"tier", "fe"}, {"zone", "a"}, {"canary", "1"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"tier", "fe"}, {"zone", "a"}, {"env", "prod"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"tier", "fe"}}));
  // Expression values are kept as given.
  EXPECT_EQ(s->requirements()[3].values, (std::vector<std::string>{"fe", "be"}));

  struct Case {
    std::map<std::string, std::string> labels;
    std::vector<LabelSelectorRequirement> exprs;
    std::string error;
  } cases[] = {
      {{}, {{"k", "Foo", {}}}, "\"Foo\" is not a valid label selector operator"},
      {{}, {{"k", "in", {"a"}}}, "\"in\" is not a valid label selector operator"},
      {{}, {{"k", "In", {}}},
       "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"},
      {{}, {{"k", "Exists", {"a"}}},
       "values: Invalid value: [\"a\"]: values set must be empty for exists and does not "
       "exist"},
      {{}, {{"-bad", "Exists", {}}}, "key: Invalid value: \"-bad\": " + kKeyNameMsg},
      {{{"app", "-x"}}, {}, "values[0][app]: Invalid value: \"-x\": " + kValueMsg},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.error);
    Result<LabelSelector> bad = LabelSelectorFromMatch(c.labels, c.exprs);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().reason(), Reason::kInvalid);
    EXPECT_EQ(bad.status().message(), c.error);
  }
}

TEST(LabelSelectorTest, FromJson) {
  Result<LabelSelector> null_sel = LabelSelectorFromJson(nullptr);
  ASSERT_TRUE(null_sel.ok());
  EXPECT_TRUE(null_sel->IsNothing());
  EXPECT_FALSE(null_sel->Matches({}));

  Result<LabelSelector> empty = LabelSelectorFromJson(nlohmann::json::object());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->Empty());

  Result<LabelSelector> s = LabelSelectorFromJson(nlohmann::json::parse(R"({
      "matchLabels": {"a": "b"},
      "matchExpressions": [{"key": "c", "operator": "Exists"},
                           {"key": "d", "operator": "In", "values": ["x", "y"]}]})"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->ToString(), "a=b,c,d in (x,y)");

  for (const char* bad : {R"("x")", R"({"matchLabels": {"a": 1}})",
                          R"({"matchLabels": []})", R"({"matchExpressions": {}})",
                          R"({"matchExpressions": [{"key": 1, "operator": "Exists"}]})",
                          R"({"matchExpressions": [{"key": "a", "operator": "In",
                               "values": [1]}]})"}) {
    SCOPED_TRACE(bad);
    Result<LabelSelector> r = LabelSelectorFromJson(nlohmann::json::parse(bad));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().reason(), Reason::kBadRequest);
  }
  Result<LabelSelector> bad_op = LabelSelectorFromJson(
      nlohmann::json::parse(R"({"matchExpressions": [{"key": "a", "operator": "Gt"}]})"));
  ASSERT_FALSE(bad_op.ok());
  EXPECT_EQ(bad_op.status().reason(), Reason::kInvalid);
  EXPECT_EQ(bad_op.status().message(), "\"Gt\" is not a valid label selector operator");
}

TEST(LabelSelectorTest, OpNames) {
  EXPECT_STREQ(SelectorOpName(SelectorOp::kIn), "in");
  EXPECT_STREQ(SelectorOpName(SelectorOp::kDoesNotExist), "!");
  EXPECT_STREQ(SelectorOpName(SelectorOp::kGreaterThan), "gt");
  EXPECT_STREQ(SelectorOpName(SelectorOp::kDoubleEquals), "==");
}

// --- field selectors ---------------------------------------------------------------------

FieldSelector MustParseFields(std::string_view s) {
  Result<FieldSelector> sel = ParseFieldSelector(s);
  EXPECT_TRUE(sel.ok()) << s << ": " << sel.status().ToString();
  return sel.ok() ? *sel : FieldSelector();
}

TEST(FieldSelectorTest, ParseRoundTrip) {
  // Kubernetes' TestSelectorParse good strings.
  for (const char* s : {"x=a,y=b,z=c", "", "x!=a,y=b", "x=a||y\\=b", "x=a\\=\\=b"}) {
    EXPECT_EQ(MustParseFields(s).ToString(), s) << s;
  }
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"x==a", "x=a"},
      {"x=a,a=x", "a=x,x=a"},
      {"a=x,x=a", "a=x,x=a"},
      {"a=b,", "a=b"},
      {",a=b", "a=b"},
      {"=", ""},
      {"=,x=y", "x=y"},
      {"!=", ""},
      // Terms sort by raw text: '2' sorts before '='.
      {"k=\\,,k2=v2", "k2=v2,k=\\,"},
      {"k=\\\\,k2=v2", "k2=v2,k=\\\\"},
      {"k=\\\\\\,,k2=v2", "k2=v2,k=\\\\\\,"},
      {"함=수,목=록", "목=록,함=수"},
      {"spec.nodeName=", "spec.nodeName="},
      {"a!=b==c", "a!=b\\=\\=c"},  // "!=" is found first; "b==c"? see below
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    Result<FieldSelector> sel = ParseFieldSelector(c.in);
    if (std::string_view(c.in) == "a!=b==c") {
      // The value "b==c" holds unescaped '=': rejected, as in Kubernetes.
      ASSERT_FALSE(sel.ok());
      continue;
    }
    ASSERT_TRUE(sel.ok()) << sel.status().ToString();
    EXPECT_EQ(sel->ToString(), c.out);
  }

  FieldSelector spaced = MustParseFields("a = b");  // nothing is trimmed
  ASSERT_EQ(spaced.terms().size(), 1u);
  EXPECT_EQ(spaced.terms()[0], (FieldSelector::Term{"a ", SelectorOp::kEquals, " b"}));

  FieldSelector escaped = MustParseFields("k=\\,,k3=v\\=2\\\\");
  ASSERT_EQ(escaped.terms().size(), 2u);
  EXPECT_EQ(escaped.terms()[0], (FieldSelector::Term{"k3", SelectorOp::kEquals, "v=2\\"}));
  EXPECT_EQ(escaped.terms()[1], (FieldSelector::Term{"k", SelectorOp::kEquals, ","}));
  EXPECT_EQ(MustParseFields("a!=b").terms()[0].op, SelectorOp::kNotEquals);
  EXPECT_TRUE(MustParseFields("").Empty());
  EXPECT_FALSE(MustParseFields("a=b").Empty());
}

TEST(FieldSelectorTest, ParseErrors) {
  struct Case {
    const char* in;
    const char* message;
  } cases[] = {
      {"x=a||y=b", "invalid field selector: unescaped character in value: 61"},
      {"x==a==b", "invalid field selector: unescaped character in value: 61"},
      {"x=a,b", "invalid selector: 'x=a,b'; can't understand 'b'"},
      {"x in (a)", "invalid selector: 'x in (a)'; can't understand 'x in (a)'"},
      {"x in (a,b,c)", "invalid selector: 'x in (a,b,c)'; can't understand 'b'"},
      {"x", "invalid selector: 'x'; can't understand 'x'"},
      {"k=\\a", "invalid field selector: invalid escape sequence: \\a"},
      {"k=\\", "invalid field selector: invalid escape sequence: \\"},
      {"k=\\\\\\", "invalid field selector: invalid escape sequence: \\"},
      {"k=\\함", "invalid field selector: invalid escape sequence: \\함"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    Result<FieldSelector> sel = ParseFieldSelector(c.in);
    ASSERT_FALSE(sel.ok());
    EXPECT_EQ(sel.status().reason(), Reason::kBadRequest);
    EXPECT_EQ(sel.status().message(), c.message);
  }
}

TEST(FieldSelectorTest, EscapeUnescape) {
  // Kubernetes' TestEscapeValue.
  struct Case {
    const char* raw;
    const char* escaped;
  } cases[] = {
      {"", ""}, {"a", "a"}, {"=", "\\="}, {",", "\\,"}, {"\\", "\\\\"},
      {"\\=\\,\\", "\\\\\\=\\\\\\,\\\\"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EscapeFieldSelectorValue(c.raw), c.escaped);
    Result<std::string> back = UnescapeFieldSelectorValue(c.escaped);
    ASSERT_TRUE(back.ok()) << c.escaped;
    EXPECT_EQ(*back, c.raw);
  }
  for (const char* bad : {"\\", "\\\\\\", "\\a", "a,b", "a=b"}) {
    EXPECT_FALSE(UnescapeFieldSelectorValue(bad).ok()) << bad;
  }
}

TEST(FieldSelectorTest, Matches) {
  const std::map<std::string, std::string> fields = {
      {"foo", "bar"}, {"baz", "blah"}, {"complex", "=value\\,\\"}};
  struct Case {
    const char* selector;
    bool match;
  } cases[] = {
      {"", true},
      {"foo=bar", true},
      {"baz=blah", true},
      {"foo=bar,baz=blah", true},
      {"foo=bar,baz=blah,complex=\\=value\\\\\\,\\\\", true},
      {"foo=blah", false},
      {"baz=bar", false},
      {"foo=bar,foobar=bar,baz=blah", false},
      {"missing=", true},  // an absent field compares as ""
      {"missing!=", false},
      {"missing!=x", true},
      {"foo!=bar", false},
      {"foo!=baz", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MustParseFields(c.selector).Matches(fields), c.match) << c.selector;
  }
  int calls = 0;
  auto get = [&calls](const std::string& f) -> std::optional<std::string> {
    ++calls;
    if (f == "spec.nodeName") return "node-1";
    if (f == "status.phase") return "Running";
    return std::nullopt;
  };
  EXPECT_TRUE(MustParseFields("spec.nodeName=node-1,status.phase!=Failed").Matches(get));
  EXPECT_FALSE(MustParseFields("spec.nodeName=node-2").Matches(get));
  EXPECT_TRUE(MustParseFields("metadata.namespace=").Matches(get));
  EXPECT_GT(calls, 0);
}

TEST(FieldSelectorTest, RequiresExactMatch) {
  std::string value = "unset";
  EXPECT_TRUE(MustParseFields("spec.nodeName=n1").RequiresExactMatch("spec.nodeName", &value));
  EXPECT_EQ(value, "n1");
  EXPECT_TRUE(MustParseFields("a=b,spec.nodeName==x").RequiresExactMatch("spec.nodeName",
                                                                          &value));
  EXPECT_EQ(value, "x");
  EXPECT_TRUE(MustParseFields("spec.nodeName=").RequiresExactMatch("spec.nodeName", &value));
  EXPECT_EQ(value, "");
  EXPECT_FALSE(MustParseFields("spec.nodeName!=n1").RequiresExactMatch("spec.nodeName",
                                                                       &value));
  EXPECT_FALSE(MustParseFields("a=b").RequiresExactMatch("spec.nodeName", &value));
  EXPECT_FALSE(FieldSelector().RequiresExactMatch("spec.nodeName", &value));
}

TEST(FieldSelectorTest, BuiltFromTerms) {
  FieldSelector s({{"metadata.name", SelectorOp::kEquals, "a,b"},
                   {"status.phase", SelectorOp::kNotEquals, "Failed"}});
  EXPECT_EQ(s.ToString(), "metadata.name=a\\,b,status.phase!=Failed");
  Result<FieldSelector> reparsed = ParseFieldSelector(s.ToString());
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(reparsed->terms(), s.terms());
}

// Found by fuzz/selector_fuzzer: a byte that only looks like the start of a multi-byte
// UTF-8 sequence used to swallow the next bytes, so an unescaped '=' (or the '\\' of an
// escape) after it went unseen, and the parsed selector printed as text that no longer
// parsed. Bytes that are not valid UTF-8 count one at a time, as in Go.
TEST(FieldSelectorTest, InvalidUtf8DoesNotHideSpecialCharacters) {
  Result<FieldSelector> sel = ParseFieldSelector("tier!=b\xe2\xe2=web");
  ASSERT_FALSE(sel.ok());
  EXPECT_EQ(sel.status().message(), "invalid field selector: unescaped character in value: 61");
  EXPECT_FALSE(UnescapeFieldSelectorValue("\xf0=ab").ok());

  Result<std::string> escaped = UnescapeFieldSelectorValue("\xe2\\,\xff");
  ASSERT_TRUE(escaped.ok()) << escaped.status().ToString();
  EXPECT_EQ(*escaped, "\xe2,\xff");
  Result<std::string> bad_escape = UnescapeFieldSelectorValue("a\\\xff");
  ASSERT_FALSE(bad_escape.ok());
  EXPECT_EQ(bad_escape.status().message(), "invalid field selector: invalid escape sequence: \\\uFFFD");

  // The fuzzer's input, in short: whatever parses prints as a selector that parses back.
  FieldSelector s({{"tier", SelectorOp::kNotEquals, "b\xe2\xe2=web"}});
  Result<FieldSelector> reparsed = ParseFieldSelector(s.ToString());
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();
  EXPECT_EQ(reparsed->terms(), s.terms());
}

}  // namespace
}  // namespace cattle
