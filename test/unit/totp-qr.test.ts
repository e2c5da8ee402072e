import { describe, expect, it } from 'vitest';
import { qrCodeSvg } from '../../src/methods/totp/qr.js';

const URI = 'otpauth://totp/Acme%20Corp:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme%20Corp';

describe('qrCodeSvg', () => {
  it('is an SVG image with an accessible name', async () => {
    const svg = await qrCodeSvg(URI, 'QR code for your authenticator app');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const root = svg.slice(0, svg.indexOf('>') + 1);
    expect(root).toContain(' role="img"');
    expect(root).toContain(' aria-label="QR code for your authenticator app"');
    expect(root).toContain('xmlns="http://www.w3.org/2000/svg"');
  });

  it('has nothing a strict CSP (default-src \'self\'; style-src \'self\') would refuse', async () => {
    const svg = await qrCodeSvg(URI, 'QR code');
    expect(svg).not.toMatch(/<script/i);
    expect(svg).not.toMatch(/<style/i);
    expect(svg).not.toMatch(/\sstyle=/i);
    expect(svg).not.toMatch(/\son\w+=/i);
    expect(svg).not.toMatch(/javascript:|href=/i);
  });

  it('escapes HTML in the label', async () => {
    const svg = await qrCodeSvg(URI, `"><script>alert('x')</script> & co`);
    expect(svg).not.toMatch(/<script/i);
    expect(svg).toContain('aria-label="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"');
    expect(svg.match(/<svg\b/g)).toHaveLength(1);
  });

  it('draws a different code for different text', async () => {
    expect(await qrCodeSvg(`${URI}&x=1`, 'QR code')).not.toBe(await qrCodeSvg(URI, 'QR code'));
  });
});
