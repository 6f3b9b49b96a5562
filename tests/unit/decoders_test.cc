// Decoders of outside bytes validate before anything trusts them: the UTF-8 validator;
// Cap'n Proto objects with corrupted Text pointers; ill-formed UTF-8 in JSON, YAML and
// Cap'n Proto; YAML alias bombs refused fast; JSON output that never throws.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstring>

#include "cattle/codec.h"
#include "cattle/object.h"
#include "cattle/utf8.h"
#include "core.capnp.h"
#include "testutil/corrupt.h"
#include "testutil/hostile_bodies.h"
#include "wire.capnp.h"

namespace cattle {
namespace {

using testutil::AliasBomb;
using testutil::CorruptText;
using testutil::TextCorruption;

// --- UTF-8 ----------------------------------------------------------------------------

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(ValidUtf8(""));
  EXPECT_TRUE(ValidUtf8("plain ascii"));
  EXPECT_TRUE(ValidUtf8(std::string("nul\0inside", 10)));
  EXPECT_TRUE(ValidUtf8("\xC2\x80"));              // U+0080, the smallest two-byte sequence
  EXPECT_TRUE(ValidUtf8("caf\xC3\xA9"));           // é
  EXPECT_TRUE(ValidUtf8("\xE0\xA0\x80"));          // U+0800
  EXPECT_TRUE(ValidUtf8("\xED\x9F\xBF"));          // U+D7FF, just below the surrogates
  EXPECT_TRUE(ValidUtf8("\xEE\x80\x80"));          // U+E000, just above them
  EXPECT_TRUE(ValidUtf8("\xEF\xBF\xBD"));          // U+FFFD
  EXPECT_TRUE(ValidUtf8("\xF0\x90\x80\x80"));      // U+10000
  EXPECT_TRUE(ValidUtf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF, the largest
  EXPECT_TRUE(ValidUtf8("\xE6\x97\xA5\xE6\x9C\xAC"));
}

TEST(Utf8Test, RefusesOverlongSurrogatesTooLargeAndTruncated) {
  for (const char* bad : {
           "\xFF", "\xFE", "\xFF\xFE",        // never in UTF-8
           "\x80", "a\xBF",                   // a continuation byte alone
           "\xC0\x80", "\xC1\xBF",            // overlong two-byte (NUL, U+007F)
           "\xE0\x80\x80", "\xE0\x9F\xBF",    // overlong three-byte
           "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF",  // overlong four-byte
           "\xED\xA0\x80", "\xED\xBF\xBF",    // surrogates U+D800, U+DFFF
           "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xF7\xBF\xBF\xBF",  // above U+10FFFF
           "\xF8\x88\x80\x80\x80",            // five-byte forms
           "\xC3", "\xE2\x82", "\xF0\x9F\x98",  // truncated
           "\xC3(", "\xE2\x28\xA1",           // a bad continuation
       }) {
    EXPECT_FALSE(ValidUtf8(bad)) << testing::PrintToString(std::string(bad));
  }
}

TEST(Utf8Test, FirstInvalidAndSanitize) {
  EXPECT_EQ(FirstInvalidUtf8("abc"), std::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("ab\xFF" "c"), 2u);
  EXPECT_EQ(FirstInvalidUtf8("\xC3\xA9\xC3"), 2u);
  EXPECT_EQ(SanitizeUtf8("ok"), "ok");
  EXPECT_EQ(SanitizeUtf8("a\xFF\xFE" "b"), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  EXPECT_EQ(SanitizeUtf8("caf\xC3\xA9\xED\xA0\x80"), "caf\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(ValidUtf8(SanitizeUtf8("\xF0\x9F\x98")));
}

// --- Cap'n Proto objects --------------------------------------------------------------

const KindInfo* ConfigMaps() { return KindRegistry::Default().ByGroupResource("", "configmaps"); }

std::string ConfigMapBytes(const std::string& name, const std::string& value) {
  Object cm(ConfigMaps());
  cm.meta().setName(name);
  cm.meta().setNamespace("default");
  SetStringMap(cm.as<api::ConfigMap>().initData(), {{"greeting", value}});
  return cm.ToBytes();
}

TEST(CapnpDecodeTest, CorruptedTextIsRefusedWhenDecodedNotWhenFirstRead) {
  std::string good = ConfigMapBytes("zzmarkerzz", "hello");
  ASSERT_TRUE(Object::FromBytes(ConfigMaps(), good).ok());
  for (auto how : {TextCorruption::kMissingNul, TextCorruption::kNotAList, TextCorruption::kNotByteSized}) {
    std::string bad = CorruptText(good, "zzmarkerzz", how);
    ASSERT_FALSE(bad.empty());
    auto obj = Object::FromBytes(ConfigMaps(), bad);
    ASSERT_FALSE(obj.ok()) << "corruption " << static_cast<int>(how) << " accepted; reading the name would throw";
    EXPECT_TRUE(obj.status().Is(Reason::kBadRequest)) << obj.status().ToString();
    EXPECT_NE(obj.status().message().find("metadata.name"), std::string::npos) << obj.status().message();
    ASSERT_EQ(obj.status().causes().size(), 1u);
    EXPECT_EQ(obj.status().causes()[0].field, "metadata.name");
  }
  // Inside a map value too.
  std::string in_map = CorruptText(ConfigMapBytes("a", "zzvaluezz"), "zzvaluezz", TextCorruption::kMissingNul);
  auto obj = Object::FromBytes(ConfigMaps(), in_map);
  ASSERT_FALSE(obj.ok());
  EXPECT_NE(obj.status().message().find("data[greeting]"), std::string::npos) << obj.status().message();
}

TEST(CapnpDecodeTest, IllFormedUtf8InAnyTextIsRefusedWithItsPath) {
  auto value = Object::FromBytes(ConfigMaps(), ConfigMapBytes("a", "\xFF\xFE"));
  ASSERT_FALSE(value.ok());
  EXPECT_TRUE(value.status().Is(Reason::kBadRequest));
  EXPECT_NE(value.status().message().find("field \"data[greeting]\": string is not valid UTF-8"), std::string::npos)
      << value.status().message();
  auto name = Object::FromBytes(ConfigMaps(), ConfigMapBytes("caf\xC3", "x"));
  ASSERT_FALSE(name.ok());
  EXPECT_NE(name.status().message().find("metadata.name"), std::string::npos) << name.status().message();
  // Deep inside a pod: a container's image.
  const KindInfo* pods = KindRegistry::Default().ByGroupResource("", "pods");
  Object pod(pods);
  pod.meta().setName("p");
  auto containers = pod.as<api::Pod>().initSpec().initContainers(2);
  containers[0].setName("ok");
  containers[1].setName("c");
  containers[1].setImage("nginx\xED\xA0\x80");
  auto p = Object::FromBytes(pods, pod.ToBytes());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("spec.containers[1].image"), std::string::npos) << p.status().message();
  // Well-formed multi-byte text is fine.
  EXPECT_TRUE(Object::FromBytes(ConfigMaps(), ConfigMapBytes("a", "caf\xC3\xA9 \xF0\x9F\x90\x84")).ok());
}

TEST(CapnpDecodeTest, EnvelopesAreValidatedTheSameWay) {
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<wire::Envelope>().initRequest();
  req.setResource("configmaps");
  req.setNamespace("zznszz");
  auto reader = msg.getRoot<wire::Envelope>().asReader();
  EXPECT_TRUE(ValidateCapnp(capnp::toDynamic(reader)).ok());
  req.setNamespace("\xC0\xAF");
  Status s = ValidateCapnp(capnp::toDynamic(msg.getRoot<wire::Envelope>().asReader()));
  EXPECT_TRUE(s.Is(Reason::kBadRequest));
  EXPECT_NE(s.message().find("namespace"), std::string::npos) << s.message();
}

TEST(CapnpDecodeTest, PointerAmplificationIsBoundedByTheTraversalLimit) {
  // 2000 finalizers whose pointers all aim at one 8000-byte Text: 30 KB on the wire, 16 MB
  // when read or copied. The traversal limit (a few times the message) refuses it.
  Object cm(ConfigMaps());
  cm.meta().setName("amp");
  SetStringMap(cm.as<api::ConfigMap>().initData(), {{"big", std::string(7999, 'v')}});
  auto fin = cm.meta().initFinalizers(2000);
  for (uint32_t i = 0; i < 2000; ++i) fin.set(i, "q");
  std::string flat = cm.ToBytes();
  ASSERT_TRUE(Object::FromBytes(ConfigMaps(), flat).ok());
  auto word = [&](size_t i) {
    uint64_t w;
    memcpy(&w, flat.data() + 8 * i, 8);
    return w;
  };
  auto is_text = [](uint64_t w, uint64_t bytes) { return (w & 3) == 1 && ((w >> 32) & 7) == 2 && (w >> 35) == bytes; };
  int64_t big = -1;
  for (size_t i = 1; i < flat.size() / 8; ++i)
    if (is_text(word(i), 8000)) big = static_cast<int64_t>(i) + 1 + (static_cast<int32_t>(word(i) & 0xffffffff) >> 2);
  ASSERT_GT(big, 0);
  int aimed = 0;
  for (size_t i = 1; i < flat.size() / 8; ++i) {
    if (!is_text(word(i), 2)) continue;
    int64_t offset = big - static_cast<int64_t>(i) - 1;
    uint64_t w = (static_cast<uint64_t>(static_cast<uint32_t>(offset << 2))) | 1 | (uint64_t{2} << 32) | (uint64_t{8000} << 35);
    memcpy(flat.data() + 8 * i, &w, 8);
    ++aimed;
  }
  ASSERT_EQ(aimed, 2000);
  auto obj = Object::FromBytes(ConfigMaps(), flat);
  ASSERT_FALSE(obj.ok()) << "read 2000 copies of one Text from " << flat.size() << " bytes";
  EXPECT_TRUE(obj.status().Is(Reason::kBadRequest));
}

// --- JSON -----------------------------------------------------------------------------

TEST(JsonDecodeTest, IllFormedUtf8IsABadRequestNamingTheField) {
  auto r = ParseJsonText("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{\"greeting\":\"\xFF\xFE\"}}");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().Is(Reason::kBadRequest));
  EXPECT_NE(r.status().message().find("field \"data.greeting\": string is not valid UTF-8"), std::string::npos)
      << r.status().message();
  EXPECT_TRUE(ValidUtf8(r.status().message()));
  auto in_list = ParseJsonText("{\"a\":[1,{\"b\":[\"x\",\"y\",\"\xED\xA0\x80\"]}]}");
  ASSERT_FALSE(in_list.ok());
  EXPECT_NE(in_list.status().message().find("\"a[1].b[2]\""), std::string::npos) << in_list.status().message();
  auto key = ParseJsonText("{\"a\":{\"k\xC0\x80\":1}}");
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("a key of field \"a\""), std::string::npos) << key.status().message();
  // Escapes of real characters are fine; lone surrogate escapes are not JSON.
  EXPECT_TRUE(ParseJsonText("{\"a\":\"caf\\u00e9 \\ud83d\\udc04\"}").ok());
  EXPECT_FALSE(ParseJsonText("{\"a\":\"\\ud800\"}").ok());
}

TEST(JsonDecodeTest, FromJsonRefusesIllFormedStringsAndKeysWithTheKind) {
  Json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "a"}}},
             {"data", {{"greeting", "\xFF\xFE"}}}};
  auto obj = Object::FromJson(KindRegistry::Default(), cm);
  ASSERT_FALSE(obj.ok());
  EXPECT_TRUE(obj.status().Is(Reason::kBadRequest));
  EXPECT_EQ(obj.status().message(),
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: field \"data.greeting\": string is not "
            "valid UTF-8");
  ASSERT_EQ(obj.status().causes().size(), 1u);
  EXPECT_EQ(obj.status().causes()[0].field, "data.greeting");
  // An unknown field's key, an annotation, a raw-JSON field: all refused, none throws.
  Json unknown = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "a"}}}, {"x\xFF", 1}};
  EXPECT_FALSE(Object::FromJson(KindRegistry::Default(), unknown).ok());
  Json kind_bad = {{"apiVersion", "v1"}, {"kind", "Config\xFFMap"}};
  auto k = Object::FromJson(KindRegistry::Default(), kind_bad);
  ASSERT_FALSE(k.ok());
  EXPECT_TRUE(ValidUtf8(k.status().message()));
  // Non-string apiVersion/kind: a BadRequest, not a nlohmann type_error.
  Json numeric = {{"apiVersion", 1}, {"kind", true}};
  EXPECT_FALSE(Object::FromJson(KindRegistry::Default(), numeric).ok());
}

