// Types `env` from "cloudflare:test" as the gateway's bindings.
declare namespace Cloudflare {
  interface Env extends import("../durable-objects/env").Env {}
}
