/**
 * Why an opportunity was not sent: one closed list, shared by the executor, the gas policy and the
 * `undertow_refused_total{reason}` metric labels (so a dashboard can rely on the set).
 */
export const REFUSAL_REASONS = [
  'simulation reverts',
  'simulation failed',
  'L1 data fee unknown',
  'below min profit',
  'superseded by a later pending oracle update',
  'oracle transaction has no fee fields',
  'oracle transaction pays more than the fee cap',
  'no native token price to value gas',
  'base fee is above the fee cap',
  'already in flight',
  'dry run',
  'send failed',
] as const

export type RefusalReason = (typeof REFUSAL_REASONS)[number]
