import * as z from "zod";
import { nameProblem } from "../core/topic-name";
import { refusal } from "./validate";

/**
 * A name that keys objects, URL paths and metrics labels (topics, groups, members,
 * alerts): Kafka's topic-name rule with its own length limit. The rule is core's
 * (nameProblem, whose message the refusal carries); the pattern documents it.
 */
export function legalName(what: string, lengthMax: number) {
  return z
    .string()
    .superRefine((name, context) => {
      const problem = nameProblem(what, name, lengthMax);
      if (problem) refusal(context, `: ${problem}`);
    })
    .meta({
      pattern: `^[a-zA-Z0-9._-]{1,${lengthMax}}$`,
      not: { enum: [".", ".."] },
      description: `A ${what}: ASCII letters, digits, '.', '_' and '-', not '.' or '..'`,
    });
}
