import { describe, expect, it } from 'vitest';
import { JsonText, jsonObject, stringifyJson } from '../../src/domain/json-text.js';

describe('JSON text carried as text', () => {
  const answer = new JsonText('{"b" : 2, "a" : [1, "x"]}');

  it('is written as its own text, byte for byte, wherever it sits', () => {
    expect(stringifyJson({ result: answer, list: [answer, 3] })).toBe(
      '{"result":{"b" : 2, "a" : [1, "x"]},"list":[{"b" : 2, "a" : [1, "x"]},3]}',
    );
    expect(stringifyJson(answer)).toBe(answer.text);
    expect(stringifyJson({ plain: 'no text here' })).toBe('{"plain":"no text here"}');
  });

  it('is parsed where plain JSON.stringify meets it, so every other writer stays correct', () => {
    expect(JSON.parse(JSON.stringify({ result: answer }))).toEqual({ result: { b: 2, a: [1, 'x'] } });
  });

  it("leaves a caller's string that looks like a mark alone", () => {
    const lookalike = { text: '\u0000json-text:000000000000000000000000:0', result: answer };
    expect(JSON.parse(stringifyJson(lookalike))).toEqual({ text: lookalike.text, result: { b: 2, a: [1, 'x'] } });
  });

  it('builds objects from members that are JSON text or values, in order, skipping undefined', () => {
    const built = jsonObject({ agent_id: 7, feedbacks: new JsonText('[{"id" : "f1"}]'), gone: undefined, next_offset: null });
    expect(built.text).toBe('{"agent_id":7,"feedbacks":[{"id" : "f1"}],"next_offset":null}');
    expect(JSON.parse(built.text)).toEqual({ agent_id: 7, feedbacks: [{ id: 'f1' }], next_offset: null });
  });
});
