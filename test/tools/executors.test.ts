import { asc } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, feedbacks, validations } from '../../drizzle/schema.js';
import {
  NEUTRAL_MIN_SCORE,
  POSITIVE_MIN_SCORE,
  REPUTATION_PRIOR_SCORE,
  REPUTATION_PRIOR_WEIGHT,
  SCORE_TAGS,
  trendWord,
  VALIDATION_PASS_MIN_RESPONSE,
} from '../../src/data/scores.js';
import type { Database } from '../../src/db/client.js';
import { seedDemoData } from '../../src/db/demo-data.js';
import { ToolInputError } from '../../src/domain/errors.js';
import { type AgentProfileResult, getAgentProfile } from '../../src/tools/executors/get-agent-profile.js';
import { type FeedbacksArgs, type FeedbacksResult, getMyFeedbacks } from '../../src/tools/executors/get-my-feedbacks.js';
import { getReputationSummary } from '../../src/tools/executors/get-reputation-summary.js';
import { getTrend } from '../../src/tools/executors/get-trend.js';
import { getValidationHistory } from '../../src/tools/executors/get-validation-history.js';
import type { ToolContext } from '../../src/tools/types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const NOW = new Date('2025-03-15T12:00:00.000Z');
const CLIENT = '0x00000000000000000000000000000000000000c1';
const VALIDATOR = '0x00000000000000000000000000000000000000a1';

const SCORING_AGENT = 1n;
const EMPTY_AGENT = 2n;
const TREND_AGENT = 3n;
const VALIDATED_AGENT = 4n;
const DECLINING_AGENT = 5n;
const STABLE_AGENT = 6n;
const MAX_SAFE_AGENT = BigInt(Number.MAX_SAFE_INTEGER);
const HUGE_AGENT = MAX_SAFE_AGENT + 2n;
const UNKNOWN_AGENT = 999n;

function contextFor(db: Database): ToolContext {
  return { db, taskId: 'test-task', signal: new AbortController().signal, now: NOW };
}

function agentRow(id: bigint, overrides: Partial<typeof agents.$inferInsert> = {}): typeof agents.$inferInsert {
  return {
    id,
    ownerAddress: `0x${id.toString(16).padStart(40, '0')}`,
    createdAt: new Date('2025-01-01T00:00:00.000Z'),
    ...overrides,
  };
}

interface FeedbackSpec {
  readonly index: number;
  readonly at: string;
  readonly tag1: string;
  readonly value: string;
  readonly decimals: number;
  readonly revoked?: boolean;
}

function feedbackRow(agentId: bigint, spec: FeedbackSpec): typeof feedbacks.$inferInsert {
  return {
    agentId,
    clientAddress: CLIENT,
    feedbackIndex: BigInt(spec.index),
    value: spec.value,
    valueDecimals: spec.decimals,
    tag1: spec.tag1,
    tag2: 'chat',
    endpoint: 'https://agent.example/a2a',
    feedbackUri: `ipfs://feedback-${agentId}-${spec.index}`,
    createdAt: new Date(spec.at),
    revoked: spec.revoked ?? false,
  };
}

/** Agent 1: one feedback per hour on 2025-03-01, index k at hour k. */
const scoringFeedback = (index: number, tag1: string, value: string, decimals: number, revoked = false) => ({
  index,
  at: `2025-03-01T${String(index).padStart(2, '0')}:00:00.000Z`,
  tag1,
  value,
  decimals,
  revoked,
});

