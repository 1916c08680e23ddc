import { BlockList, isIP } from 'node:net';

/** Decides whether the gateway may open a connection to an address (SSRF guard). */
export type AddressPolicy = (address: string, family: 4 | 6) => boolean;

/**
 * Everything that is not a public unicast address: a URL in a request must not make the gateway talk to itself,
 * to Redis, to the workers, to a cloud metadata endpoint (169.254.169.254) or to anything else inside the network.
 * IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are refused outright rather than
 * decoded: public servers are reachable on their native addresses.
 */
// One list per family: a single BlockList also matches IPv4 addresses against IPv6 rules (as mapped addresses),
// which would make ::ffff:0:0/96 refuse every IPv4 address.
const BLOCKED_V4 = new BlockList();
const BLOCKED_V6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  BLOCKED_V4.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback (::1) and IPv4-compatible
  ['::ffff:0:0', 96], // IPv4-mapped
  ['64:ff9b::', 96], // NAT64
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments, Teredo
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  BLOCKED_V6.addSubnet(net, prefix, 'ipv6');
}

export const publicAddressesOnly: AddressPolicy = (address, family) => (family === 6 ? !BLOCKED_V6.check(address, 'ipv6') : !BLOCKED_V4.check(address, 'ipv4'));

export const anyAddress: AddressPolicy = () => true;

/** The family of an IP literal (brackets allowed), or 0 for a host name. */
export function ipFamily(host: string): 0 | 4 | 6 {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(h) as 0 | 4 | 6;
}
