/** The labels a deploy puts on every container it makes: which unit, which color, which deploy. */
export const UNIT_LABEL = 'edgeplane.unit';
export const COLOR_LABEL = 'edgeplane.color';
export const RELEASE_LABEL = 'edgeplane.release';
export const REPLICA_LABEL = 'edgeplane.replica';
