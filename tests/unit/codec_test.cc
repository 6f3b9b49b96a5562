// The schema-derived codec: every kind round-trips binary <-> JSON <-> YAML; Kubernetes'
// JSON shapes (maps, numbers, absent vs zero, int-or-string, quantities); clear errors.
#include <capnp/message.h>
#include <gtest/gtest.h>

#include "apps.capnp.h"
#include "cattle/codec.h"
#include "cattle/object.h"
#include "core.capnp.h"

namespace cattle {
namespace {

constexpr uint64_t kQuantityId = 0xe80137377d102458ull;
constexpr uint64_t kRawJsonId = 0xb8b0b8c3c7c4b2a1ull;
constexpr uint64_t kMapId = 0xd8dc9e4c2b0bad7dull;
constexpr uint64_t kIntOrStringId = 0xacd879bb0ccc71e5ull;

template <typename A>
bool Has(A annotations, uint64_t id) {
  for (auto a : annotations)
    if (a.getId() == id) return true;
  return false;
}

// Fills every field of a struct with a distinctive, valid, non-default value.
void Fill(capnp::DynamicStruct::Builder b, int depth, int salt) {
  auto schema = b.getSchema();
  auto proto = schema.getProto();
  if (Has(proto.getAnnotations(), kMapId)) {
    auto entries = b.init("entries", 2).as<capnp::DynamicList>();
    for (int i = 0; i < 2; ++i) {
      auto e = entries[i].as<capnp::DynamicStruct>();
      e.set("key", capnp::Text::Reader(i == 0 ? "app" : "tier.example.com/role"));
      e.set("value", capnp::Text::Reader(i == 0 ? "web" : "front end: 1"));
    }
    return;
  }
  if (Has(proto.getAnnotations(), kIntOrStringId)) {
    if (salt % 2) b.set("int", 8080); else b.set("str", capnp::Text::Reader("25%"));
    return;
  }
  bool union_done = false;
  for (auto field : schema.getFields()) {
    bool in_union = field.getProto().getDiscriminantValue() != capnp::schema::Field::NO_DISCRIMINANT;
    if (in_union) {
      if (union_done) continue;
      union_done = true;
    }
    auto type = field.getType();
    std::string name = field.getProto().getName().cStr();
    bool quantity = Has(field.getProto().getAnnotations(), kQuantityId);
    bool raw = Has(field.getProto().getAnnotations(), kRawJsonId);
    switch (type.which()) {
      case capnp::schema::Type::BOOL:
        b.set(field, true);
        break;
      case capnp::schema::Type::INT8: case capnp::schema::Type::INT16:
      case capnp::schema::Type::INT32: case capnp::schema::Type::INT64:
        b.set(field, static_cast<int64_t>(3 + salt));
        break;
      case capnp::schema::Type::UINT8: case capnp::schema::Type::UINT16:
      case capnp::schema::Type::UINT32: case capnp::schema::Type::UINT64:
        b.set(field, static_cast<uint64_t>(3 + salt));
        break;
      case capnp::schema::Type::FLOAT32: case capnp::schema::Type::FLOAT64:
        b.set(field, 1.5);
        break;
      case capnp::schema::Type::TEXT:
        if (quantity) b.set(field, capnp::Text::Reader("1500m"));
        else if (raw) b.set(field, capnp::Text::Reader("{\"a\":[1,\"two\"]}"));
        else b.set(field, capnp::Text::Reader(("v-" + name).c_str()));
        break;
      case capnp::schema::Type::LIST: {
        if (depth > 9) break;
        auto et = type.asList().getElementType();
        auto list = b.init(field, 2).as<capnp::DynamicList>();
        for (int i = 0; i < 2; ++i) {
          if (et.isStruct()) Fill(list[i].as<capnp::DynamicStruct>(), depth + 1, salt + i);
          else if (et.isText()) list.set(i, capnp::Text::Reader(quantity ? "2Gi" : ("item-" + std::to_string(i)).c_str()));
          else if (et.isBool()) list.set(i, true);
          else list.set(i, static_cast<int64_t>(i + 1));
        }
        break;
      }
      case capnp::schema::Type::STRUCT: {
        if (depth > 9) break;
        auto child = b.init(field).as<capnp::DynamicStruct>();
        if (quantity && Has(type.asStruct().getProto().getAnnotations(), kMapId)) {
          auto entries = child.init("entries", 2).as<capnp::DynamicList>();
          entries[0].as<capnp::DynamicStruct>().set("key", capnp::Text::Reader("cpu"));
          entries[0].as<capnp::DynamicStruct>().set("value", capnp::Text::Reader("500m"));
          entries[1].as<capnp::DynamicStruct>().set("key", capnp::Text::Reader("memory"));
          entries[1].as<capnp::DynamicStruct>().set("value", capnp::Text::Reader("256Mi"));
        } else {
          Fill(child, depth + 1, salt + 1);
        }
        break;
      }
      default:
        break;
    }
  }
}

std::string Canonical(const Object& o) {
  auto words = o.reader().as<capnp::AnyStruct>().canonicalize();
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

TEST(CodecTest, EveryKindRoundTripsBinaryJsonYaml) {
  const auto& kinds = KindRegistry::Default();
  ASSERT_GE(kinds.kinds().size(), 19u);
  for (const auto& kind : kinds.kinds()) {
    SCOPED_TRACE(kind.kind);
    Object obj(&kind);
    Fill(obj.root(), 0, 0);
    obj.root().set("apiVersion", capnp::Text::Reader(kind.ApiVersion().c_str()));
    obj.root().set("kind", capnp::Text::Reader(kind.kind.c_str()));

    auto from_bytes = Object::FromBytes(&kind, obj.ToBytes());
    ASSERT_TRUE(from_bytes.ok()) << from_bytes.status().ToString();
    EXPECT_EQ(Canonical(*from_bytes), Canonical(obj));

    Json json = obj.ToJson();
    auto from_json = Object::FromJson(kinds, json);
    ASSERT_TRUE(from_json.ok()) << from_json.status().ToString();
    EXPECT_EQ(Canonical(*from_json), Canonical(obj)) << json.dump().substr(0, 400);

    auto docs = ParseYamlDocuments(ToYaml(json));
    ASSERT_TRUE(docs.ok()) << docs.status().ToString();
    ASSERT_EQ(docs->size(), 1u);
    EXPECT_EQ((*docs)[0], json) << ToYaml(json).substr(0, 400);
    auto from_yaml = Object::FromJson(kinds, (*docs)[0]);
    ASSERT_TRUE(from_yaml.ok()) << from_yaml.status().ToString();
    EXPECT_EQ(Canonical(*from_yaml), Canonical(obj));
  }
}

constexpr char kWebApp[] = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web-app}
spec:
  replicas: 3
  selector: {matchLabels: {app: web-app}}
  template:
    metadata: {labels: {app: web-app}}
    spec:
      containers:
      - name: web-app
        image: nginx
)";

TEST(CodecTest, DeploymentManifestKeepsItsMeaning) {
  auto docs = ParseManifests(kWebApp);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 1u);
  auto obj = Object::FromJson(KindRegistry::Default(), (*docs)[0]);
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  auto d = obj->get<api::Deployment>();
  EXPECT_EQ(std::string(d.getMetadata().getName().cStr()), "web-app");
  ASSERT_TRUE(d.getSpec().hasReplicas());
  EXPECT_EQ(d.getSpec().getReplicas().getValue(), 3);
  EXPECT_EQ(ToStdMap(d.getSpec().getSelector().getMatchLabels()).at("app"), "web-app");
  EXPECT_EQ(std::string(d.getSpec().getTemplate().getSpec().getContainers()[0].getImage().cStr()), "nginx");
  Json expected = (*docs)[0];
  EXPECT_EQ(obj->ToJson(), expected);
  // Re-encoded JSON re-decodes to the same object.
  auto again = Object::FromJson(KindRegistry::Default(), obj->ToJson());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Canonical(*again), Canonical(*obj));
}

