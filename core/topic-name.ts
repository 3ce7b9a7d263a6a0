import { TOPIC_NAME_LENGTH_MAX } from "./limits";

const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Kafka's topic-name rule; returns why a name is illegal, or null when it is legal. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return "topic name must not be empty";
  if (name.length > TOPIC_NAME_LENGTH_MAX)
    return `topic name is ${name.length} characters long; at most ${TOPIC_NAME_LENGTH_MAX} are allowed`;
  if (name === "." || name === "..") return `topic name cannot be '${name}'`;
  if (!LEGAL.test(name))
    return `topic name '${name}' has an illegal character; use only ASCII letters, digits, '.', '_' and '-'`;
  return null;
}
