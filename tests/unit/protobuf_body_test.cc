// DecodeKubernetesProtobuf: Kubernetes protobuf request bodies (what client-go's typed clients
// send) turned into Kubernetes JSON. The bytes are built here by hand with a tiny encoder, with
// the field numbers of Kubernetes' generated.proto files.
#include "apiserver/protobuf_body.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "cattle/object.h"

namespace cattle::apiserver {
namespace {

// A protobuf message under construction.
struct Pb {
  std::string bytes;

  void Raw(uint64_t v) {
    while (v >= 0x80) {
      bytes += static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    bytes += static_cast<char>(v);
  }
  void Tag(uint32_t field, uint32_t wire) { Raw((uint64_t{field} << 3) | wire); }
  Pb& Varint(uint32_t field, uint64_t v) {
    Tag(field, 0);
    Raw(v);
    return *this;
  }
  Pb& Int(uint32_t field, int64_t v) { return Varint(field, static_cast<uint64_t>(v)); }
  Pb& Str(uint32_t field, std::string_view v) {
    Tag(field, 2);
    Raw(v.size());
    bytes.append(v);
    return *this;
  }
  Pb& Msg(uint32_t field, const Pb& m) { return Str(field, m.bytes); }
  // map<string, string> / map<string, bytes> entry.
  Pb& Entry(uint32_t field, std::string_view k, std::string_view v) { return Msg(field, Pb().Str(1, k).Str(2, v)); }
  // map<string, Quantity> entry.
  Pb& QtyEntry(uint32_t field, std::string_view k, std::string_view q) {
    return Msg(field, Pb().Str(1, k).Msg(2, Pb().Str(1, q)));
  }
};

Pb IntOrStr(int32_t i) { return Pb().Varint(1, 0).Int(2, i).Str(3, ""); }
Pb IntOrStr(std::string_view s) { return Pb().Varint(1, 1).Int(2, 0).Str(3, s); }

// ObjectMeta as Go's marshaller writes it: every value field, empty ones included.
Pb Meta(std::string_view name, std::string_view ns = "") {
  return Pb()
      .Str(1, name)
      .Str(2, "")
      .Str(3, ns)
      .Str(4, "")
      .Str(5, "")
      .Str(6, "")
      .Varint(7, 0)
      .Msg(8, Pb());  // zero creationTimestamp: an empty message
}

std::string Envelope(std::string_view api_version, std::string_view kind, const Pb& raw) {
  Pb unknown;
  unknown.Msg(1, Pb().Str(1, api_version).Str(2, kind)).Str(2, raw.bytes).Str(3, "").Str(4, "");
  return std::string("k8s\0", 4) + unknown.bytes;
}

Json Decode(const std::string& body) {
  auto r = DecodeKubernetesProtobuf(body);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Json();
}

Status DecodeError(const std::string& body) {
  auto r = DecodeKubernetesProtobuf(body);
  EXPECT_FALSE(r.ok()) << r->dump();
  return r.status();
}

TEST(ProtobufBody, ConfigMap) {
  Pb meta = Meta("cfg", "default");
  meta.Entry(11, "app", "web").Entry(12, "note", "hi").Str(14, "example.com/f");
  Pb cm;
  cm.Msg(1, meta).Entry(2, "a", "1").Entry(2, "b", "").Varint(4, 0);
  Json j = Decode(Envelope("v1", "ConfigMap", cm));
  EXPECT_EQ(j, Json::parse(R"({
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "cfg", "namespace": "default", "labels": {"app": "web"},
                 "annotations": {"note": "hi"}, "finalizers": ["example.com/f"]},
    "data": {"a": "1", "b": ""},
    "immutable": false
  })")) << j.dump();
  auto obj = Object::FromJson(KindRegistry::Default(), j);
  EXPECT_TRUE(obj.ok()) << obj.status().ToString();
}

TEST(ProtobufBody, SecretBytesAreBase64) {
  Pb secret;
  secret.Msg(1, Meta("s")).Entry(2, "p", "x").Entry(2, "bin", std::string("\0\xff\x10", 3)).Entry(2, "e", "");
  secret.Entry(4, "plain", "text").Str(3, "Opaque");
  Json j = Decode(Envelope("v1", "Secret", secret));
  EXPECT_EQ(j, Json::parse(R"({
    "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
    "data": {"p": "eA==", "bin": "AP8Q", "e": ""},
    "stringData": {"plain": "text"}, "type": "Opaque"
  })")) << j.dump();
  EXPECT_TRUE(Object::FromJson(KindRegistry::Default(), j).ok());
}

TEST(ProtobufBody, ConfigMapBinaryData) {
  Pb cm;
  cm.Msg(1, Meta("bin")).Entry(3, "blob", "hello");
  Json j = Decode(Envelope("v1", "ConfigMap", cm));
  EXPECT_EQ(j["binaryData"], Json::parse(R"({"blob": "aGVsbG8="})"));
}

TEST(ProtobufBody, DeploymentWithZeroReplicas) {
  Pb container;
  container.Str(1, "nginx").Str(2, "nginx").Str(5, "").Msg(8, Pb()).Str(13, "").Str(20, "").Str(14, "");
  container.Varint(16, 0).Varint(17, 0).Varint(18, 0);
  container.Msg(6, Pb().Str(1, "").Varint(2, 0).Varint(3, 80).Str(4, "TCP").Str(5, ""));
  container.Msg(7, Pb().Str(1, "MODE").Str(2, "fast"));
  container.Msg(7, Pb().Str(1, "FROM_CM").Str(2, "").Msg(3, Pb().Msg(3, Pb().Msg(1, Pb().Str(1, "cm")).Str(2, "k"))));
  container.Msg(8, Pb().QtyEntry(1, "cpu", "500m").QtyEntry(2, "memory", "64Mi"));
  Pb pod_spec;
  pod_spec.Msg(2, container).Str(3, "Always").Int(4, 30).Str(6, "ClusterFirst").Str(8, "").Str(10, "");
  pod_spec.Varint(11, 0).Str(19, "default-scheduler");
  Pb template_meta = Meta("");
  template_meta.Entry(11, "app", "web");
  Pb spec;
  spec.Varint(1, 0)  // replicas: 0, a pointer field present on the wire
      .Msg(2, Pb().Entry(1, "app", "web"))
      .Msg(3, Pb().Msg(1, template_meta).Msg(2, pod_spec))
      .Msg(4, Pb().Str(1, "RollingUpdate").Msg(2, Pb().Msg(1, IntOrStr("25%")).Msg(2, IntOrStr("25%"))))
      .Varint(5, 0)
      .Int(6, 10)
      .Varint(7, 0)
      .Int(9, 600);
  Pb dep;
  dep.Msg(1, Meta("web", "default")).Msg(2, spec).Msg(3, Pb().Varint(1, 0));  // status: skipped
  Json j = Decode(Envelope("apps/v1", "Deployment", dep));
  EXPECT_EQ(j, Json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
      "replicas": 0,
      "selector": {"matchLabels": {"app": "web"}},
      "template": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {
          "containers": [{
            "name": "nginx", "image": "nginx",
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "env": [{"name": "MODE", "value": "fast"},
                    {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}],
            "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}}
          }],
          "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
          "schedulerName": "default-scheduler"
        }
      },
      "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
      "revisionHistoryLimit": 10,
      "progressDeadlineSeconds": 600
    }
  })")) << j.dump(2);
  auto obj = Object::FromJson(KindRegistry::Default(), j);
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  EXPECT_EQ(obj->ToJson()["spec"]["replicas"], 0);
}

