import { BlockList, isIP } from 'node:net';

/**
 * Which IP addresses a webhook or registration file may be fetched from: only globally reachable
 * unicast ones. The blocks are the IANA IPv4 and IPv6 Special-Purpose Address Registries' entries
 * that are not globally reachable (and multicast, reserved, broadcast); an IPv6 address that embeds
 * an IPv4 address (mapped, compatible, translated, NAT64, 6to4) is judged by that IPv4 address, since
 * that is where the packets go: `[::ffff:0:127.0.0.1]` is loopback, `[64:ff9b::169.254.169.254]`
 * the cloud metadata service.
 */

/** [network, prefix, registry name] of IPv4 blocks that are not a public destination. */
export const NON_PUBLIC_IPV4: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, 'this network'],
  ['10.0.0.0', 8, 'private-use'],
  ['100.64.0.0', 10, 'shared address space (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link local (cloud metadata)'],
  ['172.16.0.0', 12, 'private-use'],
  // includes DS-Lite 192.0.0.0/29, the dummy address 192.0.0.8, NAT64 discovery 192.0.0.170-171
  // and the PCP / TURN anycast addresses 192.0.0.9-10: none is a webhook
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation (TEST-NET-1)'],
  ['192.88.99.0', 24, 'deprecated 6to4 relay anycast'],
  ['192.168.0.0', 16, 'private-use'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation (TEST-NET-2)'],
  ['203.0.113.0', 24, 'documentation (TEST-NET-3)'],
  ['224.0.0.0', 4, 'multicast'],
  // includes the limited broadcast address 255.255.255.255
  ['240.0.0.0', 4, 'reserved'],
];

/**
 * [network, prefix, registry name] of IPv6 blocks that are not a public destination, inside global
 * unicast (2000::/3); everything outside it (loopback, unspecified, ULA, link-local, multicast,
 * discard-only 100::/64, SRv6 5f00::/16, unassigned space) is refused as a whole.
 */
export const NON_PUBLIC_IPV6: ReadonlyArray<readonly [string, number, string]> = [
  // Teredo, benchmarking, ORCHID, AMT, AS112 and the anycast services: none is a webhook
  ['2001::', 23, 'IETF protocol assignments'],
  ['2001:db8::', 32, 'documentation'],
  ['2620:4f:8000::', 48, 'direct delegation AS112 service'],
  ['3fff::', 20, 'documentation'],
];

const IPV4 = new BlockList();
for (const [network, prefix] of NON_PUBLIC_IPV4) IPV4.addSubnet(network, prefix, 'ipv4');
const IPV6 = new BlockList();
for (const [network, prefix] of NON_PUBLIC_IPV6) IPV6.addSubnet(network, prefix, 'ipv6');
const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet('2000::', 3, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (a trailing dotted quad and a zone id allowed). */
function ipv6Groups(address: string): number[] {
  let text = address.replace(/%.*$/, '');
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

const dotted = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/** The IPv4 address an IPv6 address carries and is routed to, if it is one of the forms that do. */
export function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  const zeros = (from: number, to: number) => g.slice(from, to).every((group) => group === 0);
  // ::a.b.c.d (IPv4-compatible, deprecated; :: and ::1 fall in 0.0.0.0/8) and ::ffff:a.b.c.d (mapped)
  if (zeros(0, 5) && (g[5] === 0 || g[5] === 0xffff)) return dotted(g[6] ?? 0, g[7] ?? 0);
  // ::ffff:0:a.b.c.d (IPv4-translated, SIIT)
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return dotted(g[6] ?? 0, g[7] ?? 0);
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix)
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return dotted(g[6] ?? 0, g[7] ?? 0);
  // 2002:aabb:ccdd::/48 (6to4)
  if (g[0] === 0x2002) return dotted(g[1] ?? 0, g[2] ?? 0);
  return undefined;
}

/** True only for a globally reachable unicast address; a name or anything malformed is not one. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !IPV4.check(address, 'ipv4');
  if (family !== 6) return false;
  const ipv4 = embeddedIpv4(address);
  if (ipv4 !== undefined) return isPublicAddress(ipv4);
  const plain = address.replace(/%.*$/, '');
  return GLOBAL_UNICAST.check(plain, 'ipv6') && !IPV6.check(plain, 'ipv6');
}
