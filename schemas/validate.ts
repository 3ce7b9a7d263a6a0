import * as z from "zod";
import { EdgelogError, type ErrorCode } from "../core/errors";
import { fastCheckOf } from "./compiled-check";
import { typeName } from "./input";

/**
 * The gateway's validation: every body, query and header reader runs a zod schema of
 * schemas/ (the same schemas build /openapi.json) and turns its first issue into one
 * EdgelogError that names the field and says what to fix, as API.md's envelope wants.
 */

// workerd refuses code generation from strings; zod would probe for it on first use.
z.config({ jitless: true });

/** The error code a schema's failures answer with (INVALID_REQUEST when none is registered). */
type CodeRule = { code: ErrorCode; wrongType: boolean };
const errorCodes = z.registry<CodeRule>();

/**
 * Marks `schema` so that a value failing it is refused with `code` (e.g. INVALID_PARTITIONS).
 * A value of the wrong type stays INVALID_REQUEST (API.md: "wrong types") unless `wrongType`.
 */
export function withCode<T extends z.ZodType>(schema: T, code: ErrorCode, wrongType = false): T {
  errorCodes.add(schema, { code, wrongType });
  return schema;
}

/** A refinement's failure: its message follows the field's path; `code` overrides INVALID_REQUEST. */
export function refusal(
  context: { addIssue: (issue: z.core.$ZodRawIssue) => void; value: unknown },
  message: string,
  code?: ErrorCode,
  path: PropertyKey[] = [],
): void {
  context.addIssue({ code: "custom", message, input: context.value, path, params: { code } });
}

// Stands for "no message of the schema's own": the issue's message is then built here.
const DEFAULT_MESSAGE = "\u0000";
const parseOptions = { error: () => DEFAULT_MESSAGE, reportInput: true } as const;

/** Parses `value` with `schema` or throws the EdgelogError for its first issue; `root` names the input ("body"). */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, root: string): z.output<T> {
  // Most input is valid: a compiled check (where the schema allows one) says so without zod's interpreter.
  if (fastCheckOf(schema)?.(value)) return value as z.output<T>;
  const result = schema.safeParse(value, parseOptions);
  if (result.success) return result.data;
  throw inputError(schema, result.error.issues[0]!, root);
}

/** The EdgelogError a zod issue stands for. */
function inputError(schema: z.ZodType, outer: z.core.$ZodIssue, root: string): EdgelogError {
  // A record's bad key: its key schema's issue, said of the record.
  const issue =
    outer.code === "invalid_key" && outer.issues[0]
      ? { ...outer.issues[0], path: outer.path.slice(0, -1) }
      : outer;
  const { target, rule, nullable } = locate(schema, issue.path);
  const path = pathText(root, issue.path);
  const issueCode = (issue as { params?: { code?: ErrorCode } }).params?.code;
  const message =
    issue.message === DEFAULT_MESSAGE
      ? describeIssue(issue, path, target, nullable)
      : joined(path, issue.message);
  // A missing field is a malformed request whatever the field's own code (API.md: "missing fields").
  const input = (issue as { input?: unknown }).input;
  const missing = issue.code === "invalid_type" && input === undefined;
  const wrongType = issue.code === "invalid_type" && !isFraction(issue, input);
  const applies = rule !== undefined && !missing && (!wrongType || rule.wrongType);
  return new EdgelogError(issueCode ?? (applies ? rule.code : "INVALID_REQUEST"), message);
}

/** A schema's own message after the path: "…: reason" and ".field …" attach to it, the rest follows a space. */
function joined(path: string, message: string): string {
  if (message.startsWith(":")) return path === "" ? message.slice(2) : `${path}${message}`;
  if (message.startsWith(".")) return path === "" ? message.slice(1) : `${path}${message}`;
  return path === "" ? message : `${path} ${message}`;
}

/** 1.5 where an integer belongs is a value out of the field's range, not a wrong type. */
function isFraction(issue: z.core.$ZodIssue, input: unknown): boolean {
  return issue.code === "invalid_type" && issue.expected === "int" && typeof input === "number";
}