TEST(ProtobufBody, ServicePortsWithIntAndStringTargetPorts) {
  Pb spec;
  spec.Msg(1, Pb().Str(1, "80-8080").Str(2, "TCP").Varint(3, 80).Msg(4, IntOrStr(8080)).Varint(5, 0));
  spec.Msg(1, Pb().Str(1, "https").Str(2, "TCP").Str(6, "https").Varint(3, 443).Msg(4, IntOrStr("web-https")));
  spec.Entry(2, "app", "web").Str(3, "").Str(4, "ClusterIP").Str(7, "").Str(10, "").Str(11, "");
  spec.Varint(12, 0).Varint(13, 0).Str(19, "IPv4").Str(17, "SingleStack").Str(22, "Cluster");
  Pb svc;
  svc.Msg(1, Meta("web")).Msg(2, spec);
  Json j = Decode(Envelope("v1", "Service", svc));
  EXPECT_EQ(j, Json::parse(R"({
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
    "spec": {
      "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080},
                {"name": "https", "protocol": "TCP", "appProtocol": "https", "port": 443,
                 "targetPort": "web-https"}],
      "selector": {"app": "web"}, "type": "ClusterIP", "ipFamilies": ["IPv4"],
      "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"
    }
  })")) << j.dump(2);
  EXPECT_TRUE(Object::FromJson(KindRegistry::Default(), j).ok());
}

