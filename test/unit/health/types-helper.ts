import type { ClusterConfig } from '../../../src/config/schema/index.ts';

export type NonNullableOutlier = NonNullable<ClusterConfig['outlierDetection']>;
export type NonNullableHealthCheck = NonNullable<ClusterConfig['healthCheck']>;
