// Tests for RFC 7386 merge patch, RFC 6902 JSON patch and the merge-patch diff. The
// tables include the RFCs' own appendix examples.
#include "cattle/json_patch.h"

#include <gtest/gtest.h>

#include <string>

namespace cattle {
namespace {

using nlohmann::json;

json J(const char* text) { return json::parse(text); }

TEST(MergePatchTest, Rfc7386AppendixA) {
  struct Case {
    const char* target;
    const char* patch;
    const char* result;
  } cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", R"(null)", R"(null)"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
      // More: deep merge keeps siblings, missing keys deleted quietly, scalars replace.
      {R"({"metadata":{"labels":{"a":"1","b":"2"},"name":"x"}})",
       R"({"metadata":{"labels":{"a":null,"c":"3"}}})",
       R"({"metadata":{"labels":{"b":"2","c":"3"},"name":"x"}})"},
      {R"({"a":1})", R"({"zzz":null})", R"({"a":1})"},
      {R"({"a":1})", R"({})", R"({"a":1})"},
      {R"(5)", R"({"a":1})", R"({"a":1})"},
      {R"({"a":{"b":1}})", R"({"a":5})", R"({"a":5})"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.target) + " + " + c.patch);
    EXPECT_EQ(MergePatch(J(c.target), J(c.patch)), J(c.result));
  }
}

TEST(MergePatchTest, InputsAreNotModified) {
  const json target = J(R"({"a":{"b":1}})");
  const json patch = J(R"({"a":{"b":null,"c":2}})");
  json out = MergePatch(target, patch);
  EXPECT_EQ(out, J(R"({"a":{"c":2}})"));
  EXPECT_EQ(target, J(R"({"a":{"b":1}})"));
  EXPECT_EQ(patch, J(R"({"a":{"b":null,"c":2}})"));
}

struct PatchCase {
  const char* name;
  const char* doc;
  const char* patch;
  const char* result;  // nullptr when an error is expected
};

