import { ConfigSchema } from '../config/schema/index.ts';

export async function schemaCommand(): Promise<number> {
  console.log(JSON.stringify(ConfigSchema, null, 2));
  return 0;
}
