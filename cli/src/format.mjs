// How `edgelog consume` prints a record: its value (text as is, anything else as JSON),
// the whole record as JSON, or a kcat-style template.

/** A value as one line of text: strings as they are, bytes as base64, anything else as JSON. */
function valueText(record) {
  if (record.valueBase64 !== undefined) return record.valueBase64;
  return typeof record.value === "string" ? record.value : JSON.stringify(record.value);
}

const FIELDS = {
  t: (r) => r.topic,
  p: (r) => String(r.partition),
  o: (r) => String(r.offset),
  k: (r) => r.key ?? "",
  s: valueText,
  T: (r) => String(r.timestamp),
  h: (r) =>
    Object.entries(r.headers ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(","),
  "%": () => "%",
};

/** `format`: "value", "json", or a template of %t %p %o %k %s %T %h (and \n, \t). */
export function formatRecord(record, format) {
  if (format === "value") return valueText(record);
  if (format === "json") return JSON.stringify(record);
  return format
    .replace(/\\n/g, "\n")
    .replace(/\\t/g, "\t")
    .replace(/%(.)/g, (whole, field) => (FIELDS[field] ? FIELDS[field](record) : whole));
}
