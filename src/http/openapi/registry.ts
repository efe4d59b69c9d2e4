/**
 * Where the OpenAPI document's schemas get their names and descriptions. Two
 * registries, because requests are described as clients send them (zod's
 * input side) and responses as the server writes them (the output side).
 * Private registries rather than zod's global one, so nothing here leaks into
 * other users of `z.toJSONSchema` (the openai agent's tool parameters).
 */
import { z } from 'zod';

export interface SchemaMeta {
  /** Set on the schemas that become named components. */
  id?: string;
  description?: string;
}

/** Response bodies and everything they contain. */
export const responseSchemas = z.registry<SchemaMeta>();
/** Request bodies and query strings, from `validation.ts`. */
export const requestSchemas = z.registry<SchemaMeta>();

/** Names a response schema (a component of the document) and returns it. */
export function named<T extends z.ZodType>(id: string, description: string, schema: T): T {
  responseSchemas.add(schema, { id, description });
  return schema;
}

/** Describes a field of a response schema and returns it. */
export function field<T extends z.ZodType>(description: string, schema: T): T {
  responseSchemas.add(schema, { description });
  return schema;
}

/**
 * True when the two types have the same keys and each is assignable to the
 * other: the response schemas are checked against the domain types with it, so
 * a field added to one and not the other fails type-checking.
 */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false) : false) : false;

/** Compiles only when `T` is `true`. */
export type Assert<T extends true> = T;
