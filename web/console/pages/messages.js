// Messages: browse a partition by offset or time, tail it live over WebSocket,
// produce a record (key, value, headers).
import { api, webSocketUrl } from "../api.js";
import { attempt, field, h, json, notify, table, time } from "../ui.js";

/** Rows the live tail keeps on screen (older ones drop off). */
const TAIL_ROWS_MAX = 200;
/** Records the tail may have outstanding; each batch received is granted again. */
const TAIL_CREDITS = 500;

const recordColumns = [
  ["Offset", (r) => r.offset, true],
  ["Timestamp", (r) => time(r.timestamp)],
  ["Key", (r) => (r.key === null ? h("span", { class: "muted" }, "null") : r.key)],
  ["Value", (r) => json(r.valueBase64 === undefined ? r.value : { base64: r.valueBase64 })],
  ["Headers", (r) => (Object.keys(r.headers ?? {}).length ? json(r.headers) : "")],
];

export async function messagesPage(main, [topicName, partitionText = "0"]) {
  main.append(h("h1", {}, "Messages"));
  const list = await attempt(() => api("GET", "/v1/topics"));
  if (!list) return;
  if (list.topics.length === 0) {
    main.append(h("p", {}, "No topics yet. ", h("a", { href: "#/topics" }, "Create one.")));
    return;
  }
  const topic = list.topics.find((t) => t.name === topicName) ?? list.topics[0];
  const partition = Math.min(Math.max(0, Number.parseInt(partitionText, 10) || 0), topic.partitions - 1);
  main.append(picker(list.topics, topic, partition));
  const where = `/v1/topics/${encodeURIComponent(topic.name)}/partitions/${partition}/records`;
  const browsed = h("div");
  main.append(h("h2", {}, "Browse"), browseForm(where, browsed), browsed);
  const tail = liveTail(topic.name, partition);
  main.append(
    h("h2", {}, "Produce"),
    produceForm(topic.name, partition),
    h("h2", {}, "Live tail"),
    tail.element,
  );
  return tail.stop;
}

function picker(topics, topic, partition) {
  const topicSelect = h(
    "select",
    { name: "topic" },
    topics.map((t) => h("option", { selected: t.name === topic.name }, t.name)),
  );
  const partitionInput = h("input", {
    name: "partition",
    type: "number",
    min: 0,
    max: topic.partitions - 1,
    value: partition,
  });
  return h(
    "form",
    {
      class: "panel",
      "aria-label": "Choose a partition",
      onsubmit: (event) => {
        event.preventDefault();
        location.hash = `#/messages/${encodeURIComponent(topicSelect.value)}/${partitionInput.value || 0}`;
      },
    },
    field("Topic", topicSelect),
    field("Partition", partitionInput),
    h("button", { type: "submit" }, "Open"),
  );
}

function browseForm(where, into) {
  const from = h(
    "select",
    { name: "from" },
    h("option", { value: "offset" }, "offset"),
    h("option", { value: "time" }, "time"),
  );
  const offset = h("input", {
    name: "offset",
    value: "earliest",
    "aria-label": "Offset (a number, earliest or latest)",
  });
  const at = h("input", { name: "time", type: "datetime-local", step: 1, "aria-label": "Time (UTC)" });
  const maxRecords = h("input", { name: "maxRecords", type: "number", min: 1, max: 10000, value: 50 });
  const read = async () => {
    const query = new URLSearchParams({ maxRecords: maxRecords.value || "50" });
    if (from.value === "time") query.set("timestamp", String(Date.parse(`${at.value}Z`) || 0));
    else query.set("offset", offset.value.trim() || "earliest");
    const answer = await attempt(() => api("GET", `${where}?${query}`));
    if (!answer) return;
    into.replaceChildren(
      h(
        "p",
        { class: "muted" },
        `Log start ${answer.logStartOffset} · high watermark ${answer.highWatermark} · next offset ${answer.nextOffset}`,
      ),
      table(`${answer.records.length} records`, recordColumns, answer.records, "No records there."),
    );
  };
  return h(
    "form",
    {
      class: "panel",
      "aria-label": "Browse records",
      onsubmit: (event) => {
        event.preventDefault();
        read();
      },
    },
    field("From", from),
    field("Offset", offset),
    field("Time (UTC)", at),
    field("Max records", maxRecords),
    h("button", { type: "submit" }, "Read"),
  );
}

/** JSON when the text is JSON, else the text itself as a string value. */
function jsonOrText(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function produceForm(topic, partition) {
  const key = h("input", { name: "key", autocomplete: "off", placeholder: "none" });
  const value = h("textarea", {
    name: "value",
    "aria-label": "Value (JSON, or text)",
    placeholder: '{"any": "json"}',
  });
  const headers = h("textarea", {
    name: "headers",
    "aria-label": "Headers (a JSON object of strings)",
    placeholder: '{"source": "console"}',
  });
  return h(
    "form",
    {
      class: "panel",
      "aria-label": "Produce a record",
      onsubmit: async (event) => {
        event.preventDefault();
        const record = { value: jsonOrText(value.value), partition };
        if (key.value !== "") record.key = key.value;
        if (headers.value.trim() !== "") {
          const parsed = jsonOrText(headers.value);
          if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
            return notify("Headers must be a JSON object of strings.");
          record.headers = parsed;
        }
        const answer = await attempt(() =>
          api("POST", `/v1/topics/${encodeURIComponent(topic)}/records?acks=all`, { records: [record] }),
        );
        const result = answer?.results[0];
        if (result && result.offset !== undefined)
          notify(`Produced to ${topic}/${result.partition} at offset ${result.offset}.`, true);
      },
    },
    field("Key", key),
    h("label", { class: "wide" }, "Value", value),
    h("label", { class: "wide" }, "Headers", headers),
    h("button", { type: "submit" }, `Produce to partition ${partition}`),
  );
}

function liveTail(topic, partition) {
  const status = h("p", { class: "muted", role: "status" }, "Not tailing.");
  const rows = [];
  const holder = h("div");
  let socket = null;
  const render = () =>
    holder.replaceChildren(
      table(`Live: ${rows.length} records (newest first)`, recordColumns, rows, "Waiting for records…"),
    );
  const stop = () => {
    socket?.close(1000);
    socket = null;
    button.textContent = "Start live tail";
  };
  const start = () => {
    socket = new WebSocket(webSocketUrl());
    socket.addEventListener("open", () =>
      socket.send(
        JSON.stringify({ op: "subscribe", id: 1, topic, partition, offset: "latest", credits: TAIL_CREDITS }),
      ),
    );
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.op === "subscribed")
        status.textContent = `Tailing ${topic}/${partition} from offset ${frame.nextOffset}.`;
      else if (frame.op === "error") notify(`${frame.error.code}: ${frame.error.message}`);
      else if (frame.op === "records") {
        rows.unshift(...frame.records.slice().reverse());
        rows.length = Math.min(rows.length, TAIL_ROWS_MAX);
        socket.send(JSON.stringify({ op: "credit", subscription: 1, credits: frame.records.length }));
        render();
      }
    });
    socket.addEventListener("close", () => {
      status.textContent = "Not tailing.";
      button.textContent = "Start live tail";
    });
    button.textContent = "Stop live tail";
    render();
  };
  const button = h(
    "button",
    { type: "button", onclick: () => (socket ? stop() : start()) },
    "Start live tail",
  );
  return { element: h("div", {}, h("div", { class: "actions" }, button), status, holder), stop };
}
