// Writes the binary seed inputs of the fuzz targets into a corpus folder (fuzz/corpus/):
//   capnp_body/     one per manifest in json_codec/: the kind byte, then the object's bytes;
//   wire_envelope/  requests (create, createMany, list with selectors), responses (an item,
//                   a list, an error) and watch events, carrying those objects;
//   protobuf_body/  Kubernetes protobuf bodies built field by field (ConfigMap, Secret,
//                   Deployment, Pod, Lease, Eviction), with the field numbers of
//                   Kubernetes' generated.proto.
// Usage: cattle_fuzz_seeds <corpus dir>. Rerun after a schema change and commit the
// result; the text seeds are written by hand.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cattle/object.h"
#include "cattle/wire.h"

namespace fs = std::filesystem;
using namespace cattle;

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

// The capnp_body target's kind byte for `kind` (its index: kinds, then body kinds).
char KindByte(const KindInfo* kind) {
  const KindRegistry& kinds = KindRegistry::Default();
  static const char* const kBodies[] = {"Binding", "Scale", "Eviction", "DeleteOptions"};
  for (size_t i = 0; i < kinds.kinds().size(); ++i)
    if (&kinds.kinds()[i] == kind) return static_cast<char>(i);
  for (size_t i = 0; i < std::size(kBodies); ++i)
    if (kinds.BodyKind(kBodies[i]) == kind) return static_cast<char>(kinds.kinds().size() + i);
  return 0;
}

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
  Pb& Str(uint32_t field, std::string_view v) {
    Tag(field, 2);
    Raw(v.size());
    bytes.append(v);
    return *this;
  }
  Pb& Msg(uint32_t field, const Pb& m) { return Str(field, m.bytes); }
  Pb& Entry(uint32_t field, std::string_view k, std::string_view v) {
    return Msg(field, Pb().Str(1, k).Str(2, v));
  }
  Pb& QtyEntry(uint32_t field, std::string_view k, std::string_view q) {
    return Msg(field, Pb().Str(1, k).Msg(2, Pb().Str(1, q)));
  }
};

std::string PbBody(std::string_view api_version, std::string_view kind, const Pb& raw) {
  Pb unknown;
  unknown.Msg(1, Pb().Str(1, api_version).Str(2, kind)).Str(2, raw.bytes).Str(3, "").Str(4, "");
  return std::string("k8s\0", 4) + unknown.bytes;
}

Pb Meta(std::string_view name, std::string_view ns = "") {
  return Pb().Str(1, name).Str(2, "").Str(3, ns).Str(4, "").Str(5, "").Str(6, "").Varint(7, 0).Msg(8, Pb());
}

