# workerd configuration for the reach checks (scripts/test-reach.ts).
#
# worker.js is the bundle of worker.ts, written beside a copy of this file in
# a temporary directory. The same bundle runs in two workers, and the runner
# requires every check to pass in both:
# - "reach": the compatibility defaults of 2026-11-01, what a new Worker
#   gets: they include nodejs_compat ("the default as of 2026-08-04", says
#   workerd), so Node globals exist and setTimeout returns a Node-style
#   Timeout object;
# - "reach-web": the defaults of 2026-07-01, before that: Web APIs only, no
#   process/Buffer/setImmediate, and setTimeout returns a number. (The
#   no_nodejs_compat flag on 2026-11-01 still leaves the Node globals.)
# The runner picks the ports:
#   workerd serve config.capnp --socket-addr http=127.0.0.1:PORT \
#     --socket-addr http-web=127.0.0.1:PORT2

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "reach", worker = .reachWorker),
    (name = "reach-web", worker = .reachWebWorker),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:0", http = (), service = "reach"),
    (name = "http-web", address = "127.0.0.1:0", http = (), service = "reach-web"),
  ],
);

const reachWorker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2026-11-01",
);

const reachWebWorker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2026-07-01",
);
