import { describe, expect, it } from 'vitest';
import { ipFamily, publicAddressesOnly } from './address-policy';

describe('SSRF address policy', () => {
  it('refuses loopback, private, link-local, metadata and IPv6 equivalents', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '0.0.0.0', '100.64.0.1', '224.0.0.1', '255.255.255.255']) {
      expect(publicAddressesOnly(a, 4), a).toBe(false);
    }
    for (const a of ['::1', '::', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'fe80::1', 'fc00::1', 'fd12:3456::1', '64:ff9b::7f00:1', '2002:7f00:1::1', 'ff02::1']) {
      expect(publicAddressesOnly(a, 6), a).toBe(false);
    }
  });

  it('allows public unicast addresses', () => {
    expect(publicAddressesOnly('8.8.8.8', 4)).toBe(true);
    expect(publicAddressesOnly('172.32.0.1', 4)).toBe(true);
    expect(publicAddressesOnly('2606:4700:4700::1111', 6)).toBe(true);
  });

  it('recognises IP literals with and without brackets', () => {
    expect(ipFamily('[::1]')).toBe(6);
    expect(ipFamily('127.0.0.1')).toBe(4);
    expect(ipFamily('example.com')).toBe(0);
  });
});