TEST(JsonDecodeTest, NumbersBeyondADoubleAreABadRequestNotAnException) {
  for (const char* text : {"5e5555", "{\"a\": -1e400}", "[1, 2e9999]"}) {
    EXPECT_NO_THROW({
      auto j = ParseJsonText(text);
      ASSERT_FALSE(j.ok()) << text;
      EXPECT_EQ(j.status().reason(), Reason::kBadRequest) << text;
    }) << text;
  }
}

TEST(JsonDecodeTest, DumpJsonNeverThrows) {
  Json j = {{"a", "\xFF\xFE ok"}};
  EXPECT_THROW((void)j.dump(), Json::type_error);
  std::string out;
  EXPECT_NO_THROW(out = DumpJson(j));
  EXPECT_EQ(out, "{\"a\":\"\xEF\xBF\xBD\xEF\xBF\xBD ok\"}");
  EXPECT_NO_THROW(out = DumpJson(j, 4));
  EXPECT_NE(out.find("\n    \"a\""), std::string::npos);
}

// --- YAML -----------------------------------------------------------------------------

long MaxRssKb() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

TEST(YamlDecodeTest, AliasBombsAreRefusedFastWithoutBuildingThem) {
  // Seven levels first: the unbounded converter survives that one (9^7 nodes, hundreds of MB).
  for (int levels : {7, 9, 12}) {
    std::string bomb = AliasBomb(levels);
    long rss_before = MaxRssKb();
    auto start = std::chrono::steady_clock::now();
    auto docs = ParseYamlDocuments(bomb);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(docs.ok()) << levels << " levels (" << bomb.size() << " bytes) expanded";
    EXPECT_TRUE(docs.status().Is(Reason::kBadRequest));
    EXPECT_NE(docs.status().message().find("aliases expand"), std::string::npos) << docs.status().message();
    EXPECT_LT(took, std::chrono::milliseconds(100)) << levels << " levels";
    EXPECT_LT(MaxRssKb() - rss_before, 10 * 1024) << levels << " levels: peak RSS grew";
    // The same through ParseManifests (cattle apply) and as an apply patch would.
    EXPECT_FALSE(ParseManifests(bomb).ok());
  }
  EXPECT_EQ(AliasBomb(9).size() < 700, true);
}

