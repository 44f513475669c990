import { Type } from '@sinclair/typebox';
import { Obj, Percent } from './common.ts';

/**
 * Process-wide health settings. Per-cluster checks, outlier detection and
 * breakers live on each cluster; this is what summarises them for GTM.
 */
export const RegionThresholds = Obj({
  degraded: Type.Optional(Percent('below this healthy share of a GTM name\'s capacity the region reports degraded', 75)),
  down: Type.Optional(Percent('below this share it reports down (and always at 0)', 25)),
}, { description: 'how this gateway grades its region in the self-health record it gossips' });

export const Health = Obj({
  regionThresholds: Type.Optional(RegionThresholds),
});