void ProtobufSeeds(const fs::path& dir) {
  Pb cm;
  cm.Msg(1, Meta("cfg", "default").Entry(11, "app", "web").Entry(12, "note", "hi"))
      .Entry(2, "a", "1")
      .Entry(3, "blob", std::string("\0\x01\xff", 3))
      .Varint(4, 1);
  WriteFile(dir / "configmap.pb", PbBody("v1", "ConfigMap", cm));

  Pb secret;
  secret.Msg(1, Meta("s", "default")).Entry(2, "bin", std::string("\0\xff\x10", 3)).Entry(4, "plain", "text").Str(3, "Opaque");
  WriteFile(dir / "secret.pb", PbBody("v1", "Secret", secret));

  Pb container;
  container.Str(1, "nginx").Str(2, "nginx:1.27").Str(3, "sh").Str(4, "-c");
  container.Msg(6, Pb().Str(1, "http").Varint(3, 80).Str(4, "TCP"));
  container.Msg(7, Pb().Str(1, "MODE").Str(2, "fast"));
  container.Msg(8, Pb().QtyEntry(1, "cpu", "500m").QtyEntry(2, "memory", "64Mi"));
  Pb pod_spec;
  pod_spec.Msg(2, container).Str(3, "Always").Varint(4, 30).Entry(7, "disk", "ssd");
  pod_spec.Msg(22, Pb().Str(1, "k").Str(2, "Exists").Str(4, "NoExecute").Varint(5, 300));
  Pb deploy_spec;
  deploy_spec.Varint(1, 0)
      .Msg(2, Pb().Entry(1, "app", "web"))
      .Msg(3, Pb().Msg(1, Pb().Entry(11, "app", "web")).Msg(2, pod_spec));
  WriteFile(dir / "deployment.pb",
            PbBody("apps/v1", "Deployment", Pb().Msg(1, Meta("web", "default")).Msg(2, deploy_spec)));

  Pb pod;
  pod.Msg(1, Meta("p1", "default")).Msg(2, pod_spec).Msg(3, Pb().Str(1, "Pending"));
  WriteFile(dir / "pod.pb", PbBody("v1", "Pod", pod));

  Pb lease_meta;
  lease_meta.Str(1, "l1").Msg(8, Pb().Varint(1, 1767323045).Varint(2, 999)).Varint(10, static_cast<uint64_t>(-1));
  Pb lease_spec;
  lease_spec.Str(1, "holder").Varint(2, 15).Msg(3, Pb().Varint(1, 1767323045).Varint(2, 123456789));
  WriteFile(dir / "lease.pb", PbBody("coordination.k8s.io/v1", "Lease", Pb().Msg(1, lease_meta).Msg(2, lease_spec)));

  Pb eviction;
  eviction.Msg(1, Meta("p1", "default")).Msg(2, Pb().Varint(1, 0).Str(5, "All"));
  WriteFile(dir / "eviction.pb", PbBody("policy/v1", "Eviction", eviction));
}