TEST(YamlDecodeTest, LimitsCountExpansionsAndBytes) {
  std::string four = AliasBomb(4);  // 9 + 81 + 729 expansions
  EXPECT_TRUE(ParseYamlDocuments(four).ok());
  YamlLimits few;
  few.max_alias_expansions = 100;
  auto r = ParseYamlDocuments(four, few);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("more than 100 times"), std::string::npos) << r.status().message();
  YamlLimits small;
  small.max_alias_bytes = 4096;
  r = ParseYamlDocuments(four, small);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("more than 4096 bytes"), std::string::npos) << r.status().message();
}

// yaml-cpp 0.7 reports an empty document at a ',' outside a flow collection without moving
// on; the parse must end with an error instead of looping and allocating forever.
TEST(YamlDecodeTest, ADocumentThatStartsWhereTheLastStartedIsAnErrorNotAnEndlessLoop) {
  for (const char* text : {",", "{},", "\"x\",", "[1],", "- a\n,", "a: 1\n---\n,"}) {
    auto start = std::chrono::steady_clock::now();
    auto docs = ParseYamlDocuments(text);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1)) << text;
    ASSERT_FALSE(docs.ok()) << text;
    EXPECT_EQ(docs.status().reason(), Reason::kBadRequest) << text;
    EXPECT_NE(docs.status().message().find("yaml: line "), std::string::npos) << docs.status().message();
  }
  auto two = ParseYamlDocuments("a: 1\n---\nb: 2\n");
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(two->size(), 2u);
}

