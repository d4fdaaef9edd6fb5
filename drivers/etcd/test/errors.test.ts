import { describe, expect, it } from '@jest/globals';
import { CoordError } from '@coord/core';
import {
  EtcdAuthenticationFailedError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  GRPCInvalidArgumentError,
  GRPCUnavailableError,
} from 'etcd3';
import { classify, toCoordError } from '../src/errors.js';

const what = 'etcd 127.0.0.1:2379: get /a';

describe('toCoordError', () => {
  it('maps refused credentials to AUTH_FAILED', () => {
    expect(toCoordError(new EtcdAuthenticationFailedError('etcdserver: authentication failed, invalid user ID or password'), what).code).toBe('AUTH_FAILED');
    expect(toCoordError(new EtcdPermissionDeniedError('etcdserver: permission denied'), what).code).toBe('AUTH_FAILED');
    expect(toCoordError(new Error('etcdserver: user name is empty'), what).code).toBe('AUTH_FAILED');
  });

  it('maps a lost lease to SESSION_EXPIRED', () => {
    expect(toCoordError(new EtcdLeaseInvalidError('5'), what).code).toBe('SESSION_EXPIRED');
  });

  it('maps etcd size refusals to PAYLOAD_TOO_LARGE', () => {
    expect(toCoordError(new GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: request is too large'), what).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('keeps a CoordError as it is', () => {
    const error = new CoordError('NODE_EXISTS', 'x');
    expect(toCoordError(error, what)).toBe(error);
  });

  it('names the component and never invents details', () => {
    const error = toCoordError(new Error('something odd'), what);
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toBe(`${what}: something odd`);
  });
});

describe('classify', () => {
  it('says a connection that was never made sent nothing', () => {
    const failure = classify(new GRPCUnavailableError('14 UNAVAILABLE: No connection established'), what);
    expect(failure).toMatchObject({ transient: true, maybeApplied: false });
    expect(failure.error.code).toBe('UNAVAILABLE');
  });

  it('says a request cut off mid-way may have been applied', () => {
    const failure = classify(new GRPCUnavailableError('14 UNAVAILABLE: Connection dropped'), what);
    expect(failure).toMatchObject({ transient: true, maybeApplied: true });
    expect(failure.error.code).toBe('CONNECTION_LOSS');
  });

  it('treats a deadline as unknown outcome, a missing leader as not applied', () => {
    expect(classify(new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED'), what)).toMatchObject({ transient: true, maybeApplied: true });
    expect(classify(new Error('etcdserver: no leader'), what)).toMatchObject({ transient: true, maybeApplied: false });
    expect(classify(new Error('etcdserver: request timed out'), what)).toMatchObject({ transient: true, maybeApplied: true });
  });

  it('does not retry what cannot succeed', () => {
    expect(classify(new EtcdAuthenticationFailedError('etcdserver: authentication failed'), what).transient).toBe(false);
    expect(classify(new EtcdLeaseInvalidError('5'), what).transient).toBe(false);
  });
});
