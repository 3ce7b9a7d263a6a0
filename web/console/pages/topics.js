// Topics: list, create, describe (partitions with leader, epoch, ISR, offsets; configs),
// alter configs, delete with confirmation.
import { api } from "../api.js";
import { attempt, badge, deleteButton, field, h, notify, table } from "../ui.js";

export async function topicsPage(main, [name]) {
  if (name) return describeTopic(main, name);
  main.append(h("h1", {}, "Topics"), createForm());
  const list = await attempt(() => api("GET", "/v1/topics"));
  if (!list) return;
  main.append(
    table(
      `${list.topics.length} topic${list.topics.length === 1 ? "" : "s"}`,
      [
        ["Name", (t) => h("a", { href: `#/topics/${encodeURIComponent(t.name)}` }, t.name)],
        ["Partitions", (t) => t.partitions, true],
        ["Replication factor", (t) => t.replicationFactor, true],
        ["", (t) => h("a", { href: `#/messages/${encodeURIComponent(t.name)}/0` }, "Messages")],
      ],
      list.topics,
      "No topics yet: create one above.",
    ),
  );
}

function createForm() {
  const name = h("input", {
    name: "name",
    required: true,
    pattern: "[a-zA-Z0-9._\\-]{1,249}",
    autocomplete: "off",
  });
  const partitions = h("input", { name: "partitions", type: "number", min: 1, max: 1024, value: 1 });
  const replicationFactor = h("input", {
    name: "replicationFactor",
    type: "number",
    min: 1,
    max: 5,
    value: 3,
  });
  const policy = h(
    "select",
    { name: "cleanup.policy" },
    ["delete", "compact", "compact,delete"].map((p) => h("option", {}, p)),
  );
  const retention = h("input", { name: "retention.ms", type: "number", min: -1, placeholder: "7 days" });
  return h(
    "form",
    {
      class: "panel",
      "aria-label": "Create a topic",
      onsubmit: async (event) => {
        event.preventDefault();
        const configs = { "cleanup.policy": policy.value };
        if (retention.value !== "") configs["retention.ms"] = Number(retention.value);
        const created = await attempt(() =>
          api("POST", "/v1/topics", {
            name: name.value,
            partitions: Number(partitions.value),
            replicationFactor: Number(replicationFactor.value),
            configs,
          }),
        );
        if (created) location.hash = `#/topics/${encodeURIComponent(created.name)}`;
      },
    },
    field("Name", name),
    field("Partitions", partitions),
    field("Replication factor", replicationFactor),
    field("cleanup.policy", policy),
    field("retention.ms", retention),
    h("button", { type: "submit" }, "Create topic"),
  );
}

async function describeTopic(main, name) {
  const topic = await attempt(() => api("GET", `/v1/topics/${encodeURIComponent(name)}`));
  main.append(h("p", {}, h("a", { href: "#/topics" }, "← Topics")), h("h1", {}, `Topic ${name}`));
  if (!topic) return;
  main.append(
    h(
      "p",
      { class: "muted" },
      `${topic.partitions} partitions, replication factor ${topic.replicationFactor}`,
    ),
    table(
      "Partitions",
      [
        [
          "Partition",
          (p) => h("a", { href: `#/messages/${encodeURIComponent(name)}/${p.partition}` }, p.partition),
          true,
        ],
        ["Leader", (p) => p.leader, true],
        ["Leader epoch", (p) => p.leaderEpoch, true],
        ["Replicas", (p) => p.replicas.join(", ")],
        [
          "ISR",
          (p) =>
            h(
              "span",
              {},
              `${p.isr.join(", ")} `,
              p.isr.length < p.replicas.length ? badge("under-replicated", false) : null,
            ),
        ],
        ["Log start", (p) => p.logStartOffset, true],
        ["High watermark", (p) => p.highWatermark, true],
        ["Last stable", (p) => p.lastStableOffset, true],
        ["Log end", (p) => p.logEndOffset, true],
      ],
      topic.partitionInfo,
    ),
    h("h2", {}, "Configs"),
    configsForm(name, topic.configs),
    h("h2", {}, "Delete"),
    h(
      "div",
      { class: "actions" },
      deleteButton("topic", name, () => api("DELETE", `/v1/topics/${encodeURIComponent(name)}`), "#/topics"),
    ),
  );
}

function configsForm(name, configs) {
  const inputs = Object.entries(configs).map(([key, value]) => [
    key,
    value,
    h("input", { name: key, value, "aria-label": key, type: typeof value === "number" ? "number" : "text" }),
  ]);
  return h(
    "form",
    {
      class: "panel",
      "aria-label": "Alter configs",
      onsubmit: async (event) => {
        event.preventDefault();
        const changes = {};
        for (const [key, before, input] of inputs) {
          const value = typeof before === "number" ? Number(input.value) : input.value;
          if (value !== before) changes[key] = value;
        }
        if (Object.keys(changes).length === 0) return notify("No config changed.", true);
        const altered = await attempt(() =>
          api("PATCH", `/v1/topics/${encodeURIComponent(name)}`, { configs: changes }),
        );
        if (altered) notify(`Configs of ${name} altered: ${Object.keys(changes).join(", ")}.`, true);
      },
    },
    inputs.map(([key, , input]) => field(key, input)),
    h("button", { type: "submit" }, "Save configs"),
  );
}
