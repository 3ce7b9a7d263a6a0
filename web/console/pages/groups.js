// Consumer groups: list; one group's members, assignments, committed offsets, lag per
// partition and lag over time (the history the group's alarm samples), offset reset
// and delete while the group is Empty.
import { api } from "../api.js";
import { attempt, badge, deleteButton, field, h, notify, table } from "../ui.js";

/** How often an open group page asks again (the lag it shows is at most 5 s old anyway). */
const REFRESH_MS = 2_000;
/** The group's alarm samples lag this often (core/limits.ts LAG_SAMPLE_INTERVAL_MS). */
const LAG_SAMPLE_S = 5;

export async function groupsPage(main, [group]) {
  if (group) return describeGroup(main, group);
  main.append(h("h1", {}, "Consumer groups"));
  const list = await attempt(() => api("GET", "/v1/groups"));
  if (!list) return;
  main.append(
    table(
      `${list.groups.length} group${list.groups.length === 1 ? "" : "s"}`,
      [
        ["Group", (g) => h("a", { href: `#/groups/${encodeURIComponent(g.group)}` }, g.group)],
        ["State", (g) => g.state],
        ["Generation", (g) => g.generation, true],
        ["Members", (g) => g.members, true],
      ],
      list.groups,
      "No consumer groups yet.",
    ),
  );
}

async function describeGroup(main, group) {
  const path = `/v1/groups/${encodeURIComponent(group)}`;
  const view = h("div");
  main.append(h("p", {}, h("a", { href: "#/groups" }, "← Groups")), h("h1", {}, `Group ${group}`), view);
  let chart = null;
  let stopped = false;
  let timer = null;
  const refresh = async () => {
    const described = await attempt(() => api("GET", path));
    if (stopped) return;
    if (described) {
      chart?.destroy();
      chart = render(view, group, described);
    }
    timer = setTimeout(refresh, REFRESH_MS);
  };
  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    chart?.destroy();
  };
}

function render(view, group, g) {
  const lag = g.lag;
  const chartBox = h("div", { class: "chart", role: "img", "aria-label": "Lag over time per partition" });
  view.replaceChildren(
    h(
      "p",
      {},
      "State ",
      badge(g.state, g.state === "Stable" || g.state === "Empty"),
      ` · generation ${g.generation} · assignor ${g.assignor} · total lag `,
      h("strong", { "data-total-lag": lag.total }, lag.total),
    ),
    table(
      "Members and assignments",
      [
        ["Member", (m) => m.memberId],
        ["Instance", (m) => m.instanceId ?? ""],
        ["Topics", (m) => m.topics.join(", ")],
        ["Assignments", (m) => m.assignments.map((a) => `${a.topic}/${a.partition}`).join(", ")],
        ["Isolation", (m) => m.isolation],
      ],
      g.members,
      "No members: the group is Empty.",
    ),
    h("h2", {}, "Offsets and lag"),
    table(
      "Committed offsets and lag per partition",
      [
        ["Topic", (p) => p.topic],
        ["Partition", (p) => p.partition, true],
        ["Committed", (p) => p.committedOffset, true],
        ["High watermark", (p) => p.highWatermark, true],
        ["Lag", (p) => p.lag, true],
      ],
      lag.partitions,
      "Nothing committed yet.",
    ),
    h("h2", {}, "Lag over time"),
    chartBox,
    g.state === "Empty"
      ? emptyActions(group, lag.partitions)
      : h("p", { class: "muted" }, "Offsets can be reset and the group deleted while it is Empty."),
  );
  return lagChart(chartBox, lag.partitions);
}

function lagChart(box, partitions) {
  const length = Math.max(0, ...partitions.map((p) => p.history.length));
  if (length === 0 || typeof uPlot !== "function") {
    box.append(h("p", { class: "muted" }, "No lag samples yet (the group samples lag every 5 s)."));
    return null;
  }
  const x = Array.from({ length }, (_, i) => (i - (length - 1)) * LAG_SAMPLE_S);
  const series = partitions.map((p) => {
    const padded = Array(length - p.history.length)
      .fill(null)
      .concat(p.history);
    return { label: `${p.topic}/${p.partition}`, values: padded };
  });
  const palette = ["#0b5cad", "#b42318", "#1a7f37", "#8250df", "#bf8700", "#0a7480"];
  return new uPlot(
    {
      width: Math.max(280, Math.min(box.clientWidth || 900, 1100)),
      height: 240,
      scales: { x: { time: false } },
      axes: [{ label: "seconds ago" }, { label: "records behind" }],
      series: [
        { label: "s" },
        ...series.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], width: 2 })),
      ],
    },
    [x, ...series.map((s) => s.values)],
    box,
  );
}

function emptyActions(group, partitions) {
  const topics = [...new Set(partitions.map((p) => p.topic))];
  const topic = topics.length
    ? h(
        "select",
        { name: "topic" },
        topics.map((t) => h("option", {}, t)),
      )
    : h("input", { name: "topic", required: true });
  const to = h(
    "select",
    { name: "to" },
    ["earliest", "latest", "offset", "timestamp"].map((t) => h("option", {}, t)),
  );
  const at = h("input", { name: "at", type: "number", min: 0, "aria-label": "Offset or timestamp (ms)" });
  return h(
    "div",
    {},
    h(
      "form",
      {
        class: "panel",
        "aria-label": "Reset offsets",
        onsubmit: async (event) => {
          event.preventDefault();
          const target =
            to.value === "earliest" || to.value === "latest" ? to.value : { [to.value]: Number(at.value) };
          const answer = await attempt(() =>
            api("POST", `/v1/groups/${encodeURIComponent(group)}/offsets/reset`, {
              topic: topic.value,
              to: target,
            }),
          );
          if (!answer) return;
          const count = answer.offsets.length;
          notify(
            `Offsets of ${group} on ${topic.value} reset (${count} partition${count === 1 ? "" : "s"}).`,
            true,
          );
        },
      },
      field("Topic", topic),
      field("Reset to", to),
      field("Offset or timestamp", at),
      h("button", { type: "submit" }, "Reset offsets"),
    ),
    deleteButton("group", group, () => api("DELETE", `/v1/groups/${encodeURIComponent(group)}`), "#/groups"),
  );
}
