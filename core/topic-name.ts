import { TOPIC_NAME_LENGTH_MAX } from "./limits";

const LEGAL = /^[a-zA-Z0-9._-]+$/;

/**
 * The one rule for names that appear in URL paths (topics, group ids, member and
 * instance ids): Kafka's topic-name alphabet, bounded length, and never `.` or `..`,
 * which a URL path cannot carry (they are resolved away), so a resource so named
 * could be created over WebSocket but never described, reset or deleted over HTTP.
 * Returns why `name` is illegal, or null when it is legal.
 */
export function nameProblem(what: string, name: string, lengthMax: number): string | null {
  if (name.length === 0) return `${what} must not be empty`;
  if (name.length > lengthMax)
    return `${what} is ${name.length} characters long; at most ${lengthMax} are allowed`;
  if (name === "." || name === "..") return `${what} cannot be '${name}'`;
  if (!LEGAL.test(name))
    return `${what} '${name.slice(0, 100)}' has an illegal character; use only ASCII letters, digits, '.', '_' and '-'`;
  return null;
}

/** Kafka's topic-name rule; returns why a name is illegal, or null when it is legal. */
export function topicNameProblem(name: string): string | null {
  return nameProblem("topic name", name, TOPIC_NAME_LENGTH_MAX);
}
