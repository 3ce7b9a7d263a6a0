// Types `env` from "cloudflare:test" as the gateway's bindings.
import type { Env as EdgelogEnv } from "../durable-objects/env";

declare global {
  namespace Cloudflare {
    interface Env extends EdgelogEnv {}
  }
}
