import { describe, expect, it } from 'vitest';
import { gatewayEnv } from './config';

describe('gatewayEnv', () => {
  it('reads keys, names and limits; unset variables keep the defaults', () => {
    const e = gatewayEnv({ IVL_API_KEYS: 'a, b,,', IVL_RATE_LIMIT_RPM: '60', IVL_ALLOW_PRIVATE_URLS: '1', IVL_MAX_IMAGES: '4', IVL_SERVED_MODEL_NAME: 'InternVL2_5-4B,internvl' });
    expect(e.apiKeys).toEqual(['a', 'b']);
    expect(e.servedModelName).toEqual(['InternVL2_5-4B', 'internvl']);
    expect(e.limits).toEqual({ rateLimitPerMinute: 60, allowPrivateUrls: true, maxImagesPerRequest: 4 });
    expect(gatewayEnv({})).toEqual({ apiKeys: [], limits: {}, servedModelName: undefined });
  });

  it('refuses a number that is not one', () => {
    expect(() => gatewayEnv({ IVL_MAX_QUEUED: 'lots' })).toThrow(/maxQueued/);
  });
});
