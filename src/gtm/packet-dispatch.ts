import type { AgentState } from './agent-state.ts';
import { decodeMessage, splitPacket, type Message } from './codec.ts';
import type { HealthIntake } from './health-records.ts';
import type { MemberUpdates } from './member-state.ts';
import type { ProbeMessages } from './probe.ts';
import type { PacketHandler } from './transport.ts';

/**
 * The datagram side of memberlist's net.go (ingestPacket, handleCompound,
 * handleCommand): size check, open the envelope, decode every part, then hand
 * each message to the mechanism it is for. A packet with one bad part is
 * dropped whole; a handler that throws costs that message only.
 */
export function packetDispatcher(s: AgentState, probe: ProbeMessages, members: MemberUpdates, health: HealthIntake): PacketHandler {
  const handle = (m: Message, from: string): void => {
    switch (m.type) {
      case 'ping':
        probe.handlePing(m.seq, m.node, from);
        return;
      case 'indirect-ping':
        probe.handleIndirectPing(m.seq, m.node, m.addr, m.nack, from);
        return;
      case 'ack':
        probe.handleAck(m.seq);
        return;
      case 'nack':
        probe.handleNack(m.seq);
        return;
      case 'suspect':
        members.suspectNode(m);
        return;
      case 'alive':
        members.aliveNode(m, false);
        return;
      case 'dead':
        members.deadNode(m);
        return;
      case 'health':
        health.apply(m.record, true);
        return;
    }
  };

  return (data, from) => {
    if (s.closed) return;
    s.stats.packetsReceived++;
    s.stats.bytesReceived += data.length;
    if (data.length > s.config.UDPBufferSize) {
      s.stats.droppedOversized++;
      return;
    }
    const msgs: Message[] = [];
    try {
      const parts = splitPacket(s.envelope.open(data));
      for (let i = 0; i < parts.length; i++) msgs.push(decodeMessage(parts[i]!));
    } catch (e) {
      // All or nothing: a packet with one bad part is dropped whole.
      s.countInputError(e);
      return;
    }
    for (let i = 0; i < msgs.length; i++) {
      try {
        handle(msgs[i]!, from);
      } catch (err) {
        s.stats.handlerErrors++;
        s.log.error({ err }, 'gossip handler failed');
      }
    }
  };
}
