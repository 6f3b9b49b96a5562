#include "apiserver/kubelet_logs.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstring>
#include <vector>
#include <zmq.hpp>

#include "cattle/kubelet_auth.h"
#include "cattle/wire.h"
#include "core.capnp.h"
#include "kubelet.capnp.h"

namespace cattle::apiserver {
namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

// The first reply (data, end, error or the following stream's acknowledgement) must come
// within this; afterwards the kubelet sends something at least every second (heartbeats).
constexpr milliseconds kAnswerTimeout{5000};
constexpr milliseconds kSilenceTimeout{15000};
// How often `cancelled` is looked at while waiting.
constexpr milliseconds kPollSlice{100};
// Replies are chunks of at most ~64 KiB (or one long line); anything far bigger is garbage.
constexpr int64_t kMaxReplyBytes = 4 * 1024 * 1024;

std::string Text(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

Status Unavailable(std::string message) { return Status(Reason::kServiceUnavailable, std::move(message)); }

// Kubernetes' ValidatePodLogOptions, reported as `PodLogOptions "p" is invalid: ...`.
Status ValidateOptions(const std::string& pod, const LogOptions& o) {
  std::vector<StatusCause> causes;
  if (o.tail_lines && *o.tail_lines < 0)
    causes.push_back({"FieldValueInvalid", "Invalid value: " + std::to_string(*o.tail_lines) +
                                               ": must be greater than or equal to 0", "tailLines"});
  if (o.limit_bytes && *o.limit_bytes < 1)
    causes.push_back({"FieldValueInvalid", "Invalid value: " + std::to_string(*o.limit_bytes) +
                                               ": must be greater than 0", "limitBytes"});
  if (o.since_seconds && *o.since_seconds < 1)
    causes.push_back({"FieldValueInvalid", "Invalid value: " + std::to_string(*o.since_seconds) +
                                               ": must be greater than 0", "sinceSeconds"});
  if (causes.empty()) return Status::Ok();
  std::string message = "PodLogOptions \"" + pod + "\" is invalid: ";
  if (causes.size() > 1) message += "[";
  for (size_t i = 0; i < causes.size(); ++i)
    message += (i ? ", " : "") + causes[i].field + ": " + causes[i].message;
  if (causes.size() > 1) message += "]";
  return Status::Invalid(message, std::move(causes));
}

// The container to read: the named one (which must exist in the pod), or the only one.
Result<std::string> ResolveContainer(const Object& pod, const std::string& wanted) {
  auto spec = pod.get<api::Pod>().getSpec();
  std::vector<std::string> names;  // init containers, containers, ephemeral: Kubernetes' order
  for (auto c : spec.getInitContainers()) names.push_back(Text(c.getName()));
  for (auto c : spec.getContainers()) names.push_back(Text(c.getName()));
  for (auto c : spec.getEphemeralContainers()) names.push_back(Text(c.getName()));
  if (!wanted.empty()) {
    for (const auto& n : names)
      if (n == wanted) return wanted;
    return Status::BadRequest("container " + wanted + " is not valid for pod " + pod.name());
  }
  if (spec.getContainers().size() == 1) return Text(spec.getContainers()[0].getName());
  if (spec.getContainers().size() == 0)
    return Status::BadRequest("a container name must be specified for pod " + pod.name());
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : " ") + n;
  return Status::BadRequest("a container name must be specified for pod " + pod.name() + ", choose one of: [" +
                            list + "]");
}

std::string Serialize(capnp::MessageBuilder& msg) { return wire_util::Serialize(msg); }

}  // namespace

