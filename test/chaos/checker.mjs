// The checker of a chaos run: after the last restart it waits until every partition's
// high watermark reaches its log end (replication healed), reads the complete log,
// and compares it with the history — as Jepsen's Kafka checker does.
import { call, sleep } from "./history.mjs";

/** How long replication may take to heal after the last restart. */
const HEAL_TIMEOUT_MS = 90_000;
/** Records one read of the final log asks for (the contract's maximum). */
const READ_RECORDS_MAX = 10_000;

/**
 * Every partition's log after the run, read up to its high watermark.
 * @returns {Promise<Map<string, { logStartOffset: number, highWatermark: number, logEndOffset: number, records: any[] }>>}
 */
export async function readFinalLog(ctx) {
  const logs = new Map();
  for (const topic of Object.values(ctx.topics)) {
    let partitions = [];
    const deadline = Date.now() + HEAL_TIMEOUT_MS;
    for (;;) {
      const res = await call(ctx, "GET", `/v1/topics/${topic.name}`);
      if (res.kind === "ok") {
        partitions = res.body.partitionInfo;
        if (partitions.every((p) => p.highWatermark >= 0 && p.highWatermark === p.logEndOffset)) break;
      }
      if (Date.now() > deadline) {
        ctx.history.find(
          "lost",
          `${topic.name} did not heal within ${HEAL_TIMEOUT_MS} ms: ${JSON.stringify(partitions)}`,
        );
        break;
      }
      await sleep(200);
    }
    for (const info of partitions) {
      const records = [];
      let offset = Math.max(0, info.logStartOffset);
      while (offset < info.highWatermark) {
        const res = await call(
          ctx,
          "GET",
          `/v1/topics/${topic.name}/partitions/${info.partition}/records?offset=${offset}&maxRecords=${READ_RECORDS_MAX}`,
        );
        if (res.kind !== "ok")
          throw new Error(
            `final read of ${topic.name}/${info.partition} at ${offset}: ${JSON.stringify(res)}`,
          );
        records.push(...res.body.records);
        if (res.body.nextOffset <= offset) break;
        offset = res.body.nextOffset;
      }
      logs.set(`${topic.name}/${info.partition}`, { ...info, records });
    }
  }
  return logs;
}

/**
 * Compares the final logs with everything acknowledged and read during the run. Topics in
 * `withMarkers` hold transaction markers: their offsets only increase (a marker is a gap).
 */
export function checkFinalLog(history, logs, withMarkers = new Set()) {
  /** value → where it is stored (the first place) */
  const stored = new Map();
  /** `topic/partition/offset` → value */
  const at = new Map();
  for (const [key, log] of logs) {
    const markers = withMarkers.has(key.slice(0, key.lastIndexOf("/")));
    log.records.forEach((r, i) => {
      if (markers ? i > 0 && r.offset <= log.records[i - 1].offset : r.offset !== log.logStartOffset + i)
        history.find(
          "inconsistent",
          `${key}: offset ${r.offset} at position ${i} from ${log.logStartOffset} (not dense)`,
        );
      const value = JSON.stringify(r.value);
      at.set(`${key}/${r.offset}`, value);
      if (typeof r.value !== "string" || !history.sent.has(r.value))
        history.find("inconsistent", `${key}/${r.offset} holds ${value}, which no client sent`);
      const first = stored.get(value);
      if (first !== undefined)
        history.find("duplicated", `${value} stored at ${first} and at ${key}/${r.offset}`);
      else stored.set(value, `${key}/${r.offset}`);
    });
  }
  for (const a of history.acked) {
    const key = `${a.topic}/${a.partition}/${a.offset}`;
    const value = at.get(key);
    if (value === undefined)
      history.find("lost", `${a.how}: ${a.value} acknowledged at ${key}, not in the final log`);
    else if (value !== JSON.stringify(a.value))
      history.find("lost", `${a.how}: ${a.value} acknowledged at ${key}, which holds ${value}`);
  }
  for (const [key, value] of history.observed) {
    const final = at.get(key);
    if (final === undefined)
      history.find("aboveHW", `${key} was read as ${value}, and is not in the final log`);
    else if (final !== value)
      history.find("inconsistent", `${key} was read as ${value}; the final log holds ${final}`);
  }
}