function pathText(root: string, path: readonly PropertyKey[]): string {
  // Query parameters are named as such ("query parameter 'maxRecords'"), deeper paths as fields.
  let text = root === "query" && typeof path[0] === "string" ? `query parameter '${path[0]}'` : root;
  for (const segment of text === root ? path : path.slice(1)) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

type Def = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
};
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;
const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "nonoptional", "readonly", "catch"]);

/** The schema an issue's path ends at (wrappers removed) and the innermost error-code rule on the way. */
function locate(
  schema: z.ZodType,
  path: readonly PropertyKey[],
): { target: z.ZodType; rule?: CodeRule; nullable: boolean } {
  let current: z.ZodType | undefined = schema;
  let rule: CodeRule | undefined;
  let nullable = false;
  const unwrap = () => {
    nullable = false;
    for (;;) {
      rule = errorCodes.get(current!) ?? rule;
      const def = defOf(current!);
      if (def.type === "nullable") nullable = true;
      if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
      else if (def.type === "pipe" && def.in) current = def.in;
      else return;
    }
  };
  unwrap();
  for (const segment of path) {
    const def = defOf(current);
    const next: z.ZodType | undefined =
      def.type === "object"
        ? def.shape?.[String(segment)]
        : def.type === "array"
          ? def.element
          : def.type === "record"
            ? def.valueType
            : def.type === "union"
              ? def.options?.find((o) => defOf(o).type === "object" && defOf(o).shape?.[String(segment)])
              : undefined;
    if (next === undefined) break;
    current = next;
    unwrap();
  }
  return { target: current, rule, nullable };
}

const EXPECTED: Record<string, string> = {
  int: "an integer",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  object: "a JSON object",
  array: "an array",
  record: "a JSON object",
};

function rangeText(path: string, target: z.ZodType, input: unknown): string {
  const bounds = target as unknown as { minValue: number | null; maxValue: number | null };
  return `${path} must be an integer from ${bounds.minValue} to ${bounds.maxValue}, got ${input}`;
}

function describeIssue(issue: z.core.$ZodIssue, at: string, target: z.ZodType, nullable: boolean): string {
  // A WebSocket frame's own fields have no root: the frame itself is "frame".
  const path = at === "" ? "frame" : at;
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) return `${path} is required`;
      if (isFraction(issue, input)) return rangeText(path, target, input);
      {
        const format = (defOf(target) as { format?: string }).format;
        const expected = format?.endsWith("int") ? "int" : issue.expected;
        const orNull = nullable ? " or null" : "";
        return `${path} must be ${EXPECTED[expected] ?? expected}${orNull}, got ${typeName(input)}`;
      }
    case "too_small":
    case "too_big": {
      if (issue.origin === "number" || issue.origin === "int") return rangeText(path, target, input);
      if (issue.origin === "array")
        return issue.code === "too_small"
          ? `${path} must hold at least ${issue.minimum} item${issue.minimum === 1 ? "" : "s"}`
          : `${path} may hold at most ${issue.maximum} items`;
      if (issue.origin === "string")
        return issue.code === "too_small"
          ? `${path} must be at least ${issue.minimum} characters long`
          : `${path} must be at most ${issue.maximum} characters long`;
      return `${path} is out of range`;
    }
    case "unrecognized_keys": {
      const shape = defOf(target).shape ?? {};
      if (path === "query")
        return `unknown query parameter '${issue.keys[0]}'; allowed: ${Object.keys(shape).join(", ") || "none"}`;
      return `${path} has unknown field '${issue.keys[0]}'; allowed: ${Object.keys(shape).join(", ") || "none"}`;
    }
    case "invalid_value":
      return `${path} must be ${issue.values.length === 1 ? "" : "one of "}${issue.values
        .map((v) => JSON.stringify(v))
        .join(", ")}, got ${JSON.stringify(input) ?? typeName(input)}`;
    case "invalid_format":
      return `${path} has the wrong format`;
    case "invalid_union":
      return `${path} matches none of the accepted forms`;
    default:
      return `${path} is not valid`;
  }
}
