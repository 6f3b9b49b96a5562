// Tests for cattle's Kubernetes name/label validation. Good/bad tables follow
// Kubernetes' validation_test.go and content/kube_test.go.
#include "cattle/validation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cattle {
namespace {

const std::string kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. "
    "'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const std::string kLabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
    "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
    "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const std::string k1035Msg =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
    "with an alphabetic character, and end with an alphanumeric character (e.g. "
    "'my-name',  or 'abc-123', regex used for validation is "
    "'[a-z]([-a-z0-9]*[a-z0-9])?')";
const std::string kKeyNameMsg =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
    "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const std::string kValueMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character (e.g. "
    "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

TEST(NameValidationTest, Dns1123Label) {
  for (std::string v : {"a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a",
                        "1-a", "1--a--b--2"}) {
    EXPECT_TRUE(IsDns1123Label(v)) << v;
  }
  EXPECT_TRUE(IsDns1123Label(std::string(63, 'a')));
  for (std::string v : {"", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-",
                        "-1", "_", "a_", "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a",
                        "a.b", "1.", ".1", "1.2", " ", "a ", " a", "a b", "1 ", " 1", "1 2",
                        "a\n"}) {
    EXPECT_FALSE(IsDns1123Label(v)) << v;
  }
  EXPECT_FALSE(IsDns1123Label(std::string(64, 'a')));

  EXPECT_EQ(Dns1123LabelErrors("a.b"), std::vector<std::string>{"must not contain dots"});
  EXPECT_EQ(Dns1123LabelErrors("Foo"), std::vector<std::string>{kLabelMsg});
  EXPECT_EQ(Dns1123LabelErrors(std::string(64, 'a')),
            std::vector<std::string>{"must be no more than 63 characters"});
  std::string why;
  EXPECT_FALSE(IsDns1123Label(std::string(64, 'A'), &why));
  EXPECT_EQ(why, "must be no more than 63 characters; " + kLabelMsg);
}

TEST(NameValidationTest, Dns1123Subdomain) {
  for (std::string v :
       {"a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a",
        "1--a--b--2", "a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a", "a.1", "ab.1",
        "abc.1", "a1.1", "a-1.1", "a--1--2--b.1", "0.a", "01.a", "012.a", "1a.a", "1-a.a",
        "0.1", "01.1", "012.1", "1a.1", "1-a.1", "1--a--b--2.1", "a.b.c.d.e",
        "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55", "example.com"}) {
    EXPECT_TRUE(IsDns1123Subdomain(v)) << v;
  }
  EXPECT_TRUE(IsDns1123Subdomain(std::string(253, 'a')));
  for (std::string v :
       {"", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_",
        "_a", "a_b", "1_", "_1", "1_2", ".", "a.", ".a", "a..b", "1.", ".1", "1..2", " ",
        "a ", " a", "a b", "1 ", " 1", "1 2", "A.a", "aB.a", "ab.A", "A1.a", "a1.A", "A.1",
        "aB.1", "A1.1", "1A.1", "0.A", "01.A", "012.A", "1A.a", "1a.A", "A.B.C.D.E",
        "AA.BB.CC.DD.EE", "a.B.c.d.e", "aa.bB.cc.dd.ee", "a@b", "a,b", "a;b", "a:b", "a%b",
        "a?b", "a$b", "a.-b", "a-.b"}) {
    EXPECT_FALSE(IsDns1123Subdomain(v)) << v;
  }
  EXPECT_FALSE(IsDns1123Subdomain(std::string(254, 'a')));

  std::string why;
  EXPECT_FALSE(IsDns1123Subdomain("Foo", &why));
  EXPECT_EQ(why, kSubdomainMsg);
  EXPECT_EQ(Dns1123SubdomainErrors(std::string(254, 'a')),
            std::vector<std::string>{"must be no more than 253 characters"});
  why = "untouched";
  EXPECT_TRUE(IsDns1123Subdomain("ok.example", &why));
  EXPECT_EQ(why, "untouched");
}

TEST(NameValidationTest, Dns1035Label) {
  for (std::string v : {"a", "ab", "abc", "a1", "a-1", "a--1--2--b"}) {
    EXPECT_TRUE(IsDns1035Label(v)) << v;
  }
  for (std::string v : {"0", "01", "1a", "", "A", "a-", "-a", "a.b", "a_b"}) {
    EXPECT_FALSE(IsDns1035Label(v)) << v;
  }
  EXPECT_EQ(Dns1035LabelErrors("1a"), std::vector<std::string>{k1035Msg});
}

TEST(NameValidationTest, QualifiedName) {
  for (std::string v : {"simple", "now-with-dashes", "1-starts-with-num", "1234",
                        "simple/simple", "now-with-dashes/simple",
                        "now-with-dashes/now-with-dashes", "now.with.dots/simple",
                        "now-with.dashes-and.dots/simple", "1-num.2-num/3-num", "1234/5678",
                        "1.2.3.4/5678", "Uppercase_Is_OK_123",
                        "example.com/Uppercase_Is_OK_123", "requests.storage-foo",
                        "app.kubernetes.io/name"}) {
    EXPECT_TRUE(IsQualifiedName(v)) << v;
  }
  EXPECT_TRUE(IsQualifiedName(std::string(63, 'a')));
  EXPECT_TRUE(IsQualifiedName(std::string(253, 'a') + "/" + std::string(63, 'b')));
  for (std::string v : {"nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-",
                        "only/one/slash", "Example.com/abc", "example_com/abc",
                        "example.com/", "/simple", "", "a b"}) {
    EXPECT_FALSE(IsQualifiedName(v)) << v;
  }
  EXPECT_FALSE(IsQualifiedName(std::string(64, 'a')));
  EXPECT_FALSE(IsQualifiedName(std::string(254, 'a') + "/abc"));

  // Exact messages.
  EXPECT_EQ(QualifiedNameErrors("-x"), std::vector<std::string>{kKeyNameMsg});
  EXPECT_EQ(QualifiedNameErrors(""),
            (std::vector<std::string>{"name part must be non-empty", kKeyNameMsg}));
  EXPECT_EQ(QualifiedNameErrors("/simple"),
            std::vector<std::string>{"prefix part must be non-empty"});
  EXPECT_EQ(QualifiedNameErrors("Example.com/abc"),
            std::vector<std::string>{"prefix part " + kSubdomainMsg});
  EXPECT_EQ(QualifiedNameErrors(std::string(64, 'a')),
            std::vector<std::string>{"name part must be no more than 63 bytes"});
  EXPECT_EQ(QualifiedNameErrors(std::string(254, 'a') + "/abc"),
            std::vector<std::string>{"prefix part must be no more than 253 bytes"});
  EXPECT_EQ(
      QualifiedNameErrors("only/one/slash"),
      std::vector<std::string>{
          "a valid label key must consist of alphanumeric characters, '-', '_' or '.', and "
          "must start and end with an alphanumeric character (e.g. 'MyName',  or "
          "'my.name',  or '123-abc', regex used for validation is "
          "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain "
          "prefix and '/' (e.g. 'example.com/MyName')"});
}

TEST(NameValidationTest, LabelValue) {
  for (std::string v :
       {"simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "",
        "a", "A_b.c-D"}) {
    EXPECT_TRUE(IsValidLabelValue(v)) << v;
  }
  EXPECT_TRUE(IsValidLabelValue(std::string(63, 'a')));
  for (std::string v : {"nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun",
                        "\\backslashes\\are\\bad", "-starts-with-dash", "ends-with-dash-",
                        ".starts.with.dot", "ends.with.dot.", "a b", "a/b"}) {
    EXPECT_FALSE(IsValidLabelValue(v)) << v;
  }
  EXPECT_EQ(LabelValueErrors("-a"), std::vector<std::string>{kValueMsg});
  std::string why;
  EXPECT_FALSE(IsValidLabelValue(std::string(64, 'a'), &why));
  EXPECT_EQ(why, "must be no more than 63 bytes");
  EXPECT_FALSE(IsValidLabelValue("-" + std::string(64, 'a'), &why));
  EXPECT_EQ(why, "must be no more than 63 bytes; " + kValueMsg);
}

TEST(NameValidationTest, PathSegmentName) {
  EXPECT_EQ(PathSegmentNameErrors("."), std::vector<std::string>{"may not be '.'"});
  EXPECT_EQ(PathSegmentNameErrors(".."), std::vector<std::string>{"may not be '..'"});
  EXPECT_EQ(PathSegmentNameErrors("a/b%c"),
            (std::vector<std::string>{"may not contain '/'", "may not contain '%'"}));
  EXPECT_TRUE(PathSegmentNameErrors("...").empty());
  EXPECT_TRUE(PathSegmentNameErrors("").empty());
  EXPECT_TRUE(PathSegmentNameErrors("foo").empty());
}

TEST(NameValidationTest, GoQuote) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"", "\"\""},
      {"abc", "\"abc\""},
      {"a\"b", "\"a\\\"b\""},
      {"a\\b", "\"a\\\\b\""},
      {"tab\there", "\"tab\\there\""},
      {"nl\n", "\"nl\\n\""},
      {std::string("nul\0x", 5), "\"nul\\x00x\""},
      {"\x7f", "\"\\x7f\""},
      {"\xff", "\"\\xff\""},            // invalid UTF-8
      {"\xc3\x28", "\"\\xc3(\""},       // truncated sequence
      {"rā", "\"rā\""},                  // printable UTF-8 passes through
      {"\xc2\xa0", "\"\\u00a0\""},       // no-break space is not printable in Go
      {"\xe2\x80\x8b", "\"\\u200b\""},   // zero-width space
      {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},
  };
  for (const Case& c : cases) EXPECT_EQ(GoQuote(c.in), c.out) << c.in;
}

TEST(NameValidationTest, JoinMessages) {
  EXPECT_EQ(JoinMessages({}, "; "), "");
  EXPECT_EQ(JoinMessages({"a"}, "; "), "a");
  EXPECT_EQ(JoinMessages({"a", "b", "c"}, ", "), "a, b, c");
}

}  // namespace
}  // namespace cattle