// RFC 6902 Appendix A, plus more.
const PatchCase kPatchCases[] = {
    {"A.1 add object member", R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])",
     R"({"baz":"qux","foo":"bar"})"},
    {"A.2 add array element", R"({"foo":["bar","baz"]})",
     R"([{"op":"add","path":"/foo/1","value":"qux"}])", R"({"foo":["bar","qux","baz"]})"},
    {"A.3 remove object member", R"({"baz":"qux","foo":"bar"})",
     R"([{"op":"remove","path":"/baz"}])", R"({"foo":"bar"})"},
    {"A.4 remove array element", R"({"foo":["bar","qux","baz"]})",
     R"([{"op":"remove","path":"/foo/1"}])", R"({"foo":["bar","baz"]})"},
    {"A.5 replace", R"({"baz":"qux","foo":"bar"})",
     R"([{"op":"replace","path":"/baz","value":"boo"}])", R"({"baz":"boo","foo":"bar"})"},
    {"A.6 move value", R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
     R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
     R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"},
    {"A.7 move array element", R"({"foo":["all","grass","cows","eat"]})",
     R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])",
     R"({"foo":["all","cows","eat","grass"]})"},
    {"A.8 test success", R"({"baz":"qux","foo":["a",2,"c"]})",
     R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
     R"({"baz":"qux","foo":["a",2,"c"]})"},
    {"A.9 test failure", R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])",
     nullptr},
    {"A.10 add nested member", R"({"foo":"bar"})",
     R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
     R"({"foo":"bar","child":{"grandchild":{}}})"},
    {"A.11 ignore unrecognized members", R"({"foo":"bar"})",
     R"([{"op":"add","path":"/baz","value":"qux","xyz":123}])", R"({"foo":"bar","baz":"qux"})"},
    {"A.12 add to nonexistent target", R"({"foo":"bar"})",
     R"([{"op":"add","path":"/baz/bat","value":"qux"}])", nullptr},
    {"A.14 escape ordering", R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])",
     R"({"/":9,"~1":10})"},
    {"A.15 string is not number", R"({"/":9,"~1":10})",
     R"([{"op":"test","path":"/~01","value":"10"}])", nullptr},
    {"A.16 add array value", R"({"foo":["bar"]})",
     R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])",
     R"({"foo":["bar",["abc","def"]]})"},
    // Further cases.
    {"empty patch", R"({"a":1})", R"([])", R"({"a":1})"},
    {"null patch", R"({"a":1})", R"(null)", R"({"a":1})"},
    {"add replaces existing member", R"({"a":1})", R"([{"op":"add","path":"/a","value":2}])",
     R"({"a":2})"},
    {"add at array end index", R"({"a":[1]})", R"([{"op":"add","path":"/a/1","value":2}])",
     R"({"a":[1,2]})"},
    {"add past array end", R"({"a":[1]})", R"([{"op":"add","path":"/a/2","value":2}])", nullptr},
    {"add to root replaces doc", R"({"a":1})", R"([{"op":"add","path":"","value":[1]}])",
     R"([1])"},
    {"add escaped key", R"({})", R"([{"op":"add","path":"/a~1b~0c","value":1}])",
     R"({"a/b~c":1})"},
    {"add empty key", R"({})", R"([{"op":"add","path":"/","value":1}])", R"({"":1})"},
    {"add null value", R"({})", R"([{"op":"add","path":"/a","value":null}])", R"({"a":null})"},
    {"remove missing key", R"({"a":1})", R"([{"op":"remove","path":"/b"}])", nullptr},
    {"remove last array element", R"([1,2,3])", R"([{"op":"remove","path":"/2"}])", R"([1,2])"},
    {"remove with dash", R"([1])", R"([{"op":"remove","path":"/-"}])", nullptr},
    {"remove negative index", R"([1])", R"([{"op":"remove","path":"/-1"}])", nullptr},
    {"remove zero-padded index", R"([1,2])", R"([{"op":"remove","path":"/01"}])", nullptr},
    {"replace missing key", R"({"a":1})", R"([{"op":"replace","path":"/b","value":2}])",
     nullptr},
    {"replace root", R"({"a":1})", R"([{"op":"replace","path":"","value":"x"}])", R"("x")"},
    {"replace array element", R"({"a":[1,2]})",
     R"([{"op":"replace","path":"/a/0","value":{"x":1}}])", R"({"a":[{"x":1},2]})"},
    {"copy", R"({"a":{"b":[1]}})", R"([{"op":"copy","from":"/a/b","path":"/c"}])",
     R"({"a":{"b":[1]},"c":[1]})"},
    {"copy into array", R"({"a":[1,2]})", R"([{"op":"copy","from":"/a/1","path":"/a/0"}])",
     R"({"a":[2,1,2]})"},
    {"copy missing from", R"({"a":1})", R"([{"op":"copy","from":"/x","path":"/c"}])", nullptr},
    {"move to same place", R"({"a":1})", R"([{"op":"move","from":"/a","path":"/a"}])",
     R"({"a":1})"},
    {"move into own child", R"({"a":{"b":1}})",
     R"([{"op":"move","from":"/a","path":"/a/b/c"}])", nullptr},
    {"move to array end", R"({"a":[1,2],"b":3})",
     R"([{"op":"move","from":"/b","path":"/a/-"}])", R"({"a":[1,2,3]})"},
    {"test number equality across int and float", R"({"a":1})",
     R"([{"op":"test","path":"/a","value":1.0}])", R"({"a":1})"},
    {"test object ignores key order", R"({"a":{"x":1,"y":2}})",
     R"([{"op":"test","path":"/a","value":{"y":2,"x":1}}])", R"({"a":{"x":1,"y":2}})"},
    {"test array order matters", R"({"a":[1,2]})", R"([{"op":"test","path":"/a","value":[2,1]}])",
     nullptr},
    {"test root", R"({"a":1})", R"([{"op":"test","path":"","value":{"a":1}}])", R"({"a":1})"},
    {"test missing path", R"({"a":1})", R"([{"op":"test","path":"/b","value":null}])", nullptr},
    {"sequence", R"({"spec":{"replicas":1,"template":{}}})",
     R"([{"op":"test","path":"/spec/replicas","value":1},
         {"op":"replace","path":"/spec/replicas","value":3},
         {"op":"add","path":"/metadata","value":{"labels":{}}},
         {"op":"add","path":"/metadata/labels/app","value":"web"},
         {"op":"remove","path":"/spec/template"}])",
     R"({"spec":{"replicas":3},"metadata":{"labels":{"app":"web"}}})"},
    {"later failure discards earlier ops", R"({"a":1})",
     R"([{"op":"replace","path":"/a","value":2},{"op":"remove","path":"/zzz"}])", nullptr},
};

