import { Type, type TProperties, type ObjectOptions } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../../util/duration.ts';

/** Objects in the config reject unknown keys, so typos are errors instead of silent no-ops. */
export function Obj<T extends TProperties>(properties: T, options: ObjectOptions = {}) {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

/** `dflt`: the field's default, declared here once (resolvers read it with defaultsOf). */
export const Duration = (description?: string, dflt?: string) =>
  Type.String({ pattern: DURATION_PATTERN, description: description ?? 'duration such as 250ms, 2s, 1m', ...(dflt !== undefined ? { default: dflt } : {}) });

export const Name = (description = 'name: letters, digits, dot, dash and underscore') =>
  Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$', description });

export const Address = (description = 'host:port', dflt?: string) => Type.String({ minLength: 3, description, ...(dflt !== undefined ? { default: dflt } : {}) });

export const Percent = (description?: string, dflt?: number) => Type.Number({ minimum: 0, maximum: 100, description, ...(dflt !== undefined ? { default: dflt } : {}) });
