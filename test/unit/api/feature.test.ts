// The opening and closing every room feature shares (src/api/feature.ts).
import { describe, expect, it } from 'vitest';
import { FeatureSubscriptions, checkFeatureName } from '../../../src/api/feature.ts';
import { FakeBackend, nodeId } from './fake-backend.ts';

describe('room features', () => {
  it('hear their node events and snapshots until close(), and close only once', () => {
    const backend = new FakeBackend();
    const subscriptions = new FeatureSubscriptions(backend);
    const heard: unknown[] = [];
    subscriptions.onEvent('thing', (payload) => heard.push(payload));
    subscriptions.onSnapshot((snapshot) => heard.push(snapshot.id));
    backend.publishEvent('thing', 1);
    backend.publishSnapshot({ id: nodeId(1) });
    expect(subscriptions.closed).toBe(false);
    expect(subscriptions.close()).toBe(true);
    expect(subscriptions.close()).toBe(false);
    backend.publishEvent('thing', 2);
    backend.publishSnapshot({ id: nodeId(2) });
    expect(heard).toEqual([1, nodeId(1)]);
    expect(subscriptions.closed).toBe(true);
    expect(backend.eventListenerCount('thing')).toBe(0);
  });

  it('refuse a name that is not a string of their pattern, showing it quoted and short', () => {
    const refuse = (shown: string) => new Error(`bad name ${shown}`);
    expect(() => checkFeatureName('ok-name', /^[a-z-]+$/, refuse)).not.toThrow();
    expect(() => checkFeatureName('Bad Name', /^[a-z-]+$/, refuse)).toThrow('bad name "Bad Name"');
    expect(() => checkFeatureName(42, /^\d+$/, refuse)).toThrow('bad name "42"');
    expect(() => checkFeatureName('x'.repeat(200), /^[a-z]{1,64}$/, refuse)).toThrow(new Error(`bad name "${'x'.repeat(79)}`));
  });
});
