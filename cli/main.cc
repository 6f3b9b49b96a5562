// cattle: start, inspect and drive a local cluster. main() dispatches subcommands.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <kj/exception.h>
#include <sstream>

#include "cattle/client.h"
#include "cattle/kubelet_auth.h"
#include "cattle/log.h"
#include "cattle/printers.h"
#include "cattle/utf8.h"
#include "cli/cluster.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace cattle;
using cattle::cli::Cluster;
using cattle::cli::Component;

namespace {

constexpr char kUsage[] = R"(cattle: a Kubernetes cluster emulator in which every component is its own process.

Cluster:
  cattle up [--nodes N] [--dir DIR] [--port P] [--time-scale X]   start a local cluster
  cattle down [--dir DIR]                       stop every component (data is kept)
  cattle status [--dir DIR]                     components, pids, health
  cattle kill COMPONENT [--dir DIR]             SIGKILL one component (e.g. apiserver), wait until it has exited
  cattle start COMPONENT [--dir DIR]            start it again with the same flags and data

Objects:
  cattle apply -f FILE                          create or update (YAML or JSON, multi-document; - for stdin)
  cattle get KIND [NAME] [-n NS | -A] [-l SELECTOR] [-o json|yaml|wide|name]
  cattle delete KIND NAME [-n NS] [--grace-period S]
  cattle watch KIND [NAME] [-n NS | -A] [-l SELECTOR] [-o json]

KIND is a plural, singular or short name (po, deploy, rs, svc, cm, no, ns, sts, ds, ep, pv, pvc, pdb, netpol, lease).
The apiserver is found through --server, $CATTLE_SERVER, or DIR/cluster.json (DIR: --dir, $CATTLE_DIR, .cattle).
Run `cattle COMMAND --help` for a command's flags.
)";

std::string DefaultDir() {
  const char* env = getenv("CATTLE_DIR");
  return env && *env ? env : ".cattle";
}

struct Common {
  std::string dir;
  std::string server;
};

void AddCommon(po::options_description& d, Common& c) {
  d.add_options()
      ("dir", po::value(&c.dir)->default_value(DefaultDir()), "cluster directory (logs, pids, data)")
      ("server", po::value(&c.server), "apiserver endpoint (default: from the cluster directory)")
      ("help,h", "print this help");
}