TEST(ProtobufBody, PodWithVolumesProbesAndTolerations) {
  Pb spec;
  spec.Msg(1, Pb().Str(1, "cfg").Msg(2, Pb().Msg(19, Pb().Msg(1, Pb().Str(1, "settings")).Int(3, 0644))));
  spec.Msg(1, Pb().Str(1, "scratch").Msg(2, Pb().Msg(2, Pb().Str(1, ""))));
  spec.Msg(1, Pb().Str(1, "data").Msg(2, Pb().Msg(10, Pb().Str(1, "claim").Varint(2, 0))));
  spec.Msg(1, Pb().Str(1, "sec").Msg(2, Pb().Msg(6, Pb().Str(1, "creds"))));
  spec.Msg(2, Pb().Str(1, "app").Str(2, "busybox").Str(3, "sh").Str(3, "-c").Str(4, "sleep 1")
                  .Msg(9, Pb().Str(1, "cfg").Varint(2, 1).Str(3, "/etc/cfg")));
  spec.Msg(20, Pb().Str(1, "init").Str(2, "busybox"));
  spec.Entry(7, "disk", "ssd").Str(8, "builder").Str(10, "node-1");
  spec.Msg(22, Pb().Str(1, "k").Str(2, "Exists").Str(3, "").Str(4, "NoExecute").Int(5, 0));
  spec.Msg(14, Pb().Int(2, 1000).Varint(4, 5).Varint(4, 6).Msg(10, Pb().Str(1, "RuntimeDefault")));
  Pb pod;
  pod.Msg(1, Meta("p1", "default")).Msg(2, spec).Msg(3, Pb().Str(1, "Pending"));
  Json j = Decode(Envelope("v1", "Pod", pod));
  EXPECT_EQ(j["spec"]["volumes"], Json::parse(R"([
    {"name": "cfg", "configMap": {"name": "settings", "defaultMode": 420}},
    {"name": "scratch", "emptyDir": {}},
    {"name": "data", "persistentVolumeClaim": {"claimName": "claim"}},
    {"name": "sec", "secret": {"secretName": "creds"}}
  ])")) << j.dump(2);
  EXPECT_EQ(j["spec"]["containers"][0]["command"], Json::parse(R"(["sh", "-c"])"));
  EXPECT_EQ(j["spec"]["containers"][0]["volumeMounts"],
            Json::parse(R"([{"name": "cfg", "readOnly": true, "mountPath": "/etc/cfg"}])"));
  EXPECT_EQ(j["spec"]["initContainers"][0]["name"], "init");
  EXPECT_EQ(j["spec"]["nodeSelector"], Json::parse(R"({"disk": "ssd"})"));
  EXPECT_EQ(j["spec"]["serviceAccountName"], "builder");
  EXPECT_EQ(j["spec"]["nodeName"], "node-1");
  EXPECT_EQ(j["spec"]["tolerations"],
            Json::parse(R"([{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}])"));
  EXPECT_EQ(j["spec"]["securityContext"],
            Json::parse(R"({"runAsUser": 1000, "supplementalGroups": [5, 6], "seccompProfile": {"type": "RuntimeDefault"}})"));
  EXPECT_FALSE(j.contains("status"));
  EXPECT_TRUE(Object::FromJson(KindRegistry::Default(), j).ok()) << j.dump();

  Pb probe_container;
  probe_container.Str(1, "app").Str(2, "busybox");
  // livenessProbe: the inlined handler {httpGet {path, port "http"}}, periodSeconds 5.
  probe_container.Msg(10, Pb().Msg(1, Pb().Msg(2, Pb().Str(1, "/healthz").Msg(2, IntOrStr("http")))).Varint(4, 5));
  probe_container.Msg(11, Pb().Msg(1, Pb().Msg(3, Pb().Msg(1, IntOrStr(8080)))).Varint(2, 0));
  Pb pod2;
  pod2.Msg(1, Meta("p2")).Msg(2, Pb().Msg(2, probe_container));
  Json j2 = Decode(Envelope("v1", "Pod", pod2));
  EXPECT_EQ(j2["spec"]["containers"][0]["livenessProbe"],
            Json::parse(R"({"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5})"));
  EXPECT_EQ(j2["spec"]["containers"][0]["readinessProbe"], Json::parse(R"({"tcpSocket": {"port": 8080}})"));
}

