// The typed error for an unreachable node says what happened: a node that never answered within
// the timeout, or one that answered with a cluster-state error (TRYAGAIN during resharding...).
import { describe, expect, it } from 'vitest';
import { RedisUnavailableError } from './errors.js';
import { unavailable } from './link.js';

describe('RedisUnavailableError messages', () => {
  it('a timeout says the node did not answer within the timeout', () => {
    const error = unavailable('a lookup', ['127.0.0.1:30001'], Object.assign(new Error('Timeout'), { name: 'TimeoutError' }), 5000);
    expect(RedisUnavailableError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/^Redis node 127\.0\.0\.1:30001 did not answer a lookup within 5000 ms \(TimeoutError: Timeout\)\./);
  });

  it('a TRYAGAIN reply says the slot is migrating, not that the node did not answer', () => {
    const reply = new Error('TRYAGAIN Multiple keys request during rehashing of slot');
    const error = unavailable('a lookup', ['127.0.0.1:30001'], reply, 5000);
    expect(error.message).toMatch(/answered a lookup with TRYAGAIN: a slot of the request is being migrated/);
    expect(error.message).not.toMatch(/did not answer/);
    expect(error.nodes).toEqual(['127.0.0.1:30001']);
  });

  it('CLUSTERDOWN names the missing master', () => {
    const error = unavailable('a training step', ['a:1', 'b:2'], new Error('CLUSTERDOWN The cluster is down'), 100);
    expect(error.message).toMatch(/^Redis nodes a:1, b:2 answered a training step with CLUSTERDOWN: the cluster has no master/);
  });
});
