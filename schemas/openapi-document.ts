import * as z from "zod";
import { ERRORS, type ErrorCode } from "../core/errors";
import { ADMIN_OPERATIONS } from "./openapi-admin-routes";
import { COMMON_ERRORS, DATA_OPERATIONS, type Operation, queryOf } from "./openapi-routes";
import * as answers from "./responses";

/**
 * The OpenAPI 3.1 document of the gateway (GET /openapi.json), built from the route
 * table and the zod schemas the gateway validates with. JSON Schema 2020-12 is
 * OpenAPI 3.1's schema dialect, which zod writes natively.
 */

type Json = Record<string, unknown>;
const COMPONENT = "#/components/schemas/";
const SCHEMA_OPTIONS = { target: "draft-2020-12", uri: (id: string) => `${COMPONENT}${id}` } as const;

/** Schemas with an id become components: answers as the gateway writes them, requests as it reads them. */
function components(): Record<string, Json> {
  const asRead = z.toJSONSchema(z.globalRegistry, { ...SCHEMA_OPTIONS, io: "input" }).schemas;
  const asWritten = z.toJSONSchema(z.globalRegistry, { ...SCHEMA_OPTIONS, io: "output" }).schemas;
  const answerIds = new Set(
    Object.values(answers).map((schema) => z.globalRegistry.get(schema as z.ZodType)?.id as string),
  );
  const result: Record<string, Json> = {};
  for (const id of Object.keys(asRead).sort()) {
    const { $schema: _s, $id: _i, ...schema } = (answerIds.has(id) ? asWritten[id] : asRead[id]) as Json;
    result[id] = schema;
  }
  return result;
}

/** A schema used in place: a component's $ref, or the schema inline (its own nested ids as $refs). */
function schemaOf(schema: z.ZodType, io: "input" | "output"): Json {
  const id = z.globalRegistry.get(schema)?.id;
  if (id !== undefined) return { $ref: `${COMPONENT}${id}` };
  // A one-schema registry makes zod write nested ids as component $refs instead of local $defs.
  const registry = z.registry<{ id: string }>();
  registry.add(schema, { id: "__inline" });
  const written = z.toJSONSchema(registry, { ...SCHEMA_OPTIONS, io }).schemas.__inline as Json;
  const { $schema: _s, $id: _i, ...rest } = written;
  return rest;
}

function parameters(operation: Operation): Json[] {
  const list: Json[] = [];
  for (const [name, schema] of Object.entries(operation.params ?? {}))
    list.push({ name, in: "path", required: true, schema: schemaOf(schema, "input") });
  const query = schemaOf(queryOf(operation), "input") as { properties?: Json; required?: string[] };
  for (const [name, schema] of Object.entries(query.properties ?? {}))
    list.push({ name, in: "query", required: query.required?.includes(name) ?? false, schema });
  return list;
}

function requestBody(operation: Operation): Json | undefined {
  if (operation.body === undefined) return undefined;
  const schema = schemaOf(operation.body, "input");
  const optional = operation.body.safeParse(undefined).success;
  const type = operation.bodyContentType ?? "application/json";
  return { required: !optional, content: { [type]: { schema } } };
}

/** Every error status the route may answer, each listing its codes, with the error envelope. */
function errorAnswers(operation: Operation): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  const codes = [...(operation.open ? [] : COMMON_ERRORS), ...operation.errors];
  if (operation.body !== undefined) codes.push("MESSAGE_TOO_LARGE");
  for (const code of new Set(codes)) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const result: Record<string, Json> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b))
    result[String(status)] = {
      description: list.join(", "),
      content: { "application/json": { schema: { $ref: `${COMPONENT}Error` } } },
    };
  return result;
}

function operationObject(operation: Operation): Json {
  const responses: Record<string, Json> = {};
  for (const [status, answer] of Object.entries(operation.answers))
    responses[status] =
      answer.schema === undefined
        ? {
            description: answer.description,
            ...(answer.contentType ? { content: { [answer.contentType]: {} } } : {}),
          }
        : {
            description: answer.description,
            content: {
              [answer.contentType ?? "application/json"]: { schema: schemaOf(answer.schema, "output") },
            },
          };
  const body = requestBody(operation);
  const id = `${operation.method}${operation.path.replace(/[{}]/g, "").replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string = "") => c.toUpperCase())}`;
  return {
    operationId: id,
    tags: [operation.tag],
    summary: operation.summary,
    parameters: parameters(operation),
    ...(body ? { requestBody: body } : {}),
    responses: { ...responses, ...errorAnswers(operation) },
    ...(operation.open ? { security: [] } : {}),
  };
}

/** Every route of the gateway. */
export const OPERATIONS: Operation[] = [...DATA_OPERATIONS, ...ADMIN_OPERATIONS];

/** The contract's version (API.md "Contract v2"). */
const API_VERSION = "2.0.0";
let cached: string | null = null;

/** The document as JSON text, built once per isolate. */
export function openApiDocument(): string {
  if (cached !== null) return cached;
  const paths: Record<string, Json> = {};
  for (const operation of OPERATIONS) {
    paths[operation.path] ??= {};
    paths[operation.path]![operation.method] = operationObject(operation);
  }
  cached = JSON.stringify({
    openapi: "3.1.0",
    info: {
      title: "edgelog",
      version: API_VERSION,
      description:
        "A Kafka-style event log on Cloudflare Workers: topics, partitions, produce with acks 0/1/all, fetch, consumer groups, transactions, WebSocket and the Durable Streams protocol. Every non-2xx answer is the error envelope.",
    },
    servers: [{ url: "/" }],
    tags: [...new Set(OPERATIONS.map((o) => o.tag))].map((name) => ({ name })),
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: components(),
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "EDGELOG_ADMIN_TOKEN, an API key or a scoped token (when EDGELOG_AUTH=required)",
        },
      },
    },
  });
  return cached;
}