TEST(ProtobufBody, PodDisruptionBudgetAndEviction) {
  Pb spec;
  spec.Msg(1, IntOrStr(1)).Msg(2, Pb().Entry(1, "app", "web"));
  Pb pdb;
  pdb.Msg(1, Meta("pdb1")).Msg(2, spec);
  Json j = Decode(Envelope("policy/v1", "PodDisruptionBudget", pdb));
  EXPECT_EQ(j["spec"], Json::parse(R"({"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}})"));
  EXPECT_TRUE(Object::FromJson(KindRegistry::Default(), j).ok());

  Pb ev;
  ev.Msg(1, Meta("p1", "default")).Msg(2, Pb().Int(1, 0).Str(5, "All"));
  Json e = Decode(Envelope("policy/v1", "Eviction", ev));
  EXPECT_EQ(e, Json::parse(R"({"apiVersion": "policy/v1", "kind": "Eviction",
    "metadata": {"name": "p1", "namespace": "default"},
    "deleteOptions": {"gracePeriodSeconds": 0, "dryRun": ["All"]}})"));

  Json d = Decode(Envelope("meta.k8s.io/v1", "DeleteOptions", Pb().Str(4, "Foreground")));
  EXPECT_EQ(d["propagationPolicy"], "Foreground");
}

TEST(ProtobufBody, Namespace) {
  Json j = Decode(Envelope("v1", "Namespace", Pb().Msg(1, Meta("team")).Msg(2, Pb()).Msg(3, Pb())));
  EXPECT_EQ(j, Json::parse(R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}, "spec": {}})"));
}