// Parses a subcommand's flags; returns -1 to go on, else an exit code.
int Parse(const std::string& cmd, int argc, char** argv, po::options_description& desc,
          po::positional_options_description* pos, po::variables_map& vm) {
  try {
    auto parser = po::command_line_parser(argc, argv).options(desc);
    if (pos) parser.positional(*pos);
    po::store(parser.run(), vm);
    if (vm.count("help")) {
      std::cout << "cattle " << cmd << "\n" << desc;
      return 0;
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\nRun `cattle " << cmd << " --help`.\n";
    return 2;
  }
  return -1;
}

std::string Endpoint(const Common& c) {
  if (!c.server.empty()) return c.server;
  if (const char* env = getenv("CATTLE_SERVER"); env && *env) return env;
  Cluster cluster(c.dir);
  if (cluster.Load().ok() && !cluster.config().apiserver_endpoint.empty())
    return cluster.config().apiserver_endpoint;
  return "tcp://127.0.0.1:7400";
}

std::unique_ptr<Client> Connect(const Common& c) {
  ClientOptions o;
  o.endpoint = Endpoint(c);
  o.request_timeout = std::chrono::seconds(10);
  return std::make_unique<Client>(o);
}

int Fail(const Status& s) {
  std::cerr << "Error from server (" << ReasonName(s.reason()) << "): " << s.message() << "\n";
  return 1;
}

std::string Resource(const KindInfo& k) {
  return k.group.empty() ? k.singular : k.singular + "." + k.group;
}

// --- cluster commands ----------------------------------------------------------------

// The hints `cattle up` ends with: every line runs as printed, from any directory, on the
// cluster just started (absolute paths; the example manifest only when it is there).
void PrintNextSteps(std::ostream& out, const Cluster& cluster, const cli::ClusterConfig& cfg) {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  fs::path dir = fs::absolute(cluster.dir(), ec).lexically_normal();
  if (!exe.empty()) out << "  export PATH=" << exe.parent_path().string() << ":$PATH\n";
  out << "  export CATTLE_DIR=" << dir.string() << "\n";
  if (!cfg.http_server.empty())
    out << "  export KUBECONFIG=" << (dir / "kubeconfig").string() << "\n  kubectl get nodes\n";
  // build/bin/cattle -> the checkout's examples/.
  fs::path example = exe.empty() ? fs::path() : exe.parent_path().parent_path().parent_path() / "examples/web-app.yaml";
  bool have_example = !example.empty() && fs::exists(example, ec);
  if (have_example) {
    out << "  cattle apply -f " << example.lexically_normal().string() << "\n";
    out << "  cattle get pods -o wide\n";
  }
  out << "  cattle status\n";
  bool have_nodes = false;
  for (const auto& comp : cfg.components) have_nodes = have_nodes || comp.name.rfind("kubelet/", 0) == 0;
  if (have_nodes)
    out << "  cattle kill kubelet/node-1     # a node failure: NotReady after the node-monitor grace period\n"
        << "  cattle start kubelet/node-1\n";
  out << "  cattle kill apiserver && cattle start apiserver\n  cattle down\n";
}

int Up(int argc, char** argv) {
  po::options_description desc("Options");
  Common c;
  int nodes = 3, port = 7400, http_port = 0;
  double time_scale = 1;
  AddCommon(desc, c);
  desc.add_options()
      ("nodes", po::value(&nodes)->default_value(3), "kubelets to run (once kubelets exist)")
      ("port", po::value(&port)->default_value(7400), "the apiserver's ZeroMQ port on 127.0.0.1")
      ("http-port", po::value(&http_port)->default_value(0), "the apiserver's Kubernetes HTTP port (kubectl); default --port + 1")
      ("time-scale", po::value(&time_scale)->default_value(1), "divide every Kubernetes duration by this");
  po::variables_map vm;
  if (int rc = Parse("up", argc, argv, desc, nullptr, vm); rc >= 0) return rc;
  if (http_port == 0) http_port = port + 1;
  if (nodes < 0 || time_scale <= 0 || port <= 0 || port > 65535 || http_port <= 0 || http_port > 65535) {
    std::cerr << "error: --nodes must be >= 0, --time-scale > 0, --port and --http-port in 1..65535\n";
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  Cluster cluster(c.dir);
  Status loaded = cluster.Load();
  auto& cfg = cluster.config();
  // The apiserver and the kubelets share a random secret, made once per cluster directory
  // (never overwritten).
  const std::string token = cluster.KubeletTokenPath();
  if (Status s = kubelet_auth::WriteNewTokenFile(token); !s.ok() && !s.Is(Reason::kAlreadyExists)) return Fail(s);
  if (auto t = kubelet_auth::ReadTokenFile(token); !t.ok()) return Fail(t.status());
  if (loaded.ok()) {
    // A cluster made before the token: its apiserver and kubelets take it from their next start.
    bool changed = false;
    for (auto& comp : cfg.components) {
      bool wants = comp.name == "apiserver" || comp.name.rfind("kubelet/", 0) == 0;
      if (!wants || std::find(comp.argv.begin(), comp.argv.end(), "--kubelet-auth-token-file") != comp.argv.end())
        continue;
      comp.argv.insert(comp.argv.end(), {"--kubelet-auth-token-file", token});
      changed = true;
    }
    if (changed) {
      if (Status s = cluster.Save(); !s.ok()) return Fail(s);
    }
  }
  if (!loaded.ok()) {
    // A new cluster: plan its components from the binaries that exist.
    std::string bin = cli::BinDir();
    std::string ts = std::to_string(time_scale);
    cfg.apiserver_endpoint = "tcp://127.0.0.1:" + std::to_string(port);
    cfg.time_scale = time_scale;
    cfg.nodes = nodes;
    cfg.components.push_back({"apiserver",
                              {bin + "/cattle-apiserver", "--data-dir", cluster.dir() + "/apiserver-data",
                               "--zmq-endpoint", cfg.apiserver_endpoint, "--http-port", std::to_string(http_port),
                               "--time-scale", ts, "--kubelet-auth-token-file", token},
                              "apiserver"});
    for (const char* name : {"scheduler", "controller-manager"}) {
      std::string path = bin + "/cattle-" + name;
      if (access(path.c_str(), X_OK) == 0)
        cfg.components.push_back({name, {path, "--server", cfg.apiserver_endpoint, "--time-scale", ts}, ""});
    }
    std::string kubelet = bin + "/cattle-kubelet";
    if (access(kubelet.c_str(), X_OK) == 0) {
      for (int i = 1; i <= nodes; ++i) {
        std::string node = "node-" + std::to_string(i);
        cfg.components.push_back({"kubelet/" + node,
                                  {kubelet, "--server", cfg.apiserver_endpoint, "--node-name", node, "--time-scale", ts,
                                   "--kubelet-auth-token-file", token},
                                  "node:" + node});
      }
    }
    cfg.http_server = "http://127.0.0.1:" + std::to_string(http_port);
    if (Status s = cluster.Save(); !s.ok()) return Fail(s);
  }
  if (Status s = cluster.WriteKubeconfig(); !s.ok()) return Fail(s);
  for (const auto& comp : cfg.components) {
    bool was = cluster.Alive(comp.name);
    Status s = cluster.Start(comp, std::chrono::seconds(30));
    if (!s.ok()) {
      std::cerr << "error: " << s.message() << "\n";
      return 1;
    }
    if (was) std::cout << comp.name << " already running (pid " << cluster.Pid(comp.name) << ")\n";
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "cluster up in " << cluster.dir() << " (" << std::fixed;
  std::cout.precision(2);
  std::cout << secs << " s)\n";
  for (const auto& comp : cfg.components)
    std::cout << "  " << comp.name << "  pid " << cluster.Pid(comp.name) << "  log " << cluster.LogPath(comp.name) << "\n";
  std::cout << "apiserver: " << cfg.apiserver_endpoint;
  if (!cfg.http_server.empty()) std::cout << " (ZeroMQ), " << cfg.http_server << " (HTTP, for kubectl)";
  std::cout << "\n\nNext:\n";
  PrintNextSteps(std::cout, cluster, cfg);
  return 0;
}

int Down(int argc, char** argv) {
  po::options_description desc("Options");
  Common c;
  AddCommon(desc, c);
  po::variables_map vm;
  if (int rc = Parse("down", argc, argv, desc, nullptr, vm); rc >= 0) return rc;
  Cluster cluster(c.dir);
  if (Status s = cluster.Load(); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return 1;
  }
  auto comps = cluster.config().components;
  for (auto it = comps.rbegin(); it != comps.rend(); ++it) {
    bool was = cluster.Alive(it->name);
    (void)cluster.Stop(it->name, std::chrono::seconds(10));
    if (was) std::cout << it->name << " stopped\n";
  }
  std::cout << "cluster down (data kept in " << cluster.dir() << ")\n";
  return 0;
}

int StatusCmd(int argc, char** argv) {
  po::options_description desc("Options");
  Common c;
  AddCommon(desc, c);
  po::variables_map vm;
  if (int rc = Parse("status", argc, argv, desc, nullptr, vm); rc >= 0) return rc;
  Cluster cluster(c.dir);
  if (Status s = cluster.Load(); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return 1;
  }
  Table t;
  t.columns = {{"Component", "string", "name"}, {"Pid", "integer"}, {"Alive", "string"},
               {"Health", "string"}, {"Endpoint", "string"}};
  bool all_ok = true;
  for (const auto& comp : cluster.config().components) {
    bool alive = cluster.Alive(comp.name);
    std::string health = alive ? "ok" : "-";
    std::string endpoint = "-";
    if (comp.health.rfind("node:", 0) == 0) {
      ClientOptions o;
      o.endpoint = cluster.config().apiserver_endpoint;
      o.request_timeout = std::chrono::seconds(2);
      o.connect_timeout = std::chrono::seconds(1);
      Client client(o);
      health = "node Ready=" + cli::NodeReady(client, comp.health.substr(5));
    }
    if (comp.health == "apiserver") {
      endpoint = cluster.config().apiserver_endpoint;
      if (alive) {
        ClientOptions o;
        o.endpoint = endpoint;
        Client client(o);
        auto h = client.Health(std::chrono::seconds(2));
        health = h.ok() ? "healthy (revision " + std::to_string(*h) + ")" : "unhealthy: " + h.status().message();
      }
    }
    all_ok &= alive;
    t.rows.push_back({{comp.name, alive ? cluster.Pid(comp.name) : 0, alive ? "yes" : "no", health, endpoint}});
  }
  std::cout << RenderTable(t, true, nullptr, nullptr);
  return all_ok ? 0 : 3;
}

int KillOrStart(const std::string& cmd, int argc, char** argv) {
  po::options_description desc("Options");
  Common c;
  std::string name;
  AddCommon(desc, c);
  desc.add_options()("component", po::value(&name)->required(), "apiserver, scheduler, controller-manager, kubelet/node-N");
  po::positional_options_description pos;
  pos.add("component", 1);
  po::variables_map vm;
  if (int rc = Parse(cmd, argc, argv, desc, &pos, vm); rc >= 0) return rc;
  Cluster cluster(c.dir);
  if (Status s = cluster.Load(); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return 1;
  }
  const Component* comp = cluster.Find(name);
  if (comp == nullptr) {
    std::cerr << "error: no component \"" << name << "\"; components:";
    for (const auto& x : cluster.config().components) std::cerr << " " << x.name;
    std::cerr << "\n";
    return 1;
  }
  if (cmd == "kill") {
    int pid = cluster.Pid(name);
    Status s = cluster.Kill(name);
    if (!s.ok()) {
      std::cerr << "error: " << s.message() << "\n";
      return 1;
    }
    std::cout << name << " killed (SIGKILL, pid " << pid << ")\n";
    return 0;
  }
  Status s = cluster.Start(*comp, std::chrono::seconds(30));
  if (!s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return 1;
  }
  std::cout << name << " running (pid " << cluster.Pid(name) << ")\n";
  return 0;
}

// --- object commands -----------------------------------------------------------------

Result<std::string> ReadInput(const std::string& file) {
  std::stringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(file);
    if (!in) return Status::NotFound("the path \"" + file + "\" does not exist");
    ss << in.rdbuf();
  }
  return ss.str();
}

int Apply(int argc, char** argv) {
  po::options_description desc("Options");
  Common c;
  std::vector<std::string> files;
  std::string ns;
  AddCommon(desc, c);
  desc.add_options()
      ("filename,f", po::value(&files)->required(), "manifest file (YAML or JSON; - for stdin); repeatable")
      ("namespace,n", po::value(&ns), "namespace for objects that name none");
  po::variables_map vm;
  if (int rc = Parse("apply", argc, argv, desc, nullptr, vm); rc >= 0) return rc;
  auto client = Connect(c);
  int rc = 0;
  for (const auto& file : files) {
    auto text = ReadInput(file);
    if (!text.ok()) {
      std::cerr << "error: " << text.status().message() << "\n";
      rc = 1;
      continue;
    }
    auto docs = ParseManifests(*text);
    if (!docs.ok()) {
      std::cerr << "error: error parsing " << file << ": " << docs.status().message() << "\n";
      rc = 1;
      continue;
    }
    for (size_t i = 0; i < docs->size(); ++i) {
      auto obj = Object::FromJson(client->kinds(), (*docs)[i]);
      if (!obj.ok()) {
        std::cerr << "error: " << file << ": document " << i + 1 << ": " << obj.status().message() << "\n";
        rc = 1;
        continue;
      }
      if (obj->kind()->namespaced && obj->namespace_().empty())
        obj->meta().setNamespace(ns.empty() ? "default" : ns);
      std::string what = Resource(*obj->kind()) + "/" + obj->name();
      auto created = client->Create(*obj);
      if (created.ok()) {
        std::cout << what << " created\n";
        continue;
      }
      if (!created.status().Is(Reason::kAlreadyExists)) {
        std::cerr << "Error from server (" << ReasonName(created.status().reason()) << "): error when applying \""
                  << file << "\" (document " << i + 1 << "): " << created.status().message() << "\n";
        rc = 1;
        continue;
      }
      Status last;
      for (int attempt = 0; attempt < 5; ++attempt) {
        auto current = client->Get(obj->kind(), obj->namespace_(), obj->name());
        if (!current.ok()) {
          last = current.status();
          break;
        }
        // A merge patch of the manifest: fields that other writers own (a controller's
        // annotations, status) are kept, and an unchanged manifest changes nothing.
        Json patch = obj->ToJson();
        patch["metadata"]["resourceVersion"] = std::to_string(current->resource_version());
        auto updated = client->Patch(obj->kind(), obj->namespace_(), obj->name(), "merge", DumpJson(patch));
        if (updated.ok()) {
          std::cout << what << (updated->resource_version() == current->resource_version() ? " unchanged\n" : " configured\n");
          last = Status::Ok();
          break;
        }
        last = updated.status();
        if (!last.Is(Reason::kConflict)) break;
      }
      if (!last.ok()) {
        std::cerr << "Error from server (" << ReasonName(last.reason()) << "): error when applying \"" << file
                  << "\" (document " << i + 1 << "): " << last.message() << "\n";
        rc = 1;
      }
    }
  }
  return rc;
}

struct GetFlags {
  Common c;
  std::string kind, name, ns, selector, field_selector, output;
  bool all_namespaces = false;
};

int Get(int argc, char** argv) {
  po::options_description desc("Options");
  GetFlags f;
  AddCommon(desc, f.c);
  desc.add_options()
      ("kind", po::value(&f.kind)->required(), "kind")
      ("name", po::value(&f.name), "object name")
      ("namespace,n", po::value(&f.ns)->default_value("default"), "namespace")
      ("all-namespaces,A", po::bool_switch(&f.all_namespaces), "every namespace")
      ("selector,l", po::value(&f.selector), "label selector")
      ("field-selector", po::value(&f.field_selector), "field selector")
      ("output,o", po::value(&f.output), "json, yaml, wide or name");
  po::positional_options_description pos;
  pos.add("kind", 1).add("name", 1);
  po::variables_map vm;
  if (int rc = Parse("get", argc, argv, desc, &pos, vm); rc >= 0) return rc;
  if (!f.output.empty() && f.output != "json" && f.output != "yaml" && f.output != "wide" && f.output != "name") {
    std::cerr << "error: unable to match a printer suitable for the output format \"" << f.output
              << "\", allowed formats are: json,name,wide,yaml\n";
    return 2;
  }
  const KindInfo* kind = KindRegistry::Default().Resolve(f.kind);
  if (kind == nullptr) {
    std::cerr << "error: the server doesn't have a resource type \"" << f.kind << "\"\n";
    return 1;
  }
  auto client = Connect(f.c);
  std::string ns = kind->namespaced && !f.all_namespaces ? f.ns : "";
  std::vector<Object> objects;
  if (!f.name.empty()) {
    auto obj = client->Get(kind, ns, f.name);
    if (!obj.ok()) return Fail(obj.status());
    objects.push_back(std::move(*obj));
  } else {
    ListOptions lo;
    lo.label_selector = f.selector;
    lo.field_selector = f.field_selector;
    lo.limit = 500;
    while (true) {
      auto list = client->List(kind, ns, lo);
      if (!list.ok()) return Fail(list.status());
      for (auto& o : list->items) objects.push_back(std::move(o));
      if (list->continue_token.empty()) break;
      lo.continue_token = list->continue_token;
    }
  }
  if (f.output == "json" || f.output == "yaml") {
    Json out;
    if (!f.name.empty()) {
      out = objects[0].ToJson();
    } else {
      out = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", Json::array()}, {"metadata", {{"resourceVersion", ""}}}};
      for (const auto& o : objects) out["items"].push_back(o.ToJson());
    }
    std::cout << (f.output == "json" ? DumpJson(out, 4) + "\n" : ToYaml(out));
    return 0;
  }
  if (f.output == "name") {
    for (const auto& o : objects) std::cout << Resource(*kind) << "/" << o.name() << "\n";
    return 0;
  }
  if (objects.empty()) {
    if (ns.empty()) std::cerr << "No resources found\n";
    else std::cerr << "No resources found in " << ns << " namespace.\n";
    return 0;
  }
  std::vector<const Object*> ptrs;
  std::vector<std::string> namespaces;
  for (const auto& o : objects) {
    ptrs.push_back(&o);
    namespaces.push_back(o.namespace_());
  }
  Table t = MakeTable(*kind, ptrs, RealClock::Get()->WallNanos());
  std::cout << RenderTable(t, f.output == "wide", f.all_namespaces && kind->namespaced ? &namespaces : nullptr, nullptr);
  return 0;
}

int Delete(int argc, char** argv) {
  po::options_description desc("Options");
  Common c;
  std::string kind_name, ns;
  std::vector<std::string> names;
  int64_t grace = -1;
  AddCommon(desc, c);
  desc.add_options()
      ("kind", po::value(&kind_name)->required(), "kind")
      ("name", po::value(&names)->required(), "object names")
      ("namespace,n", po::value(&ns)->default_value("default"), "namespace")
      ("grace-period", po::value(&grace)->default_value(-1), "seconds for the object to terminate (-1: its own default)");
  po::positional_options_description pos;
  pos.add("kind", 1).add("name", -1);
  po::variables_map vm;
  if (int rc = Parse("delete", argc, argv, desc, &pos, vm); rc >= 0) return rc;
  const KindInfo* kind = KindRegistry::Default().Resolve(kind_name);
  if (kind == nullptr) {
    std::cerr << "error: the server doesn't have a resource type \"" << kind_name << "\"\n";
    return 1;
  }
  auto client = Connect(c);
  int rc = 0;
  for (const auto& name : names) {
    DeleteOptions o;
    if (grace >= 0) o.grace_period_seconds = grace;
    auto r = client->Delete(kind, kind->namespaced ? ns : "", name, o);
    if (!r.ok()) {
      rc = Fail(r.status());
      continue;
    }
    std::cout << Resource(*kind) << " \"" << name << "\" deleted\n";
  }
  return rc;
}

std::mutex g_watch_mu;
std::condition_variable g_watch_cv;
bool g_watch_done = false;

int WatchCmd(int argc, char** argv) {
  po::options_description desc("Options");
  Common c;
  std::string kind_name, name, ns, selector, output;
  bool all = false;
  AddCommon(desc, c);
  desc.add_options()
      ("kind", po::value(&kind_name)->required(), "kind")
      ("name", po::value(&name), "only this object")
      ("namespace,n", po::value(&ns)->default_value("default"), "namespace")
      ("all-namespaces,A", po::bool_switch(&all), "every namespace")
      ("selector,l", po::value(&selector), "label selector")
      ("output,o", po::value(&output), "json: one event per line as JSON");
  po::positional_options_description pos;
  pos.add("kind", 1).add("name", 1);
  po::variables_map vm;
  if (int rc = Parse("watch", argc, argv, desc, &pos, vm); rc >= 0) return rc;
  const KindInfo* kind = KindRegistry::Default().Resolve(kind_name);
  if (kind == nullptr) {
    std::cerr << "error: the server doesn't have a resource type \"" << kind_name << "\"\n";
    return 1;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto client = Connect(c);
  WatchOptions wo;
  wo.label_selector = selector;
  if (!name.empty()) wo.field_selector = "metadata.name=" + name;
  std::string watch_ns = kind->namespaced && !all ? ns : "";
  Status ended;
  auto watch = client->Watch(
      kind, watch_ns, wo,
      [&](ClientWatchEvent& ev) {
        if (output == "json") {
          std::cout << DumpJson(Json{{"type", ev.type}, {"object", ev.object.ToJson()}}) << std::endl;
        } else {
          std::cout << ev.type << "\t" << Resource(*kind) << "/"
                    << (kind->namespaced ? ev.object.namespace_() + "/" : "") << ev.object.name()
                    << "\tresourceVersion=" << ev.object.resource_version() << std::endl;
        }
      },
      [&](const Status& s) {
        std::lock_guard<std::mutex> lock(g_watch_mu);
        ended = s;
        g_watch_done = true;
        g_watch_cv.notify_all();
      });
  if (!watch.ok()) return Fail(watch.status());
  std::thread waiter([&] {
    int sig;
    sigwait(&signals, &sig);
    std::lock_guard<std::mutex> lock(g_watch_mu);
    g_watch_done = true;
    g_watch_cv.notify_all();
  });
  waiter.detach();
  std::unique_lock<std::mutex> lock(g_watch_mu);
  g_watch_cv.wait(lock, [] { return g_watch_done; });
  if (!ended.ok()) return Fail(ended);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  log::Init("cattle", log::Level::WARN);
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  int sub_argc = argc - 1;
  char** sub_argv = argv + 1;
  try {
    if (cmd == "up") return Up(sub_argc, sub_argv);
    if (cmd == "down") return Down(sub_argc, sub_argv);
    if (cmd == "status") return StatusCmd(sub_argc, sub_argv);
    if (cmd == "kill" || cmd == "start") return KillOrStart(cmd, sub_argc, sub_argv);
    if (cmd == "apply") return Apply(sub_argc, sub_argv);
    if (cmd == "get") return Get(sub_argc, sub_argv);
    if (cmd == "delete") return Delete(sub_argc, sub_argv);
    if (cmd == "watch") return WatchCmd(sub_argc, sub_argv);
  } catch (const std::exception& e) {  // a bug, reported as an error rather than an abort
    std::cerr << "error: " << SanitizeUtf8(e.what()) << "\n";
    return 1;
  } catch (const kj::Exception& e) {
    std::cerr << "error: " << SanitizeUtf8(e.getDescription().cStr()) << "\n";
    return 1;
  }
  std::cerr << "error: unknown command \"" << cmd << "\"\n\n" << kUsage;
  return 2;
}
