import { describe, expect, it } from 'vitest';
import { assembleFramePrompt, substituteLookalikes } from '../../src/main/story/lookalike';

const eleanor = { name: 'Eleanor', lookalike: 'a woman looks like Natalie Portman in royal blue' };
const tom = { name: 'Tom', lookalike: 'a man looks like Gerard Butler in green' };

describe('lookalike substitution', () => {
  it('builds the release prompt: "generate an image in <keyword> style: <description>"', () => {
    expect(assembleFramePrompt('Whimsical', ' Eleanor walks home. ', [eleanor]))
      .toBe('generate an image in Whimsical style: a woman looks like Natalie Portman in royal blue walks home.');
  });

  it('keeps possessives attached, as in the released frames', () => {
    expect(substituteLookalikes("Tom takes Eleanor's hand.", [eleanor, tom]))
      .toBe("a man looks like Gerard Butler in green takes a woman looks like Natalie Portman in royal blue's hand.");
    expect(substituteLookalikes('Eleanor’s lantern', [eleanor])).toBe('a woman looks like Natalie Portman in royal blue’s lantern');
  });

  it('leaves names inside other words alone and matches whole words case-insensitively', () => {
    const ann = { name: 'Ann', lookalike: 'D' };
    expect(substituteLookalikes('Ann met Joanna and Annabel; ANN laughed, ann-like. Tomorrow Tom.', [ann, tom]))
      .toBe('D met Joanna and Annabel; D laughed, D-like. Tomorrow a man looks like Gerard Butler in green.');
  });

  it('handles unicode names, also next to accented letters', () => {
    const zoe = { name: 'Zoë', lookalike: 'Z' };
    const jose = { name: 'José', lookalike: 'J' };
    const chinese = { name: '小明', lookalike: 'M' };
    expect(substituteLookalikes('Zoë and Zoëlle see José, Josélito and ZOË. 小明 waves.', [zoe, jose, chinese]))
      .toBe('Z and Zoëlle see J, Josélito and Z. M waves.');
    // The same name in decomposed form (e + combining diaeresis) is still the name.
    expect(substituteLookalikes('Zoe\u0308 smiles', [zoe])).toBe('Z smiles');
  });

  it('prefers the longest name and never substitutes inside a descriptor', () => {
    const mary = { name: 'Mary', lookalike: 'a woman looks like Mary Ann' };
    const maryAnn = { name: 'Mary Ann', lookalike: 'X' };
    expect(substituteLookalikes('Mary Ann greets Mary.', [mary, maryAnn])).toBe('X greets a woman looks like Mary Ann.');
  });

  it('keeps names of characters without a descriptor and regex characters in names literal', () => {
    expect(substituteLookalikes('Eleanor and Dr. Who', [{ name: 'Eleanor', lookalike: '' }, { name: 'Dr. Who', lookalike: 'W' }]))
      .toBe('Eleanor and W');
    expect(substituteLookalikes('Dr Who', [{ name: 'Dr. Who', lookalike: 'W' }])).toBe('Dr Who');
  });

  it('without a keyword the prompt is the substituted description', () => {
    expect(assembleFramePrompt('', 'Tom runs', [tom])).toBe('a man looks like Gerard Butler in green runs');
  });

  it('does not prefix a description that already has the release prefix', () => {
    expect(assembleFramePrompt('Dramatic', 'generate an image in Dramatic style: Tom runs', [tom]))
      .toBe('generate an image in Dramatic style: a man looks like Gerard Butler in green runs');
  });
});
