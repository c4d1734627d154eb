// The text of config/schema.json, generated from the schema definition (scripts/genSchema.js writes it; a unit
// test fails when the committed file is stale).
import { toJsonSchema } from './schema';

export function renderSchemaJson(): string {
  return `${JSON.stringify(toJsonSchema(), null, 2)}\n`;
}
