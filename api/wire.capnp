@0xc41e4d0f1d2a7b63;
# The apiserver's ZeroMQ protocol. Every ZeroMQ message (after the ROUTER identity frame)
# is exactly one Envelope. Objects travel as binary Cap'n Proto of their kind inside Data,
# together with their store revision: the receiver stamps metadata.resourceVersion.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cattle::wire");

struct Envelope {
  union {
    request @0 :Request;
    response @1 :Response;
    watchEvent @2 :WatchEvent;
  }
}

enum Verb {
  health @0;       # liveness/readiness: answers OK with the current revision
  get @1;
  list @2;
  create @3;
  update @4;
  patch @5;
  delete @6;
  watch @7;        # starts a watch; events follow as WatchEvent with this request's watchId
  cancelWatch @8;
  createMany @9;   # creates each of `bodies` (one resource, one namespace) as its own create:
                   # each is validated and stored on its own, and gets its own result in
                   # `results`. Not Kubernetes API: it saves a round trip per object for
                   # clients that write many small objects (Events).
}

struct Request {
  id @0 :UInt64;              # echoed in the Response
  verb @1 :Verb;
  group @2 :Text;             # "" for core
  resource @3 :Text;          # plural: "pods"
  subresource @4 :Text;       # "status", "binding", "scale", "eviction", ...
  namespace @5 :Text;
  name @6 :Text;
  body @7 :Data;              # binary object of the kind (or of the subresource's body kind)
  patch @8 :Text;             # patch document (JSON)
  patchType @9 :Text;         # "merge" | "json" | "strategic" | "apply"
  labelSelector @10 :Text;
  fieldSelector @11 :Text;
  resourceVersion @12 :Text;  # get/list: "" = latest, "0" = any, N = not older than N (list
                              # with a limit or resourceVersionMatch=Exact: exactly N);
                              # watch: start after this
  limit @13 :Int64;
  continue @14 :Text;
  watchId @15 :UInt64;        # watch / cancelWatch: chosen by the client, unique per client
  gracePeriodSeconds @16 :Int64;
  hasGracePeriodSeconds @17 :Bool;
  preconditionUid @18 :Text;
  preconditionResourceVersion @19 :Text;
  propagationPolicy @20 :Text;  # "Background" (default) | "Foreground" | "Orphan"
  fieldValidation @21 :Text;    # "Strict" (default) | "Warn" | "Ignore"
  fieldManager @22 :Text;
  dryRun @23 :Bool;
  allowWatchBookmarks @24 :Bool;
  force @25 :Bool;              # server-side apply
  bodies @26 :List(Data);       # createMany: the objects, binary, of the request's kind
  resourceVersionMatch @27 :Text;  # list: "" | "Exact" | "NotOlderThan", as Kubernetes'
}

struct Item {
  object @0 :Data;
  revision @1 :Int64;         # metadata.resourceVersion of this object
}

struct Status {
  reason @0 :Text;            # Kubernetes' StatusReason: "NotFound", "Conflict", ...
  message @1 :Text;
  causes @2 :List(Cause);
  struct Cause {
    type @0 :Text;
    message @1 :Text;
    field @2 :Text;
  }
}

struct Response {
  id @0 :UInt64;
  status @1 :Status;          # absent on success
  item @2 :Item;              # get / create / update / patch / delete
  items @3 :List(Item);       # list
  resourceVersion @4 :Text;   # list: the revision the list reflects; health: current revision
  continue @5 :Text;
  remainingItemCount @6 :Int64;
  warnings @7 :List(Text);
  kind @8 :Text;              # the kind of item / items (for subresource bodies)
  results @9 :List(Result);   # createMany: one per body, in order
  struct Result {
    status @0 :Status;        # absent when this object was created
    revision @1 :Int64;       # the created object's resourceVersion
  }
}

struct WatchEvent {
  watchId @0 :UInt64;
  seq @1 :UInt64;             # 1, 2, 3 ... per watch: a gap means messages were lost
  type @2 :Text;              # ADDED | MODIFIED | DELETED | BOOKMARK | HEARTBEAT | ERROR
  item @3 :Item;              # absent for HEARTBEAT; BOOKMARK carries only the revision
  error @4 :Status;           # ERROR: Expired → relist; anything else → re-watch
}