Result<std::string> KubeletEndpoint(const Object& node) {
  if (node.kind() == nullptr || node.kind()->kind != "Node") return Status::Internal("not a Node");
  auto status = node.get<api::Node>().getStatus();
  std::string ip;
  for (auto a : status.getAddresses()) {
    if (a.getType() == "InternalIP") {
      ip = Text(a.getAddress());
      break;
    }
  }
  const int64_t port = status.getDaemonEndpoints().getKubeletEndpoint().getPort();
  if (ip.empty())
    return Unavailable("node \"" + node.name() + "\" reports no InternalIP address for its kubelet");
  if (!kubelet_auth::IsLoopbackAddress(ip))
    return Unavailable("node \"" + node.name() + "\" reports the kubelet address \"" + ip +
                       "\", which is not an IPv4 address in 127.0.0.0/8: refusing to connect to it");
  if (port <= 0 || port > 65535)
    return Unavailable("node \"" + node.name() + "\" reports no usable kubelet port (status.daemonEndpoints." +
                       "kubeletEndpoint.Port is " + std::to_string(port) + ")");
  return "tcp://" + ip + ":" + std::to_string(port);
}

struct KubeletLogClient::Transport {
  zmq::context_t ctx{1};
};

KubeletLogClient::KubeletLogClient(Registry* registry, KubeletLogClientOptions options)
    : registry_(registry), options_(std::move(options)), transport_(std::make_unique<Transport>()) {}

KubeletLogClient::~KubeletLogClient() = default;