TEST(CodecTest, KubernetesJsonShapes) {
  Json pod = Json::parse(R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"p","labels":{"b":"2","a":"1"},"generation":5,"deletionGracePeriodSeconds":0},
    "spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":80}],
      "livenessProbe":{"httpGet":{"port":"http"}},"readinessProbe":{"tcpSocket":{"port":8080}},
      "resources":{"requests":{"cpu":"0.5","memory":"1.5Gi"},"limits":{"cpu":2}}}],
      "terminationGracePeriodSeconds":0,
      "tolerations":[{"key":"k","operator":"Exists","effect":"NoExecute","tolerationSeconds":0},{"key":"j","operator":"Exists"}]}})");
  auto obj = Object::FromJson(KindRegistry::Default(), pod);
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  Json out = obj->ToJson();
  EXPECT_TRUE(out["metadata"]["labels"].is_object());
  EXPECT_EQ(out["metadata"]["labels"]["a"], "1");
  EXPECT_TRUE(out["metadata"]["generation"].is_number_integer()) << "Int64 must be a JSON number";
  EXPECT_EQ(out["metadata"]["generation"], 5);
  // Absent versus zero.
  EXPECT_EQ(out["metadata"]["deletionGracePeriodSeconds"], 0);
  EXPECT_EQ(out["spec"]["terminationGracePeriodSeconds"], 0);
  EXPECT_EQ(out["spec"]["tolerations"][0]["tolerationSeconds"], 0);
  EXPECT_FALSE(out["spec"]["tolerations"][1].contains("tolerationSeconds"));
  auto p = obj->get<api::Pod>();
  EXPECT_TRUE(p.getSpec().getTolerations()[0].hasTolerationSeconds());
  EXPECT_FALSE(p.getSpec().getTolerations()[1].hasTolerationSeconds());
  // Int-or-string.
  EXPECT_EQ(out["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"], "http");
  EXPECT_EQ(out["spec"]["containers"][0]["readinessProbe"]["tcpSocket"]["port"], 8080);
  // Quantities are canonical strings.
  EXPECT_EQ(out["spec"]["containers"][0]["resources"]["requests"]["cpu"], "500m");
  EXPECT_EQ(out["spec"]["containers"][0]["resources"]["requests"]["memory"], "1536Mi");
  EXPECT_EQ(out["spec"]["containers"][0]["resources"]["limits"]["cpu"], "2");
}