TEST(ProtobufBody, TimesAndNegativeNumbers) {
  Pb meta = Meta("l1", "default");
  meta.bytes.clear();
  meta.Str(1, "l1").Msg(8, Pb().Int(1, 1767323045).Int(2, 999)).Int(10, -1);
  Pb spec;
  spec.Str(1, "holder").Int(2, 15).Msg(3, Pb().Int(1, 1767323045).Int(2, 123456789)).Msg(4, Pb().Int(1, 0));
  spec.Int(5, -2);
  Json j = Decode(Envelope("coordination.k8s.io/v1", "Lease", Pb().Msg(1, meta).Msg(2, spec)));
  EXPECT_EQ(j["metadata"]["creationTimestamp"], "2026-01-02T03:04:05Z");
  EXPECT_EQ(j["metadata"]["deletionGracePeriodSeconds"], -1);
  EXPECT_EQ(j["spec"]["acquireTime"], "2026-01-02T03:04:05.123456Z");
  EXPECT_EQ(j["spec"]["renewTime"], "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(j["spec"]["leaseTransitions"], -2);
  EXPECT_EQ(j["spec"]["leaseDurationSeconds"], 15);

  // Before the epoch, and the ends of the range Go can format.
  auto created = [](int64_t seconds) {
    Pb m;
    m.Msg(8, Pb().Int(1, seconds));
    return DecodeKubernetesProtobuf(Envelope("v1", "ConfigMap", Pb().Msg(1, m)));
  };
  EXPECT_EQ((*created(-1))["metadata"]["creationTimestamp"], "1969-12-31T23:59:59Z");
  EXPECT_EQ((*created(253402300799))["metadata"]["creationTimestamp"], "9999-12-31T23:59:59Z");
  EXPECT_EQ((*created(-62167219200))["metadata"]["creationTimestamp"], "0000-01-01T00:00:00Z");
  EXPECT_EQ(created(253402300800).status().reason(), Reason::kBadRequest);
  EXPECT_EQ(created(INT64_MIN).status().reason(), Reason::kBadRequest);
}

TEST(ProtobufBody, ScaleReplicas) {
  Pb scale;
  scale.Msg(1, Meta("web", "default")).Msg(2, Pb().Varint(1, 3)).Msg(3, Pb().Varint(1, 2).Str(2, "app=web"));
  Json j = Decode(Envelope("autoscaling/v1", "Scale", scale));
  EXPECT_EQ(j["spec"], Json::parse(R"({"replicas": 3})"));
  EXPECT_EQ(j["status"], Json::parse(R"({"replicas": 2, "selector": "app=web"})"));
}

TEST(ProtobufBody, UnknownFieldsAreSkipped) {
  Pb cm;
  cm.Msg(1, Meta("cfg"));
  cm.Varint(99, 12345);            // varint
  cm.Tag(98, 1);                   // fixed64
  cm.bytes.append(8, '\x01');
  cm.Tag(97, 5);                   // fixed32
  cm.bytes.append(4, '\x02');
  cm.Str(96, "whatever");          // length-delimited
  cm.Tag(95, 3);                   // group holding a varint and a nested group
  cm.Varint(1, 1);
  cm.Tag(2, 3);
  cm.Tag(2, 4);
  cm.Tag(95, 4);
  cm.Entry(2, "a", "1");
  Json j = Decode(Envelope("v1", "ConfigMap", cm));
  EXPECT_EQ(j, Json::parse(R"({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                               "data": {"a": "1"}})"));
}

TEST(ProtobufBody, PackedRepeatedVarints) {
  Pb packed;
  packed.Raw(7);
  packed.Raw(static_cast<uint64_t>(int64_t{-3}));
  Pb psc;
  psc.Str(4, packed.bytes);
  Json j = Decode(Envelope("v1", "Pod", Pb().Msg(2, Pb().Msg(14, psc))));
  EXPECT_EQ(j["spec"]["securityContext"]["supplementalGroups"], Json::parse("[7, -3]"));
}

TEST(ProtobufBody, UnknownKindIsUnsupportedMediaType) {
  auto r = DecodeKubernetesProtobuf(Envelope("batch/v1", "Job", Pb().Msg(1, Meta("j"))));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), Reason::kUnsupportedMediaType);
  EXPECT_EQ(r.status().message(), "protobuf bodies are not supported for batch/v1/Job; send application/json");
  // A known kind under another version is not the same layout.
  EXPECT_EQ(DecodeKubernetesProtobuf(Envelope("apps/v1beta1", "Deployment", Pb())).status().reason(),
            Reason::kUnsupportedMediaType);
  // Content encodings are not supported.
  Pb unknown;
  unknown.Msg(1, Pb().Str(1, "v1").Str(2, "ConfigMap")).Str(2, "").Str(3, "gzip");
  EXPECT_EQ(DecodeKubernetesProtobuf(std::string("k8s\0", 4) + unknown.bytes).status().reason(),
            Reason::kUnsupportedMediaType);
}

