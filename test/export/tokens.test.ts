import { describe, expect, it } from 'vitest';
import {
  estimateMp4Record, estimatePklRecord, estimateTextTokens, promptText, roundsToTurns, splitRounds,
} from '../../src/main/export/tokens';

/** The token estimate against the facts of LLaMA-VID's loader and template (docs/export.md, "Token budgets"). */
describe('LLaMA-VID token estimate', () => {
  it('builds the conv_vicuna_imgsp_v1 prompt', () => {
    const turns = roundsToTurns([{ question: 'Who?', answer: 'Ann.' }, { question: 'Where?', answer: 'Home.' }]);
    expect(turns[0].value).toBe('<image>\nWho?');
    expect(turns[2].value).toBe('Where?');
    expect(promptText(turns)).toBe("A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
      + "detailed, and polite answers to the user's questions. USER: <image>\nWho? ASSISTANT: Ann.</s>USER: Where? ASSISTANT: Home.</s>");
  });

  it('counts text by letter runs, digits, symbols and UTF-8 bytes', () => {
    expect(estimateTextTokens('')).toBe(0);
    expect(estimateTextTokens('a cat')).toBe(2);
    expect(estimateTextTokens('lighthouse')).toBe(3); // ⌈10 / 4⌉
    expect(estimateTextTokens('1984')).toBe(4); // one per digit
    expect(estimateTextTokens('Hi, you!')).toBe(4);
    expect(estimateTextTokens('é')).toBe(2); // two UTF-8 bytes
  });

  it('charges the whole clip per human turn on the mp4 route and once on the .pkl route', () => {
    const one = roundsToTurns([{ question: 'Q', answer: 'A' }]);
    const three = roundsToTurns([{ question: 'Q', answer: 'A' }, { question: 'Q', answer: 'A' }, { question: 'Q', answer: 'A' }]);
    expect(estimateMp4Record(one, 100).visual).toBe(200);
    expect(estimateMp4Record(three, 100).visual).toBe(600);
    const inputs = '<image>hello<image><image>';
    const pkl = estimatePklRecord(one, inputs);
    expect(pkl.visual).toBe(6);
    // The text of inputs (without placeholders) counts once, on top of the prompt.
    expect(pkl.text).toBe(estimateMp4Record(one, 3).text + estimateTextTokens('hello'));
  });

  it('splits rounds into consecutive parts within the budget and leaves out a round too long alone', () => {
    const rounds = [
      { question: 'one', answer: 'a' }, { question: 'two', answer: 'b' }, { question: 'three', answer: 'c' },
      { question: 'x'.repeat(4000), answer: 'too long' }, { question: 'four', answer: 'd' },
    ];
    const estimate = (turns: Parameters<typeof estimateMp4Record>[0]) => estimateMp4Record(turns, 10);
    const budget = estimate(roundsToTurns(rounds.slice(0, 2))).total; // two short rounds fit, three do not
    const { chunks, leftOut } = splitRounds(rounds, budget, estimate);
    // Parts hold rounds that were consecutive in the conversation: a left-out round ends the part before it.
    expect(chunks.map((c) => c.rounds.map((r) => r.answer))).toEqual([['a', 'b'], ['c'], ['d']]);
    for (const c of chunks) expect(c.estimate.total).toBeLessThanOrEqual(budget);
    expect(leftOut.map((l) => l.round.answer)).toEqual(['too long']);
    expect(leftOut[0].estimate.total).toBeGreaterThan(budget);
    // maxRounds 1: single-turn parts
    expect(splitRounds(rounds, budget, estimate, 1).chunks.every((c) => c.rounds.length === 1)).toBe(true);
  });
});
