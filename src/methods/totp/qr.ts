import QRCode from 'qrcode';

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * `text` as a QR code in an SVG string, to inline in a page. Rendered on the
 * server so the page needs no script. qrcode 1.5 draws with presentation
 * attributes only (fill, stroke, shape-rendering): no style attribute, style
 * element, script or event handler that a strict CSP would refuse, so the
 * accessible name is all that has to be added.
 */
export async function qrCodeSvg(text: string, label: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return svg.replace('<svg ', `<svg role="img" aria-label="${escapeHtml(label)}" `);
}
