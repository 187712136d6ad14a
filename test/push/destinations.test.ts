import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resolve } from '../../src/webhooks/destination.js';
import { isPublicAddress } from '../../src/webhooks/special-addresses.js';
import { postWebhook } from '../../src/webhooks/webhook.js';
import { listenOnLoopback } from '../helpers/loopback.js';

/**
 * Where webhooks (and low-balance notices, and registration files) may go. Every special-use range
 * of the IANA IPv4 and IPv6 Special-Purpose Address Registries that is not globally reachable is
 * refused, and so is every IPv6 form that carries such an IPv4 address (the packets go there). The
 * table is the registries', written here independently of src/webhooks/special-addresses.ts, one
 * address inside each entry.
 */
const NOT_PUBLIC: Array<[string, string]> = [
  // IPv4 Special-Purpose Address Registry
  ['0.0.0.0/8 this network', '0.1.2.3'],
  ['0.0.0.0/32 this host', '0.0.0.0'],
  ['10.0.0.0/8 private-use', '10.20.30.40'],
  ['100.64.0.0/10 shared address space', '100.127.255.254'],
  ['127.0.0.0/8 loopback', '127.0.0.1'],
  ['127.0.0.0/8 loopback, elsewhere', '127.255.0.9'],
  ['169.254.0.0/16 link local (metadata)', '169.254.169.254'],
  ['172.16.0.0/12 private-use', '172.31.255.1'],
  ['192.0.0.0/24 IETF protocol assignments', '192.0.0.200'],
  ['192.0.0.0/29 DS-Lite', '192.0.0.1'],
  ['192.0.0.8/32 IPv4 dummy address', '192.0.0.8'],
  ['192.0.0.9/32 PCP anycast', '192.0.0.9'],
  ['192.0.0.10/32 TURN anycast', '192.0.0.10'],
  ['192.0.0.170/32 NAT64/DNS64 discovery', '192.0.0.170'],
  ['192.0.0.171/32 NAT64/DNS64 discovery', '192.0.0.171'],
  ['192.0.2.0/24 documentation (TEST-NET-1)', '192.0.2.33'],
  ['192.88.99.0/24 deprecated 6to4 relay anycast', '192.88.99.1'],
  ['192.168.0.0/16 private-use', '192.168.1.1'],
  ['198.18.0.0/15 benchmarking', '198.19.0.1'],
  ['198.51.100.0/24 documentation (TEST-NET-2)', '198.51.100.7'],
  ['203.0.113.0/24 documentation (TEST-NET-3)', '203.0.113.9'],
  ['224.0.0.0/4 multicast', '239.255.255.250'],
  ['240.0.0.0/4 reserved', '240.0.0.1'],
  ['255.255.255.255/32 limited broadcast', '255.255.255.255'],
  // IPv6 Special-Purpose Address Registry
  ['::1/128 loopback', '::1'],
  ['::/128 unspecified', '::'],
  ['::ffff:0:0/96 IPv4-mapped loopback', '::ffff:127.0.0.1'],
  ['::ffff:0:0/96 IPv4-mapped metadata', '::ffff:a9fe:a9fe'],
  ['::/96 IPv4-compatible loopback', '::127.0.0.1'],
  ['::ffff:0:0:0/96 IPv4-translated loopback', '::ffff:0:127.0.0.1'],
  ['64:ff9b::/96 NAT64 of loopback', '64:ff9b::127.0.0.1'],
  ['64:ff9b::/96 NAT64 of the metadata service', '64:ff9b::169.254.169.254'],
  ['64:ff9b::/96 NAT64 of private-use', '64:ff9b::a00:1'],
  ['64:ff9b:1::/48 local-use IPv4/IPv6 translation', '64:ff9b:1::8.8.8.8'],
  ['100::/64 discard-only', '100::1'],
  ['100:0:0:1::/64 dummy IPv6 prefix', '100:0:0:1::1'],
  ['2001::/23 IETF protocol assignments', '2001:1ff::1'],
  ['2001::/32 Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
  ['2001:1::1/128 PCP anycast', '2001:1::1'],
  ['2001:1::2/128 TURN anycast', '2001:1::2'],
  ['2001:2::/48 benchmarking', '2001:2::1'],
  ['2001:3::/32 AMT', '2001:3::1'],
  ['2001:4:112::/48 AS112-v6', '2001:4:112::1'],
  ['2001:10::/28 deprecated ORCHID', '2001:10::1'],
  ['2001:20::/28 ORCHIDv2', '2001:20::1'],
  ['2001:30::/28 drone remote ID', '2001:30::1'],
  ['2001:db8::/32 documentation', '2001:db8::1'],
  ['2002::/16 6to4 of loopback', '2002:7f00:1::1'],
  ['2002::/16 6to4 of the metadata service', '2002:a9fe:a9fe::1'],
  ['2620:4f:8000::/48 direct delegation AS112', '2620:4f:8000::1'],
  ['3fff::/20 documentation', '3fff:fff::1'],
  ['5f00::/16 SRv6 SIDs', '5f00::1'],
  ['fc00::/7 unique-local', 'fd12:3456::1'],
  ['fe80::/10 link-local', 'fe80::1'],
  ['fec0::/10 deprecated site-local', 'fec0::1'],
  ['ff00::/8 multicast', 'ff02::1'],
];

const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '192.0.1.1',
  '100.128.0.1',
  '2606:4700:4700::1111',
  '64:ff9b::8.8.8.8',
  '::ffff:8.8.8.8',
  '2002:808:808::1',
];

