import { EdgeplaneError } from '../util/errors.ts';

export type DiscoveryErrorCode =
  | 'EP_DISCOVERY_DNS'
  | 'EP_DISCOVERY_DNS_EMPTY'
  | 'EP_DISCOVERY_FILE'
  | 'EP_DISCOVERY_FILE_FORMAT'
  | 'EP_DISCOVERY_K8S_HTTP'
  | 'EP_DISCOVERY_K8S_GONE'
  | 'EP_DISCOVERY_K8S_FORMAT'
  | 'EP_DISCOVERY_K8S_CONFIG'
  | 'EP_DISCOVERY_OPTIONS'
  | 'EP_DISCOVERY_DOCKER';

/** Any failure of a discovery source; the source keeps its last known set and retries. */
export class DiscoveryError extends EdgeplaneError {
  constructor(code: DiscoveryErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