TEST(CodecTest, ReplicasZeroIsNotUnset) {
  auto zero = Object::FromJson(KindRegistry::Default(),
                               Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":0}})"));
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->get<api::Deployment>().getSpec().hasReplicas());
  EXPECT_EQ(zero->ToJson()["spec"]["replicas"], 0);
  auto unset = Object::FromJson(KindRegistry::Default(),
                                Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{}})"));
  ASSERT_TRUE(unset.ok());
  EXPECT_FALSE(unset->get<api::Deployment>().getSpec().hasReplicas());
  EXPECT_FALSE(unset->ToJson()["spec"].contains("replicas"));
}

TEST(CodecTest, ErrorsNameTheField) {
  const auto& kinds = KindRegistry::Default();
  auto wrong_type = Object::FromJson(kinds, Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":"three"}})"));
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_EQ(wrong_type.status().reason(), Reason::kBadRequest);
  EXPECT_NE(wrong_type.status().message().find("spec.replicas"), std::string::npos) << wrong_type.status().message();

  auto unknown = Object::FromJson(kinds, Json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i","imagee":"x"}]}})"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "strict decoding error: unknown field \"spec.containers[0].imagee\"");

  DecodeOptions warn;
  std::vector<std::string> warnings;
  warn.unknown_fields = FieldValidation::kWarn;
  warn.warnings = &warnings;
  auto warned = Object::FromJson(kinds, Json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"bogus":1})"), warn);
  ASSERT_TRUE(warned.ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "unknown field \"bogus\"");

  auto no_kind = Object::FromJson(kinds, Json::parse(R"({"apiVersion":"v1","kind":"Frobnicator","metadata":{"name":"p"}})"));
  ASSERT_FALSE(no_kind.ok());
  EXPECT_EQ(no_kind.status().message(), "no matches for kind \"Frobnicator\" in version \"v1\"");

  auto bad_quantity = Object::FromJson(kinds, Json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"lots"}}}]}})"));
  ASSERT_FALSE(bad_quantity.ok());
  EXPECT_NE(bad_quantity.status().message().find("spec.containers[0].resources.limits.cpu"), std::string::npos)
      << bad_quantity.status().message();

  auto label_number = Object::FromJson(kinds, Json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":1}}})"));
  ASSERT_FALSE(label_number.ok());
  EXPECT_NE(label_number.status().message().find("metadata.labels.a"), std::string::npos);
}