TEST(JsonPatchTest, Table) {
  for (const PatchCase& c : kPatchCases) {
    SCOPED_TRACE(c.name);
    const json doc = J(c.doc);
    const json before = doc;
    Result<json> out = ApplyJsonPatch(doc, J(c.patch));
    EXPECT_EQ(doc, before);  // never modified
    if (c.result == nullptr) {
      ASSERT_FALSE(out.ok()) << out->dump();
      EXPECT_EQ(out.status().reason(), Reason::kInvalid) << out.status().ToString();
    } else {
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_EQ(*out, J(c.result)) << out->dump();
    }
  }
}

TEST(JsonPatchTest, ErrorMessages) {
  struct Case {
    const char* doc;
    const char* patch;
    const char* message;
  } cases[] = {
      {R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])",
       R"(add operation does not apply: doc is missing path: "/baz/bat": missing value)"},
      {R"({"a":"x"})", R"([{"op":"add","path":"/a/b","value":1}])",
       R"(add operation does not apply: doc is missing path: "/a/b": missing value)"},
      {R"({"a":[1]})", R"([{"op":"add","path":"/a/5","value":2}])",
       "error in add for path: '/a/5': Unable to access invalid index: 5: invalid index "
       "referenced"},
      {R"({"a":[1]})", R"([{"op":"add","path":"/a/x","value":2}])",
       "error in add for path: '/a/x': value was not a proper array index: 'x'"},
      {R"({"a":1})", R"([{"op":"add","path":"/b"}])",
       "add operation failed to decode value: operation, missing value field: missing value"},
      {R"({"a":1})", R"([{"op":"add","value":1}])",
       "add operation failed to decode path: operation missing path field: missing value"},
      {R"({"a":1})", R"([{"op":"add","path":5,"value":1}])",
       "add operation failed to decode path: json: cannot unmarshal number into Go value of "
       "type string"},
      {R"({"a":1})", R"([{"op":"add","path":"a","value":1}])",
       "add operation failed: invalid JSON pointer \"a\": must be empty or begin with '/'"},
      {R"({"a":1})", R"([{"op":"add","path":"/~2","value":1}])",
       "add operation failed: invalid JSON pointer \"/~2\": '~' must be followed by '0' or "
       "'1'"},
      {R"({"a":1})", R"([{"op":"remove","path":"/b"}])",
       "error in remove for path: '/b': Unable to remove nonexistent key: b: missing value"},
      {R"({"a":1})", R"([{"op":"remove","path":"/b/c"}])",
       R"(remove operation does not apply: doc is missing path: "/b/c": missing value)"},
      {R"({"a":[1]})", R"([{"op":"remove","path":"/a/1"}])",
       "error in remove for path: '/a/1': Unable to access invalid index: 1: invalid index "
       "referenced"},
      {R"({"a":1})", R"([{"op":"remove","path":""}])",
       R"(remove operation does not apply: doc is missing path: "": missing value)"},
      {R"({"a":1})", R"([{"op":"replace","path":"/b","value":1}])",
       "replace operation does not apply: doc is missing key: /b: missing value"},
      {R"({"a":1})", R"([{"op":"replace","path":"/b/c","value":1}])",
       "replace operation does not apply: doc is missing path: /b/c: missing value"},
      {R"({"a":1})", R"([{"op":"move","from":"/x","path":"/b"}])",
       "move operation does not apply: doc is missing from path: /x: missing value"},
      {R"({"a":1})", R"([{"op":"move","path":"/b"}])",
       "move operation failed to decode from: operation, missing from field: missing value"},
      {R"({"a":1})", R"([{"op":"move","from":"/a","path":"/x/y"}])",
       "move operation does not apply: doc is missing destination path: /x/y: missing value"},
      {R"({"a":{"b":1}})", R"([{"op":"move","from":"/a","path":"/a/b/c"}])",
       "move operation does not apply: from path /a is a prefix of destination path /a/b/c"},
      {R"({"a":1})", R"([{"op":"copy","from":"/x","path":"/b"}])",
       "copy operation does not apply: doc is missing from path: /x: missing value"},
      {R"({"a":1})", R"([{"op":"copy","from":"/a","path":"/x/y"}])",
       "copy operation does not apply: doc is missing destination path: /x/y: missing value"},
      {R"({"a":[1]})", R"([{"op":"copy","from":"/a/0","path":"/a/7"}])",
       "error while adding value during copy: Unable to access invalid index: 7: invalid index "
       "referenced"},
      {R"({"spec":{"replicas":1}})", R"([{"op":"test","path":"/spec/replicas","value":2}])",
       "testing value /spec/replicas failed: test failed"},
      {R"({"a":1})", R"([{"op":"test","path":"/b","value":1}])",
       "test operation does not apply: is missing path: /b: missing value"},
      {R"({"a":1})", R"([{"op":"test","path":"/a"}])",
       "test operation failed to decode value: operation, missing value field: missing value"},
      {R"({"a":1})", R"([{"op":"frobnicate","path":"/a"}])", "Unexpected kind: frobnicate"},
      {R"({"a":1})", R"([{"path":"/a"}])", "Unexpected kind: unknown"},
      {R"({"a":1})", R"([{"op":7,"path":"/a"}])", "Unexpected kind: unknown"},
      {R"({"a":1})", R"([null])", "Unexpected kind: unknown"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.patch);
    Result<json> out = ApplyJsonPatch(J(c.doc), J(c.patch));
    ASSERT_FALSE(out.ok()) << out->dump();
    EXPECT_EQ(out.status().reason(), Reason::kInvalid);
    EXPECT_EQ(out.status().message(), c.message);
  }
}

