import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { expect } from "vitest";
import type { Answer } from "./auth-client";

type Document = { paths: Record<string, Record<string, { responses: Record<string, any> }>> };

/** JSON Pointer escaping (RFC 6901) of one path segment. */
const pointer = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");

/**
 * Checks real answers against /openapi.json: the status must be one the operation
 * lists, and a JSON body must match the schema listed for that status. Remembers which
 * operations were seen, so a test can require that every documented route was.
 */
export class OpenApiCheck {
  readonly seen = new Set<string>();
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });

  constructor(readonly document: Document) {
    addFormats.default(this.ajv);
    this.ajv.addSchema(document as object, "openapi");
  }

  /** The document passes the OpenAPI 3.1 schema (an outside validator: @seriousme/openapi-schema-validator). */
  static async validate(document: unknown): Promise<{ valid: boolean; errors: unknown }> {
    const validator = new Validator();
    const result = await validator.validate(
      structuredClone(document) as Parameters<Validator["validate"]>[0],
    );
    return { valid: result.valid && validator.version === "3.1", errors: result.errors };
  }

  /** `template` is the documented path (/v1/topics/{topic}); `answer` what the server said. */
  check(method: string, template: string, answer: Answer): void {
    const operation = this.document.paths[template]?.[method.toLowerCase()];
    expect(operation, `${method} ${template} is documented`).toBeDefined();
    this.seen.add(`${method.toLowerCase()} ${template}`);
    const status = String(answer.status);
    const response = operation!.responses[status];
    expect(
      response,
      `${method} ${template} answered ${status}, a status it documents (${Object.keys(operation!.responses)})`,
    ).toBeDefined();
    const type = answer.headers.get("content-type") ?? "";
    if (!type.startsWith("application/json") || answer.body === undefined) return;
    const schema = response.content?.["application/json"]?.schema;
    expect(schema, `${method} ${template} ${status} documents a JSON body`).toBeDefined();
    const ref = `openapi#/paths/${pointer(template)}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`;
    const validate = this.ajv.getSchema(ref);
    expect(validate, ref).toBeDefined();
    const valid = validate!(answer.body);
    expect(
      valid,
      `${method} ${template} ${status}: ${JSON.stringify(validate!.errors)} in ${JSON.stringify(answer.body).slice(0, 300)}`,
    ).toBe(true);
  }

  /** Documented operations never exercised. */
  missing(): string[] {
    const all = Object.entries(this.document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method} ${path}`),
    );
    return all.filter((operation) => !this.seen.has(operation));
  }
}
