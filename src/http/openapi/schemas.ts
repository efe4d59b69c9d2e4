/** zod schemas to JSON Schema (2020-12, the dialect of OpenAPI 3.1) with zod's own `z.toJSONSchema`. */
import { z } from 'zod';
import { requestSchemas, responseSchemas, type SchemaMeta } from './registry.js';

export type JsonSchema = Record<string, unknown>;

const COMPONENTS = '#/components/schemas/';

/** The long date-time regex zod adds says nothing `format: date-time` does not. */
const override: z.core.ToJSONSchemaParams['override'] = ({ jsonSchema }) => {
  if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
};

function withoutDialect({ $schema: _dialect, $id: _id, ...schema }: JsonSchema): JsonSchema {
  return schema;
}

function components(registry: z.core.$ZodRegistry<SchemaMeta>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(registry, { io, metadata: registry, override, uri: (id) => `${COMPONENTS}${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, withoutDialect(schema as JsonSchema)]));
}

/** Every named schema, responses as the server writes them and requests as clients send them. */
export function componentSchemas(): Record<string, JsonSchema> {
  const responses = components(responseSchemas, 'output');
  const requests = components(requestSchemas, 'input');
  const clash = Object.keys(requests).find((id) => id in responses);
  if (clash) throw new Error(`The schema name ${clash} is used twice`);
  return { ...responses, ...requests };
}

/** A `$ref` to the component a named schema became. */
export function refTo(schema: z.ZodType, registry: z.core.$ZodRegistry<SchemaMeta> = responseSchemas): JsonSchema {
  const id = registry.get(schema)?.id;
  if (!id) throw new Error('Only named schemas are referenced; name this one in the openapi module');
  return { $ref: `${COMPONENTS}${id}` };
}

/** An unnamed request schema (a query string, a header), inline. */
export function inputSchema(schema: z.ZodType): JsonSchema {
  return withoutDialect(z.toJSONSchema(schema, { io: 'input', metadata: requestSchemas, override }) as JsonSchema);
}

/** `[min, max]` of a numeric query field (a digit string piped into a number), for its description. */
export function numericRange(schema: z.ZodType): [number, number] | null {
  let node: z.core.$ZodType = schema;
  for (;;) {
    const def = node._zod.def;
    if (def.type === 'optional') node = (def as z.core.$ZodOptionalDef).innerType;
    else if (def.type === 'pipe') node = (def as z.core.$ZodPipeDef).out;
    else break;
  }
  if (!(node instanceof z.ZodNumber) || node.minValue === null || node.maxValue === null) return null;
  return [node.minValue, node.maxValue];
}
