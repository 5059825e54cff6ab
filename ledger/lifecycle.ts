/**
 * The enforcement lifecycle (台账, DOMAIN.md "Case lifecycle") as an explicit state machine:
 *
 *   待核查 pending ─dispatch→ 已下发 dispatched ─ruling→ 合法 legal | 违法 illegal | 伪变化 false_change
 *                                                       | 设施农用地 facility | 农村道路 rural_road
 *   违法 ─→ 整改中 rectifying ─→ 已整改 rectified ─→ 销号 closed
 *   合法 | 伪变化 | 设施农用地 | 农村道路 ─→ 销号 closed
 *   待核查 ─(desk review, reason required)→ 伪变化
 *   销号 ─(detected again, by ingest only)→ 待核查 (relapse 复发)
 *
 * Pure: `planTransition` checks a request against a case and returns what to write, or throws.
 */
import { z } from 'zod';
import { TransitionError } from './errors.js';

export const STATUSES = ['pending', 'dispatched', 'legal', 'illegal', 'false_change', 'facility', 'rural_road', 'rectifying', 'rectified', 'closed'] as const;
export type Status = (typeof STATUSES)[number];
export const RULINGS = ['legal', 'illegal', 'false_change', 'facility', 'rural_road'] as const;
export type Ruling = (typeof RULINGS)[number];

/** Chinese labels (ZT column; HCJG for the rulings). */
export const STATUS_LABELS: Readonly<Record<Status, string>> = {
  pending: '待核查',
  dispatched: '已下发',
  legal: '合法',
  illegal: '违法',
  false_change: '伪变化',
  facility: '设施农用地',
  rural_road: '农村道路',
  rectifying: '整改中',
  rectified: '已整改',
  closed: '销号',
};

/** Accepts an English code or its Chinese label. */
export function parseStatus(s: string): Status | null {
  if ((STATUSES as readonly string[]).includes(s)) return s as Status;
  return STATUSES.find((k) => STATUS_LABELS[k] === s) ?? null;
}

/** Where each state may go by a person's action (relapse is the ingest's, not a person's). */
export const TRANSITIONS: Readonly<Record<Status, readonly Status[]>> = {
  // An analyst may exclude an obvious false change at the desk (内业排除: cloud, shadow, harvest)
  // without sending it to the township; the reason is still required.
  pending: ['dispatched', 'false_change'],
  dispatched: ['legal', 'illegal', 'false_change', 'facility', 'rural_road'],
  legal: ['closed'],
  illegal: ['rectifying'],
  false_change: ['closed'],
  facility: ['closed'],
  rural_road: ['closed'],
  rectifying: ['rectified'],
  rectified: ['closed'],
  closed: [],
};

/** States still waiting on the township, whose deadline can pass. */
export const DEADLINE_STATES: readonly Status[] = ['dispatched', 'illegal', 'rectifying'];

const text = (what: string) => z.string({ error: `${what} is required` }).trim().min(1, `${what} is required`);
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date yyyy-mm-dd');

/** Evidence each target state requires (zod, so a web form and the CLI get the same messages). */
export const TRANSITION_FIELDS = {
  pending: z.object({}).loose(),
  dispatched: z.object({ deadline: isoDate.optional() }).loose(),
  legal: z.object({ approvalNo: text('approvalNo (批准文号)') }).loose(),
  illegal: z.object({ illegalKind: z.enum(['新增', '存量'], { error: 'illegalKind (新增 or 存量) is required' }), deadline: isoDate.optional() }).loose(),
  false_change: z.object({ reason: text('reason (伪变化原因)') }).loose(),
  facility: z.object({ filingNo: z.string().optional() }).loose(),
  rural_road: z.object({}).loose(),
  rectifying: z.object({ deadline: isoDate.optional() }).loose(),
  rectified: z.object({ evidence: text('evidence (整改材料)') }).loose(),
  closed: z.object({}).loose(),
} satisfies Record<Status, z.ZodType>;

export interface CaseState {
  jcbh: string;
  status: Status;
  ruling: Ruling | null;
  details: Record<string, unknown>;
  deadline: string | null;
}

export interface TransitionPlan {
  status: Status;
  ruling: Ruling | null;
  details: Record<string, unknown>;
  /** 'verify' / 'rectify' when the target starts a stage with a deadline (computed by the caller unless given). */
  deadlineStage: 'verify' | 'rectify' | null;
  /** An explicit deadline from the request; null = from the policy (when deadlineStage is set). */
  deadline: string | null;
  /** Keep the current deadline (no new stage, still waiting). */
  keepDeadline: boolean;
  fields: Record<string, unknown>;
}

/**
 * Checks `to` against the state machine and its required fields.
 * @throws TransitionError INVALID_TRANSITION (with the allowed targets) or MISSING_EVIDENCE.
 */
export function planTransition(c: CaseState, to: Status, fields: Record<string, unknown>): TransitionPlan {
  const allowed = TRANSITIONS[c.status];
  if (!allowed.includes(to)) {
    const options = allowed.length ? allowed.map((s) => `${STATUS_LABELS[s]} (${s})`).join(', ') : 'none (closed; a relapse reopens it)';
    throw new TransitionError('INVALID_TRANSITION', `${c.jcbh}: cannot go from ${STATUS_LABELS[c.status]} (${c.status}) to ${STATUS_LABELS[to]} (${to}); allowed: ${options}`, {
      jcbh: c.jcbh,
      from: c.status,
      to,
      allowed: [...allowed],
    });
  }
  const parsed = TRANSITION_FIELDS[to].safeParse(fields);
  if (!parsed.success)
    throw new TransitionError('MISSING_EVIDENCE', `${c.jcbh}: ${STATUS_LABELS[to]} (${to}) needs ${parsed.error.issues.map((i) => i.message).join('; ')}`, {
      jcbh: c.jcbh,
      to,
      field: String(parsed.error.issues[0]?.path[0] ?? ''),
    });
  const f = parsed.data as Record<string, unknown>;
  const isRuling = (RULINGS as readonly string[]).includes(to);
  const stage = to === 'dispatched' ? 'verify' : to === 'illegal' ? 'rectify' : null;
  return {
    status: to,
    ruling: isRuling ? (to as Ruling) : c.ruling,
    details: { ...c.details, ...f },
    deadlineStage: stage,
    deadline: stage ? ((f.deadline as string | undefined) ?? null) : null,
    keepDeadline: to === 'rectifying',
    fields: f,
  };
}

/** HCJG: the ruling in Chinese, with the kind of illegal use. */
export function rulingLabel(ruling: Ruling | null, details: Record<string, unknown>): string | null {
  if (!ruling) return null;
  if (ruling === 'illegal' && typeof details.illegalKind === 'string') return `违法(${details.illegalKind})`;
  return STATUS_LABELS[ruling];
}

/** ZGZT: rectification state of an illegal case. */
export function rectificationLabel(status: Status, ruling: Ruling | null): string | null {
  if (ruling !== 'illegal') return null;
  if (status === 'illegal') return '未整改';
  if (status === 'rectifying') return '整改中';
  if (status === 'rectified' || status === 'closed') return '已整改';
  return null;
}