TEST(CodecTest, MalformedText) {
  auto yaml = ParseManifests("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n");
  ASSERT_FALSE(yaml.ok());
  EXPECT_EQ(yaml.status().reason(), Reason::kBadRequest);
  EXPECT_NE(yaml.status().message().find("line"), std::string::npos) << yaml.status().message();

  auto json = ParseManifests("{\"apiVersion\": \"v1\", \"kind\": ");
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().reason(), Reason::kBadRequest);

  std::string deep(100000, '[');
  auto nested = ParseJsonText(deep);
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("nested"), std::string::npos);

  auto deep_yaml = ParseManifests(std::string(50000, '[') + std::string(50000, ']'));
  EXPECT_FALSE(deep_yaml.ok());
}

TEST(CodecTest, MultiDocumentYamlAndLists) {
  auto docs = ParseManifests("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: \"1\", on: 'yes'}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  auto cm = Object::FromJson(KindRegistry::Default(), (*docs)[0]);
  ASSERT_TRUE(cm.ok()) << cm.status().ToString();
  EXPECT_EQ(cm->ToJson()["data"]["k"], "1");

  auto list = ParseManifests(R"({"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}},{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"y"}}]})");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);

  // Plain scalars resolve like YAML 1.2; quoted ones stay strings.
  auto typed = ParseYamlDocuments("a: 1\nb: \"1\"\nc: true\nd: 'true'\ne: 1.5\nf: ~\ng: 0x1f\nh: 1e3\ni: v1.2\n");
  ASSERT_TRUE(typed.ok());
  const Json& t = (*typed)[0];
  EXPECT_EQ(t["a"], 1);
  EXPECT_EQ(t["b"], "1");
  EXPECT_EQ(t["c"], true);
  EXPECT_EQ(t["d"], "true");
  EXPECT_EQ(t["e"], 1.5);
  EXPECT_TRUE(t["f"].is_null());
  EXPECT_EQ(t["g"], 31);
  EXPECT_EQ(t["h"], 1000.0);
  EXPECT_EQ(t["i"], "v1.2");
}

TEST(CodecTest, MalformedBinaryIsAnErrorNotACrash) {
  const KindInfo* pod = KindRegistry::Default().Resolve("pods");
  ASSERT_NE(pod, nullptr);
  std::string garbage(64, '\xff');
  auto r = Object::FromBytes(pod, garbage);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(Object::FromBytes(pod, "short").ok());
  Object obj(pod);
  obj.meta().setName("x");
  std::string bytes = obj.ToBytes();
  for (size_t cut = 8; cut < bytes.size(); cut += 8) {
    auto t = Object::FromBytes(pod, bytes.substr(0, cut));
    (void)t;  // must not crash; may or may not decode
  }
}

TEST(CodecTest, KindNames) {
  const auto& k = KindRegistry::Default();
  for (const char* n : {"po", "pod", "pods", "Pod"}) EXPECT_EQ(k.Resolve(n)->kind, "Pod") << n;
  EXPECT_EQ(k.Resolve("deploy")->kind, "Deployment");
  EXPECT_EQ(k.Resolve("deployments.apps")->kind, "Deployment");
  for (const char* n : {"rs", "svc", "cm", "no", "ns", "sts", "ds", "ep", "pv", "pvc", "pdb", "netpol", "lease"})
    EXPECT_NE(k.Resolve(n), nullptr) << n;
  EXPECT_EQ(k.Resolve("frob"), nullptr);
}

}  // namespace
}  // namespace cattle