TEST(JsonPatchTest, MalformedPatchDocumentIsBadRequest) {
  struct Case {
    const char* patch;
    const char* message;
  } cases[] = {
      {R"({"op":"add"})", "json: cannot unmarshal object into Go value of type jsonpatch.Patch"},
      {R"("x")", "json: cannot unmarshal string into Go value of type jsonpatch.Patch"},
      {R"(1)", "json: cannot unmarshal number into Go value of type jsonpatch.Patch"},
      {R"(true)", "json: cannot unmarshal bool into Go value of type jsonpatch.Patch"},
      {R"([{"op":"add","path":"/a","value":1}, "x"])",
       "json: cannot unmarshal string into Go value of type jsonpatch.Operation"},
      {R"([[1]])", "json: cannot unmarshal array into Go value of type jsonpatch.Operation"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.patch);
    Result<json> out = ApplyJsonPatch(J(R"({})"), J(c.patch));
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().reason(), Reason::kBadRequest);
    EXPECT_EQ(out.status().message(), c.message);
  }
}

TEST(CreateMergePatchTest, Diffs) {
  struct Case {
    const char* original;
    const char* modified;
    const char* patch;
  } cases[] = {
      {R"({"a":1})", R"({"a":1})", R"({})"},
      {R"({"a":1})", R"({"a":2})", R"({"a":2})"},
      {R"({"a":1})", R"({})", R"({"a":null})"},
      {R"({})", R"({"a":{"b":1}})", R"({"a":{"b":1}})"},
      {R"({"a":{"b":1,"c":2}})", R"({"a":{"b":1,"c":3}})", R"({"a":{"c":3}})"},
      {R"({"a":{"b":1,"c":2}})", R"({"a":{"b":1}})", R"({"a":{"c":null}})"},
      {R"({"a":[1,2]})", R"({"a":[1,2,3]})", R"({"a":[1,2,3]})"},
      {R"({"a":{"b":1}})", R"({"a":5})", R"({"a":5})"},
      {R"({"a":5})", R"({"a":{"b":1}})", R"({"a":{"b":1}})"},
      {R"([1])", R"([2])", R"([2])"},
      {R"({"a":1})", R"("x")", R"("x")"},
      {R"({"a":1})", R"(null)", R"(null)"},
      {R"({"metadata":{"labels":{"app":"web"},"resourceVersion":"5"},"spec":{"replicas":1}})",
       R"({"metadata":{"labels":{"app":"web","tier":"fe"},"resourceVersion":"5"},"spec":{}})",
       R"({"metadata":{"labels":{"tier":"fe"}},"spec":{"replicas":null}})"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.original) + " -> " + c.modified);
    const json original = J(c.original), modified = J(c.modified);
    json patch = CreateMergePatch(original, modified);
    EXPECT_EQ(patch, J(c.patch)) << patch.dump();
    EXPECT_EQ(MergePatch(original, patch), modified);
  }
}

TEST(CreateMergePatchTest, RoundTripsThroughMergePatch) {
  const json docs[] = {
      J(R"({})"),
      J(R"({"a":1,"b":{"c":[1,2],"d":"x"}})"),
      J(R"({"a":2,"b":{"c":[1],"e":true}})"),
      J(R"({"b":{"d":{"deep":{"deeper":1}}}})"),
      J(R"({"a":"s","z":[{"k":"v"}]})"),
  };
  for (const json& from : docs) {
    for (const json& to : docs) {
      EXPECT_EQ(MergePatch(from, CreateMergePatch(from, to)), to)
          << from.dump() << " -> " << to.dump();
    }
  }
}

}  // namespace
}  // namespace cattle
