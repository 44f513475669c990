import { renderSchema } from '../config/schema/render.ts';

export async function schemaCommand(): Promise<number> {
  process.stdout.write(renderSchema());
  return 0;
}
