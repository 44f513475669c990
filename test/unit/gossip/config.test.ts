import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAN, WAN, LOCAL, protocolConfig, pushPullScale, retransmitLimit, suspicionTimeout } from '../../../src/gossip/config.ts';
import { GossipConfigError } from '../../../src/gossip/errors.ts';

test('lan profile is memberlist DefaultLANConfig', () => {
  assert.equal(LAN.ProbeInterval, 1000);
  assert.equal(LAN.ProbeTimeout, 500);
  assert.equal(LAN.GossipInterval, 200);
  assert.equal(LAN.GossipNodes, 3);
  assert.equal(LAN.SuspicionMult, 4);
  assert.equal(LAN.SuspicionMaxTimeoutMult, 6);
  assert.equal(LAN.RetransmitMult, 4);
  assert.equal(LAN.PushPullInterval, 30_000);
  assert.equal(LAN.IndirectChecks, 3);
  assert.equal(LAN.AwarenessMaxMultiplier, 8);
  assert.equal(LAN.GossipToTheDeadTime, 30_000);
  assert.equal(LAN.TCPTimeout, 10_000);
  assert.equal(LAN.UDPBufferSize, 1400);
});

test('wan profile is memberlist DefaultWANConfig', () => {
  assert.equal(WAN.ProbeInterval, 5000);
  assert.equal(WAN.ProbeTimeout, 3000);
  assert.equal(WAN.GossipInterval, 500);
  assert.equal(WAN.GossipNodes, 4);
  assert.equal(WAN.SuspicionMult, 6);
  assert.equal(WAN.PushPullInterval, 60_000);
  assert.equal(WAN.TCPTimeout, 30_000);
  assert.equal(WAN.GossipToTheDeadTime, 60_000);
  // unchanged from LAN in memberlist
  assert.equal(WAN.SuspicionMaxTimeoutMult, 6);
  assert.equal(WAN.RetransmitMult, 4);
  assert.equal(WAN.IndirectChecks, 3);
  assert.equal(WAN.AwarenessMaxMultiplier, 8);
});

test('local profile is faster than lan and still consistent', () => {
  assert.ok(LOCAL.ProbeInterval < LAN.ProbeInterval);
  assert.ok(LOCAL.ProbeTimeout <= LOCAL.ProbeInterval);
  assert.doesNotThrow(() => protocolConfig('local'));
});

test('options are validated once, at construction', () => {
  assert.throws(() => protocolConfig('lan', { ProbeTimeout: 2000 }), GossipConfigError);
  assert.throws(() => protocolConfig('lan', { ProbeInterval: 0 }), GossipConfigError);
  assert.throws(() => protocolConfig('lan', { GossipNodes: -1 }), GossipConfigError);
  assert.throws(() => protocolConfig('lan', { UDPBufferSize: 100 }), GossipConfigError);
  assert.throws(() => protocolConfig('lan', { HealthShare: 2 }), GossipConfigError);
  assert.throws(() => protocolConfig('nope' as 'lan'), GossipConfigError);
  assert.equal(protocolConfig('lan', { GossipNodes: 5 }).GossipNodes, 5);
});

test('suspicion timeout, retransmit limit and push-pull scale follow memberlist', () => {
  // SuspicionMult x max(1, log10 n) x ProbeInterval
  assert.equal(suspicionTimeout(4, 1, 1000), 4000);
  assert.equal(suspicionTimeout(4, 10, 1000), 4000);
  assert.equal(suspicionTimeout(4, 100, 1000), 8000);
  assert.equal(suspicionTimeout(4, 1000, 1000), 12000);
  // RetransmitMult x ceil(log10(n + 1))
  assert.equal(retransmitLimit(4, 1), 4);
  assert.equal(retransmitLimit(4, 9), 4);
  assert.equal(retransmitLimit(4, 10), 8);
  assert.equal(retransmitLimit(4, 1000), 16);
  assert.equal(pushPullScale(30_000, 32), 30_000);
  assert.equal(pushPullScale(30_000, 33), 60_000);
  assert.equal(pushPullScale(30_000, 64), 60_000);
  assert.equal(pushPullScale(30_000, 65), 90_000);
});