TEST(ProtobufBody, MalformedBodiesAreBadRequest) {
  auto bad = [](const std::string& body) {
    Status s = DecodeError(body);
    EXPECT_EQ(s.reason(), Reason::kBadRequest) << s.ToString();
    return s.message();
  };
  std::string magic("k8s\0", 4);
  bad("");
  bad("k8s");
  EXPECT_NE(bad("{\"kind\":\"ConfigMap\"}").find("k8s"), std::string::npos);
  bad(std::string("k9s\0", 4) + Pb().Msg(1, Pb().Str(1, "v1").Str(2, "ConfigMap")).bytes);
  bad(magic);                                   // no kind
  bad(magic + "\x0a");                          // typeMeta tag, then no length
  bad(magic + "\x0a\x80");                      // truncated length varint
  bad(magic + "\x0a\xff\xff\xff\xff\x0f");      // length far past the end
  bad(magic + std::string(11, '\xff') + "\x01"); // varint longer than 10 bytes
  bad(magic + "\x07");                          // wire type 7
  bad(magic + "\x02\x00");                      // field number 0

  // Inside the object: truncation, lengths, wire types, UTF-8, IntOrString types.
  Pb huge;
  huge.Tag(1, 2);
  huge.Raw(uint64_t{1} << 40);
  EXPECT_NE(bad(Envelope("v1", "ConfigMap", huge)).find("past the end"), std::string::npos);
  EXPECT_NE(bad(Envelope("v1", "ConfigMap", Pb().Varint(1, 5))).find("metadata"), std::string::npos);
  bad(Envelope("v1", "ConfigMap", Pb().Msg(1, Pb().Str(1, "\xc3\x28"))));        // invalid UTF-8
  bad(Envelope("v1", "ConfigMap", Pb().Msg(1, Pb().Str(1, "\xed\xa0\x80"))));    // a surrogate
  bad(Envelope("v1", "ConfigMap", Pb().Msg(1, Pb().Str(1, "\xc0\x80"))));        // overlong
  bad(Envelope("v1", "ConfigMap", Pb().Entry(2, "k\xff", "v")));
  bad(Envelope("policy/v1", "PodDisruptionBudget", Pb().Msg(2, Pb().Msg(1, Pb().Varint(1, 2)))));
  // An end-group with no start, and a group that never ends.
  Pb stray;
  stray.Tag(50, 4);
  bad(Envelope("v1", "ConfigMap", stray));
  Pb open;
  open.Tag(50, 3);
  open.Varint(1, 1);
  bad(Envelope("v1", "ConfigMap", open));
  Pb mismatched;
  mismatched.Tag(50, 3);
  mismatched.Tag(51, 4);
  bad(Envelope("v1", "ConfigMap", mismatched));
}

TEST(ProtobufBody, DeepNestingIsBadRequest) {
  Pb deep;
  for (int i = 0; i < 100; ++i) deep.Tag(50, 3);
  for (int i = 0; i < 100; ++i) deep.Tag(50, 4);
  std::string msg = DecodeError(Envelope("v1", "ConfigMap", deep)).message();
  EXPECT_NE(msg.find("deeper than 64"), std::string::npos) << msg;

  Pb shallow;
  for (int i = 0; i < 10; ++i) shallow.Tag(50, 3);
  for (int i = 0; i < 10; ++i) shallow.Tag(50, 4);
  EXPECT_TRUE(DecodeKubernetesProtobuf(Envelope("v1", "ConfigMap", shallow)).ok());
}

// Every prefix and many random corruptions of a real-looking body decode or fail cleanly.
TEST(ProtobufBody, NeverCrashesOnCorruptInput) {
  Pb container;
  container.Str(1, "nginx").Str(2, "nginx").Msg(8, Pb().QtyEntry(1, "cpu", "1"));
  container.Msg(10, Pb().Msg(1, Pb().Msg(2, Pb().Str(1, "/").Msg(2, IntOrStr(80)))));
  Pb dep;
  dep.Msg(1, Meta("web", "default"))
      .Msg(2, Pb().Varint(1, 2).Msg(3, Pb().Msg(1, Meta("")).Msg(2, Pb().Msg(2, container).Int(4, 30))));
  std::string body = Envelope("apps/v1", "Deployment", dep);
  ASSERT_TRUE(DecodeKubernetesProtobuf(body).ok());
  for (size_t n = 0; n < body.size(); ++n) {
    auto r = DecodeKubernetesProtobuf(std::string_view(body).substr(0, n));
    if (r.ok()) {
      (void)r->dump();
    } else {
      EXPECT_EQ(r.status().reason(), Reason::kBadRequest) << n;
    }
  }
  std::mt19937 rng(42);
  for (int round = 0; round < 20000; ++round) {
    std::string mutated = body;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) mutated[4 + rng() % (mutated.size() - 4)] = static_cast<char>(rng());
    auto r = DecodeKubernetesProtobuf(mutated);
    if (r.ok()) {
      (void)r->dump();  // valid UTF-8 throughout, or dump would throw
    } else {
      EXPECT_TRUE(r.status().reason() == Reason::kBadRequest ||
                  r.status().reason() == Reason::kUnsupportedMediaType)
          << r.status().ToString();
    }
  }
  for (int round = 0; round < 2000; ++round) {
    std::string junk("k8s\0", 4);
    size_t len = rng() % 64;
    for (size_t i = 0; i < len; ++i) junk += static_cast<char>(rng());
    auto r = DecodeKubernetesProtobuf(junk);
    if (r.ok()) (void)r->dump();
  }
}

}  // namespace
}  // namespace cattle::apiserver