const SCORING_FEEDBACKS: FeedbackSpec[] = [
  scoringFeedback(1, 'starred', '8500', 2), // 85: positive
  scoringFeedback(2, 'starred', '70', 0), // 70: positive (threshold)
  scoringFeedback(3, 'score', '6999', 2), // 69.99: neutral
  scoringFeedback(4, 'quality', '40', 0), // 40: neutral (threshold)
  scoringFeedback(5, '', '3999', 2), // 39.99: negative, untagged counts
  scoringFeedback(6, 'uptime', '0', 0), // 0: negative
  scoringFeedback(7, 'successRate', '100', 0), // 100: positive
  scoringFeedback(8, 'starred', '-5', 0), // below the scale: unscored, not clamped to 0
  scoringFeedback(9, 'responseTime', '250', 0), // not a score tag: unscored
  scoringFeedback(10, 'starred', '101', 0), // above the scale: unscored, not clamped to 100
  scoringFeedback(11, 'starred', '90', 0, true), // revoked: left out
  scoringFeedback(12, 'starred', '10001', 2), // 100.01: unscored
  scoringFeedback(13, 'starred', '1000000000000000000000000000000', 18), // 10^12: unscored
];

const TREND_FEEDBACKS: FeedbackSpec[] = [
  { index: 1, at: '2025-03-01T10:00:00.000Z', tag1: 'starred', value: '50', decimals: 0 }, // before a 7d window
  { index: 2, at: '2025-03-10T08:00:00.000Z', tag1: 'starred', value: '100', decimals: 0 },
  { index: 3, at: '2025-03-12T23:59:59.999Z', tag1: 'starred', value: '90', decimals: 0 },
  { index: 4, at: '2025-03-13T10:00:00.000Z', tag1: 'starred', value: '0', decimals: 0, revoked: true },
  { index: 5, at: '2025-03-13T11:00:00.000Z', tag1: 'responseTime', value: '500', decimals: 0 },
  { index: 6, at: '2025-03-15T11:00:00.000Z', tag1: 'starred', value: '80', decimals: 0 },
  { index: 7, at: '2025-03-15T13:00:00.000Z', tag1: 'starred', value: '0', decimals: 0 }, // after now
];

function validationRow(agentId: bigint, hour: number, response: number): typeof validations.$inferInsert {
  return {
    agentId,
    validatorAddress: VALIDATOR,
    requestHash: `0x${agentId.toString(16).padStart(4, '0')}${String(hour).padStart(60, '0')}`,
    response,
    tag: 'zkml',
    createdAt: new Date(`2025-03-01T${String(hour).padStart(2, '0')}:00:00.000Z`),
  };
}

/** getAgentProfile answers JSON text (issue 18); the tests read it as JSON. */
const profileOf = async (args: { agentId: bigint }, context: ToolContext) =>
  JSON.parse((await getAgentProfile(args, context)).text) as AgentProfileResult;

