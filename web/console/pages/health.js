// Health: the gateway's liveness, under-replicated partitions (ISR smaller than the
// replicas) across topics, and the alert rules with their state and last deliveries.
import { api } from "../api.js";
import { attempt, badge, h, table } from "../ui.js";

/** Topics described at once while looking for under-replicated partitions. */
const DESCRIBE_CONCURRENCY = 8;

export async function healthPage(main) {
  main.append(h("h1", {}, "Health"));
  const health = await attempt(() => api("GET", "/healthz"));
  main.append(h("p", {}, "Gateway ", health ? badge("ok", true) : badge("unreachable", false)));
  const list = await attempt(() => api("GET", "/v1/topics"));
  if (list) {
    const under = [];
    const names = list.topics.map((t) => t.name);
    for (let i = 0; i < names.length; i += DESCRIBE_CONCURRENCY) {
      const described = await Promise.all(
        names
          .slice(i, i + DESCRIBE_CONCURRENCY)
          .map((name) => api("GET", `/v1/topics/${encodeURIComponent(name)}`).catch(() => null)),
      );
      for (const topic of described)
        for (const p of topic?.partitionInfo ?? [])
          if (p.isr.length < p.replicas.length) under.push({ topic: topic.name, ...p });
    }
    main.append(
      h("h2", {}, "Under-replicated partitions"),
      table(
        `${under.length} of ${names.length} topics' partitions under-replicated`,
        [
          ["Topic", (p) => h("a", { href: `#/topics/${encodeURIComponent(p.topic)}` }, p.topic)],
          ["Partition", (p) => p.partition, true],
          ["Leader", (p) => p.leader, true],
          ["Replicas", (p) => p.replicas.join(", ")],
          ["ISR", (p) => p.isr.join(", ")],
        ],
        under,
        "None: every partition's ISR holds all its replicas.",
      ),
    );
  }
  const alerts = await attempt(() => api("GET", "/v1/alerts"));
  if (alerts)
    main.append(
      h("h2", {}, "Alerts"),
      table(
        `${alerts.alerts.length} alert rule${alerts.alerts.length === 1 ? "" : "s"}`,
        [
          ["Name", (a) => a.name],
          ["Kind", (a) => a.kind],
          ["Scope", (a) => [a.group, a.topic].filter(Boolean).join(" · ")],
          ["State", (a) => badge(a.state, a.state !== "firing")],
          ["Value", (a) => a.value ?? "", true],
          [
            "Last delivery",
            (a) =>
              a.deliveries.length ? `${a.deliveries.at(-1).state}: ${a.deliveries.at(-1).outcome}` : "",
          ],
        ],
        alerts.alerts,
        "No alert rules (PUT /v1/alerts/{name}).",
      ),
    );
}
