import type { AdminConfig } from '../config/schema/index.ts';
import { Admin } from '../config/schema/admin.ts';
import { defaultsOf } from '../config/schema/defaults.ts';

const D = defaultsOf(Admin, ['address']);

/** The admin listener's address (default declared on the schema field admin.address). */
export function adminAddressOf(admin: AdminConfig | undefined): string {
  return admin?.address ?? D.address;
}