describe('tool executors', () => {
  let testDb: TestDatabase;
  let ctx: ToolContext;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    ctx = contextFor(testDb.db);
    const { orm } = testDb.db;
    await orm.insert(agents).values([
      agentRow(SCORING_AGENT, {
        name: 'Alpha',
        description: 'Scores things',
        ownerAddress: '0x1111111111111111111111111111111111111111',
        agentUri: 'ipfs://bafkreialpha',
        active: true,
        createdAt: new Date('2025-01-02T03:04:05.678Z'),
      }),
      agentRow(EMPTY_AGENT),
      agentRow(TREND_AGENT),
      agentRow(VALIDATED_AGENT),
      agentRow(DECLINING_AGENT),
      agentRow(STABLE_AGENT),
      agentRow(MAX_SAFE_AGENT, { active: false }),
      agentRow(HUGE_AGENT),
    ]);
    await orm
      .insert(feedbacks)
      .values([
        ...SCORING_FEEDBACKS.map((spec) => feedbackRow(SCORING_AGENT, spec)),
        ...TREND_FEEDBACKS.map((spec) => feedbackRow(TREND_AGENT, spec)),
        feedbackRow(DECLINING_AGENT, { index: 1, at: '2025-03-14T09:00:00.000Z', tag1: 'starred', value: '100', decimals: 0 }),
        feedbackRow(DECLINING_AGENT, { index: 2, at: '2025-03-15T09:00:00.000Z', tag1: 'starred', value: '0', decimals: 0 }),
        feedbackRow(STABLE_AGENT, { index: 1, at: '2025-03-14T09:00:00.000Z', tag1: 'starred', value: '50', decimals: 0 }),
        feedbackRow(STABLE_AGENT, { index: 2, at: '2025-03-15T09:00:00.000Z', tag1: 'starred', value: '5000', decimals: 2 }),
      ]);
    await orm
      .insert(validations)
      .values([
        validationRow(VALIDATED_AGENT, 1, 50),
        validationRow(VALIDATED_AGENT, 2, 49),
        validationRow(VALIDATED_AGENT, 3, 100),
        validationRow(VALIDATED_AGENT, 4, 0),
        validationRow(VALIDATED_AGENT, 5, 75),
        validationRow(DECLINING_AGENT, 1, 80),
        validationRow(DECLINING_AGENT, 2, 20),
        validationRow(DECLINING_AGENT, 3, 60),
      ]);
  });

  afterAll(async () => {
    await testDb?.dispose();
  });

  describe('unknown agent', () => {
    const calls = {
      getMyFeedbacks: () => getMyFeedbacks({ agentId: UNKNOWN_AGENT, limit: 50, offset: 0, includeRevoked: false }, ctx),
      getAgentProfile: () => getAgentProfile({ agentId: UNKNOWN_AGENT }, ctx),
      getReputationSummary: () => getReputationSummary({ agentId: UNKNOWN_AGENT }, ctx),
      getTrend: () => getTrend({ agentId: UNKNOWN_AGENT, period: '30d' }, ctx),
      getValidationHistory: () => getValidationHistory({ agentId: UNKNOWN_AGENT, limit: 50, offset: 0 }, ctx),
    };
    for (const [tool, call] of Object.entries(calls)) {
      it(`${tool} throws agent_not_found`, async () => {
        const error = await call().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(ToolInputError);
        expect(error).toMatchObject({
          reason: 'agent_not_found',
          message: 'agent 999 is not registered',
          details: { agentId: '999' },
        });
      });
    }
  });

  describe('getAgentProfile', () => {
    it('maps the identity registry row', async () => {
      expect(await profileOf({ agentId: SCORING_AGENT }, ctx)).toEqual({
        agent_id: 1,
        name: 'Alpha',
        description: 'Scores things',
        owner: '0x1111111111111111111111111111111111111111',
        metadata_uri: 'ipfs://bafkreialpha',
        created_at: '2025-01-02T03:04:05.678Z',
        is_active: true,
      });
    });

    it('keeps unknown registration fields null', async () => {
      expect(await profileOf({ agentId: EMPTY_AGENT }, ctx)).toMatchObject({
        agent_id: 2,
        name: null,
        description: null,
        metadata_uri: null,
        is_active: null,
      });
    });

    it('gives agent_id as a number up to MAX_SAFE_INTEGER and as a string beyond', async () => {
      const safe = await profileOf({ agentId: MAX_SAFE_AGENT }, ctx);
      expect(safe.agent_id).toBe(Number.MAX_SAFE_INTEGER);
      expect(safe.is_active).toBe(false);
      expect((await profileOf({ agentId: HUGE_AGENT }, ctx)).agent_id).toBe('9007199254740993');
    });
  });

  describe('scoring rule', () => {
    it('exports the documented constants', () => {
      expect(SCORE_TAGS).toEqual(['starred', 'score', 'quality', 'uptime', 'successRate']);
      expect([POSITIVE_MIN_SCORE, NEUTRAL_MIN_SCORE]).toEqual([70, 40]);
      expect([REPUTATION_PRIOR_WEIGHT, REPUTATION_PRIOR_SCORE]).toEqual([10, 50]);
      expect(VALIDATION_PASS_MIN_RESPONSE).toBe(50);
    });

    it('summarizes by the thresholds, leaves revoked out and counts off-scale values as unscored', async () => {
      // scores 85, 70, 69.99, 40, 39.99, 0, 100: sum 404.98 over 7
      // reputation = (404.98 + 50·10) / (7 + 10) / 100 = 0.53234… → 0.5323; average 57.854… → 57.85
      expect(await getReputationSummary({ agentId: SCORING_AGENT }, ctx)).toEqual({
        agent_id: 1,
        reputation_score: 0.5323,
        total_feedbacks: 12,
        positive_feedbacks: 3,
        negative_feedbacks: 2,
        neutral_feedbacks: 2,
        unscored_feedbacks: 5,
        average_score: 57.85,
        computed_at: '2025-03-15T12:00:00.000Z',
      });
    });

    it('gives null scores to an agent without feedback', async () => {
      expect(await getReputationSummary({ agentId: EMPTY_AGENT }, ctx)).toEqual({
        agent_id: 2,
        reputation_score: null,
        total_feedbacks: 0,
        positive_feedbacks: 0,
        negative_feedbacks: 0,
        neutral_feedbacks: 0,
        unscored_feedbacks: 0,
        average_score: null,
        computed_at: '2025-03-15T12:00:00.000Z',
      });
    });

    it('applies the Bayesian prior of 10 scores at 50', async () => {
      // agent 5: scores 100 and 0 → (100 + 500) / 12 / 100 = 0.5; agent 6: 50 and 50 → 0.5
      const declining = await getReputationSummary({ agentId: DECLINING_AGENT }, ctx);
      expect(declining).toMatchObject({ reputation_score: 0.5, average_score: 50, positive_feedbacks: 1, negative_feedbacks: 1 });
      // agent 3, all of its history (the summary has no time bound): 50, 100, 90, 80, 0 →
      // (320 + 500) / (5 + 10) / 100 = 0.54666… → 0.5467; average 64
      const trend = await getReputationSummary({ agentId: TREND_AGENT }, ctx);
      expect(trend).toMatchObject({ reputation_score: 0.5467, average_score: 64, total_feedbacks: 6, unscored_feedbacks: 1 });
    });
  });

  describe('getMyFeedbacks', () => {
    /** The answer is JSON text built by PostgreSQL (issue 18); callers read it as JSON. */
    const feedbacksOf = async (args: FeedbacksArgs, context: ToolContext) =>
      JSON.parse((await getMyFeedbacks(args, context)).text) as FeedbacksResult;

    it('writes its answer as JSON text in the documented member order', async () => {
      const answer = await getMyFeedbacks({ agentId: SCORING_AGENT, limit: 1, offset: 0, includeRevoked: false }, ctx);
      const parsed = JSON.parse(answer.text) as FeedbacksResult;
      expect(Object.keys(parsed)).toEqual(['agent_id', 'feedbacks', 'total', 'limit', 'offset', 'next_offset']);
      expect(Object.keys(parsed.feedbacks[0] ?? {})).toEqual([
        'id',
        'score',
        'value',
        'value_decimals',
        'tag1',
        'tag2',
        'client_address',
        'feedback_index',
        'endpoint',
        'feedback_uri',
        'revoked',
        'created_at',
      ]);
    });

    it('lists newest first with normalized scores and raw values as strings', async () => {
      const result = await feedbacksOf({ agentId: SCORING_AGENT, limit: 50, offset: 0, includeRevoked: false }, ctx);
      expect(result).toMatchObject({ agent_id: 1, total: 12, limit: 50, offset: 0, next_offset: null });
      expect(result.feedbacks.map((feedback) => [feedback.feedback_index, feedback.score])).toEqual([
        ['13', null],
        ['12', null],
        ['10', null],
        ['9', null],
        ['8', null],
        ['7', 100],
        ['6', 0],
        ['5', 39.99],
        ['4', 40],
        ['3', 69.99],
        ['2', 70],
        ['1', 85],
      ]);
      expect(result.feedbacks[0]?.value).toBe('1000000000000000000000000000000');
      expect(result.feedbacks[4]?.value).toBe('-5');
      expect(result.feedbacks[11]).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        score: 85,
        value: '8500',
        value_decimals: 2,
        tag1: 'starred',
        tag2: 'chat',
        client_address: CLIENT,
        feedback_index: '1',
        endpoint: 'https://agent.example/a2a',
        feedback_uri: 'ipfs://feedback-1-1',
        revoked: false,
        created_at: '2025-03-01T01:00:00.000Z',
      });
    });

    it('pages with total and next_offset', async () => {
      const args = { agentId: SCORING_AGENT, includeRevoked: false };
      const first = await feedbacksOf({ ...args, limit: 4, offset: 0 }, ctx);
      expect(first.feedbacks.map((feedback) => feedback.feedback_index)).toEqual(['13', '12', '10', '9']);
      expect(first).toMatchObject({ total: 12, limit: 4, offset: 0, next_offset: 4 });

      const last = await feedbacksOf({ ...args, limit: 4, offset: 8 }, ctx);
      expect(last.feedbacks.map((feedback) => feedback.feedback_index)).toEqual(['4', '3', '2', '1']);
      expect(last).toMatchObject({ total: 12, next_offset: null });

      const beyond = await feedbacksOf({ ...args, limit: 4, offset: 12 }, ctx);
      expect(beyond).toMatchObject({ feedbacks: [], total: 12, next_offset: null });
    });

    it('includes revoked feedback on request, flagged', async () => {
      const result = await feedbacksOf({ agentId: SCORING_AGENT, limit: 3, offset: 2, includeRevoked: true }, ctx);
      expect(result.feedbacks.map((feedback) => [feedback.feedback_index, feedback.revoked])).toEqual([
        ['11', true],
        ['10', false],
        ['9', false],
      ]);
      expect(result).toMatchObject({ total: 13, next_offset: 5 });
    });

    it('gives an empty page for an agent without feedback', async () => {
      expect(await feedbacksOf({ agentId: EMPTY_AGENT, limit: 50, offset: 0, includeRevoked: true }, ctx)).toEqual({
        agent_id: 2,
        feedbacks: [],
        total: 0,
        limit: 50,
        offset: 0,
        next_offset: null,
      });
    });
  });

  describe('getTrend', () => {
    it('gives daily cumulative reputation for short periods, ending today', async () => {
      // before the window: 50. 03-10: +100, 03-12 (23:59:59.999): +90, 03-15 11:00: +80.
      // Revoked, unscored and after-now feedback is left out.
      const result = await getTrend({ agentId: TREND_AGENT, period: '7d' }, ctx);
      expect(result).toEqual({
        agent_id: 3,
        period: '7d',
        bucket: '1d',
        data_points: [
          { date: '2025-03-09', score: 0.5, feedbacks: 0 }, // (50 + 500) / 11
          { date: '2025-03-10', score: 0.5417, feedbacks: 1 }, // (150 + 500) / 12
          { date: '2025-03-11', score: 0.5417, feedbacks: 0 },
          { date: '2025-03-12', score: 0.5692, feedbacks: 1 }, // (240 + 500) / 13
          { date: '2025-03-13', score: 0.5692, feedbacks: 0 },
          { date: '2025-03-14', score: 0.5692, feedbacks: 0 },
          { date: '2025-03-15', score: 0.5857, feedbacks: 1 }, // (320 + 500) / 14
        ],
        trend: 'improving',
        change_percent: 17.14, // (0.5857 − 0.5) / 0.5
      });
    });

    it('uses weekly buckets for periods up to 120 days', async () => {
      const result = await getTrend({ agentId: TREND_AGENT, period: '30d' }, ctx);
      expect(result).toMatchObject({ bucket: '7d', trend: 'improving', change_percent: 17.14 });
      expect(result.data_points).toEqual([
        { date: '2025-02-15', score: null, feedbacks: 0 },
        { date: '2025-02-22', score: null, feedbacks: 0 },
        { date: '2025-03-01', score: 0.5, feedbacks: 1 },
        { date: '2025-03-08', score: 0.5, feedbacks: 0 },
        { date: '2025-03-15', score: 0.5857, feedbacks: 3 },
      ]);
    });

    it('names declining and stable trends', async () => {
      // 03-14: (100 + 500) / 11 = 0.5455; 03-15: (100 + 500) / 12 = 0.5; (0.5 − 0.5455) / 0.5455 = −8.34 %
      expect(await getTrend({ agentId: DECLINING_AGENT, period: '2d' }, ctx)).toMatchObject({
        data_points: [
          { date: '2025-03-14', score: 0.5455, feedbacks: 1 },
          { date: '2025-03-15', score: 0.5, feedbacks: 1 },
        ],
        trend: 'declining',
        change_percent: -8.34,
      });
      expect(await getTrend({ agentId: STABLE_AGENT, period: '2d' }, ctx)).toMatchObject({
        trend: 'stable',
        change_percent: 0,
      });
    });

    it('needs two known points for a trend', async () => {
      expect(await getTrend({ agentId: STABLE_AGENT, period: '1d' }, ctx)).toEqual({
        agent_id: 6,
        period: '1d',
        bucket: '1d',
        data_points: [{ date: '2025-03-15', score: 0.5, feedbacks: 1 }],
        trend: 'insufficient_data',
        change_percent: null,
      });
    });

    it.each([
      ['14d', '1d', 14, '2025-03-02'],
      ['15d', '7d', 3, '2025-03-01'],
      ['120d', '7d', 18, '2024-11-16'], // 17 × 7 = 119 days before 2025-03-15
      ['121d', '30d', 5, '2024-11-15'],
      ['365d', '30d', 13, '2024-03-20'], // 12 × 30 = 360 days before, across 2024-02-29
    ])('period %s has %s buckets, %i of them, the first ending %s', async (period, bucket, count, firstDate) => {
      const result = await getTrend({ agentId: EMPTY_AGENT, period }, ctx);
      expect(result).toMatchObject({ bucket, trend: 'insufficient_data', change_percent: null });
      expect(result.data_points).toHaveLength(count);
      expect(result.data_points[0]?.date).toBe(firstDate);
      expect(result.data_points.at(-1)?.date).toBe('2025-03-15');
      expect(result.data_points.every((point) => point.score === null && point.feedbacks === 0)).toBe(true);
    });

    it('names the trend by a ±1 % band', () => {
      expect([trendWord(1.01), trendWord(1), trendWord(-1), trendWord(-1.01), trendWord(null)]).toEqual([
        'improving',
        'stable',
        'stable',
        'declining',
        'insufficient_data',
      ]);
    });
  });

  describe('getValidationHistory', () => {
    it('lists newest first with pass rate over all validations', async () => {
      const result = await getValidationHistory({ agentId: VALIDATED_AGENT, limit: 2, offset: 0 }, ctx);
      expect(result).toMatchObject({ agent_id: 4, total: 5, limit: 2, offset: 0, next_offset: 2, pass_rate: 0.6 });
      expect(result.validations).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          validator_address: VALIDATOR,
          result: 'passed',
          score: 75,
          tag: 'zkml',
          request_hash: `0x0004${'5'.padStart(60, '0')}`,
          timestamp: '2025-03-01T05:00:00.000Z',
        },
        expect.objectContaining({ result: 'failed', score: 0, timestamp: '2025-03-01T04:00:00.000Z' }),
      ]);
    });

    it('passes at 50 and fails at 49', async () => {
      const result = await getValidationHistory({ agentId: VALIDATED_AGENT, limit: 2, offset: 3 }, ctx);
      expect(result.validations.map((validation) => [validation.score, validation.result])).toEqual([
        [49, 'failed'],
        [50, 'passed'],
      ]);
      expect(result).toMatchObject({ next_offset: null, pass_rate: 0.6 });
    });

    it('rounds the pass rate to 4 decimals', async () => {
      expect(await getValidationHistory({ agentId: DECLINING_AGENT, limit: 50, offset: 0 }, ctx)).toMatchObject({
        total: 3,
        pass_rate: 0.6667,
      });
    });

    it('gives a null pass rate without validations', async () => {
      expect(await getValidationHistory({ agentId: EMPTY_AGENT, limit: 50, offset: 0 }, ctx)).toEqual({
        agent_id: 2,
        validations: [],
        total: 0,
        limit: 50,
        offset: 0,
        next_offset: null,
        pass_rate: null,
      });
    });
  });
});