void WireSeeds(const fs::path& dir, const std::map<std::string, Object>& objects) {
  auto bytes_of = [&](const char* name) { return objects.at(name).ToBytes(); };
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<wire::Envelope>().initRequest();
    r.setId(1);
    r.setVerb(wire::Verb::CREATE);
    r.setResource("pods");
    r.setNamespace("default");
    r.setFieldValidation("Strict");
    r.setFieldManager("kubectl");
    std::string body = bytes_of("pod");
    r.setBody(wire_util::AsData(body));
    WriteFile(dir / "create_pod.bin", wire_util::Serialize(m));
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<wire::Envelope>().initRequest();
    r.setId(2);
    r.setVerb(wire::Verb::CREATE_MANY);
    r.setResource("configmaps");
    r.setNamespace("kube-system");
    std::string a = bytes_of("configmap"), b = bytes_of("configmap");
    auto list = r.initBodies(2);
    list.set(0, wire_util::AsData(a));
    list.set(1, wire_util::AsData(b));
    WriteFile(dir / "create_many.bin", wire_util::Serialize(m));
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<wire::Envelope>().initRequest();
    r.setId(3);
    r.setVerb(wire::Verb::LIST);
    r.setGroup("apps");
    r.setResource("deployments");
    r.setLabelSelector("app in (web),tier!=db");
    r.setFieldSelector("metadata.name=web");
    r.setResourceVersion("0");
    r.setLimit(500);
    r.setContinue("eyJydiI6MX0=");
    WriteFile(dir / "list.bin", wire_util::Serialize(m));
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<wire::Envelope>().initRequest();
    r.setId(4);
    r.setVerb(wire::Verb::PATCH);
    r.setGroup("apps");
    r.setResource("deployments");
    r.setNamespace("default");
    r.setName("web");
    r.setPatchType("strategic");
    r.setPatch(R"({"spec":{"replicas":3}})");
    r.setGracePeriodSeconds(30);
    r.setHasGracePeriodSeconds(true);
    r.setPreconditionUid("6f1c");
    r.setPropagationPolicy("Foreground");
    r.setDryRun(true);
    WriteFile(dir / "patch.bin", wire_util::Serialize(m));
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<wire::Envelope>().initResponse();
    r.setId(1);
    r.setKind("Deployment");
    std::string body = bytes_of("deployment");
    r.initItem().setObject(wire_util::AsData(body));
    r.getItem().setRevision(17);
    auto items = r.initItems(1);
    items[0].setObject(wire_util::AsData(body));
    items[0].setRevision(18);
    r.setResourceVersion("18");
    r.setRemainingItemCount(3);
    auto w = r.initWarnings(1);
    w.set(0, "unknown field \"spec.foo\"");
    WriteFile(dir / "response.bin", wire_util::Serialize(m));
  }
  {
    capnp::MallocMessageBuilder m;
    auto r = m.initRoot<wire::Envelope>().initResponse();
    r.setId(9);
    Status s = Status::Invalid("Pod \"x\" is invalid");
    s.mutable_causes().push_back({"FieldValueRequired", "Required value", "spec.containers"});
    wire_util::SetStatus(r.initStatus(), s);
    auto results = r.initResults(2);
    results[0].setRevision(5);
    wire_util::SetStatus(results[1].initStatus(), Status::BadRequest("nope"));
    WriteFile(dir / "error_response.bin", wire_util::Serialize(m));
  }
  {
    capnp::MallocMessageBuilder m;
    auto w = m.initRoot<wire::Envelope>().initWatchEvent();
    w.setWatchId(7);
    w.setSeq(1);
    w.setType("MODIFIED");
    std::string body = bytes_of("node");
    w.initItem().setObject(wire_util::AsData(body));
    w.getItem().setRevision(99);
    WriteFile(dir / "watch_event.bin", wire_util::Serialize(m));
  }
  {
    capnp::MallocMessageBuilder m;
    auto w = m.initRoot<wire::Envelope>().initWatchEvent();
    w.setWatchId(7);
    w.setSeq(2);
    w.setType("ERROR");
    wire_util::SetStatus(w.initError(), Status(Reason::kGone, "too old resource version"));
    WriteFile(dir / "watch_error.bin", wire_util::Serialize(m));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: cattle_fuzz_seeds <corpus dir>\n";
    return 2;
  }
  const fs::path corpus = argv[1];
  const KindRegistry& kinds = KindRegistry::Default();
  std::map<std::string, Object> objects;
  for (const auto& entry : fs::directory_iterator(corpus / "json_codec")) {
    std::string text = ReadFile(entry.path());
    size_t nl = text.find('\n');
    std::string name = text.substr(0, nl);
    auto json = ParseJsonText(std::string_view(text).substr(nl + 1));
    if (!json.ok()) continue;
    const KindInfo* expected = nullptr;
    if (!name.empty()) {
      expected = kinds.BodyKind(name);
      for (const auto& k : kinds.kinds())
        if (k.kind == name) expected = &k;
    }
    auto obj = Object::FromJson(kinds, *json, {FieldValidation::kStrict}, expected);
    if (!obj.ok()) {
      std::cerr << entry.path().filename().string() << ": not a seed object: " << obj.status().ToString() << "\n";
      continue;
    }
    std::string stem = entry.path().stem().string();
    WriteFile(corpus / "capnp_body" / (stem + ".bin"), std::string(1, KindByte(obj->kind())) + obj->ToBytes());
    objects.emplace(stem, std::move(*obj));
  }
  for (const char* needed : {"pod", "configmap", "deployment", "node"}) {
    if (!objects.count(needed)) {
      std::cerr << "json_codec/" << needed << ".txt must be a valid object\n";
      return 1;
    }
  }
  WireSeeds(corpus / "wire_envelope", objects);
  ProtobufSeeds(corpus / "protobuf_body");
  std::cout << "wrote " << objects.size() << " capnp_body seeds, the wire_envelope and protobuf_body seeds\n";
  return 0;
}