Status KubeletLogClient::StreamLogs(const Object& pod, const LogOptions& options,
                                    const std::function<bool(std::string_view chunk)>& on_chunk,
                                    const std::atomic<bool>* cancelled) {
  if (pod.kind() == nullptr || pod.kind()->kind != "Pod")
    return Status::BadRequest("logs are served for pods only");
  CATTLE_RETURN_IF_ERROR(ValidateOptions(pod.name(), options));
  auto container = ResolveContainer(pod, options.container);
  if (!container.ok()) return container.status();
  const std::string node = Text(pod.get<api::Pod>().getSpec().getNodeName());
  if (node.empty()) return Status::BadRequest("pod " + pod.name() + " does not have a host assigned");

  ApiRequest get_node;
  get_node.kind = registry_->kinds().ByGroupResource("", "nodes");
  get_node.name = node;
  if (get_node.kind == nullptr) return Status::Internal("the nodes resource is not registered");
  auto node_obj = registry_->Get(get_node);
  if (!node_obj.ok()) return node_obj.status();
  auto resolved = KubeletEndpoint(*node_obj);
  if (!resolved.ok()) return resolved.status();
  const std::string endpoint = *resolved;

  // Every message goes as [MAC of the bytes] [bytes] with a token, else as [bytes].
  auto send = [&](zmq::socket_t& s, const std::string& bytes) -> bool {
    if (!options_.auth_token.empty()) {
      std::string mac = kubelet_auth::Mac(options_.auth_token, bytes);
      if (!s.send(zmq::buffer(mac), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
    }
    return s.send(zmq::buffer(bytes), zmq::send_flags::dontwait).has_value();
  };

  zmq::socket_t socket(transport_->ctx, zmq::socket_type::dealer);
  const uint64_t id = 1;  // one request per connection
  try {
    // Give a cancel a moment to leave when the socket closes; never block on it.
    socket.set(zmq::sockopt::linger, 200);
    socket.set(zmq::sockopt::maxmsgsize, kMaxReplyBytes);
    socket.connect(endpoint);
    capnp::MallocMessageBuilder msg;
    auto r = msg.initRoot<wire::KubeletMessage>().initLogRequest();
    r.setId(id);
    r.setNode(node);
    r.setNamespace(pod.namespace_());
    r.setPod(pod.name());
    r.setPodUid(pod.uid());
    r.setContainer(*container);
    r.setPrevious(options.previous);
    r.setFollow(options.follow);
    r.setTimestamps(options.timestamps);
    if (options.tail_lines) {
      r.setTailLines(*options.tail_lines);
      r.setHasTailLines(true);
    }
    if (options.since_seconds) {
      r.setSinceSeconds(*options.since_seconds);
      r.setHasSinceSeconds(true);
    }
    if (options.limit_bytes) {
      r.setLimitBytes(*options.limit_bytes);
      r.setHasLimitBytes(true);
    }
    std::string bytes = Serialize(msg);
    // Queued until connected; the answer deadline below covers a kubelet that is not there.
    if (!send(socket, bytes))
      return Unavailable("cannot send to the kubelet of node \"" + node + "\" at " + endpoint);
  } catch (const zmq::error_t& e) {
    return Unavailable("cannot reach the kubelet of node \"" + node + "\" at " + endpoint + ": " + e.what());
  }

  auto cancel = [&] {
    capnp::MallocMessageBuilder msg;
    msg.initRoot<wire::KubeletMessage>().initLogCancel().setId(id);
    std::string bytes = Serialize(msg);
    try {
      (void)send(socket, bytes);
    } catch (const zmq::error_t&) {
    }
  };

  uint64_t seq = 0;
  SteadyTime last_heard = std::chrono::steady_clock::now();
  while (true) {
    if (cancelled != nullptr && cancelled->load()) {
      cancel();
      return Status::Ok();
    }
    zmq::message_t frame;
    try {
      zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, kPollSlice);
      if (!(items[0].revents & ZMQ_POLLIN)) {
        auto silent = std::chrono::steady_clock::now() - last_heard;
        if (seq == 0 && silent >= kAnswerTimeout)
          return Unavailable("the kubelet of node \"" + node + "\" at " + endpoint + " did not answer within 5s");
        if (seq > 0 && silent >= kSilenceTimeout) {
          cancel();
          return Unavailable("lost the kubelet of node \"" + node + "\" at " + endpoint + ": silent for 15s");
        }
        continue;
      }
      if (!socket.recv(frame, zmq::recv_flags::dontwait)) continue;
      while (frame.more()) {  // a multi-part reply is not ours: read it all, use the last
        zmq::message_t next;
        if (!socket.recv(next, zmq::recv_flags::none)) break;
        frame = std::move(next);
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Unavailable("reading from the kubelet of node \"" + node + "\" failed: " + e.what());
    }
    last_heard = std::chrono::steady_clock::now();
    if (frame.size() == 0 || frame.size() % sizeof(capnp::word) != 0)
      return Status::Internal("the kubelet of node \"" + node + "\" sent a malformed reply");
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(frame.size() / sizeof(capnp::word));
    memcpy(words.begin(), frame.data(), frame.size());
    try {
      capnp::ReaderOptions ro;
      ro.traversalLimitInWords = words.size() * 4 + 1024;
      ro.nestingLimit = 16;
      capnp::FlatArrayMessageReader reader(words.asPtr(), ro);
      auto m = reader.getRoot<wire::KubeletMessage>();
      if (m.which() != wire::KubeletMessage::LOG_REPLY)
        return Status::Internal("the kubelet of node \"" + node + "\" sent something other than a log reply");
      auto reply = m.getLogReply();
      if (reply.getId() != id && reply.getId() != 0) continue;  // not ours
      if (reply.getId() == 0 && reply.which() == wire::LogReply::ERROR)
        return wire_util::GetStatus(reply.getError());  // it could not read our request
      if (reply.getId() != id) continue;
      if (reply.getSeq() != seq + 1) {
        cancel();
        return Unavailable("replies from the kubelet of node \"" + node + "\" were lost");
      }
      seq = reply.getSeq();
      switch (reply.which()) {
        case wire::LogReply::CHUNK: {
          auto data = reply.getChunk();
          if (!on_chunk(std::string_view(reinterpret_cast<const char*>(data.begin()), data.size()))) {
            cancel();
            return Status::Ok();
          }
          break;
        }
        case wire::LogReply::END:
          return Status::Ok();
        case wire::LogReply::ERROR:
          return wire_util::GetStatus(reply.getError());
        case wire::LogReply::HEARTBEAT:
          break;
        default:
          break;  // a newer kubelet's message: ignored
      }
    } catch (const kj::Exception& e) {
      return Status::Internal("the kubelet of node \"" + node + "\" sent a malformed reply: " +
                              e.getDescription().cStr());
    }
  }
}

}  // namespace cattle::apiserver
