import { describe, expect, it } from 'vitest';
import { AppEventListeners } from '../../src/app-event-listeners.ts';

describe('AppEventListeners', () => {
  it('hands an event only to the listeners of its name, each once, even when one removes itself while called', () => {
    const events = new AppEventListeners();
    const heard: string[] = [];
    const offA = events.on('tick', (p) => {
      heard.push(`a:${String(p)}`);
      offA();
    });
    events.on('tick', (p) => heard.push(`b:${String(p)}`));
    events.on('tock', (p) => heard.push(`c:${String(p)}`));
    events.publish('tick', 1);
    events.publish('tick', 2);
    expect(heard).toEqual(['a:1', 'b:1', 'b:2']);
    expect(events.count('tick')).toBe(1);
    expect(events.count('tock')).toBe(1);
  });

  it('forgets a name whose last listener left, and a removal twice changes nothing', () => {
    const events = new AppEventListeners();
    const off = events.on('x', () => {});
    off();
    off();
    expect(events.count('x')).toBe(0);
    events.publish('x', null);
  });
});