TEST(YamlDecodeTest, OrdinaryAnchorsStillWork) {
  auto docs = ParseYamlDocuments(
      "base: &base {image: nginx, env: [{name: A, value: \"1\"}]}\n"
      "one: *base\n"
      "list: [*base, *base]\n"
      "key: &k name\n"
      "m: {*k : v}\n"
      "n: &n 3\n"
      "o: *n\n");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  const Json& d = (*docs)[0];
  EXPECT_EQ(d["one"], d["base"]);
  EXPECT_EQ(d["list"][1]["env"][0]["value"], "1");
  EXPECT_EQ(d["m"]["name"], "v");
  EXPECT_EQ(d["o"], 3);
  // Anchors are per document.
  EXPECT_FALSE(ParseYamlDocuments("a: &x 1\n---\nb: *x\n").ok());
  // A non-scalar key is still an error naming its line.
  auto bad = ParseYamlDocuments("a: 1\n[x]: 2\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("mapping keys must be scalars"), std::string::npos);
}

TEST(YamlDecodeTest, IllFormedUtf8IsRefusedWithTheFieldPath) {
  auto docs = ParseYamlDocuments("apiVersion: v1\nkind: ConfigMap\ndata:\n  greeting: \"\xFF\xFE\"\n");
  ASSERT_FALSE(docs.ok()) << "ill-formed UTF-8 reached the JSON";
  EXPECT_TRUE(docs.status().Is(Reason::kBadRequest));
  EXPECT_NE(docs.status().message().find("field \"data.greeting\": string is not valid UTF-8"), std::string::npos)
      << docs.status().message();
  EXPECT_NE(docs.status().message().find("line 4"), std::string::npos) << docs.status().message();
  EXPECT_TRUE(ValidUtf8(docs.status().message()));
  auto plain = ParseYamlDocuments("items:\n- a\n- b\xC0\x80\n");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("\"items[1]\""), std::string::npos) << plain.status().message();
  auto key = ParseYamlDocuments("m:\n  k\xFF: 1\n");
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("a key of field \"m\""), std::string::npos) << key.status().message();
  EXPECT_TRUE(ParseYamlDocuments("greeting: caf\xC3\xA9\n").ok());
}

}  // namespace
}  // namespace cattle