describe('which addresses are public', () => {
  it.each(NOT_PUBLIC)('%s (%s) is not', (_, address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(PUBLIC)('%s is', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it.each(NOT_PUBLIC)('a webhook at %s (%s) is refused before any connection', async (_, address) => {
    const host = address.includes(':') ? `[${address}]` : address;
    await expect(postWebhook({ url: `http://${host}:9/hook`, body: '{}', allowPrivateNetworks: false })).rejects.toThrow(
      /private or loopback/,
    );
  });
});

describe('a webhook connects to the address that was checked, not to a second lookup', () => {
  const received: IncomingHttpHeaders[] = [];
  let port: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const server = createServer((req, res) => {
      received.push(req.headers);
      req.resume();
      res.writeHead(204).end();
    });
    const loopback = await listenOnLoopback(server);
    port = new URL(loopback.baseUrl).port;
    close = loopback.close;
  });
  afterAll(() => close());

  /** A name that answers `first` once, then `later` (a rebinding DNS server). */
  function rebinding(first: string, later: string) {
    const calls: string[] = [];
    const resolve: Resolve = async (host) => {
      calls.push(host);
      return [{ address: calls.length === 1 ? first : later, family: 4 }];
    };
    return { resolve, calls };
  }

  it('the name is resolved once; the post reaches that address with the name as its Host', async () => {
    // Private networks allowed, so the loopback listener may be the checked address; a second
    // lookup would answer an address nothing listens on.
    const dns = rebinding('127.0.0.1', '192.0.2.1');
    await postWebhook({ url: `http://hooks.rebind.test:${port}/hook`, body: '{}', allowPrivateNetworks: true, resolve: dns.resolve });
    expect(dns.calls).toEqual(['hooks.rebind.test']);
    expect(received.at(-1)?.host).toBe(`hooks.rebind.test:${port}`);
  });

  it('a name with any non-public answer is refused, and nothing is posted', async () => {
    const before = received.length;
    const resolve: Resolve = async () => [
      { address: '8.8.8.8', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];
    await expect(
      postWebhook({ url: `http://mixed.rebind.test:${port}/hook`, body: '{}', allowPrivateNetworks: false, resolve }),
    ).rejects.toThrow(/^host mixed\.rebind\.test resolves to a private or loopback address/);
    const nat64: Resolve = async () => [{ address: '64:ff9b::7f00:1', family: 6 }];
    await expect(
      postWebhook({ url: `http://nat64.rebind.test:${port}/hook`, body: '{}', allowPrivateNetworks: false, resolve: nat64 }),
    ).rejects.toThrow(/private or loopback/);
    expect(received.length).toBe(before);
  });

  it('a failure names the host, never the address it resolved to', async () => {
    const dns = rebinding('127.0.0.1', '127.0.0.1');
    const error = await postWebhook({
      url: 'http://closed.rebind.test:1/hook',
      body: '{}',
      allowPrivateNetworks: true,
      resolve: dns.resolve,
    }).catch((caught: unknown) => caught as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/closed\.rebind\.test:1/);
    expect((error as Error).message).not.toMatch(/127\.0\.0\.1/);
  });
});
