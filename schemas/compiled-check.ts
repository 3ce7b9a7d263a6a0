import type * as z from "zod";

/**
 * A zod schema compiled once into plain closures that answer "would it parse?".
 * Workers forbid generating code from strings, so zod interprets its schemas: on the
 * produce path (up to 10,000 records a request) that cost ~9% of throughput. The
 * closures are built from the schema itself (no second description of the input),
 * allocate nothing, and are only a fast "yes": on "no" the caller parses with zod,
 * whose issue becomes the error. Kinds it does not know (refinements, transforms,
 * defaults, non-strict objects) are refused when compiling, so it can never silently
 * disagree, and where it says yes zod's output would equal the input.
 */
export type Check = (value: unknown) => boolean;

type Def = {
  type: string;
  format?: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  entries?: Record<string, string>;
  checks?: { _zod: { def: CheckDef } }[];
};
type CheckDef = {
  check: string;
  value?: number;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  format?: string;
  pattern?: RegExp;
};

const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

function unsupported(what: string): never {
  throw new Error(`compileCheck: ${what} is not supported; parse this schema with zod`);
}

/** The schema's own checks (bounds, lengths, patterns) as one predicate over an already typed value. */
function checksOf(def: Def): (value: never) => boolean {
  const tests: ((value: never) => boolean)[] = [];
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check === "greater_than") {
      const bound = c.value!;
      tests.push(c.inclusive ? (v: number) => v >= bound : (v: number) => v > bound);
    } else if (c.check === "less_than") {
      const bound = c.value!;
      tests.push(c.inclusive ? (v: number) => v <= bound : (v: number) => v < bound);
    } else if (c.check === "min_length") {
      const bound = c.minimum!;
      tests.push((v: { length: number }) => v.length >= bound);
    } else if (c.check === "max_length") {
      const bound = c.maximum!;
      tests.push((v: { length: number }) => v.length <= bound);
    } else if (c.check === "string_format" && c.format === "regex") {
      const pattern = c.pattern!;
      tests.push((v: string) => {
        pattern.lastIndex = 0;
        return pattern.test(v);
      });
    } else unsupported(`the check '${c.check}'${c.format ? ` (${c.format})` : ""}`);
  }
  if (tests.length === 0) return () => true;
  return (value) => {
    for (const test of tests) if (!test(value)) return false;
    return true;
  };
}

/** Compiles `schema` (objects, arrays, records, strings, integers, booleans, enums, unknown). */
export function compileCheck(schema: z.ZodType): Check {
  const def = defOf(schema);
  switch (def.type) {
    case "optional": {
      const inner = compileCheck(def.innerType!);
      return (v) => v === undefined || inner(v);
    }
    case "nullable": {
      const inner = compileCheck(def.innerType!);
      return (v) => v === null || inner(v);
    }
    case "unknown":
      return () => true;
    case "boolean":
      return (v) => typeof v === "boolean";
    case "string": {
      // A string format (email, uuid, …) is the schema itself, not one of its checks.
      if (def.format !== undefined) unsupported(`the string format '${def.format}'`);
      const checks = checksOf(def) as (v: string) => boolean;
      return (v) => typeof v === "string" && checks(v);
    }
    case "number": {
      if (def.format !== undefined && def.format !== "safeint")
        unsupported(`the number format '${def.format}'`);
      const checks = checksOf({
        ...def,
        checks: def.checks?.filter((c) => c._zod.def.check !== "number_format"),
      });
      const integer = def.format === "safeint";
      return (v) =>
        typeof v === "number" &&
        (integer ? Number.isSafeInteger(v) : Number.isFinite(v)) &&
        checks(v as never);
    }
    case "enum": {
      const values = new Set(Object.values(def.entries ?? {}));
      return (v) => values.has(v as string);
    }
    case "array": {
      const element = compileCheck(def.element!);
      const checks = checksOf(def) as (v: unknown[]) => boolean;
      return (v) => {
        if (!Array.isArray(v) || !checks(v)) return false;
        for (let i = 0; i < v.length; i++) if (!element(v[i])) return false;
        return true;
      };
    }
    case "record": {
      const key = compileCheck(def.keyType!);
      const value = compileCheck(def.valueType!);
      if ((def.checks ?? []).length > 0) unsupported("checks on a record");
      return (v) => {
        if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
        for (const k in v) if (!key(k) || !value((v as Record<string, unknown>)[k])) return false;
        return true;
      };
    }
    case "object": {
      if ((def.checks ?? []).length > 0) unsupported("refinements of an object");
      // Only strict objects: zod's output of any other drops or reshapes keys, the input would not.
      if (def.catchall === undefined || defOf(def.catchall).type !== "never")
        unsupported("an object that is not strict");
      const fields = Object.entries(def.shape ?? {}).map(
        ([name, field]) => [name, compileCheck(field)] as const,
      );
      const known = new Set(fields.map(([name]) => name));
      return (v) => {
        if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
        const object = v as Record<string, unknown>;
        for (const [name, check] of fields) if (!check(object[name])) return false;
        for (const name in object) if (!known.has(name)) return false;
        return true;
      };
    }
    default:
      return unsupported(`the schema kind '${def.type}'`);
  }
}

const compiled = new WeakMap<z.ZodType, Check | null>();

/** `schema`'s compiled check, built on first use; null when it has kinds compileCheck refuses. */
export function fastCheckOf(schema: z.ZodType): Check | null {
  let check = compiled.get(schema);
  if (check === undefined) {
    try {
      check = compileCheck(schema);
    } catch {
      check = null;
    }
    compiled.set(schema, check);
  }
  return check;
}
