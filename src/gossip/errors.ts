import { EdgeplaneError } from '../util/errors.ts';

/** Options that make no sense together or a value out of range: raised once, at construction. */
export class GossipConfigError extends EdgeplaneError {
  constructor(message: string) {
    super('EP_GOSSIP_CONFIG', message);
  }
}

/** Refused for safety: e.g. a non-loopback bind without an encryption key. */
export class GossipSecurityError extends EdgeplaneError {
  constructor(message: string) {
    super('EP_GOSSIP_INSECURE', message);
  }
}

/** A datagram or stream frame that does not parse. Never escapes the packet handler. */
export class GossipDecodeError extends EdgeplaneError {
  constructor(message: string) {
    super('EP_GOSSIP_DECODE', message);
  }
}

/** Authentication failed: wrong key, wrong cluster label, tampered or truncated ciphertext. */
export class GossipAuthError extends EdgeplaneError {
  constructor(message: string) {
    super('EP_GOSSIP_AUTH', message);
  }
}

/** Joining failed: no seed answered a push-pull. */
export class GossipJoinError extends EdgeplaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EP_GOSSIP_JOIN', message, options);
  }
}

/** A push-pull stream exchange failed or timed out. */
export class GossipStreamError extends EdgeplaneError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EP_GOSSIP_STREAM', message, options);
  }
}

/** The agent was used in the wrong lifecycle state (not started, already closed). */
export class GossipStateError extends EdgeplaneError {
  constructor(message: string) {
    super('EP_GOSSIP_STATE', message);
  }
}