describe('demo data', () => {
  let first: TestDatabase;
  let second: TestDatabase;

  beforeAll(async () => {
    [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });

  afterAll(async () => {
    await Promise.all([first?.dispose(), second?.dispose()]);
  });

  async function dump(db: Database) {
    return {
      agents: await db.orm.select().from(agents).orderBy(asc(agents.id)),
      feedbacks: await db.orm.select().from(feedbacks).orderBy(asc(feedbacks.id)),
      validations: await db.orm.select().from(validations).orderBy(asc(validations.id)),
    };
  }

  it('is deterministic for one `now`', async () => {
    const counts = await seedDemoData(first.db, { now: NOW });
    expect(counts).toEqual({ agents: 50, feedbacks: 2000, validations: 400 });
    expect(await seedDemoData(second.db, { now: NOW })).toEqual(counts);
    const [a, b] = await Promise.all([dump(first.db), dump(second.db)]);
    expect(a.feedbacks).toHaveLength(2000);
    expect(b).toEqual(a);
  });

  it('does nothing when agents exist', async () => {
    expect(await seedDemoData(first.db, { now: new Date('2030-01-01T00:00:00.000Z') })).toEqual({
      agents: 0,
      feedbacks: 0,
      validations: 0,
    });
    const rows = await dump(first.db);
    expect([rows.agents.length, rows.feedbacks.length, rows.validations.length]).toEqual([50, 2000, 400]);
  });

  it('writes indexer-shaped rows within the 90 days before now', async () => {
    const { agents: agentRows, feedbacks: feedbackRows, validations: validationRows } = await dump(first.db);
    const address = /^0x[0-9a-f]{40}$/;
    expect(agentRows.map((agent) => agent.name)).toContain('Demo Agent 50');
    expect(agentRows.every((agent) => address.test(agent.ownerAddress) && agent.agentUri?.startsWith('ipfs://'))).toBe(true);
    expect(agentRows.some((agent) => agent.active === false)).toBe(true);
    const windowStart = NOW.getTime() - 90 * 86_400_000;
    for (const row of [...feedbackRows, ...validationRows]) {
      expect(row.createdAt.getTime()).toBeGreaterThanOrEqual(windowStart);
      expect(row.createdAt.getTime()).toBeLessThan(NOW.getTime());
    }
    expect(feedbackRows.every((feedback) => address.test(feedback.clientAddress))).toBe(true);
    const tags = new Set(feedbackRows.map((feedback) => feedback.tag1));
    expect([...tags].sort()).toEqual(['responseTime', 'starred', 'successRate', 'uptime']);
    expect(new Set(feedbackRows.map((feedback) => feedback.valueDecimals))).toEqual(new Set([0, 1, 2]));
    expect(feedbackRows.some((feedback) => feedback.revoked)).toBe(true);
    expect(validationRows.every((validation) => validation.response >= 0 && validation.response <= 100)).toBe(true);
  });

  it('gives the tools varied trends to show', async () => {
    const ctx = contextFor(first.db);
    const words = new Set<string>();
    for (let agentId = 1n; agentId <= 50n; agentId++) {
      words.add((await getTrend({ agentId, period: '90d' }, ctx)).trend);
    }
    expect(words).toContain('improving');
    expect(words).toContain('declining');
    const summary = await getReputationSummary({ agentId: 1n }, ctx);
    expect(summary.unscored_feedbacks + summary.positive_feedbacks + summary.neutral_feedbacks + summary.negative_feedbacks).toBe(
      summary.total_feedbacks,
    );
  });
});
