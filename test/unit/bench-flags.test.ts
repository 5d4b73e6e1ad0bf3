// The benchmarks' flag reader: a bad value stops the run with a message naming the flag.
import { describe, expect, it } from 'vitest';
import { flag, numberFlag, numberListFlag } from '../../bench/flags.ts';

describe('bench flags', () => {
  const argv = ['--quick', '--n', '16,64', '--seeds', '3', '--rest-s', '2.5'];

  it('reads values, and falls back when a flag is absent', () => {
    expect(flag(argv, '--n')).toBe('16,64');
    expect(flag(argv, '--out')).toBeUndefined();
    expect(numberFlag(argv, '--seeds', 20)).toBe(3);
    expect(numberFlag(argv, '--rest-s', 300)).toBe(2.5);
    expect(numberFlag(argv, '--join-ms', 50)).toBe(50);
    expect(numberListFlag(argv, '--n', [1024])).toEqual([16, 64]);
    expect(numberListFlag(argv, '--p', [4, 16])).toEqual([4, 16]);
  });

  it('refuses a flag without a value, or with one that is not a number in range', () => {
    expect(() => flag(['--n'], '--n')).toThrow('--n needs a value');
    expect(() => flag(['--n', '--quick'], '--n')).toThrow('--n needs a value');
    expect(() => numberFlag(['--seeds', 'three'], '--seeds', 1)).toThrow('--seeds must be a number ≥ 0 (got "three")');
    expect(() => numberFlag(['--seeds', '0'], '--seeds', 1, 1)).toThrow('--seeds must be a number ≥ 1');
    expect(() => numberListFlag(['--n', '16,1k'], '--n', [16])).toThrow('--n must be a number ≥ 0 (got "1k")');
    expect(() => numberListFlag(['--n', '16,'], '--n', [16])).toThrow('(got "")');
  });
});
