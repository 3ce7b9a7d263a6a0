// Option parsing and the progress line shared by the edgelog commands.
import cliProgress from "cli-progress";

/** How often the progress line redraws on a TTY. */
const PROGRESS_MS = 500;

/** A usage mistake: exit 2 with the message (the server was not asked). */
export class UsageError extends Error {}

/** An integer option ≥ `min`. */
export function integer(name, min = 0) {
  return (text) => {
    if (!/^\d+$/.test(text) || Number(text) < min)
      throw new UsageError(`${name} must be an integer ≥ ${min}, got '${text}'`);
    return Number(text);
  };
}
/** k=v pairs given once or more: an object. */
export function pairs(name) {
  return (text, previous = {}) => {
    const at = text.indexOf("=");
    if (at <= 0) throw new UsageError(`${name} takes key=value, got '${text}'`);
    return { ...previous, [text.slice(0, at)]: text.slice(at + 1) };
  };
}
/** A config value as JSON when it is one (numbers, null), else the text. */
const configValue = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};
export const configs = (given) =>
  Object.fromEntries(Object.entries(given ?? {}).map(([k, v]) => [k, configValue(v)]));

/** A progress line on stderr when it is a terminal: records so far and the rate. */
export function progress(label) {
  if (!process.stderr.isTTY) return { tick: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: `${label} {value} records · {rate} rec/s`, stream: process.stderr, fps: 1000 / PROGRESS_MS },
    cliProgress.Presets.legacy,
  );
  const started = Date.now();
  let count = 0;
  bar.start(0, 0, { rate: 0 });
  return {
    tick: (n = 1) => {
      count += n;
      bar.update(count, { rate: Math.round(count / Math.max(0.001, (Date.now() - started) / 1000)) });
    },
    stop: () => bar.stop(),
  };
}

/** A stdin line as a record (produce): split at --key-delimiter, parsed with --parse-json. */
export function lineRecord(line, o, lineNumber) {
  let key;
  let value = line;
  if (o.keyDelimiter !== undefined) {
    const at = line.indexOf(o.keyDelimiter);
    if (at >= 0) {
      key = line.slice(0, at);
      value = line.slice(at + o.keyDelimiter.length);
    }
  }
  if (o.parseJson) {
    try {
      value = JSON.parse(value);
    } catch {
      throw new UsageError(`line ${lineNumber} is not JSON (--parse-json)`);
    }
  }
  return { key, value, headers: o.header, partition: o.partition };
}
